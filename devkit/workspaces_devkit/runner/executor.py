"""Execute the pack's actions as StackStorm's python runner does: one subprocess per run.

Parameters are validated as StackStorm's API validates them and completed as its action runner
completes them (``render.render_final_params``); ``action_wrapper`` runs the action in a new Python
process within the ``timeout`` runner parameter. The result has the python runner's shape:
``{"result", "stdout", "stderr", "exit_code"}``.
"""

import itertools
import json
import os
import subprocess
import sys
import threading
import time

from workspaces_devkit.content import RUNNER_PARAMETERS
from workspaces_devkit.kvstore import datastore_reader
from workspaces_devkit.runner.action_wrapper import RESULT_MARKER
from workspaces_devkit.runner.render import ParamError, render_final_params

__all__ = ["ActionExecutor", "Execution", "ParameterError", "validate_parameters"]


class ParameterError(ValueError):
    """The parameters of an execution are invalid; the message is StackStorm's (``api_message``:
    without the ``parameter 'x': `` prefix, as StackStorm records it)."""

    def __init__(self, message, api_message=None):
        super(ParameterError, self).__init__(message)
        self.api_message = message if api_message is None else api_message


class Execution(object):
    """One action execution: id, action, parameters, status, result and timestamps."""

    def __init__(self, execution_id, action_ref, parameters):
        self.id = execution_id
        self.action_ref = action_ref
        self.parameters = parameters
        self.status = "requested"
        self.result = {}
        self.start_timestamp = time.time()
        self.end_timestamp = None

    @property
    def elapsed(self):
        """Seconds from start to end (or to now while running)."""
        return (self.end_timestamp or time.time()) - self.start_timestamp


def validate_parameters(action, parameters):
    """Return ``parameters`` validated and with defaults, as StackStorm's create_request does
    (a value given to an ``immutable`` parameter is refused)."""
    import jsonschema
    from st2common.util import schema as util_schema

    properties = {k: dict(v) for k, v in RUNNER_PARAMETERS.get(action.runner_type, {}).items()}
    for name, spec in (action.parameters or {}).items():
        properties.setdefault(name, {}).update(spec or {})
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if not isinstance(parameters, dict):
        raise ParameterError("%r is not of type 'object'" % (parameters,))
    try:
        live = util_schema.validate(parameters, schema, util_schema.CustomValidator,
                                    use_default=True, allow_default_none=True)
    except jsonschema.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path)
        raise ParameterError("%s%s" % ("parameter %r: " % where if where else "", error.message),
                             api_message=error.message)
    overridden = [name for name in parameters if properties.get(name, {}).get("immutable")]
    if overridden:
        raise ParameterError("Override of immutable parameter(s) %s is unsupported."
                             % str(overridden))
    return live


class ActionExecutor(object):
    """Runs the pack's actions in subprocesses with the runner's config and datastore."""

    def __init__(self, pack, config, datastore_path=None, python=sys.executable):
        self.pack = pack
        self.config = config
        self.datastore_path = datastore_path
        self.python = python
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _new(self, action_ref, parameters):
        with self._lock:
            return Execution(next(self._ids), action_ref, dict(parameters or {}))

    def execute(self, action_ref, parameters, action_context=None):
        """Run ``action_ref`` with ``parameters`` and return the finished ``Execution``;
        templated defaults see ``action_context``."""
        execution = self._new(action_ref, parameters)
        action = self.pack.action(action_ref)
        if action is None:
            return self._finish(execution, "failed", {"error": 'Action "%s" cannot be found.'
                                                      % action_ref})
        if action.runner_type != "python-script":
            return self._finish(execution, "failed", {"error": "runner %s is not supported "
                                                      "locally" % action.runner_type})
        runner_params = RUNNER_PARAMETERS.get(action.runner_type, {})
        context = dict(action_context or {"user": "stanley"}, pack=self.pack.ref)
        try:
            validate_parameters(action, execution.parameters)
            runner_values, action_values = render_final_params(
                runner_params, action.parameters, execution.parameters, context,
                config=self.config, kv_get=datastore_reader(os.path.dirname(self.datastore_path))
                if self.datastore_path else None)
        except (ParameterError, ParamError) as error:
            return self._finish(execution, "failed", {"error": str(error)})
        timeout = runner_values.get("timeout") or 600
        execution.status = "running"
        job = {"entry_point": action.entry_point, "config": self.config,
               "parameters": action_values,
               "pack": self.pack.ref, "datastore_path": self.datastore_path}
        try:
            proc = subprocess.run([self.python, os.path.abspath(sys.modules[
                "workspaces_devkit.runner.action_wrapper"].__file__)],
                input=json.dumps(job, default=str), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            return self._finish(execution, "timeout", {
                "error": "Action failed to complete in %s seconds" % timeout,
                "stdout": error.stdout or "", "stderr": error.stderr or "", "exit_code": -9})
        stdout, _, tail = proc.stdout.rpartition(RESULT_MARKER)
        try:
            outcome = json.loads(tail)
        except ValueError:
            outcome = {"status": "failed", "result": None}
            stdout = proc.stdout
        result = {"result": outcome["result"], "stdout": stdout.rstrip("\n"),
                  "stderr": proc.stderr, "exit_code": proc.returncode}
        return self._finish(execution, outcome["status"], result)

    def canceled(self, action_ref, parameters, reason):
        """Return an ``Execution`` that never ran: status ``canceled`` (by a policy)."""
        return self._finish(self._new(action_ref, parameters), "canceled", {"error": reason})

    def _finish(self, execution, status, result):
        execution.status = status
        execution.result = result
        execution.end_timestamp = time.time()
        return execution
