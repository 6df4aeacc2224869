"""What the st2 API serves: the pack's content, its executions and the key-value store.

``LocalBackend`` is the one object the routes talk to. It is built from three things the local
runner provides (``runtime.local_runtime``): the pack loaded by ``workspaces_devkit.content.
load_pack``, a ``run_action(ref, parameters) -> (status, result)`` callable that executes an action
the way StackStorm's runner does, and a key-value store with ``get/set/delete/list`` (the runner's
persisted datastore). Parameters are checked by the runner's own ``validate_parameters`` before an
execution is created, as StackStorm's API checks them before it schedules one.

It also holds what the web UI watches: the event bus behind ``/stream`` (every execution's
creation and status change is published there), the rules writer (``rule_store``) and the trigger
instances and rule enforcements of rules that fired (``history``, fed by ``live.RunnerObserver``).
"""

import logging
import time

from workspaces_devkit.runner.executor import ParameterError, validate_parameters
from workspaces_devkit.st2api import shapes
from workspaces_devkit.st2api.errors import bad_request
from workspaces_devkit.st2api.events import EventBus
from workspaces_devkit.st2api.executions import ExecutionStore
from workspaces_devkit.st2api.history import History
from workspaces_devkit.st2api.rule_store import RuleStore

__all__ = ["LocalBackend"]

LOG = logging.getLogger(__name__)


class LocalBackend(object):
    """The pack's actions, runners, trigger types and rules as API documents, plus executions."""

    def __init__(self, pack, run_action, kv_store, clock=time.time, rules_dir=None, config=None):
        self.pack = pack
        self.kv_store = kv_store
        #: The pack config the runner uses (``/configs`` shows it, secrets masked).
        self.config = config
        self.events = EventBus()
        self.executions = ExecutionStore(run_action, clock=clock,
                                         on_change=self._execution_changed)
        self.rule_store = RuleStore(pack, rules_dir, publish=self._rule_changed)
        #: ``callable(event name, rule document, warnings)`` called after each rule write (the
        #: runner's log); ``warnings`` are the rule's ``content.ContentError`` warnings.
        self.rule_listeners = []
        self.history = History(clock=clock)
        self._actions = {spec.ref: shapes.action_doc(pack, spec) for spec in pack.actions}

    # --- content -----------------------------------------------------------------------------
    def list_actions(self):
        """Return every action's ``ActionAPI`` document, sorted by ref."""
        return [self._actions[ref] for ref in sorted(self._actions)]

    def get_action(self, ref_or_id):
        """Return the action document for a ref or id, or None."""
        if ref_or_id in self._actions:
            return self._actions[ref_or_id]
        return next((doc for doc in self._actions.values() if doc["id"] == ref_or_id), None)

    def list_runners(self):
        """Return the ``RunnerTypeAPI`` documents of the runners the pack's actions use."""
        names = sorted({doc["runner_type"] for doc in self._actions.values()
                        if doc["runner_type"]} | {"python-script"})
        return [shapes.runner_doc(name) for name in names]

    def get_runner(self, name_or_id):
        """Return the runner document for a name or id, or None."""
        return next((doc for doc in self.list_runners()
                     if name_or_id in (doc["name"], doc["id"])), None)

    def list_trigger_types(self):
        """Return the ``TriggerTypeAPI`` documents of the pack's sensors' trigger types."""
        types = self.pack.trigger_types()
        return [shapes.trigger_type_doc(self.pack, types[ref]) for ref in sorted(types)]

    def list_rules(self):
        """Return the ``RuleAPI`` documents of the pack's rules, sorted by ref."""
        return sorted((shapes.rule_doc(self.pack, spec) for spec in list(self.pack.rules)),
                      key=lambda doc: doc["ref"])

    def get_rule(self, ref_or_id):
        """Return the rule document for a ref or id, or None."""
        return next((doc for doc in self.list_rules() if ref_or_id in (doc["ref"], doc["id"])),
                    None)

    def get_trigger_type(self, ref_or_id):
        """Return the trigger type document for a ref or id, or None."""
        return next((doc for doc in self.list_trigger_types()
                     if ref_or_id in (doc["ref"], doc["id"])), None)

    # --- executions --------------------------------------------------------------------------
    def execute(self, action_ref, parameters, user, origin=None, on_done=None, context=None):
        """Validate and start an execution; return its ``ActionExecutionAPI`` document.

        Raises a 400 ``ApiError`` for an unknown or disabled action and for invalid parameters
        (StackStorm's messages).
        """
        spec = self.pack.action(action_ref)
        if spec is None:
            raise bad_request('Action "%s" cannot be found.' % action_ref)
        if not spec.enabled:
            raise bad_request('Unable to execute. Action "%s" is disabled.' % action_ref)
        try:
            validate_parameters(spec, parameters, check_immutable=True)
        except ParameterError as error:
            raise bad_request(error.api_message)
        if context:
            origin = dict(origin or {}, context=context)
        record = self.executions.submit(action_ref, parameters, user, origin=origin,
                                        on_done=on_done)
        return self.execution_doc(record)

    def execution_doc(self, record):
        """Return the API document of an execution record."""
        action = self._actions.get(record.action_ref) or {"ref": record.action_ref}
        return shapes.execution_doc(record, action, shapes.runner_doc(
            action.get("runner_type") or "python-script"))

    def _rule_changed(self, name, doc, warnings=()):
        """Publish ``st2.rule__create|update|delete`` and tell the rule listeners (with the
        rule's warnings; logged here when no listener, such as the runner, prints them)."""
        self.events.publish(name, doc)
        listeners = list(self.rule_listeners)
        for listener in listeners:
            listener(name, doc, warnings)
        if not listeners:
            for warning in warnings:
                LOG.warning("rule %s: %s: %s", doc["ref"], warning.field, warning.message)

    def _execution_changed(self, record, created):
        """Publish ``st2.execution__create|update`` and ``st2.liveaction__...`` for a record.

        A finished execution's output goes first, as ``st2.execution.output__create`` events.
        """
        suffix = "create" if created else "update"
        action = self._actions.get(record.action_ref) or {"ref": record.action_ref}
        if record.end_timestamp is not None:
            for output in shapes.output_docs(record, action):
                self.events.publish("st2.execution.output__create", output)
        self.events.publish("st2.liveaction__" + suffix, shapes.liveaction_doc(record, action))
        self.events.publish("st2.execution__" + suffix, self.execution_doc(record))
