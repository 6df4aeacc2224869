"""The one client of the NRAO Workspaces capability and workflow services.

A ``requests.Session`` reuses connections; every call has (connect, read) timeouts from the pack
config. urllib3 retries connection errors (nothing was sent) and, for the idempotent GET and PUT
only, 502/503/504 answers, with exponential backoff; a POST that creates or submits is never
retried after it reached the service, so nothing is created twice.

A request is of type ``capability`` (addressed by its ``id``) or ``workflow`` (by the workflow's
``name`` and its ``id``); each call uses the pack config route ``<type>_<route>_route``. Errors are
``WorkspacesError``s naming the call, the path, the HTTP status and the service's own message.
"""

import json
import os
import re
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from workspaces_pack.core.config import ConfigError

__all__ = ["WorkspacesClient", "WorkspacesError", "WorkspacesUnavailable", "WorkspacesHttpError",
           "WorkspacesNotFound", "WorkspacesBadResponse", "TERMINAL_STATES", "FAILED_STATES"]

TERMINAL_STATES = ("Complete", "Failed", "Cancelled", "Error")
FAILED_STATES = ("Failed", "Cancelled", "Error")
RETRY_STATUSES = (502, 503, 504)
NEVER_SENT = ("NewConnectionError", "Connection refused", "Name or service not known")
"""What the text of a connection error holds when the call never reached the service."""
KNOWN_REASONS = ("Read timed out", "Connection aborted", "RemoteDisconnected")


class WorkspacesError(Exception):
    """A Workspaces call failed. ``call``, ``path``, ``status`` and ``service_message`` say how."""

    maybe_processed = False
    """True when the service may have acted on the call although it failed for the client
    (the answer timed out, was cut off or was unreadable)."""

    def __init__(self, message, call=None, path=None, status=None, service_message=None):
        super(WorkspacesError, self).__init__(message)
        self.call = call
        self.path = path
        self.status = status
        self.service_message = service_message

    def to_dict(self):
        """Return the error as a JSON-ready dict for action results."""
        return {"error": str(self), "call": self.call, "path": self.path, "status": self.status,
                "service_message": self.service_message}


class WorkspacesUnavailable(WorkspacesError):
    """The service could not be reached (refused, timed out, connection dropped)."""


class WorkspacesHttpError(WorkspacesError):
    """The service answered with an HTTP error status."""


class WorkspacesNotFound(WorkspacesHttpError):
    """The service answered 404 (unknown capability, workflow or request)."""


class WorkspacesBadResponse(WorkspacesError):
    """The service answered something that is not the JSON object expected."""

    maybe_processed = True


class WorkspacesClient(object):
    """Calls the capability and workflow services as configured in the pack config."""

    def __init__(self, config):
        self.config = config
        self.base_urls = {kind: config.require_url(kind + "_service_url").rstrip("/")
                          for kind in ("capability", "workflow")}
        self.timeout = (float(config.get("connect_timeout_seconds")),
                        float(config.get("read_timeout_seconds")))
        self.session = self._make_session()

    def _make_session(self):
        retries = int(self.config.get("retry_count"))
        retry = Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                      backoff_factor=float(self.config.get("retry_backoff_seconds")),
                      status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(["GET", "PUT"]),
                      raise_on_status=False, respect_retry_after_header=True)
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"Accept": "application/json",
                                "User-Agent": "stackstorm-workspaces-pack"})
        mode = self.config.get("auth_mode")
        if mode == "bearer":
            session.headers["Authorization"] = "Bearer %s" % self.config.require("auth_token")
        elif mode == "basic":
            session.auth = (self.config.require("auth_username"),
                            self.config.require("auth_password"))
        elif mode != "none":
            raise ConfigError("pack config key 'auth_mode' must be none, bearer or basic, not %r"
                              % (mode,))
        return session

    def close(self):
        """Close the pooled connections."""
        self.session.close()

    def _path(self, request_type, route, address):
        """The path of route ``<request_type>_<route>_route``, each value of ``address`` quoted
        as one path segment (a name or id can never add path parts)."""
        key = "%s_%s_route" % (request_type, route)
        template = str(self.config.get(key))
        try:
            return template.format(**{k: quote(str(v), safe="") for k, v in address.items()})
        except (KeyError, IndexError) as error:
            raise ConfigError("pack config key %r: route %r uses an unknown placeholder %s"
                              % (key, template, error))

    def _call(self, call, method, request_type, path, **body):
        """Send one request (``json`` or ``data``: bytes sent as application/octet-stream); return
        the service's JSON object or raise the ``WorkspacesError`` that says what failed."""
        base = self.base_urls[request_type]
        what = "%s: %s %s" % (call, method, path)
        headers = {"Content-Type": "application/octet-stream"} if "data" in body else None
        try:
            response = self.session.request(method, base + path, headers=headers,
                                            timeout=self.timeout, **body)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            unavailable = WorkspacesUnavailable("%s: Workspaces service at %s is unreachable (%s)"
                                                % (what, base, _reason(error)), call, path)
            unavailable.maybe_processed = not _never_sent(error)
            raise unavailable
        except requests.exceptions.RequestException as error:
            raise WorkspacesError("%s failed: %s" % (what, _reason(error)), call, path)
        status = response.status_code
        if status >= 400:
            message = _service_message(response)
            cls = WorkspacesNotFound if status == 404 else WorkspacesHttpError
            raise cls("%s answered HTTP %d: %s" % (what, status, message), call, path, status,
                      message)
        try:
            document = response.json()
        except ValueError:
            raise WorkspacesBadResponse("%s answered HTTP %d with a body that is not JSON: %r"
                                        % (what, status, response.text[:120]), call, path, status)
        if not isinstance(document, dict):
            raise WorkspacesBadResponse("%s answered JSON that is not an object" % what, call,
                                        path, status)
        return document

    def create_request(self, request_type, name, payload):
        """Create a request of capability or workflow ``name``; return the service's document."""
        return self._call("create %s request" % request_type, "POST", request_type,
                          self._path(request_type, "create", {"name": name}), json=payload or {})

    def submit_request(self, request_type, address):
        """Submit the request at ``address`` (starts an execution); return its document."""
        return self._call("submit %s request" % request_type, "POST", request_type,
                          self._path(request_type, "submit", address))

    def get_request(self, request_type, address):
        """Return the document (state, versions, execution) of the request at ``address``."""
        return self._call("get %s request" % request_type, "GET", request_type,
                          self._path(request_type, "request", address))

    def request_url(self, request_type, address):
        """Return the service URL of the request at ``address``."""
        return self.base_urls[request_type] + self._path(request_type, "request", address)

    def list_workflows(self):
        """Return the workflow service's list of workflows."""
        return self._call("list workflows", "GET", "workflow", self._path("workflow", "list", {}))

    def upload_workflow_file(self, address, file_path):
        """Attach the file at ``file_path`` to the workflow request at ``address`` (PUT, retried
        when safe)."""
        filename = os.path.basename(file_path)
        path = self._path("workflow", "file", dict(address, filename=filename))
        with open(file_path, "rb") as handle:
            return self._call("upload workflow file %s" % filename, "PUT", "workflow", path,
                              data=handle.read())


def _never_sent(error):
    """True when a requests error shows the call never reached the service (connect failed)."""
    if isinstance(error, requests.exceptions.Timeout):
        return isinstance(error, requests.exceptions.ConnectTimeout)
    return any(text in repr(error) for text in NEVER_SENT)


def _reason(error):
    """A short reason for a requests exception, without URLs or credentials."""
    text = str(error.args[0]) if error.args else str(error)
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if errno:
        return errno.group(0).strip()
    return next((known for known in KNOWN_REASONS if known in text), text.strip()[:200])


def _service_message(response):
    """The error message the service put in its body, or the start of the body."""
    try:
        document = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:200]
    if isinstance(document, dict):
        for key in ("message", "error", "detail", "faultstring"):
            if document.get(key):
                return str(document[key])[:500]
    return json.dumps(document)[:200]
