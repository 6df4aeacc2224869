"""The ASDM sensor's reconciliation: a daily comparison, on-demand requests, a cooldown memory.

Per ``workspaces.alma_asdm`` trigger the sensor keeps a second datastore key,
``workspaces.AlmaAsdmSensor:reconcile:<trigger ref>``: when the reconciliation last ran and the EBs
dispatched in the last ``alma_reconcile_cooldown_hours`` (by the hourly poll or by a
reconciliation), at most ``state_max_entries`` of them (G6), and never more than the datastore's
byte bound holds with the longest real ALMA uids (``memory_entry_cap``), so a save is never
refused. Once every
``alma_reconcile_interval_hours`` (0: never) a poll compares the last ``alma_reconcile_days`` days
(``reconcile.compare``) and dispatches each missing EB not dispatched within the cooldown, with
``source: reconcile`` in its payload. Requests left by the action ``workspaces.alma_reconcile``
are served the same way at the next poll, then deleted.

No more EBs are dispatched in one run than the memory has room for, so every dispatch stays
remembered for the whole cooldown; the rest wait for the next run (logged).
"""

import fnmatch

from workspaces_pack.archive.database import ArchiveError, database_engine, from_epoch
from workspaces_pack.archive.reconcile import (REQUEST_PREFIX, SOURCE_RECONCILE, compare,
                                               metadata_engine, parse_request)
from workspaces_pack.archive.schema import METADATA, schema_map
from workspaces_pack.archive.table_checks import ERROR, METADATA_AREA, UNREACHABLE, check_tables
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.state import (DEFAULT_MAX_BYTES, WINDOW_OVERHEAD, DatastoreState,
                                        StateTooLarge, StateUnavailable, entry_bytes,
                                        list_all_values)
from workspaces_pack.sensing.health import OnceLog
from workspaces_pack.sensing.table_gate import describe_mismatch
from workspaces_pack.sensing.trace_tags import trace_tag

__all__ = ["CooldownMemory", "AlmaReconciler", "memory_entry_cap"]

HOUR = 3600.0
LONGEST_UID = "uid://A999/X%s/X%s" % ("f" * 16, "f" * 16)
"""The longest ALMA uid ``core.uids.ALMA_UID`` accepts (46 characters)."""
LONGEST_TIME = -1.2345678901234567e+300
"""A float whose JSON is as long as any float's (24 characters)."""


def memory_entry_cap(configured, max_bytes=DEFAULT_MAX_BYTES):
    """``configured`` (``state_max_entries``), lowered to what ``max_bytes`` holds when every
    remembered EB has the longest uid and time."""
    fits = (max_bytes - WINDOW_OVERHEAD) // entry_bytes(LONGEST_UID, LONGEST_TIME)
    return max(1, min(int(configured), fits))


class CooldownMemory(object):
    """When the reconciliation last ran, and which EBs were dispatched when (bounded)."""

    def __init__(self, max_entries, last_run=None, dispatched=None):
        self.max_entries = max_entries
        self.last_run = last_run
        self.dispatched = dict(dispatched or {})
        self.changed = False

    @classmethod
    def from_state(cls, state, max_entries):
        """Rebuild from ``to_state``'s dict (None: nothing yet)."""
        state = state or {}
        return cls(max_entries, state.get("last_run"), state.get("dispatched"))

    def to_state(self):
        """Return the JSON-ready dict."""
        return {"last_run": self.last_run, "dispatched": self.dispatched}

    def due(self, now, interval_seconds):
        """True when a scheduled run is due (never with an interval of 0)."""
        if interval_seconds <= 0:
            return False
        return self.last_run is None or now - self.last_run >= interval_seconds

    def recent(self, uid, now, cooldown_seconds):
        """True when ``uid`` was dispatched less than ``cooldown_seconds`` ago."""
        when = self.dispatched.get(uid)
        return when is not None and now - when < cooldown_seconds

    def remember(self, uid, now):
        """Record a dispatch of ``uid`` at ``now``."""
        self.dispatched[uid] = now
        self.changed = True

    def prune(self, now, cooldown_seconds):
        """Forget dispatches older than the cooldown, and the oldest beyond ``max_entries``."""
        kept = dict((uid, when) for uid, when in self.dispatched.items()
                    if now - when < cooldown_seconds)
        if len(kept) > self.max_entries:
            newest = sorted(kept.items(), key=lambda item: item[1], reverse=True)
            kept = dict(newest[:self.max_entries])
        if len(kept) != len(self.dispatched):
            self.changed = True
        self.dispatched = kept

    def room(self):
        """How many more dispatches can be remembered."""
        return max(0, self.max_entries - len(self.dispatched))


class AlmaReconciler(object):
    """The reconciliation part of ``AlmaAsdmSensor``; see the module docstring."""

    def __init__(self, service, logger, config, clock):
        config = config if isinstance(config, PackConfig) else PackConfig(config)
        self._service = service
        self._logger = logger
        self._config = config
        self._clock = clock
        self.interval = float(config.get("alma_reconcile_interval_hours")) * HOUR
        self.days = float(config.get("alma_reconcile_days"))
        self.cooldown = float(config.get("alma_reconcile_cooldown_hours")) * HOUR
        self.max_entries = memory_entry_cap(config.get("state_max_entries"))
        self.state = DatastoreState(service, logger, key_prefix="reconcile:")
        self._memories = {}
        self._unrecorded = {}
        self._problems = OnceLog(logger)
        self._metadata_checked = False
        self.off_reason = None

    # --- memory ------------------------------------------------------------------------------
    def _memory(self, ref):
        """The loaded memory of ``ref``, or None while the datastore cannot be read."""
        memory = self._memories.get(ref)
        if memory is not None:
            return memory
        try:
            stored = self.state.load(ref)
        except StateUnavailable as error:
            self._problem(ref, "reconciliation memory not readable, skipped (%s)" % error)
            return None
        memory = CooldownMemory.from_state(stored, self.max_entries)
        for uid, when in self._unrecorded.pop(ref, {}).items():
            memory.remember(uid, when)
        self._memories[ref] = memory
        return memory

    def _save(self, ref, memory):
        if not memory.changed:
            return
        try:
            self.state.save(ref, memory.to_state())
        except StateTooLarge as error:
            self._logger.error("trigger %s: %s", ref, error)
        memory.changed = False

    def note_dispatched(self, ref, rows):
        """Remember EBs the hourly poll dispatched, so no reconciliation repeats them soon."""
        now = self._clock()
        memory = self._memory(ref)
        if memory is None:
            pending = self._unrecorded.setdefault(ref, {})
            pending.update((row["eb_uid"], now) for row in rows)
            return
        for row in rows:
            memory.remember(row["eb_uid"], now)
        memory.prune(now, self.cooldown)
        self._save(ref, memory)

    def flush(self):
        """Retry memory writes that failed earlier."""
        self.state.flush()

    def forget(self, ref):
        """Drop what is held in memory for a removed trigger (its datastore key is kept)."""
        self._memories.pop(ref, None)
        self._unrecorded.pop(ref, None)
        self._problems.forget(ref)

    # --- requests ----------------------------------------------------------------------------
    def pending_requests(self):
        """Return ``[(key, request)]`` left by the action; unreadable ones are logged, deleted."""
        try:
            items = list_all_values(self._service, REQUEST_PREFIX, local=False)
        except Exception as error:
            self._logger.warning("reconciliation requests not readable (%s); will look again "
                                 "next poll", error)
            return []
        requests = []
        for item in sorted(items or [], key=lambda kv: kv.name):
            try:
                requests.append((item.name, parse_request(item.value)))
            except ValueError as error:
                self._logger.error("datastore key %s: %s; deleted", item.name, error)
                self._delete(item.name)
        return requests

    def finish_requests(self, keys):
        """Delete served requests."""
        for key in keys:
            self._delete(key)

    def _delete(self, key):
        try:
            self._service.delete_value(key, local=False)
        except Exception as error:
            self._logger.warning("could not delete datastore key %s (%s); the cooldown keeps "
                                 "its EBs from being dispatched twice", key, error)

    # --- runs --------------------------------------------------------------------------------
    def poll(self, context, ref, watch, make_payload, requests):
        """Run what is due for one trigger: the scheduled comparison, then ``requests``.

        Returns True when every request was served for this trigger (False: keep them).
        """
        due_requests = list(requests)
        memory = self._memory(ref)
        if memory is None:
            return False
        now = self._clock()
        if not memory.due(now, self.interval) and not due_requests:
            return True
        try:
            alma = database_engine(self._config, "alma_archive_db_url")
            meta = metadata_engine(self._config)
        except ArchiveError as error:
            self._problem(ref, "reconciliation skipped: %s" % error)
            return False
        if not self._metadata_matches(meta):
            return False
        try:
            if memory.due(now, self.interval):
                end = from_epoch(now)
                start = from_epoch(now - self.days * 24 * HOUR)
                self._run(context, ref, watch, memory, alma, meta, start, end, make_payload,
                          "scheduled", watch.options["qa0_statuses"])
                memory.last_run = now
                memory.changed = True
            for key, request in due_requests:
                statuses = [s for s in watch.options["qa0_statuses"]
                            if s in request["qa0_statuses"]]
                if statuses:
                    self._run(context, ref, watch, memory, alma, meta, request["start"],
                              request["end"], make_payload, "requested (%s)" % key, statuses,
                              request.get("project_code_pattern"))
        except ArchiveError as error:
            self._problem(ref, "reconciliation failed, tried again next poll: %s" % error)
            return False
        finally:
            self._save(ref, memory)
        self._problems.clear(ref)
        return True

    def _metadata_matches(self, meta):
        """Check ``execution_blocks`` once (the preflight's part for the reconciliation).

        A mismatch turns the reconciliation off with one error line naming the table and column
        (the hourly poll goes on); an unreachable database is checked again next time.
        """
        if not self._metadata_checked:
            specs = schema_map(self._config).specs_for("alma_reconcile", METADATA)
            items = check_tables(METADATA_AREA, meta, specs)
            if any(item.status in (UNREACHABLE, ERROR) for item in items):
                return True  # the comparison reports the outage itself
            self._metadata_checked = True
            failed = [item for item in items if item.failed]
            if failed:
                self.off_reason = describe_mismatch(failed[0])
                self._logger.error("reconciliation off: %s", self.off_reason)
        return self.off_reason is None

    def _run(self, context, ref, watch, memory, alma, meta, start, end, make_payload, why,
             statuses, pattern=None):
        now = self._clock()
        memory.prune(now, self.cooldown)
        row_filter = _project_filter(pattern) if pattern else None
        result = compare(self._config, alma, meta, start, end, statuses,
                         watch.options.get("project_like"), keep=self.max_entries,
                         row_filter=row_filter)
        cooling = [row for row in result.missing if memory.recent(row["eb_uid"], now,
                                                                  self.cooldown)]
        wanted = [row for row in result.missing if not memory.recent(row["eb_uid"], now,
                                                                     self.cooldown)]
        room = memory.room()
        dispatched = 0
        for row in wanted[:room]:
            payload = make_payload(row)
            payload["source"] = SOURCE_RECONCILE
            try:
                context.service.dispatch(trigger=ref, payload=payload,
                                         trace_tag=_tag(row["eb_uid"]))
            except Exception as error:
                self._logger.warning("dispatch of reconciled EB %s failed (%s); retried at the "
                                     "next reconciliation", row["eb_uid"], error)
                break
            memory.remember(row["eb_uid"], now)
            dispatched += 1
        left = result.missing_count - len(cooling) - dispatched
        self._logger.info(
            "trigger %s: %s reconciliation of EBs ended %s .. %s: %d checked, %d missing in "
            "execution_blocks, %d dispatched, %d dispatched recently (cooldown)%s", ref, why,
            _day(start), _day(end), result.checked, result.missing_count, dispatched,
            len(cooling), "" if left <= 0 else ", %d left for the next run" % left)

    def _problem(self, ref, message):
        self._problems.note(ref, message)


def _project_filter(pattern):
    """A row filter keeping EBs whose project code matches the glob ``pattern``."""
    def keep(row):
        return fnmatch.fnmatchcase(row["project_code"] or "", pattern)
    return keep


def _tag(uid):
    return trace_tag("alma_asdm_reconcile", uid)


def _day(value):
    return value.strftime("%Y-%m-%d %H:%MZ")
