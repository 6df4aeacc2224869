"""HTTP listeners for the local st2 API (stdlib ``http.server``, one thread per request).

``ApiServer`` listens on an API port and, optionally, an auth port; both answer every route (see
``routes``), so either one URL (``ST2_API_URL=http://127.0.0.1:9101/api/v1``,
``ST2_AUTH_URL=http://127.0.0.1:9101/auth/v1``) or StackStorm's default ports (API 9101, auth
9100: a bare ``st2`` with no configuration) work. Loopback only unless told otherwise.

Paths under ``/api/``, ``/auth/`` and ``/stream/`` are mapped as st2web's nginx maps them
(``prefixes``); with a ``webui.WebUi`` the listeners also serve an st2web build on the same origin.
"""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from workspaces_devkit.command_errors import listening
from workspaces_devkit.st2api.prefixes import upstream_path
from workspaces_devkit.st2api.routes import Request

__all__ = ["ApiServer"]

LOG = logging.getLogger(__name__)


def _handler_class(router, webui=None):
    class Handler(BaseHTTPRequestHandler):
        """Turns one HTTP request into a ``routes.Request`` and writes the ``Response``."""

        protocol_version = "HTTP/1.1"
        server_version = "workspaces-local-st2api"

        def _serve(self):
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""  # read even if unused: keep-alive
            if webui is not None:
                page = webui.answer(self.command, path, self.headers.get("Host"))
                if page is not None:
                    self._write_bytes(page.status, page.body, page.headers)
                    return
            body = None
            if raw:
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    self._write(400, {"faultstring": "Failed to parse request body: invalid JSON"})
                    return
            request = Request(self.command, upstream_path(path),
                              dict(parse_qsl(parts.query, keep_blank_values=True)),
                              dict(self.headers.items()), body)
            try:
                response = router.handle(request)
            except Exception:  # an internal error answers 500, as StackStorm's middleware does
                LOG.exception("st2 API call failed: %s %s", self.command, self.path)
                self._write(500, {"faultstring": "Internal Server Error"})
                return
            if getattr(response, "stream", None) is not None:
                self._stream(response)
                return
            self._write(response.status, response.body, response.headers)

        def _stream(self, response):
            """Send a streamed answer (server-sent events) until it ends or the client goes."""
            self.close_connection = True
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in response.stream:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:  # the client went away
                pass
            finally:
                response.stream.close()

        def _write(self, status, body, headers=None):
            raw = isinstance(body, bytes)
            data = body if raw else b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            if body is not None and not raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)

        def _write_bytes(self, status, data, headers):
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, fmt, *args):
            """Log each request at INFO (``workspaces-local -v`` shows them), not on stderr."""
            LOG.info("%s - %s", self.address_string(), fmt % args)

    return Handler


class ApiServer(object):
    """Serves a ``Router`` on ``host:port`` (API) and optionally ``host:auth_port`` (auth).

    Port 0 picks a free port; ``api_url``/``auth_url`` give the URLs to hand the ``st2`` CLI.
    A port another program holds raises ``command_errors.PortInUse`` naming ``--port`` or
    ``--auth-port``.
    ``auth_port=None`` means one listener serves both. ``webui`` (a ``webui.WebUi``) serves an
    st2web build on the listeners too (``webui_url``).
    """

    def __init__(self, router, host="127.0.0.1", port=9101, auth_port=None, webui=None):
        handler = _handler_class(router, webui)
        self._router = router
        self.webui = webui
        self.host = host
        self._servers = [listening(lambda: ThreadingHTTPServer((host, port), handler),
                                   host, port, "--port")]
        if auth_port is not None:
            try:
                self._servers.append(listening(
                    lambda: ThreadingHTTPServer((host, auth_port), handler), host, auth_port,
                    "--auth-port"))
            except OSError:
                self._servers[0].server_close()
                raise
        for server in self._servers:
            server.daemon_threads = True
        self._threads = []

    @property
    def port(self):
        """The API listener's port."""
        return self._servers[0].server_address[1]

    @property
    def auth_port(self):
        """The auth listener's port (the API port when there is one listener)."""
        return self._servers[-1].server_address[1]

    @property
    def base_url(self):
        """``http://host`` as ``ST2_BASE_URL`` expects it."""
        return "http://%s" % self.host

    @property
    def api_url(self):
        """The URL for ``ST2_API_URL`` / ``[api] url``."""
        return "http://%s:%d/api/v1" % (self.host, self.port)

    @property
    def auth_url(self):
        """The URL for ``ST2_AUTH_URL`` / ``[auth] url``."""
        return "http://%s:%d/auth/v1" % (self.host, self.auth_port)

    @property
    def webui_url(self):
        """The web UI's URL on the API listener (None without a web UI)."""
        if self.webui is None:
            return None
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d/" % (host, self.port)

    def start(self):
        """Start serving in background threads; return self."""
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="st2api-http",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        """Stop serving (ending open streams) and close the sockets."""
        if hasattr(self._router, "close"):
            self._router.close()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._threads = []
