"""``workspaces-local api --webui DIR``: an st2web build served read-only on the API's origin.

No st2web is needed: a small fake build (index.html, a script, a stylesheet, an icon) stands in for
one. The listener is ``workspaces-local api`` over StackStorm's own services
(``stackstorm_support.StackStormApi``, the real tier) on a free loopback port; requests go over HTTP
with ``http.client`` so paths reach the server exactly as written (``..`` and ``%2e%2e``
included). The routing table of st2web's nginx site needs no StackStorm.
"""

import hashlib
import http.client
import json
import os
import re

import pytest

from stackstorm_support import PASSWORD, USER, StackStormApi

from workspaces_devkit.runner.cli import build_parser, cmd_run
from workspaces_devkit.st2_in_process.web import route
from workspaces_devkit.st2_in_process.webui import WebUi

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX = b"<!doctype html><title>st2web</title><script src=\"config.js\"></script>\n"
SCRIPT = b"console.log('st2web');\n"


def _tree_digest(root):
    """Names, sizes and contents of every file under ``root`` (to prove nothing was written)."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode("utf-8"))
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """A fake st2web build, next to a secret file outside it that must never be served."""
    top = tmp_path_factory.mktemp("webui")
    (top / "secret.txt").write_text("outside the build\n")
    build = top / "build"
    (build / "js").mkdir(parents=True)
    (build / "css").mkdir()
    (build / "font").mkdir()
    (build / "index.html").write_bytes(INDEX)
    (build / "js" / "main.js").write_bytes(SCRIPT)
    (build / "css" / "style.css").write_text("body { color: black; }\n")
    (build / "font" / "Roboto.woff2").write_bytes(b"wOF2fake")
    (build / "favicon.ico").write_bytes(b"\0\0\1\0")
    (build / "config.js").write_text("// the build's own config.js: never served\n")
    (build / ".htpasswd").write_text("hidden: not served\n")
    os.symlink(str(top / "secret.txt"), str(build / "leak.txt"))
    return build


@pytest.fixture(scope="module")
def server(tmp_path_factory, build_dir):
    """``workspaces-local api --webui`` with the fake build, on a free loopback port."""
    server = StackStormApi(tmp_path_factory.mktemp("webui-api"),
                           extra_args=["--webui", str(build_dir)])
    server.port = int(server.api_url.rsplit(":", 1)[1])
    server.build_digest = _tree_digest(str(build_dir))
    yield server
    server.stop()


def call(server, method, path, headers=None, body=None):
    """Send one request with ``path`` as written; return ``(status, headers, body bytes)``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host="Host" in (headers or {}),
                              skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        data = json.dumps(body).encode("utf-8") if body is not None else b""
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def login(server):
    """A token from ``POST /auth/tokens``, as st2web's login form asks for one."""
    status, _, body = call(server, "POST", "/auth/tokens", {
        "Authorization": "Basic " + _basic(USER, PASSWORD),
        "Content-Type": "application/json"})
    assert status == 201, body
    return json.loads(body.decode("utf-8"))["token"]


def _basic(user, password):
    import base64
    return base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")


# --- the prefix rules of st2web's nginx site ---------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("/auth/tokens", ("auth", "/tokens")),
    ("/auth/v1/tokens", ("auth", "/v1/tokens")),
    ("/api/v1/rules/views", ("api", "/v1/rules/views")),
    ("/api/actions", ("api", "/actions")),
    ("/stream/stream", ("stream", "/stream")),
    ("/stream/v1/stream", ("stream", "/v1/stream")),
    ("/stream/executions/5f0/output", ("stream", "/executions/5f0/output")),
    ("/api/v1/executions/5f0/output", ("api", "/v1/executions/5f0/output")),
    ("/api/stream", ("stream", "/v1/stream")),
    ("/api/stream/", ("stream", "/v1/stream")),
    ("/api/v1/stream", ("stream", "/v1/stream")),
    ("/v1/actions", ("api", "/v1/actions")),
    ("/v1/stream", ("stream", "/v1/stream")),
    ("/tokens", ("auth", "/tokens")),
    ("/index.html", ("api", "/index.html")),  # a file of the build when there is one
])
def test_prefixes_map_as_st2webs_nginx_does(path, expected):
    assert route(path) == expected


# --- static files ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, content_type, body", [
    ("/", "text/html; charset=utf-8", INDEX),
    ("/index.html", "text/html; charset=utf-8", INDEX),
    ("/js/main.js", "application/javascript; charset=utf-8", SCRIPT),
    ("/js/main.js?v=3", "application/javascript; charset=utf-8", SCRIPT),
    ("/css/style.css", "text/css; charset=utf-8", b"body { color: black; }\n"),
    ("/font/Roboto.woff2", "font/woff2", b"wOF2fake"),
    ("/favicon.ico", "image/x-icon", b"\0\0\1\0"),
])
def test_build_files_are_served_with_their_content_type(server, path, content_type, body):
    status, headers, data = call(server, "GET", path)
    assert (status, headers["Content-Type"], data) == (200, content_type, body)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Length"] == str(len(body))


def test_head_gives_the_headers_without_the_body(server):
    status, headers, data = call(server, "HEAD", "/js/main.js")
    assert (status, headers["Content-Length"], data) == (200, str(len(SCRIPT)), b"")


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/js/%2E%2E/%2E%2E/secret.txt",
    "/..%2fsecret.txt", "/leak.txt", "/.htpasswd", "/js/..%5c..%5csecret.txt", "//etc/passwd",
    "/js/", "/nothing.js",
])
def test_nothing_outside_the_build_or_hidden_is_served(server, path):
    status, _, data = call(server, "GET", path)
    assert status == 404, (path, data)
    assert b"outside the build" not in data and b"hidden" not in data


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_the_build_is_read_only(server, build_dir, method):
    for path in ("/index.html", "/js/main.js", "/config.js", "/js/new.js", "/../escape.js"):
        status, headers, _ = call(server, method, path, body={"evil": True})
        assert status in (404, 405), (method, path, status)
        if status == 405:
            assert headers["Allow"] == "GET, HEAD"
    assert _tree_digest(str(build_dir)) == server.build_digest
    assert not os.path.exists(str(build_dir.parent / "escape.js"))


# --- config.js ---------------------------------------------------------------------------------

def _config(data):
    text = data.decode("utf-8")
    match = re.search(r"angular\.module\('main'\)\.constant\('st2Config', (\{.*\})\);", text,
                      re.DOTALL)
    assert match, text
    return json.loads(match.group(1))


def test_config_js_points_st2web_at_this_origin(server):
    status, headers, data = call(server, "GET", "/config.js")
    assert status == 200
    assert headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    origin = "//127.0.0.1:%d" % server.port
    assert _config(data) == {"hosts": [{
        "name": "workspaces-local (pack workspaces)", "url": origin + "/api",
        "auth": origin + "/auth", "stream": origin + "/stream"}]}


def test_config_js_follows_the_host_the_browser_used(server, build_dir):
    _, _, data = call(server, "GET", "/config.js", {"Host": "localhost:8443"})
    assert _config(data)["hosts"][0]["url"] == "//localhost:8443/api"
    _, _, data = call(server, "GET", "/config.js", {"Host": "[::1]:9101"})
    assert _config(data)["hosts"][0]["stream"] == "//[::1]:9101/stream"
    status, _, data = call(server, "GET", "/config.js", {"Host": "evil.org/'); alert(1); //"})
    assert status == 400 and b"alert" not in data
    with open(str(build_dir / "config.js")) as handle:  # the build's own file is left alone
        assert handle.read() == "// the build's own config.js: never served\n"


# --- the services under st2web's prefixes, and the st2 CLI's bare paths ------------------------

def test_login_and_api_calls_work_under_st2webs_prefixes(server):
    token = login(server)
    status, _, data = call(server, "GET", "/api/v1/actions?pack=workspaces",
                           {"X-Auth-Token": token})
    assert status == 200
    assert "workspaces.capability_create_and_run" in [a["ref"] for a in json.loads(data)]
    status, headers, data = call(server, "GET", "/api/v1/nothing", {"X-Auth-Token": token})
    assert (status, headers["Content-Type"]) == (404, "application/json")
    assert "faultstring" in json.loads(data)


def test_the_st2_clis_bare_paths_keep_working(server):
    status, _, data = call(server, "POST", "/tokens",
                           {"Authorization": "Basic " + _basic(USER, PASSWORD)})
    assert status == 201
    token = json.loads(data)["token"]
    status, _, data = call(server, "GET", "/v1/actions/workspaces.mark_asdm_not_calibrateable",
                           {"X-Auth-Token": token})
    assert status == 200 and json.loads(data)["ref"] == "workspaces.mark_asdm_not_calibrateable"
    status, _, _ = call(server, "GET", "/v1/actions")
    assert status == 401


def test_a_directory_that_is_not_a_build_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(tmp_path)) + ".*no index.html"):
        WebUi(str(tmp_path))


def test_run_refuses_webui_without_the_api(tmp_path):
    args = build_parser().parse_args(["run", "--webui", str(tmp_path)])
    with pytest.raises(SystemExit, match="--webui .* needs the st2 API: give --api-htpasswd"):
        cmd_run(args)


def test_api_webui_prints_where_the_ui_is_and_serves_it(server, build_dir):
    url = "http://127.0.0.1:%d/" % server.port
    assert "st2 web UI (st2web build in %s) at %s\n" % (os.path.realpath(str(build_dir)), url) \
        in "".join(server.started_lines) + server.wait_for_line("st2 web UI") + "\n"
    assert call(server, "GET", "/")[2] == INDEX


@pytest.mark.parametrize("path", ["/stream/stream", "/stream/v1/stream", "/api/v1/stream",
                                  "/api/stream"])
def test_st2webs_stream_urls_reach_the_event_stream(server, path):
    token = login(server)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": "auth-token=" + token,
                                                 "Accept": "text/event-stream"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("text/event-stream")
    finally:
        connection.close()
