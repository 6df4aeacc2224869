"""An emulator of the NRAO Workspaces HTTP API (capability and workflow services), for the tests
and the demo: a real HTTP/1.1 server on loopback with keep-alive, serving the routes of
``config.schema.yaml``'s ``*_route`` defaults and the request state machine ``Created ->
Submitted -> Executing -> Complete | Failed`` (also ``Cancelled``), driven by time.

Controls, from Python or over HTTP under ``/_emulator/``: ``latency`` (seconds added to every API
call); ``inject(kind, count, status=503, seconds=1.0)``: the next ``count`` API calls answer
``status``, or ``drop`` the connection, or are ``slow`` by ``seconds``, or answer ``garbage``
(not JSON); parameters ``"emulator_outcome": "Failed"`` and ``"emulator_executing_seconds": N``
steer a request; ``requests()``, ``log``, ``connections`` and ``handler_seconds`` report.

``python -m workspaces_devkit.emulator --port 3457`` serves both services on the one port.
"""

import base64
import itertools
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from workspaces_devkit.command_errors import OneLineParser, PortInUse, listening

__all__ = ["WorkspacesEmulator", "DEFAULT_CAPABILITIES", "DEFAULT_WORKFLOWS"]

DEFAULT_CAPABILITIES = ("null", "download", "std_calibration", "std_cms_imaging", "restore_cms",
                        "std_restore_imaging", "ingest_obs", "ingest_cal")
DEFAULT_WORKFLOWS = ("null", "ingest_obs", "ingest_cal", "std_calibration", "download")
TERMINAL_STATES = ("Complete", "Failed", "Cancelled", "Error")
#: What a handler meets when its client closed the connection first.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)

_NAME = r"(?P<name>[^/]+)"
_ID = r"(?P<id>[0-9]+)"
ROUTES = [
    ("POST", r"/capability/%s/request/create" % _NAME, "capability", "create"),
    ("POST", r"/capability/request/%s/submit" % _ID, "capability", "submit"),
    ("GET", r"/capability/request/%s/version/(?P<version>[0-9]+)" % _ID, "capability", "version"),
    ("POST", r"/capability/request/%s/cancel" % _ID, "capability", "cancel"),
    ("GET", r"/capability/request/%s" % _ID, "capability", "get"),
    ("GET", r"/workflows", "workflow", "list"),
    ("POST", r"/workflows/%s/requests/create" % _NAME, "workflow", "create"),
    ("PUT", r"/workflows/%s/requests/%s/files/(?P<filename>[^/]+)" % (_NAME, _ID), "workflow",
     "file"),
    ("POST", r"/workflows/%s/requests/%s/submit" % (_NAME, _ID), "workflow", "submit"),
    ("POST", r"/workflows/%s/requests/%s/abort" % (_NAME, _ID), "workflow", "cancel"),
    ("GET", r"/workflows/%s/requests/%s" % (_NAME, _ID), "workflow", "get"),
]
_COMPILED = [(method, re.compile("^%s$" % pattern), kind, operation)
             for method, pattern, kind, operation in ROUTES]


class ApiError(Exception):
    """An error answer of the emulated service."""

    def __init__(self, status, message):
        super(ApiError, self).__init__(message)
        self.status = status
        self.message = message


class _Request(object):
    """One capability or workflow request and its time-driven state."""

    def __init__(self, kind, request_id, name, parameters, clock):
        self.kind = kind
        self.id = request_id
        self.name = name
        self.parameters = parameters
        self.created_at = clock()
        self.submitted_at = None
        self.final_state = None
        self.files = {}
        self._clock = clock

    def state(self, durations):
        """Return the state now."""
        if self.final_state is not None:
            return self.final_state
        if self.submitted_at is None:
            return "Created"
        elapsed = self._clock() - self.submitted_at
        executing = float(self.parameters.get("emulator_executing_seconds",
                                              durations["Executing"]))
        if elapsed < durations["Submitted"]:
            return "Submitted"
        if elapsed < durations["Submitted"] + executing:
            return "Executing"
        outcome = self.parameters.get("emulator_outcome", "Complete")
        return outcome if outcome in TERMINAL_STATES else "Complete"


class WorkspacesEmulator(object):
    """The emulated capability and workflow services, with fault injection and a request log."""

    def __init__(self, capabilities=DEFAULT_CAPABILITIES, workflows=DEFAULT_WORKFLOWS,
                 submitted_seconds=0.05, executing_seconds=0.2, latency=0.0, auth=None,
                 clock=time.time):
        self.capabilities = set(capabilities)
        self.workflows = set(workflows)
        self.durations = {"Submitted": submitted_seconds, "Executing": executing_seconds}
        self.latency = latency
        self.auth = auth  # None, ("bearer", token) or ("basic", user, password)
        self.log = []
        self.connections = 0
        self.handler_seconds = 0.0
        self.api_calls = 0
        self._clock = clock
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._requests = {}
        self._faults = []
        self._server = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, host="127.0.0.1", port=0):
        """Serve on ``host:port`` (0: a free port) in a thread; return the URL (``PortInUse``
        naming ``--port`` when another program holds it)."""
        self._server = listening(lambda: _Server((host, port), _Handler, self), host, port,
                                 "--port")
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="ws-emulator",
                         daemon=True).start()
        return self.url

    @property
    def url(self):
        """Base URL of the running emulator."""
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def stop(self):
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- controls ----------------------------------------------------------------------------
    def inject(self, kind, count=1, status=503, seconds=1.0):
        """Make the next ``count`` API calls fail with ``kind`` (status, drop, slow, garbage)."""
        if kind not in ("status", "drop", "slow", "garbage"):
            raise ValueError("unknown fault kind %r" % kind)
        with self._lock:
            self._faults.extend([{"kind": kind, "status": status, "seconds": seconds}] * count)

    def clear_faults(self):
        """Drop every pending injected fault."""
        with self._lock:
            self._faults = []

    def reset(self):
        """Forget requests, log, faults and counters."""
        with self._lock:
            self._requests.clear()
            self.clear_faults()
            self.log = []
            self.connections = self.api_calls = 0
            self.handler_seconds = 0.0

    def requests(self, kind=None):
        """Return every request as a dict (``kind`` 'capability' or 'workflow' to filter)."""
        with self._lock:
            return [self._document(r) for r in sorted(self._requests.values(), key=lambda r: r.id)
                    if kind is None or r.kind == kind]

    def stats(self):
        """Return the counters."""
        return {"connections": self.connections, "api_calls": self.api_calls,
                "handler_seconds": self.handler_seconds, "requests": len(self._requests)}

    def next_fault(self):
        """Pop the next injected fault, or None."""
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # --- the API -----------------------------------------------------------------------------
    def check_auth(self, header):
        """Raise 401 unless the Authorization header matches the configured auth."""
        if not self.auth:
            return
        expected = "Bearer %s" % self.auth[1] if self.auth[0] == "bearer" else "Basic %s" % (
            base64.b64encode(("%s:%s" % self.auth[1:]).encode()).decode())
        if header != expected:
            raise ApiError(401, "authentication required or credentials invalid")

    def handle(self, method, path, body):
        """Answer one API call: return ``(status, document)`` or raise ApiError."""
        for route_method, pattern, kind, operation in _COMPILED:
            match = pattern.match(path)
            if match and route_method == method:
                with self._lock:
                    return self._operation(kind, operation, body, **match.groupdict())
        if any(route[1].match(path) for route in _COMPILED):
            raise ApiError(405, "method %s is not allowed on %s" % (method, path))
        raise ApiError(404, "no route %s %s" % (method, path))

    def _json(self, body):
        if not body:
            return {}
        try:
            value = json.loads(body.decode("utf-8"))
        except ValueError:
            raise ApiError(400, "request body is not valid JSON")
        if not isinstance(value, dict):
            raise ApiError(400, "request body must be a JSON object")
        return value

    def _get(self, kind, request_id, name=None):
        request = self._requests.get(int(request_id))
        if request is None or request.kind != kind or (name is not None and request.name != name):
            raise ApiError(404, "%s request %s not found" % (kind, request_id))
        return request

    def _document(self, request):
        state = request.state(self.durations)
        doc = {"id": request.id, "state": state, "created_at": request.created_at,
               "parameters": request.parameters}
        if request.kind == "capability":
            doc.update({"capability_name": request.name, "current_version": 1,
                        "versions": [{"version": 1, "state": state,
                                      "parameters": request.parameters}],
                        "execution": None if request.submitted_at is None else
                        {"id": request.id * 10, "state": state, "version": 1}})
        else:
            doc.update({"workflow_request_id": request.id, "workflow_name": request.name,
                        "argument": request.parameters, "files": sorted(request.files),
                        "file_sizes": dict(request.files)})
        return doc

    def _operation(self, kind, operation, body, name=None, id=None, version=None,
                   filename=None):
        """One route's work on the ``kind`` request ``id`` (or ``name``'s new request)."""
        if operation == "list":
            return 200, {"workflows": [{"workflow_name": n} for n in sorted(self.workflows)]}
        if operation == "create":
            if name not in (self.capabilities if kind == "capability" else self.workflows):
                raise ApiError(404, "%s %s does not exist" % (kind, name))
            request = _Request(kind, next(self._ids), name, self._json(body), self._clock)
            self._requests[request.id] = request
            return 201, self._document(request)
        request = self._get(kind, id, None if kind == "capability" else name)
        state = request.state(self.durations)
        if operation == "submit":
            if request.submitted_at is not None or request.final_state is not None:
                raise ApiError(409, "%s request %d is already %s" % (kind, request.id, state))
            request.submitted_at = self._clock()
        elif operation == "cancel":
            if state in TERMINAL_STATES:
                raise ApiError(409, "%s request %d is already %s" % (kind, request.id, state))
            request.final_state = "Cancelled"
        elif operation == "version":
            if int(version) != 1:
                raise ApiError(404, "capability request %s has no version %s" % (id, version))
            return 200, self._document(request)["versions"][0]
        elif operation == "file":
            if request.submitted_at is not None:
                raise ApiError(409, "workflow request %s is already submitted" % id)
            request.files[filename] = len(body or b"")
            return 200, {"filename": filename, "size": len(body or b"")}
        return 200, self._document(request)

    # --- control routes ----------------------------------------------------------------------
    def control(self, method, path, body):
        """Answer a ``/_emulator/...`` control call."""
        reads = {"/_emulator/requests": lambda: {"requests": self.requests()},
                 "/_emulator/log": lambda: {"log": list(self.log)}, "/_emulator/stats": self.stats}
        if method == "GET" and path in reads:
            return 200, reads[path]()
        if method == "POST" and path == "/_emulator/faults":
            spec = self._json(body)
            try:
                self.inject(spec.get("kind", "status"), int(spec.get("count", 1)),
                            int(spec.get("status", 503)), float(spec.get("seconds", 1.0)))
            except ValueError as error:
                raise ApiError(400, str(error))
            return 200, {"pending_faults": len(self._faults)}
        if method == "POST" and path == "/_emulator/reset":
            self.reset()
            return 200, {"reset": True}
        raise ApiError(404, "no control route %s %s" % (method, path))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, emulator):
        self.emulator = emulator
        ThreadingHTTPServer.__init__(self, address, handler)

    def process_request(self, request, client_address):
        with self.emulator._lock:
            self.emulator.connections += 1
        ThreadingHTTPServer.process_request(self, request, client_address)

    def handle_error(self, request, client_address):
        """A client that went away before its answer (a read timeout, a killed process) is
        normal for a service: no traceback; anything else is reported as socketserver does."""
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WorkspacesEmulator/1.0"

    def setup(self):
        """Send small answers at once (no Nagle delay on keep-alive connections)."""
        BaseHTTPRequestHandler.setup(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        """Keep the console quiet; the emulator has its own log."""

    def _answer(self, status, document, raw=None):
        body = raw if raw is not None else json.dumps(document).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self):
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if path.startswith("/_emulator/"):
            try:
                status, document = emulator.control(self.command, path, body)
            except ApiError as error:
                status, document = error.status, {"message": error.message}
            return self._answer(status, document)
        started = time.perf_counter()
        status, document, raw = 500, None, None
        try:
            fault = emulator.next_fault()
            if emulator.latency:
                time.sleep(emulator.latency)
            if fault and fault["kind"] == "slow":
                time.sleep(fault["seconds"])
            if fault and fault["kind"] == "drop":
                status = 0
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if fault and fault["kind"] == "status":
                raise ApiError(fault["status"], "injected fault: service unavailable")
            emulator.check_auth(self.headers.get("Authorization"))
            status, document = emulator.handle(self.command, path, body)
            if fault and fault["kind"] == "garbage":
                raw = b"<html>502 Bad Gateway</html>{not json"
        except ApiError as error:
            status, document = error.status, {"message": error.message, "status": error.status}
        finally:
            with emulator._lock:
                emulator.api_calls += 1
                emulator.handler_seconds += time.perf_counter() - started
                emulator.log.append({"method": self.command, "path": path, "status": status})
        return self._answer(status, document, raw)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


def main(argv=None):
    """Run the emulator in the foreground; return the exit status."""
    parser = OneLineParser(prog="python -m workspaces_devkit.emulator",
                           description="Emulated NRAO Workspaces services")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3457,
                        help="port of both services (default 3457; 0 picks a free one)")
    parser.add_argument("--executing-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    emulator = WorkspacesEmulator(executing_seconds=args.executing_seconds)
    try:
        url = emulator.start(args.host, args.port)
    except PortInUse as error:
        sys.stderr.write("%s: %s; the pack config's capability_service_url and "
                         "workflow_service_url must then name that port\n" % (parser.prog, error))
        return 1
    print("Workspaces emulator on %s" % url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
