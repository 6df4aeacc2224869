"""The pack's ``action.concurrency`` policies, applied before an action runs, as StackStorm does.

StackStorm's scheduler (st2actions' ``ConcurrencyApplicator``) counts the action's ``scheduled``
and ``running`` executions; at ``threshold`` a new one is ``delayed`` (``action: delay``, not in
order) or canceled (``action: cancel``). Disabled policies and other policy types are not applied.
"""

import threading
from contextlib import contextmanager

__all__ = ["ConcurrencyPolicies", "PolicyCanceled"]


class PolicyCanceled(Exception):
    """A concurrency policy with ``action: cancel`` refused the execution (it is canceled)."""

    def __init__(self, policy_ref, action_ref, threshold):
        super(PolicyCanceled, self).__init__(
            "%s: %s already has %d scheduled or running executions (threshold %d); policy "
            "action is cancel" % (policy_ref, action_ref, threshold, threshold))
        self.policy_ref = policy_ref


class ConcurrencyPolicies(object):
    """Counts scheduled/running executions per action and holds back those over a threshold."""

    def __init__(self, pack):
        """Apply the enabled ``action.concurrency`` policies of ``pack`` (a ``content.Pack``)."""
        self._policies = {}
        self._active = {}
        self._condition = threading.Condition()
        for policy in pack.policies:
            parameters = policy.parameters or {}
            if policy.policy_type == "action.concurrency" and policy.resource_ref and \
                    policy.meta.get("enabled", True):
                self._policies[policy.resource_ref] = (
                    policy.ref, int(parameters.get("threshold", 0)),
                    parameters.get("action", "delay"))

    def policy_for(self, action_ref):
        """Return ``(policy ref, threshold, action)`` for ``action_ref`` or None."""
        return self._policies.get(action_ref)

    def active(self, action_ref):
        """Return how many executions of ``action_ref`` are scheduled or running."""
        with self._condition:
            return self._active.get(action_ref, 0)

    @contextmanager
    def admit(self, action_ref, on_status=None):
        """Hold a scheduled/running slot of ``action_ref`` for the ``with`` block; tell
        ``on_status`` "delayed" then "requested" as a delayed execution waits, or "canceling"
        before raising ``PolicyCanceled``."""
        notify = on_status or (lambda status: None)
        delayed = False
        while True:
            with self._condition:
                policy = self._policies.get(action_ref)
                count = self._active.get(action_ref, 0)
                if policy is None or count < policy[1]:
                    self._active[action_ref] = count + 1
                    break
                if delayed:
                    self._condition.wait(1.0)
                    continue
            if policy[2] == "cancel":
                notify("canceling")
                raise PolicyCanceled(policy[0], action_ref, policy[1])
            delayed = True
            notify("delayed")  # outside the lock: the callback may publish events
        if delayed:
            notify("requested")
        try:
            yield
        finally:
            with self._condition:
                self._active[action_ref] = max(0, self._active.get(action_ref, 1) - 1)
                self._condition.notify_all()
