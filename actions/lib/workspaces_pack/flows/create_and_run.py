"""Create a Workspaces request, submit it and optionally wait for its end: the flow of the actions
``workspaces.capability_create_and_run`` and ``workspaces.workflow_create_and_run``.

``create_and_run`` returns the action's ``(ok, result)`` (``core.results``); ``run_capability``
and ``run_workflow`` return ``(succeeded, result)``. The result always says what
happened; when anything fails after the request was created it carries ``request_id`` and a hint,
so that an operator resubmits that request instead of creating a duplicate.
"""

import os
import re
import time

from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.results import action_result
from workspaces_pack.workspaces_service.client import (FAILED_STATES, TERMINAL_STATES,
                                                       WorkspacesClient, WorkspacesError)

__all__ = ["RunOptions", "run_capability", "run_workflow", "check_name", "create_and_run"]

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # used with fullmatch
MAX_SECONDS = 7 * 24 * 3600
MAX_POLL_SECONDS = 60.0


class RunOptions(object):
    """How far to go after create: submit, wait, how long, how often to look (``clock()`` and
    ``sleep(seconds)`` measure and pass the wait)."""

    def __init__(self, submit=True, wait=False, wait_timeout=3600, poll_interval=10.0,
                 clock=time.monotonic, sleep=time.sleep):
        for name, value in (("submit", submit), ("wait", wait)):
            if not isinstance(value, bool):
                raise ParameterError(name, "must be true or false, got %r" % (value,))
        for name, value in (("wait_timeout", wait_timeout), ("poll_interval", poll_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not 0 < value <= MAX_SECONDS:  # NaN fails every comparison
                raise ParameterError(name, "must be a number of seconds above 0 and at most "
                                           "%d, got %r" % (MAX_SECONDS, value))
        if wait and not submit:
            raise ParameterError("wait", "cannot wait for a request that is not submitted "
                                         "(submit is false)")
        self.submit = submit
        self.wait = wait
        self.wait_timeout = float(wait_timeout)
        self.poll_interval = float(poll_interval)
        self.clock = clock
        self.sleep = sleep


def check_name(parameter, value):
    """Return ``value`` if it is a valid capability/workflow name, else raise ParameterError."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ParameterError(parameter, "%r is not a valid name (letters, digits, '_', '.', "
                                        "'-'; at most 128 characters)" % (value,))
    return value


def _check_object(parameter, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParameterError(parameter, "must be an object (JSON dictionary), got %s"
                         % type(value).__name__)
    return value


def _check_files(files):
    if files is None:
        return []
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise ParameterError("files", "must be a list of file paths")
    for path in files:
        if not os.path.isabs(path) or ".." in path.split("/"):
            raise ParameterError("files", "%r must be an absolute path without '..' parts" % path)
        if not os.path.isfile(path):
            raise ParameterError("files", "%r is not an existing file" % path)
        if not os.access(path, os.R_OK):
            raise ParameterError("files", "%r is not readable" % path)
    names = [os.path.basename(p) for p in files]
    if len(set(names)) != len(names):
        raise ParameterError("files", "two files share one name; Workspaces stores them by name")
    return files


def _state(document):
    return document.get("state") or (document.get("execution") or {}).get("state")


_ID_KEYS = {"capability": ("id", "capability_request_id"),
            "workflow": ("workflow_request_id", "id")}
"""Where the create answer of each request type holds the new request's id (first found)."""


class _Flow(object):
    """Create -> attach files -> submit -> wait, for one request of ``request_type``.

    A capability request is addressed by its id, a workflow request by the workflow's name and
    its id.
    """

    def __init__(self, client, request_type, name, options, logger):
        self.client = client
        self.request_type = request_type
        if request_type == "capability":
            self._calls = {"create": client.create_capability_request,
                           "submit": client.submit_capability_request,
                           "get": client.get_capability_request,
                           "url": client.capability_request_url}
        else:
            self._calls = {"create": client.create_workflow_request,
                           "submit": client.submit_workflow_request,
                           "get": client.get_workflow_request,
                           "url": client.workflow_request_url}
        self.name = name
        self.options = options
        self.logger = logger
        self.result = {"kind": request_type, "name": name, "request_id": None,
                       "state": None, "submitted": False, "waited": False, "url": None}

    def _address(self):
        request_id = self.result["request_id"]
        return (request_id,) if self.request_type == "capability" else (self.name, request_id)

    def _call(self, verb):
        """``submit`` or ``get`` the created request (or its ``url``)."""
        return self._calls[verb](*self._address())

    def _create(self, payload):
        document = self._calls["create"](self.name, payload)
        self.result["request_id"] = next((document[key] for key in _ID_KEYS[self.request_type]
                                          if document.get(key) is not None), None)
        self.result["url"] = self._call("url")
        return document

    def run(self, payload, files=()):
        """Run the flow; return ``(succeeded, result)``."""
        try:
            document = self._create(payload)
        except WorkspacesError as error:
            if error.maybe_processed:
                return self._fail(error, "the service may have created the request without "
                                         "answering clearly; check Workspaces for a new %s "
                                         "request before running the action again"
                                         % self.request_type)
            return self._fail(error, "nothing was created; it is safe to run the action again")
        self._update(document)
        self.logger.info("created %s request %s for %s", self.request_type,
                         self.result["request_id"], self.name)
        try:
            for path in files:
                self.client.upload_workflow_file(self.name, self.result["request_id"], path)
                self.result.setdefault("files", []).append(os.path.basename(path))
            if not self.options.submit:
                return True, self._done("created, not submitted (submit is false)")
            self._update(self._call("submit"))
            self.result["submitted"] = True
            self.logger.info("submitted %s request %s", self.request_type,
                             self.result["request_id"])
        except WorkspacesError as error:
            return self._fail(error, "request %s exists; submit it again instead of creating a new "
                              "one" % self.result["request_id"])
        if not self.options.wait:
            return True, self._done("submitted")
        return self._wait()

    def _wait(self):
        self.result["waited"] = True
        started = self.options.clock()
        interval = self.options.poll_interval
        last_error = None
        while True:
            try:
                self._update(self._call("get"))
                last_error = None
            except WorkspacesError as error:
                last_error = error
                self.logger.warning("could not read %s request %s (will retry): %s",
                                    self.request_type, self.result["request_id"], error)
            state = self.result["state"]
            if last_error is None and state in TERMINAL_STATES:
                self.result["elapsed_seconds"] = round(self.options.clock() - started, 3)
                return state not in FAILED_STATES, self._done(
                    "%s request %s ended %s" % (self.request_type, self.result["request_id"],
                                                state), failed=state in FAILED_STATES)
            elapsed = self.options.clock() - started
            if elapsed >= self.options.wait_timeout:
                self.result["elapsed_seconds"] = round(elapsed, 3)
                message = "wait_timeout of %gs passed; %s request %s is still %s and keeps " \
                          "running in Workspaces (%s)" % (self.options.wait_timeout,
                                                          self.request_type,
                                                          self.result["request_id"], state,
                                                          self.result["url"])
                if last_error is not None:
                    message += "; last error: %s" % last_error
                return False, self._done(message, failed=True)
            self.options.sleep(min(interval, max(0.0, self.options.wait_timeout - elapsed)))
            interval = min(interval * 1.5, max(MAX_POLL_SECONDS, self.options.poll_interval))

    def _update(self, document):
        self.result["state"] = _state(document) or self.result["state"]
        execution = document.get("execution") or {}
        if execution.get("id") is not None:
            self.result["execution_id"] = execution["id"]
        if document.get("current_version") is not None:
            self.result["version"] = document["current_version"]

    def _done(self, message, failed=False):
        self.result["message"] = message
        if failed:
            self.result["error"] = message
        return self.result

    def _fail(self, error, hint):
        self.logger.error("%s", error)
        self.result.update(error.to_dict())
        self.result["message"] = "%s (%s)" % (error, hint)
        self.result["hint"] = hint
        return False, self.result


def run_capability(client, options, logger, capability_name, parameters=None):
    """Create (and submit, and wait for) a capability request; return ``(succeeded, result)``."""
    check_name("capability_name", capability_name)
    payload = _check_object("parameters", parameters)
    return _Flow(client, "capability", capability_name, options, logger).run(payload)


def run_workflow(client, options, logger, workflow_name, arguments=None, files=None):
    """Create a workflow request, attach ``files``, submit (and wait); return the outcome."""
    check_name("workflow_name", workflow_name)
    payload = _check_object("arguments", arguments)
    paths = _check_files(files)
    return _Flow(client, "workflow", workflow_name, options, logger).run(payload, paths)


def create_and_run(request_type, config, logger, **parameters):
    """Run the ``capability`` or ``workflow`` flow for an action; return its ``(ok, result)``.

    Invalid parameters and config fail with a message naming the bad value.
    """
    client = None
    try:
        options = RunOptions(submit=parameters.pop("submit", True),
                             wait=parameters.pop("wait", False),
                             wait_timeout=parameters.pop("wait_timeout", 3600),
                             poll_interval=parameters.pop("poll_interval", 10))
        client = WorkspacesClient(config)
        if request_type == "capability":
            succeeded, result = run_capability(client, options, logger, **parameters)
        else:
            succeeded, result = run_workflow(client, options, logger, **parameters)
    except (ParameterError, ConfigError) as error:
        logger.error("%s", error)
        return action_result(False, {"request_id": None}, error)
    finally:
        if client is not None:
            client.close()
    return action_result(succeeded, result)
