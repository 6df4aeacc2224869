"""A sensor's health: one record per sensor and per trigger, and the ``sensor_problem`` trigger.

``HealthRecorder`` keeps the records of one sensor (format: ``core.health_record``) and writes
them at the end of a poll, after the sensor's state, when something a human would care about
changed (``_significant``), else once per ``health_heartbeat_minutes``: a quiet poll costs no
write. A failed write is retried at the next poll, never raised into it. A failing trigger is
logged once per change of its error line, and once when it works again.

Problems: a problem kind in ``IMMEDIATE_KINDS`` is a problem at once, any other after
``problem_after_failures`` consecutive failures. Each transition (into a problem, back to
healthy) dispatches ``workspaces.sensor_problem`` once (retried at the next poll if it fails).

Removed triggers: a trigger's record is deleted when StackStorm removes the trigger; its state is
kept ``RETIRED_STATE_DAYS`` days (the tombstone ``retired:<ref>`` holds the removal time), then
deleted, unless the trigger comes back first (StackStorm never gives a deleted trigger's ref to
another trigger: st2common/services/triggers.py ``cleanup_trigger_db_for_rule``).
"""

import collections

from workspaces_pack.core import health_record as hr
from workspaces_pack.core import problems
from workspaces_pack.core.keys import HEALTH_KEY, HEALTH_PREFIX, RETIRED_PREFIX, STATE_PREFIX, \
    ref_after
from workspaces_pack.core.scrub import scrub_line, scrub_parameters
from workspaces_pack.core.times import epoch_from_iso, iso_from_epoch
from workspaces_pack.core.state import list_all_values
from workspaces_pack.sensing.trace_tags import trace_tag

__all__ = ["SensorIdentity", "HealthRecorder", "RETIRED_STATE_DAYS"]

RETIRED_STATE_DAYS = 7


class SensorIdentity(collections.namedtuple(
        "SensorIdentity", "name trigger_type what poll_interval")):
    """Who a ``HealthRecorder`` records: the sensor's class ``name``, its ``trigger_type``, ``what``
    log lines call its watches ("trigger", "folder"), ``poll_interval()`` in seconds."""


class HealthRecorder(object):
    """The health records of one sensor (module docstring): ``service`` is the sensor service,
    ``identity`` a ``SensorIdentity``, ``config`` a ``PackConfig``, ``clock()`` POSIX seconds,
    ``state_prefixes`` the key prefixes of a trigger's state (deleted after it was removed)."""

    def __init__(self, service, logger, identity, config, clock, state_prefixes=(STATE_PREFIX,)):
        self._service = service
        self._logger = logger
        self._clock = clock
        self._identity = identity
        self._heartbeat_seconds = hr.heartbeat_seconds(config)
        self._problem_after = max(1, int(config.get("problem_after_failures")))
        self._sensor_record = hr.new_sensor_record(identity.name, identity.trigger_type,
                                                   identity.poll_interval(),
                                                   iso_from_epoch(clock()))
        self._trigger_records = collections.OrderedDict()
        self._logged = {}        # trigger ref -> the error line logged last
        self._written = {}       # key name -> (significant part, written at)
        self._deleted = set()    # key names of removed triggers still to delete
        self._undispatched = []  # problem payloads whose dispatch failed
        self._state_prefixes = tuple(state_prefixes)
        self._tombstones = {}    # removed trigger ref -> removal time, still to write
        self._last_sweep = clock()

    # --- the trigger list --------------------------------------------------------------------
    def _record(self, ref, trigger=None):
        record = self._trigger_records.get(ref)
        if record is None:
            trigger = trigger or {}
            record = hr.new_trigger_record(self._identity.name, ref,
                                           trigger.get("type") or self._identity.trigger_type,
                                           trigger.get("parameters"))
            self._trigger_records[ref] = record
            self._deleted.discard(hr.trigger_key(ref))
            self._tombstones.pop(ref, None)  # a stored one is dropped by the next sweep
        elif trigger is not None:
            record["parameters"] = scrub_parameters(trigger.get("parameters") or {})
        return record

    def watched(self, ref, trigger):
        """``ref`` is watched (added, or added again after it was not)."""
        record = self._record(ref, trigger)
        record["watched"] = True
        record["not_watched_reason"] = None
        if record["problem"] and record["problem"]["kind"] in (problems.NOT_WATCHED,
                                                               problems.TABLE_MISMATCH):
            self._recover(record)

    def not_watched(self, ref, trigger, reason, problem=problems.NOT_WATCHED):
        """``ref`` is not watched (bad parameters, tables that do not match): a problem at once."""
        record = self._record(ref, trigger)
        record["watched"] = False
        record["not_watched_reason"] = scrub_line(reason)
        self._enter(record, problem, reason)

    def removed(self, ref):
        """``ref`` is gone: its record is deleted from the datastore (its state is kept)."""
        if self._trigger_records.pop(ref, None) is not None:
            self._deleted.add(hr.trigger_key(ref))
            self._written.pop(hr.trigger_key(ref), None)
            self._tombstones[ref] = iso_from_epoch(self._clock())
        self._logged.pop(ref, None)

    # --- a poll ------------------------------------------------------------------------------
    def poll_started(self):
        """A poll begins."""
        self._sensor_record["last_poll_start"] = iso_from_epoch(self._clock())

    def trigger_started(self, ref):
        """One trigger's turn in the poll begins."""
        self._record(ref)["last_poll_start"] = iso_from_epoch(self._clock())

    def succeeded(self, ref, state_bytes=None, baseline_taken=None):
        """``ref``'s turn ended well: failures reset, a standing problem recovered."""
        record = self._turn_ended(ref, state_bytes, baseline_taken)
        record["last_success"] = record["last_poll_end"]
        if self._logged.pop(ref, None) is not None:
            self._logger.info("%s %s: working again", self._identity.what, ref)
        self._worked(record)

    def failed(self, ref, problem, message, immediate=None, state_bytes=None, baseline_taken=None):
        """``ref``'s turn failed with ``problem``; a problem at once when ``immediate`` (default:
        the problem kind is in ``IMMEDIATE_KINDS``), else after ``problem_after_failures``."""
        record = self._turn_ended(ref, state_bytes, baseline_taken)
        record["last_error"] = scrub_line(message)
        if self._logged.get(ref) != message:
            self._logged[ref] = message
            self._logger.warning("%s %s: %s", self._identity.what, ref, message)
        self._failure(record, problem, message, immediate)

    def dispatched(self, ref, count):
        """``count`` trigger instances of ``ref`` were dispatched."""
        if count:
            record = self._record(ref)
            record["dispatched_total"] += count
            record["last_dispatch_at"] = iso_from_epoch(self._clock())

    def sensor_failed(self, problem, message):
        """The sensor-wide job (the ASDM sensor's reconciliation) failed with ``problem``: a
        problem of the sensor record as ``failed`` decides for a trigger's."""
        self._failure(self._sensor_record, problem, message)

    def sensor_succeeded(self):
        """The sensor-wide job worked: failures reset, its standing problem recovered."""
        self._worked(self._sensor_record)

    def poll_ended(self):
        """The poll is over: retry failed problem dispatches, write what changed; never raises."""
        self._sensor_record["last_poll_end"] = iso_from_epoch(self._clock())
        self._sensor_record["poll_interval_seconds"] = int(self._identity.poll_interval())
        self._sensor_record["triggers"] = list(self._trigger_records)
        try:
            self._retry_dispatches()
            self._write_records()
        except Exception as error:  # best-effort by design: health must never break a poll
            self._logger.warning("health records not written (%s); tried again next poll",
                                 error)

    def _turn_ended(self, ref, state_bytes, baseline_taken):
        record = self._record(ref)
        record["last_poll_end"] = iso_from_epoch(self._clock())
        if state_bytes is not None:
            record["state_bytes"] = int(state_bytes)
        if baseline_taken is not None:
            record["baseline_taken"] = bool(baseline_taken)
        return record

    # --- problems ----------------------------------------------------------------------------
    def _failure(self, record, problem, message, immediate=None):
        record["consecutive_failures"] = record.get("consecutive_failures", 0) + 1
        if immediate is None:
            immediate = problem in problems.IMMEDIATE_KINDS
        if immediate or record["consecutive_failures"] >= self._problem_after:
            self._enter(record, problem, message)

    def _worked(self, record):
        record["consecutive_failures"] = 0
        if record["problem"] is not None:
            self._recover(record)

    def _enter(self, record, problem, message):
        standing = record["problem"]
        if standing is not None and standing["kind"] == problem:
            standing["message"] = scrub_line(message)
            return
        record["problem"] = {"kind": problem, "message": scrub_line(message),
                             "since": iso_from_epoch(self._clock())}
        self._undispatched.append(hr.problem_payload(record, record["problem"], hr.PROBLEM))
        self._retry_dispatches()

    def _recover(self, record):
        standing, record["problem"] = record["problem"], None
        self._undispatched.append(hr.problem_payload(record, standing, hr.RECOVERED))
        self._retry_dispatches()

    def _retry_dispatches(self):
        while self._undispatched:
            payload = self._undispatched[0]
            try:
                self._service.dispatch(trigger=hr.PROBLEM_TRIGGER, payload=payload,
                                       trace_tag=trace_tag("sensor_problem", "%s:%s:%s" % (
                                           payload["trigger_ref"] or payload["sensor"],
                                           payload["kind"], payload["state"])))
            except Exception as error:
                self._logger.warning("dispatch of %s failed (%s); retried next poll",
                                     hr.PROBLEM_TRIGGER, error)
                return
            self._undispatched.pop(0)
            self._logger.info("%s %s: %s %s (%s dispatched)", self._identity.name,
                              payload["trigger_ref"] or "(sensor)", payload["kind"],
                              payload["state"], hr.PROBLEM_TRIGGER)

    # --- writing -----------------------------------------------------------------------------
    def _write_records(self):
        now = self._clock()
        for key in sorted(self._deleted):
            self._service.delete_value(key, local=True)
            self._deleted.discard(key)
        for ref in sorted(self._tombstones):
            self._service.set_value(RETIRED_PREFIX + ref, self._tombstones[ref], local=True)
            del self._tombstones[ref]
        if now - self._last_sweep >= self._heartbeat_seconds:
            self._sweep(now)
            self._last_sweep = now
        records = [(hr.trigger_key(ref), record) for ref, record in self._trigger_records.items()]
        records.append((HEALTH_KEY, self._sensor_record))
        for key, record in records:
            significant = _significant(record)
            written, written_at = self._written.get(key, (None, None))
            if written == significant and now - written_at < self._heartbeat_seconds:
                continue
            record["heartbeat_at"] = iso_from_epoch(now)
            self._service.set_value(key, hr.dumps(record), local=True)
            self._written[key] = (significant, now)

    def _sweep(self, now):
        """Once per heartbeat interval, from one interval after the start (StackStorm adds
        triggers asynchronously): delete the records of triggers not watched, drop the tombstones
        of triggers that came back, and delete the state and tombstone of triggers removed
        ``RETIRED_STATE_DAYS`` ago."""
        for item in list_all_values(self._service.list_values, HEALTH_PREFIX):
            ref = hr.trigger_ref_of(getattr(item, "name", ""))
            if ref and ref not in self._trigger_records:
                self._service.delete_value(hr.trigger_key(ref), local=True)
        for item in list_all_values(self._service.list_values, RETIRED_PREFIX):
            ref = ref_after(RETIRED_PREFIX, getattr(item, "name", ""))
            removed = epoch_from_iso(getattr(item, "value", None))
            if ref in self._trigger_records:
                self._service.delete_value(RETIRED_PREFIX + ref, local=True)
            elif removed is None or now - removed >= RETIRED_STATE_DAYS * 86400.0:
                for prefix in self._state_prefixes + (RETIRED_PREFIX,):
                    self._service.delete_value(prefix + ref, local=True)
                self._logger.info("trigger %s: state deleted, %d days after the trigger was "
                                  "removed", ref, RETIRED_STATE_DAYS)


def _significant(record):
    """What a human would care about in a record: a change is written before the heartbeat (a
    failing trigger's record at each failed poll, as its failure count changes)."""
    return hr.dumps(dict((key, record.get(key)) for key in (
        "watched", "not_watched_reason", "problem", "last_error", "baseline_taken", "parameters",
        "triggers", "poll_interval_seconds", "consecutive_failures")))
