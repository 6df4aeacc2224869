"""Create a Workspaces request, submit it and optionally wait for its end: the flow of the actions
``workspaces.capability_create_and_run`` and ``workspaces.workflow_create_and_run``.

The result always says what happened; when anything fails after the request was created it
carries ``request_id`` and a hint, so that an operator resubmits that request instead of creating
a duplicate.
"""

import collections
import os
import re
import time

from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.errors import ParameterError, checked_amount, checked_flag
from workspaces_pack.core.results import action_result, failed_result
from workspaces_pack.workspaces_service.client import (FAILED_STATES, TERMINAL_STATES,
                                                       WorkspacesClient, WorkspacesError)

__all__ = ["RunOptions", "RequestFlow", "create_and_run"]

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # used with fullmatch
MAX_SECONDS = 7 * 24 * 3600
MAX_POLL_SECONDS = 60.0
PAYLOAD_PARAMETER = {"capability": "parameters", "workflow": "arguments"}
"""The action parameter that holds what a request of each type is created with."""
ID_KEYS = {"capability": ("id", "capability_request_id"),
           "workflow": ("workflow_request_id", "id")}
"""Where the create answer of each request type holds the new request's id (first found)."""


class RunOptions(collections.namedtuple("RunOptions", "submit wait wait_timeout poll_interval")):
    """How far to go after create: ``submit``, ``wait``, and while waiting how long
    (``wait_timeout``) and how often to look (``poll_interval``), in seconds."""

    def __new__(cls, submit=True, wait=False, wait_timeout=3600, poll_interval=10):
        submit, wait = checked_flag("submit", submit), checked_flag("wait", wait)
        if wait and not submit:
            raise ParameterError("wait", "cannot wait for a request that is not submitted "
                                         "(submit is false)")
        return super(RunOptions, cls).__new__(
            cls, submit, wait,
            checked_amount("wait_timeout", wait_timeout, "seconds", MAX_SECONDS),
            checked_amount("poll_interval", poll_interval, "seconds", MAX_SECONDS))


def _check_name(parameter, value):
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


class RequestFlow(object):
    """Create -> attach files -> submit -> wait, for one request of ``request_type``
    (``capability`` or ``workflow``) named ``name``."""

    def __init__(self, client, request_type, name, options, logger):
        self.client = client
        self.request_type = request_type
        self.name = name
        self.options = options
        self.logger = logger
        self.address = {"id": None}
        if request_type == "workflow":
            self.address["name"] = name
        self.result = {"kind": request_type, "name": name, "request_id": None,
                       "state": None, "submitted": False, "waited": False, "url": None}

    def run(self, payload, files=()):
        """Run the flow; return ``(succeeded, result)``."""
        try:
            document = self.client.create_request(self.request_type, self.name, payload)
        except WorkspacesError as error:
            if error.maybe_processed:
                return self._fail(error, "the service may have created the request without "
                                         "answering clearly; check Workspaces for a new %s "
                                         "request before running the action again"
                                         % self.request_type)
            return self._fail(error, "nothing was created; it is safe to run the action again")
        request_id = next((document[key] for key in ID_KEYS[self.request_type]
                           if document.get(key) is not None), None)
        self.address["id"] = self.result["request_id"] = request_id
        self.result["url"] = self.client.request_url(self.request_type, self.address)
        self._update(document)
        self.logger.info("created %s request %s for %s", self.request_type, request_id, self.name)
        try:
            for path in files:
                self.client.upload_workflow_file(self.address, path)
                self.result.setdefault("files", []).append(os.path.basename(path))
            if not self.options.submit:
                return True, self._done("created, not submitted (submit is false)")
            self._update(self.client.submit_request(self.request_type, self.address))
            self.result["submitted"] = True
            self.logger.info("submitted %s request %s", self.request_type, request_id)
        except WorkspacesError as error:
            return self._fail(error, "request %s exists; submit it again instead of creating a new "
                              "one" % request_id)
        if not self.options.wait:
            return True, self._done("submitted")
        return self._wait()

    def _wait(self):
        self.result["waited"] = True
        started = time.monotonic()
        interval = self.options.poll_interval
        while True:
            try:
                self._update(self.client.get_request(self.request_type, self.address))
                last_error = None
            except WorkspacesError as error:
                last_error = error
                self.logger.warning("could not read %s request %s (will retry): %s",
                                    self.request_type, self.address["id"], error)
            state = self.result["state"]
            elapsed = time.monotonic() - started
            self.result["elapsed_seconds"] = round(elapsed, 3)
            if last_error is None and state in TERMINAL_STATES:
                return state not in FAILED_STATES, self._done(
                    "%s request %s ended %s" % (self.request_type, self.address["id"], state),
                    failed=state in FAILED_STATES)
            if elapsed >= self.options.wait_timeout:
                message = "wait_timeout of %gs passed; %s request %s is still %s and keeps " \
                          "running in Workspaces (%s)" % (self.options.wait_timeout,
                                                          self.request_type, self.address["id"],
                                                          state, self.result["url"])
                if last_error is not None:
                    message += "; last error: %s" % last_error
                return False, self._done(message, failed=True)
            time.sleep(min(interval, max(0.0, self.options.wait_timeout - elapsed)))
            interval = min(interval * 1.5, max(MAX_POLL_SECONDS, self.options.poll_interval))

    def _update(self, document):
        execution = document.get("execution") or {}
        self.result["state"] = document.get("state") or execution.get("state") or \
            self.result["state"]
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


def create_and_run(request_type, config, logger, **parameters):
    """Run the ``capability`` or ``workflow`` flow for an action; return its ``(ok, result)``
    (``core.results``), a bad parameter or config value named."""
    client = None
    try:
        options = RunOptions(**{name: parameters.pop(name) for name in RunOptions._fields
                                if name in parameters})
        client = WorkspacesClient(config)
        name = _check_name(request_type + "_name", parameters.pop(request_type + "_name"))
        payload_parameter = PAYLOAD_PARAMETER[request_type]
        payload = _check_object(payload_parameter, parameters.pop(payload_parameter, None))
        files = _check_files(parameters.pop("files", None))
        succeeded, result = RequestFlow(client, request_type, name, options, logger).run(payload,
                                                                                         files)
    except (ParameterError, ConfigError) as error:
        return failed_result(logger, error, {"request_id": None})
    finally:
        if client is not None:
            client.close()
    return action_result(succeeded, result)
