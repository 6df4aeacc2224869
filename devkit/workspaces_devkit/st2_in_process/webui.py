"""Serve a user-supplied st2web build (StackStorm's web UI) read-only, with a generated config.js.

``WebUi(directory)`` answers the requests that are the web UI's own, as the ``location /`` block of
StackStorm's nginx site does: ``/`` is ``index.html``, any other path names a regular file under
the directory. Everything under ``/api/``, ``/auth/`` and ``/stream/`` is the services' and is
left to ``web.Origin``, as is any path that names no file (the ``st2`` CLI's bare ``/tokens`` and
``/v1/...``).

Files are only ever read: other methods than GET and HEAD on a file get 405; ``..`` segments,
hidden names and links leading out of the directory get 404. ``/config.js`` is written from
memory for each request, never into the directory: one host whose ``url``, ``auth`` and ``stream``
are this origin (from the request's ``Host``), so st2web needs no setting.
"""

import json
import os
import re


__all__ = ["StaticResponse", "WebUi", "CONTENT_TYPES"]

#: Content types by file suffix (nginx's mime.types for what an st2web build holds).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
_SERVICE_PATH = re.compile(r"^/(api|auth|stream)(/|$)")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_CONFIG_JS = """\
// st2web settings written by workspaces-local for this page (not a file of the build):
// the auth, API and stream services are on this origin, under st2web's usual prefixes.
angular.module('main').constant('st2Config', %s);
"""


class StaticResponse(object):
    """An answer of the web UI: status, body bytes and headers (Content-Type among them)."""

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = dict(_SECURITY_HEADERS)
        self.headers.update(headers or {})


def _text(status, message, extra_headers=None):
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    headers.update(extra_headers or {})
    return StaticResponse(status, (message + "\n").encode("utf-8"), headers)


class WebUi(object):
    """The st2web build in ``directory``, served read-only; ``name`` labels its one host.

    Raises ValueError naming the directory when it holds no ``index.html`` (not a build).
    """

    def __init__(self, directory, name="workspaces-local"):
        root = os.path.realpath(directory)
        if not os.path.isfile(os.path.join(root, "index.html")):
            raise ValueError("%s is not an st2web build (no index.html in it; build st2web with "
                             "`npx gulp production` and pass its build/ directory)" % directory)
        self.root = root
        self.name = name

    def answer(self, method, path, host=None):
        """Return the ``StaticResponse`` for a request, or None when it is not the UI's.

        ``path`` is the decoded URL path (no query); ``host`` the request's ``Host`` header.
        """
        if _SERVICE_PATH.match(path):
            return None
        segments = path.split("/")
        if any(s in (".", "..") or s.startswith(".") or "\\" in s or "\0" in s
               for s in segments[1:]):
            return _text(404, "Not Found")
        if path == "/config.js":
            return self._method_check(method) or self._config_js(host)
        file_path = self._file(segments[1:])
        if file_path is None:
            return None
        return self._method_check(method) or self._read(file_path)

    @staticmethod
    def _method_check(method):
        if method in ("GET", "HEAD"):
            return None
        return _text(405, "Method Not Allowed: the web UI's files are read-only",
                     {"Allow": "GET, HEAD"})

    def _file(self, segments):
        candidate = os.path.join(self.root, *segments)
        if os.path.isdir(candidate):
            candidate = os.path.join(candidate, "index.html")
        real = os.path.realpath(candidate)
        if os.path.commonpath([self.root, real]) != self.root or not os.path.isfile(real):
            return None  # not there, or a link leading out of the build
        return real

    def _read(self, file_path):
        try:
            with open(file_path, "rb") as handle:
                body = handle.read()
        except OSError:
            return _text(404, "Not Found")
        content_type = CONTENT_TYPES.get(os.path.splitext(file_path)[1].lower(),
                                         DEFAULT_CONTENT_TYPE)
        return StaticResponse(200, body, {"Content-Type": content_type,
                                          "Cache-Control": "no-cache"})

    def config(self, host):
        """Return st2web's ``st2Config`` for a page loaded from ``host`` (``name:port``)."""
        origin = "//%s" % host
        return {"hosts": [{"name": self.name, "url": origin + "/api",
                           "auth": origin + "/auth", "stream": origin + "/stream"}]}

    def _config_js(self, host):
        if not host or not _HOST.match(host):
            return _text(400, "Bad Request: no valid Host header to point st2web at")
        body = _CONFIG_JS % json.dumps(self.config(host), indent=2, sort_keys=True)
        return StaticResponse(200, body.encode("utf-8"), {
            "Content-Type": CONTENT_TYPES[".js"], "Cache-Control": "no-store"})
