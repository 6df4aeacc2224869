"""Execution records: created at once, run in a thread, polled by ``st2 run`` and ``st2 execution``.

StackStorm answers ``POST /executions`` with the new execution (status ``requested``) and the CLI
polls ``GET /executions/<id>`` every 2 s until the status leaves requested/scheduled/running. Here
each execution runs in its own thread through ``run_action(action_ref, parameters) -> (status,
result)``; an exception from ``run_action`` fails the execution with ``{"error", "traceback"}`` as
StackStorm records a runner crash.
"""

import copy
import threading
import time
import traceback

from workspaces_devkit.st2api.auth import new_object_id

__all__ = ["ExecutionRecord", "ExecutionStore", "COMPLETED_STATES", "PENDING_STATES"]

PENDING_STATES = ("requested", "scheduled", "running", "canceling")
COMPLETED_STATES = ("succeeded", "failed", "timeout", "canceled", "abandoned")


class ExecutionRecord(object):
    """One execution: ids, action, parameters, user, status, result, timestamps and status log."""

    def __init__(self, action_ref, parameters, user, clock):
        self.id = new_object_id(clock)
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

    def __init__(self, run_action, clock=time.time):
        self._run_action = run_action
        self._clock = clock
        self._records = {}
        self._order = []
        self._lock = threading.Lock()
        self._done = {}

    def submit(self, action_ref, parameters, user):
        """Create an execution of ``action_ref`` and start it; return a copy of the new record.

        ``parameters`` are recorded as the user gave them (as StackStorm records them); the
        runner fills in the defaults.
        """
        record = ExecutionRecord(action_ref, parameters, user, self._clock)
        done = threading.Event()
        with self._lock:
            self._records[record.id] = record
            self._order.append(record.id)
            self._done[record.id] = done
            snapshot = record.copy()
        thread = threading.Thread(target=self._run, args=(record, copy.deepcopy(parameters), done),
                                  name="st2api-execution-%s" % record.id, daemon=True)
        thread.start()
        return snapshot

    def _set_status(self, record, status):
        with self._lock:
            record.status = status
            record.log.append((status, self._clock()))

    def _run(self, record, parameters, done):
        try:
            self._set_status(record, "running")
            try:
                status, result = self._run_action(record.action_ref, parameters)
            except Exception as error:  # a runner crash fails the execution, as in StackStorm
                status = "failed"
                result = {"error": str(error), "traceback": traceback.format_exc()}
            with self._lock:
                record.result = copy.deepcopy(result)
                record.end_timestamp = self._clock()
                record.status = status
                record.log.append((status, record.end_timestamp))
        finally:
            done.set()

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

    def list(self, action=None, status=None, user=None, sort_asc=False, limit=None, offset=0):
        """Return ``(records, total)``: filtered copies, newest first unless ``sort_asc``."""
        with self._lock:
            records = [self._records[i] for i in self._order]
            wanted = {"action_ref": action, "status": status, "user": user}
            wanted = {field: value for field, value in wanted.items() if value is not None}
            records = [r for r in records
                       if all(getattr(r, field) == value for field, value in wanted.items())]
            records.sort(key=lambda r: r.start_timestamp, reverse=not sort_asc)
            total = len(records)
            records = records[offset:]
            if limit is not None and limit >= 0:
                records = records[:limit]
            return [r.copy() for r in records], total
