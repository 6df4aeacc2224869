"""The ASDM sensor's reconciliation: a daily comparison, on-demand requests, a cooldown memory.

Per ``workspaces.alma_asdm`` trigger a second datastore key, ``reconcile:<trigger ref>``, holds
when the reconciliation last ran and the EBs dispatched in the last
``alma_reconcile_cooldown_hours`` (at most ``state_max_entries``, and what the datastore's byte
bound holds with the longest ALMA uids: ``MEMORY_FITS``; G6). Every
``alma_reconcile_interval_hours`` (0: never) a poll compares the last ``alma_reconcile_days``
days (``reconcile.compare``) and dispatches each missing EB not dispatched within the cooldown,
with ``source: reconcile``, through a ``TriggerTurn`` of its trigger, as many as the memory has
room for. Requests left by the action ``workspaces.alma_reconcile`` are served the same way, then
deleted.

Health, on the sensor's record: ``reconcile_off`` at once when it cannot run until someone acts
(``archive_metadata_db_url`` unset, ``execution_blocks`` failing the table gate); the requests
are then refused (why, written into the request's key). ``reconcile_failing`` after
``problem_after_failures`` failed attempts. What is due is tried at every poll, so a problem ends
(``recovered``) once its cause is gone.
"""

import heapq
import logging
import operator

from workspaces_pack.archive.engines import ArchiveError, database_engine
from workspaces_pack.archive.reconcile import (REQUEST_TTL_SECONDS, SOURCE_RECONCILE, Selection,
                                               compare, parse_request, refuse_request)
from workspaces_pack.archive.schema import ALMA, METADATA
from workspaces_pack.archive.table_checks import (METADATA_AREA, describe_mismatches,
                                                  table_mismatches)
from workspaces_pack.core.keys import RECONCILE_PREFIX, REQUEST_PREFIX
from workspaces_pack.core.state import (DEFAULT_MAX_BYTES, WINDOW_OVERHEAD, DatastoreState,
                                        StateTooLarge, StateUnavailable, entry_bytes,
                                        list_all_values)
from workspaces_pack.core.problems import RECONCILE_FAILING, RECONCILE_OFF
from workspaces_pack.core.times import from_epoch, iso_from_datetime
from workspaces_pack.sensing.poll_cycle import TriggerTurn

__all__ = ["CooldownMemory", "AlmaReconciler"]

HOUR = 3600.0
MEMORY_FITS = (DEFAULT_MAX_BYTES - WINDOW_OVERHEAD) // entry_bytes(
    "uid://A999/X%s/X%s" % ("f" * 16, "f" * 16), -1.2345678901234567e+300)
"""Dispatches the byte bound holds with the longest uid ``core.uids.ALMA_UID`` accepts (46
characters), each at a time whose JSON is as long as any float's (24 characters)."""


class CooldownMemory(object):
    """When the reconciliation last ran, and which EBs were dispatched when (bounded)."""

    def __init__(self, max_entries, last_run=None, dispatched=None):
        self.max_entries = max_entries
        self.last_run = last_run
        self.dispatched = dict(dispatched or {})
        self.changed = False

    def to_state(self):
        """Return the JSON-ready dict."""
        return {"last_run": self.last_run, "dispatched": self.dispatched}

    def remember(self, uid, now):
        """Record a dispatch of ``uid`` at ``now``."""
        self.dispatched[uid] = now
        self.changed = True

    def prune(self, now, cooldown):
        """Forget dispatches older than the cooldown, and the oldest beyond ``max_entries``."""
        fresh = [(uid, when) for uid, when in self.dispatched.items() if now - when < cooldown]
        kept = dict(heapq.nlargest(self.max_entries, fresh, key=operator.itemgetter(1)))
        if len(kept) != len(self.dispatched):
            self.changed = True
        self.dispatched = kept

    def room(self):
        """How many more dispatches can be remembered."""
        return max(0, self.max_entries - len(self.dispatched))


class AlmaReconciler(object):
    """The reconciliation part of ``AlmaAsdmSensor``; see the module docstring."""

    def __init__(self, service, logger, config, clock):
        self._service = service
        self._logger = logger
        self._config = config
        self._clock = clock
        self.interval = float(config.get("alma_reconcile_interval_hours")) * HOUR
        self.days = float(config.get("alma_reconcile_days"))
        self.cooldown = float(config.get("alma_reconcile_cooldown_hours")) * HOUR
        self.max_entries = max(1, min(int(config.get("state_max_entries")), MEMORY_FITS))
        self.state = DatastoreState(service, logger, key_prefix=RECONCILE_PREFIX)
        self._memories = {}
        self._unrecorded = {}
        self._logged_problem = None

    def poll(self, context, archive, make_payload):
        """Run what is due for the triggers of ``context`` (``archive``: the sensor's
        ``AlmaArchive``); then tell the sensor's health how it went."""
        requests = self._pending_requests()
        now = self._clock()
        due = [(ref, watch) for ref, watch in context.watches.items()
               if requests or self._scheduled(ref, now)]
        if not due and self._logged_problem is None:
            return
        try:
            meta = database_engine(self._config, "archive_metadata_db_url")
        except ArchiveError as error:
            self._off(context.health, requests, str(error))
            return
        mismatches = table_mismatches(METADATA_AREA, meta,
                                      archive.schema.specs_for("alma_reconcile", METADATA))
        if mismatches:
            self._off(context.health, requests, describe_mismatches(mismatches))
            return
        engines = {ALMA: archive.engine, METADATA: meta}
        for ref, watch in due:
            failure = self._reconcile(TriggerTurn(context, ref, watch), engines, requests,
                                      make_payload)
            if failure is not None:
                self._report(context.health, RECONCILE_FAILING, failure)
                return
        for request in requests:
            self._delete(request["key"])
        self._report(context.health, None, None)

    def _scheduled(self, ref, now):
        """True when ``ref``'s scheduled run is due, or its memory unreadable (the run says so)."""
        if self.interval <= 0:
            return False
        memory = self._memory(ref)
        return memory is None or memory.last_run is None or now - memory.last_run >= self.interval

    def _reconcile(self, turn, engines, requests, make_payload):
        """Run the trigger's scheduled comparison, then its requests; return why it failed."""
        memory = self._memory(turn.ref)
        if memory is None:
            return "reconciliation memory of trigger %s not readable; tried again next poll" % (
                turn.ref,)
        options = turn.watch.options
        now = self._clock()
        try:
            if self._scheduled(turn.ref, now):
                selection = Selection(from_epoch(now - self.days * 24 * HOUR), from_epoch(now),
                                      options["qa0_statuses"], options["project_like"], None)
                if not self._run(turn, memory, "scheduled", selection, engines, make_payload):
                    return "a dispatch failed; the reconciliation is tried again next poll"
                memory.last_run = now
                memory.changed = True
            for request in requests:
                statuses = [status for status in options["qa0_statuses"]
                            if status in request["qa0_statuses"]]
                selection = Selection(request["start"], request["end"], statuses,
                                      options["project_like"], request["project_code_pattern"])
                if statuses and not self._run(turn, memory, "requested (%s)" % request["key"],
                                              selection, engines, make_payload):
                    return "a dispatch failed; the request is served again next poll"
        except ArchiveError as error:
            return "reconciliation failed, tried again next poll: %s" % error
        finally:
            turn.context.health.dispatched(turn.ref, turn.dispatched)
            self._save(turn.ref, memory)
        return None

    def _run(self, turn, memory, why, selection, engines, make_payload):
        """Compare ``selection``, dispatch what is missing; False when a dispatch failed."""
        now = self._clock()
        memory.prune(now, self.cooldown)  # what is left was dispatched within the cooldown
        result = compare(self._config, engines[ALMA], engines[METADATA], selection,
                         keep=self.max_entries)
        wanted = [row for row in result.missing if row["eb_uid"] not in memory.dispatched]
        sent = wanted[:memory.room()]
        for row in sent:
            payload = dict(make_payload(row), source=SOURCE_RECONCILE)
            if not turn.dispatch(payload, "alma_asdm_reconcile", row["eb_uid"]):
                return False
            memory.remember(row["eb_uid"], now)
        cooling = len(result.missing) - len(wanted)
        left = result.missing_count - cooling - len(sent)
        self._logger.info(
            "trigger %s: %s reconciliation of EBs ended %s .. %s: %d checked, %d missing in "
            "execution_blocks, %d dispatched, %d dispatched recently (cooldown)%s", turn.ref,
            why, iso_from_datetime(selection.start), iso_from_datetime(selection.end),
            result.checked, result.missing_count, len(sent), cooling,
            "" if left <= 0 else ", %d left for the next run" % left)
        return True

    def _off(self, health, requests, reason):
        """The reconciliation cannot run until someone acts: refuse the requests, report."""
        for request in requests:
            try:
                self._service.set_value(request["key"], refuse_request(
                    request["text"], reason, self._clock()), ttl=REQUEST_TTL_SECONDS, local=False)
            except Exception as error:
                self._logger.warning("could not write the refusal into datastore key %s (%s); "
                                     "tried again next poll", request["key"], error)
        self._report(health, RECONCILE_OFF, "reconciliation off: %s" % reason)

    def _report(self, health, problem, message):
        """Tell the sensor's health how it went (``problem`` None: it worked); log each change."""
        if message != self._logged_problem:
            level = {None: logging.INFO, RECONCILE_OFF: logging.ERROR}.get(problem, logging.WARNING)
            self._logger.log(level, "%s", message or "reconciliation works again")
        self._logged_problem = message
        if problem is None:
            health.sensor_succeeded()
        else:
            health.sensor_failed(problem, message)

    def _pending_requests(self):
        """The unanswered requests, with their ``key`` and ``text``; junk is deleted."""
        try:
            items = sorted(list_all_values(self._service.list_values, REQUEST_PREFIX, local=False),
                           key=operator.attrgetter("name"))
        except Exception as error:
            self._logger.warning("reconciliation requests not readable (%s); will look again "
                                 "next poll", error)
            return []
        requests = []
        for item in items:
            try:
                request = parse_request(item.value)
            except ValueError as error:
                self._logger.error("datastore key %s: %s; deleted", item.name, error)
                self._delete(item.name)
                continue
            if request["refused"] is None:
                requests.append(dict(request, key=item.name, text=item.value))
        return requests

    def _delete(self, key):
        try:
            self._service.delete_value(key, local=False)
        except Exception as error:
            self._logger.warning("could not delete datastore key %s (%s); the cooldown keeps "
                                 "its EBs from being dispatched twice", key, error)

    def _memory(self, ref):
        """The memory of ``ref`` with what ``note_dispatched`` noted, or None while the
        datastore cannot be read."""
        if ref not in self._memories:
            try:
                stored = self.state.load(ref) or {}
            except StateUnavailable:
                return None
            self._memories[ref] = CooldownMemory(self.max_entries, stored.get("last_run"),
                                                 stored.get("dispatched"))
        memory = self._memories[ref]
        for uid, when in self._unrecorded.pop(ref, {}).items():
            memory.remember(uid, when)
        return memory

    def _save(self, ref, memory):
        if memory.changed:
            try:
                self.state.save(ref, memory.to_state())
            except StateTooLarge as error:
                self._logger.error("trigger %s: %s", ref, error)
            memory.changed = False

    def note_dispatched(self, ref, rows):
        """Remember EBs the hourly poll dispatched, so no reconciliation repeats them soon."""
        now = self._clock()
        self._unrecorded.setdefault(ref, {}).update((row["eb_uid"], now) for row in rows)
        memory = self._memory(ref)
        if memory is not None:
            memory.prune(now, self.cooldown)
            self._save(ref, memory)

    def flush(self):
        """Retry memory writes that failed earlier."""
        self.state.flush()

    def forget(self, ref):
        """Drop what is held in memory for a removed trigger (its datastore key is kept)."""
        self._memories.pop(ref, None)
        self._unrecorded.pop(ref, None)
