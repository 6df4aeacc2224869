"""The bridge from the running local runner to the API's history: what rules do shows in st2web.

``RunnerObserver(backend)`` is set as the ``LocalRunner``'s ``observer``. For every dispatched
trigger the runner calls ``trigger_instance`` (recorded as a ``TriggerInstance``); for every rule
that matched, ``start_action`` starts the action as an API execution carrying the rule, trigger,
trigger type and trigger instance (as StackStorm's rules engine creates it: user ``stanley``,
``context.rule`` and ``context.trigger_instance``) and records the rule enforcement; a rule that
matched but whose enforcement fails as StackStorm's would (an unknown action, action parameters
that do not render or fail the action's schema) gives a failed enforcement with StackStorm's
failure_reason and no execution (``enforcement_failed``).
"""

import concurrent.futures

from workspaces_devkit.st2api import shapes
from workspaces_devkit.st2api.errors import ApiError

__all__ = ["RunnerObserver", "SYSTEM_USER", "runner_action"]

#: The user StackStorm's rules engine runs actions as (``[system_user] user``).
SYSTEM_USER = "stanley"


def runner_action(runner):
    """Return the API's ``run_action(ref, parameters, on_status, started_by)`` over a runner.

    Each API execution then runs as the runner runs its rules' actions: concurrency policies,
    a subprocess, one line per step in the runner's output.
    """
    def run_action(action_ref, parameters, on_status=None, started_by=None):
        execution = runner.run_action(action_ref, parameters, rule_ref=started_by or "st2 API",
                                      on_status=on_status)
        return execution.status, execution.result
    return run_action


class RunnerObserver(object):
    """Records the runner's trigger instances, rule enforcements and rule-started executions."""

    def __init__(self, backend, log=None, rules_changed=None):
        self.backend = backend
        self._log = log
        self._rules_changed = rules_changed
        backend.rule_listeners.append(self.rule_changed)

    def rule_changed(self, event, rule, warnings=()):
        """A rule was written through the API: the runner says so, with one ``warning`` line per
        problem StackStorm would store the rule with, and updates its sensors' triggers."""
        if self._rules_changed is not None:
            self._rules_changed()
        if self._log is None:
            return
        verb = {"st2.rule__create": "created", "st2.rule__update": "saved",
                "st2.rule__delete": "deleted"}.get(event, event)
        state = ""
        if verb != "deleted":
            state = " (enabled)" if rule.get("enabled") else " (disabled)"
        self._log("rule", "%s %s through the st2 API%s: %s" % (
            rule["ref"], verb, state, rule.get("metadata_file")))
        for warning in warnings:
            self._log("warning", "rule %s: %s: %s" % (rule["ref"], warning.field,
                                                      warning.message))

    def trigger_instance(self, type_ref, trigger_ref, payload, parameters=None):
        """Record one dispatched trigger; return its ``TriggerInstanceAPI`` document."""
        return self.backend.history.add_trigger_instance(trigger_ref, payload, type_ref)

    def _origin(self, rule_ref, instance):
        rule = self.backend.get_rule(rule_ref)
        if rule is None:
            return None, {}
        trigger_type = self.backend.get_trigger_type(rule["trigger"]["type"])
        trigger = shapes.trigger_doc(rule)
        if instance is not None and instance["trigger"] != trigger["ref"]:
            trigger["ref"] = instance["trigger"]  # the running sensor's trigger
            trigger["name"] = trigger["ref"].split(".", 1)[-1]
        origin = {"rule": rule, "trigger": trigger, "trigger_instance": instance}
        if trigger_type is not None:
            origin["trigger_type"] = trigger_type
        return rule, origin

    def start_action(self, match, instance):
        """Start a matched rule's action as an API execution; return a Future of its end."""
        future = concurrent.futures.Future()
        rule, origin = self._origin(match.rule_ref, instance)
        try:
            doc = self.backend.execute(match.action_ref, match.parameters, SYSTEM_USER,
                                       origin=origin, on_done=future.set_result)
        except ApiError as error:
            if rule is not None and instance is not None:
                self.backend.history.add_enforcement(rule, instance["id"],
                                                     failure_reason=error.faultstring)
            future.set_result(None)
            return future
        if rule is not None and instance is not None:
            self.backend.history.add_enforcement(rule, instance["id"], execution_id=doc["id"])
        return future

    def enforcement_failed(self, match, instance):
        """Record a failed enforcement: the rule matched but its action could not start."""
        rule = self.backend.get_rule(match.rule_ref)
        if rule is not None and instance is not None:
            self.backend.history.add_enforcement(rule, instance["id"],
                                                 failure_reason=match.error or match.reason)
