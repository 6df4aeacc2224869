"""Trigger instances and rule enforcements, kept in memory for the API's history views.

StackStorm records each dispatched trigger as a ``TriggerInstance`` (``id``, ``trigger`` ref,
``payload``, ``occurrence_time``, ``status``) and each rule that fired on it as a
``RuleEnforcement`` (``rule`` {ref, uid, id}, ``trigger_instance_id``, ``execution_id``,
``enforced_at``, ``status`` succeeded|failed, ``failure_reason``). ``History`` keeps both, newest
first, bounded to the latest ``limit`` of each.
"""

import copy
import threading
import time
from collections import OrderedDict

from workspaces_devkit.st2api.auth import format_isotime, new_object_id

__all__ = ["History"]


class History(object):
    """The trigger instances and rule enforcements the runner produced."""

    def __init__(self, clock=time.time, limit=10000):
        self._clock = clock
        self._limit = limit
        self._instances = OrderedDict()
        self._enforcements = OrderedDict()
        self._instance_types = {}
        self._lock = threading.Lock()

    def _keep(self, store, doc):
        with self._lock:
            store[doc["id"]] = doc
            while len(store) > self._limit:
                store.popitem(last=False)
        return copy.deepcopy(doc)

    def add_trigger_instance(self, trigger_ref, payload, type_ref=None):
        """Record one dispatched trigger; return its ``TriggerInstanceAPI`` document."""
        doc = self._keep(self._instances, {
            "id": new_object_id(self._clock),
            "trigger": trigger_ref,
            "payload": copy.deepcopy(payload) if isinstance(payload, dict) else {},
            "occurrence_time": format_isotime(self._clock()),
            "status": "processed",
        })
        with self._lock:
            self._instance_types[doc["id"]] = type_ref or trigger_ref
            for stale in [i for i in self._instance_types if i not in self._instances]:
                del self._instance_types[stale]
        return doc

    def add_enforcement(self, rule_doc, trigger_instance_id, execution_id=None,
                        failure_reason=None):
        """Record one rule enforcement; return its ``RuleEnforcementAPI`` document."""
        doc = {
            "id": new_object_id(self._clock),
            "rule": {"ref": rule_doc["ref"], "uid": rule_doc["uid"], "id": rule_doc["id"]},
            "trigger_instance_id": trigger_instance_id,
            "enforced_at": format_isotime(self._clock()),
            "status": "failed" if failure_reason else "succeeded",
        }
        if execution_id:
            doc["execution_id"] = execution_id
        if failure_reason:
            doc["failure_reason"] = failure_reason
        return self._keep(self._enforcements, doc)

    def trigger_instance(self, instance_id):
        """Return the trigger instance document with ``instance_id`` or None."""
        with self._lock:
            doc = self._instances.get(instance_id)
            return copy.deepcopy(doc) if doc else None

    def trigger_instances(self, trigger_type=None):
        """Return the trigger instance documents (of ``trigger_type`` if given), newest first."""
        with self._lock:
            return [copy.deepcopy(doc) for doc in reversed(list(self._instances.values()))
                    if trigger_type is None or self._instance_types.get(doc["id"]) == trigger_type]

    def enforcements(self):
        """Return every rule enforcement document, newest first."""
        with self._lock:
            return [copy.deepcopy(doc) for doc in reversed(list(self._enforcements.values()))]
