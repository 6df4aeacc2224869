"""Serve a user-supplied st2web build (StackStorm's web UI) read-only, with a generated config.js.

``WebUi(directory)`` answers the web UI's own requests as the ``location /`` block of StackStorm's
nginx site does (``/`` is ``index.html``, another path names a file of the build) and leaves the
rest to ``web.Origin``. Files are only read: other methods get 405; ``..``, hidden names and links
out of the build get 404. ``/config.js`` is made per request, pointing st2web at this origin.
"""

import json
import os
import re
from http import HTTPStatus


__all__ = ["WebUi", "CONTENT_TYPES"]

#: Content types by file suffix (nginx's mime.types for what an st2web build holds).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".map": "application/json",
    ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".ico": "image/x-icon",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}
_SERVICE_PATH = re.compile(r"^/(api|auth|stream)(/|$)")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_CONFIG_JS = """\
// st2web settings written by workspaces-local for this page (not a file of the build):
// the auth, API and stream services are on this origin, under st2web's usual prefixes.
angular.module('main').constant('st2Config', %s);
"""


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

    def __call__(self, environ, start_response):
        """Answer a request as a WSGI application, or return None when it is not the UI's."""
        path, method = environ.get("PATH_INFO") or "/", environ["REQUEST_METHOD"]
        if _SERVICE_PATH.match(path):
            return None
        segments = path.split("/")[1:]
        if any(s in (".", "..") or s.startswith(".") or "\\" in s or "\0" in s for s in segments):
            return _answer(start_response, method, 404, "Not Found")
        file_path = None if path == "/config.js" else self._file(segments)
        if path != "/config.js" and file_path is None:
            return None
        if method not in ("GET", "HEAD"):
            return _answer(start_response, method, 405, "Method Not Allowed: the web UI's files "
                           "are read-only", {"Allow": "GET, HEAD"})
        if file_path is None:
            return self._config_js(start_response, method, environ.get("HTTP_HOST"))
        try:
            with open(file_path, "rb") as handle:
                body = handle.read()
        except OSError:
            return _answer(start_response, method, 404, "Not Found")
        content_type = CONTENT_TYPES.get(os.path.splitext(file_path)[1].lower(),
                                         "application/octet-stream")
        return _answer(start_response, method, 200, body, {"Content-Type": content_type,
                                                           "Cache-Control": "no-cache"})

    def _file(self, segments):
        candidate = os.path.join(self.root, *segments)
        if os.path.isdir(candidate):
            candidate = os.path.join(candidate, "index.html")
        real = os.path.realpath(candidate)
        if os.path.commonpath([self.root, real]) != self.root or not os.path.isfile(real):
            return None  # not there, or a link leading out of the build
        return real

    def config(self, host):
        """Return st2web's ``st2Config`` for a page loaded from ``host`` (``name:port``)."""
        origin = "//%s" % host
        return {"hosts": [{"name": self.name, "url": origin + "/api",
                           "auth": origin + "/auth", "stream": origin + "/stream"}]}

    def _config_js(self, start_response, method, host):
        if not host or not _HOST.match(host):
            return _answer(start_response, method, 400,
                           "Bad Request: no valid Host header to point st2web at")
        body = _CONFIG_JS % json.dumps(self.config(host), indent=2, sort_keys=True)
        return _answer(start_response, method, 200, body.encode("utf-8"), {
            "Content-Type": CONTENT_TYPES[".js"], "Cache-Control": "no-store"})


def _answer(start_response, method, status, body, headers=None):
    """Send ``body`` (bytes, or text: a plain-text message) with the security headers."""
    if not isinstance(body, bytes):
        body = (body + "\n").encode("utf-8")
        headers = dict(headers or {}, **{"Content-Type": "text/plain; charset=utf-8"})
    headers = dict(headers, **{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                               "Content-Length": str(len(body))})
    start_response("%d %s" % (status, HTTPStatus(status).phrase), list(headers.items()))
    return [b""] if method == "HEAD" else [body]
