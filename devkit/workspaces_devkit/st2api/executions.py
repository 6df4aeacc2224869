"""Execution records: created at once, run in a thread, polled by ``st2 run`` and ``st2 execution``.

StackStorm answers ``POST /executions`` with the new execution (status ``requested``) and the CLI
polls ``GET /executions/<id>`` every 2 s until the status leaves requested/scheduled/running. Here
each execution runs in its own thread through ``run_action(action_ref, parameters, on_status=...,
started_by=...) -> (status, result)``; ``on_status(status)`` records the statuses the runner
passes through (``delayed`` by a concurrency policy, ``scheduled``, ``running``). An exception
from ``run_action`` fails the execution with ``{"error", "traceback"}`` as StackStorm records a
runner crash. ``on_change(record, created)`` hears every new record and status change (the API
publishes them on ``/stream``). An execution started by a rule carries the rule's, trigger's,
trigger type's and trigger instance's API documents, as StackStorm's execution does.
"""

import copy
import threading
import time
import traceback

from workspaces_devkit.st2api.auth import new_object_id

__all__ = ["ExecutionRecord", "ExecutionStore", "COMPLETED_STATES", "PENDING_STATES"]

PENDING_STATES = ("requested", "delayed", "scheduled", "running", "canceling")
COMPLETED_STATES = ("succeeded", "failed", "timeout", "canceled", "abandoned")


class ExecutionRecord(object):
    """One execution: ids, action, parameters, user, status, result, timestamps and status log."""

    def __init__(self, action_ref, parameters, user, clock, origin=None):
        self.id = new_object_id(clock)
        #: For a rule's execution: {"rule", "trigger", "trigger_type", "trigger_instance"} docs.
        self.origin = copy.deepcopy(origin or {})
        self.liveaction_id = new_object_id(clock)
        self.action_ref = action_ref
        self.parameters = copy.deepcopy(parameters)
        self.user = user
        self.status = "requested"
        self.result = {}
        self.start_timestamp = clock()
        self.end_timestamp = None
        self.log = [("requested", self.start_timestamp)]

    def copy(self):
        """Return a deep copy (what readers get, so a running thread never changes their view)."""
        return copy.deepcopy(self)


class ExecutionStore(object):
    """Keeps execution records in memory and runs each one in a thread."""

    def __init__(self, run_action, clock=time.time, on_change=None):
        self._run_action = run_action
        self.on_change = on_change
        self._clock = clock
        self._records = {}
        self._order = []
        self._lock = threading.Lock()
        self._done = {}

    def submit(self, action_ref, parameters, user, origin=None, on_done=None):
        """Create an execution of ``action_ref`` and start it; return a copy of the new record.

        ``parameters`` are recorded as the user gave them (as StackStorm records them); the
        runner fills in the defaults. ``origin`` holds the rule's documents for an execution a
        rule started; ``on_done(record)`` is called with a copy once it has finished.
        """
        record = ExecutionRecord(action_ref, parameters, user, self._clock, origin)
        done = threading.Event()
        with self._lock:
            self._records[record.id] = record
            self._order.append(record.id)
            self._done[record.id] = done
            snapshot = record.copy()
        self._changed(snapshot, True)
        thread = threading.Thread(target=self._run,
                                  args=(record, copy.deepcopy(parameters), done, on_done),
                                  name="st2api-execution-%s" % record.id, daemon=True)
        thread.start()
        return snapshot

    def _changed(self, snapshot, created=False):
        if self.on_change is not None:
            self.on_change(snapshot, created)

    def _set_status(self, record, status):
        with self._lock:
            record.status = status
            record.log.append((status, self._clock()))
            snapshot = record.copy()
        self._changed(snapshot)

    def _run(self, record, parameters, done, on_done):
        rule = (record.origin.get("rule") or {}).get("ref")
        try:
            try:
                status, result = self._run_action(
                    record.action_ref, parameters,
                    on_status=lambda status: self._set_status(record, status),
                    started_by=rule or "st2 API")
            except Exception as error:  # a runner crash fails the execution, as in StackStorm
                status = "failed"
                result = {"error": str(error), "traceback": traceback.format_exc()}
            with self._lock:
                record.result = copy.deepcopy(result)
                record.end_timestamp = self._clock()
                record.status = status
                record.log.append((status, record.end_timestamp))
                snapshot = record.copy()
            self._changed(snapshot)
        finally:
            done.set()
            if on_done is not None:
                on_done(self.get(record.id))

    def all(self):
        """Return copies of every record, newest first."""
        with self._lock:
            records = [self._records[i].copy() for i in self._order]
        records.sort(key=lambda r: r.start_timestamp, reverse=True)
        return records

    def get(self, execution_id):
        """Return a copy of the record with ``execution_id`` or None."""
        with self._lock:
            record = self._records.get(execution_id)
            return None if record is None else record.copy()

    def wait(self, execution_id, timeout=None):
        """Block until the execution has finished (or ``timeout`` s); return a copy of it."""
        done = self._done.get(execution_id)
        if done is not None:
            done.wait(timeout)
        return self.get(execution_id)
