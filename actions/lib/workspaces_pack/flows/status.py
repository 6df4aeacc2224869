"""What every sensor of the pack is doing, from the health records the sensors keep.

Run by the action ``workspaces.status`` and by ``workspaces-local status`` (the same code): the
records come from the datastore, the rules that use each trigger from rule documents (the st2
API's or the local runner's). The report fails while a problem stands (a stalled sensor's too) and
lists the reconciliation requests ``workspaces.alma_reconcile`` left. Every text of it passes
through a ``core.scrub.Scrubber``, so no configured URL, user or secret is shown.
"""

import collections
import time

from workspaces_pack.archive.reconcile import parse_request
from workspaces_pack.core.errors import ParameterError, checked_flag
from workspaces_pack.core.health_record import (is_health_name, loads, new_sensor_record,
                                                trigger_ref_of)
from workspaces_pack.core.keys import PACK_PREFIX, REQUEST_PREFIX
from workspaces_pack.core.problems import STALLED
from workspaces_pack.core.scrub import scrub_parameters
from workspaces_pack.core.state import PAGE_SIZE, list_all_values
from workspaces_pack.core.times import epoch_from_iso, iso_from_epoch

__all__ = ["STALL_INTERVALS", "StatusQuery", "HealthRecords", "RuleIndex", "StatusReport",
           "read_health_records", "rules_from_st2_api", "build_status", "check_parameters"]

STALL_INTERVALS = 3
"""A sensor rewrites a quiet record once per heartbeat, at its next poll: nothing recorded for the
heartbeat plus this many poll intervals means it missed that many polls (stalled or not running)."""
MAX_PARAMETERS_TEXT = 60
DISABLED = " (disabled)"
"""How ``RuleIndex`` marks a disabled rule's name."""
SETTINGS = {"workspaces.alma_asdm": "alma_archive_db_url",
            "workspaces.alma_calibration": "alma_archive_db_url",
            "workspaces.vlba_data": "vlba_data_directory"}
"""The pack config key without which a trigger type's sensor cannot work (``idle_reason``)."""
NOT_CONFIGURED = "idle: not configured: set "
SENSOR_FIELDS = ("sensor", "trigger_type", "started_at", "last_poll_end", "heartbeat_at")
TRIGGER_FIELDS = ("trigger_ref", "trigger_type", "not_watched_reason", "last_poll_end",
                  "last_success", "last_error", "last_dispatch_at")
"""The fields of the health records (``core.health_record``) the report shows as they are."""


class StatusQuery(collections.namedtuple("StatusQuery", "sensor problems_only",
                                         defaults=(None, False))):
    """What a status run shows: ``sensor`` (a class name or trigger type; None: every sensor)
    and whether ``problems_only``."""


class HealthRecords(object):
    """The records read from the datastore: per-sensor (by sensor name), per-trigger, the
    unreadable keys and the reconciliation requests."""

    def __init__(self):
        self.sensors = {}
        self.triggers = []
        self.unreadable = []
        self.requests = []

    def add(self, name, value):
        """File one datastore pair; anything but a health record or a request is ignored."""
        name = str(name)
        if name.startswith(REQUEST_PREFIX):
            try:
                request = parse_request(value)
                self.requests.append({"key": name,
                                      "requested_at": iso_from_epoch(request["requested_at"]),
                                      "refused": request["refused"]})
            except (TypeError, ValueError, OverflowError):
                pass  # not a request: the ASDM sensor logs and deletes it
        elif is_health_name(name):
            record = loads(value)
            if record is None or not record.get("sensor"):
                self.unreadable.append(name)
            elif trigger_ref_of(name) is None:
                self.sensors[record["sensor"]] = record
            else:
                record.setdefault("trigger_ref", trigger_ref_of(name))
                self.triggers.append(record)


def check_parameters(sensor, problems_only):
    """Return the ``StatusQuery`` of the action's parameters (``ParameterError`` for a bad one)."""
    if sensor is not None and (not isinstance(sensor, str) or len(sensor) > 200 or
                               "\x00" in sensor):
        raise ParameterError("sensor", "must be a sensor class name or trigger type, got %r"
                             % (sensor if not isinstance(sensor, str) else sensor[:60],))
    return StatusQuery(sensor or None, checked_flag(
        "problems_only", False if problems_only is None else problems_only))


def read_health_records(list_values):
    """Read every record and request with ``list_values`` (a datastore service's method)."""
    records = HealthRecords()
    for item in list_all_values(list_values, PACK_PREFIX, local=False):
        records.add(item.name, item.value)
    return records


class RuleIndex(object):
    """Which rules use which trigger, from rule documents shaped like st2's ``RuleAPI`` (dicts or
    st2client ``Rule`` objects); ``unknown`` is the reason when the rules could not be listed."""

    def __init__(self, rules=(), unknown=None):
        self.unknown = unknown
        self._by_ref = {}
        for rule in rules:
            doc = rule if isinstance(rule, dict) else getattr(rule, "__dict__", {})
            trigger = doc.get("trigger") or {}
            name = doc.get("ref") or "%s.%s" % (doc.get("pack"), doc.get("name"))
            if not doc.get("enabled", False):
                name += DISABLED
            refs = {trigger.get("ref")}
            if not trigger.get("parameters"):
                refs.add(trigger.get("type"))
            for ref in refs - {None}:
                self._by_ref.setdefault(ref, []).append(name)

    def rules_for(self, trigger_ref):
        """Return the rule names using ``trigger_ref`` (sorted), or None when unknown."""
        if self.unknown is not None:
            return None
        return sorted(self._by_ref.get(trigger_ref, []))

    def text_for(self, trigger_ref):
        """The rules column: names, ``no rule`` or ``rules unknown: <reason>``."""
        names = self.rules_for(trigger_ref)
        if names is None:
            return "rules unknown: %s" % self.unknown
        return ", ".join(names) if names else "no rule"


def rules_from_st2_api(environ, make_client=None):
    """List every rule through the st2 API that StackStorm's python runner names in
    ``ST2_API_URL`` and ``ST2_AUTH_TOKEN``, with st2client; return a ``RuleIndex`` (one that says
    why when either is missing or the API fails)."""
    url = environ.get("ST2_API_URL")
    if not url:
        return RuleIndex(unknown="ST2_API_URL is not set (not run by StackStorm's python runner)")
    if make_client is None:
        try:
            from st2client.client import Client
        except ImportError:
            return RuleIndex(unknown="st2client is not installed")
        make_client = Client
    try:
        client = make_client(api_url=url, token=environ.get("ST2_AUTH_TOKEN"))
        rules, offset = [], 0
        while True:
            page = client.rules.get_all(limit=PAGE_SIZE, offset=offset) or []
            rules.extend(page)
            if len(page) < PAGE_SIZE:
                return RuleIndex(rules)
            offset += len(page)
    except Exception as error:  # any API or client failure: say so, report the rest
        return RuleIndex(unknown=_one_line(error) or type(error).__name__)


def _one_line(value):
    return " ".join(str(value).split())


def _ago(stamp, now):
    seconds = epoch_from_iso(stamp)
    if seconds is None:
        return "never"
    delta = max(0, int(now - seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            return "%d%s ago" % (delta // size, unit)
    return "%ds ago" % delta


def _parameters_text(parameters):
    parts = []
    for key, value in sorted(parameters.items()):
        if isinstance(value, list):
            value = ",".join(str(item) for item in value)
        parts.append("%s=%s" % (key, _one_line(value)))
    text = " ".join(parts) or "-"
    return text if len(text) <= MAX_PARAMETERS_TEXT else text[:MAX_PARAMETERS_TEXT - 3] + "..."


def _problem_text(problem):
    if not problem:
        return "-"
    return "%s: %s" % (problem["kind"], _one_line(problem.get("message") or ""))


class StatusReport(object):
    """The status of every sensor and trigger: ``to_dict()`` for rules, ``lines()`` for people."""

    def __init__(self, sensors, checked_at, records, rules_unknown, scrubber, query):
        self.sensors = sensors
        self.checked_at = checked_at
        self.records = records
        self.rules_unknown = rules_unknown
        self.scrubber = scrubber
        self.query = query

    def problems(self):
        """Return every standing problem as ``{sensor, trigger_ref, kind, message, since}``."""
        found = []
        for sensor in self.sensors:
            if sensor["problem"]:
                found.append(dict(sensor["problem"], sensor=sensor["sensor"], trigger_ref=None))
            found.extend(dict(trigger["problem"], sensor=sensor["sensor"],
                              trigger_ref=trigger["trigger_ref"])
                         for trigger in sensor["triggers"] if trigger["problem"])
        return found

    @property
    def ok(self):
        """True when a sensor reported (and matched the filter) and no problem stands."""
        return bool(self.sensors) and not self.problems()

    def to_dict(self):
        """Return the report as a JSON-ready dict (the action's result)."""
        return self._scrubbed({
            "ok": self.ok, "checked_at": self.checked_at, "problems": self.problems(),
            "rules_unknown": self.rules_unknown, "unreadable_records": self.records.unreadable,
            "reconcile_requests": self.records.requests,
            "settings_to_make": self.settings_to_make(), "sensors": self._shown(),
            "verdict": self.verdict()})

    def _shown(self):
        if not self.query.problems_only:
            return self.sensors
        shown = []
        for sensor in self.sensors:
            triggers = [trigger for trigger in sensor["triggers"] if trigger["problem"]]
            if sensor["problem"] or triggers:
                shown.append(dict(sensor, triggers=triggers))
        return shown

    def verdict(self):
        """The report's last line: ok or FAILED, with how many sensors, triggers, problems."""
        count = len(self.problems())
        if not self.sensors:
            if self.query.sensor:
                return "status FAILED: no sensor matches %r" % self.query.sensor
            return ("status FAILED: no health records (no sensor of the pack has run; is "
                    "st2sensorcontainer running and are the sensors enabled?)")
        triggers = sum(len(sensor["triggers"]) for sensor in self.sensors)
        verdict = "status %s: %d sensor(s), %d trigger(s), %d problem(s)" % (
            "ok" if not count else "FAILED", len(self.sensors), triggers, count)
        settings = self.settings_to_make()
        return verdict + ("; settings to make: %s" % ", ".join(settings) if settings else "")

    def settings_to_make(self):
        """The pack config keys idle triggers wait for (sorted, each once)."""
        return sorted({trigger["idle"][len(NOT_CONFIGURED):] for sensor in self.sensors
                       for trigger in sensor["triggers"]
                       if (trigger["idle"] or "").startswith(NOT_CONFIGURED)})

    def _scrubbed(self, value):
        if isinstance(value, dict):
            return dict((key, self._scrubbed(item)) for key, item in value.items())
        if isinstance(value, list):
            return [self._scrubbed(item) for item in value]
        if isinstance(value, str):
            return self.scrubber.scrub(value)
        return value

    def lines(self):
        """Return the report as a table, one row per sensor then its triggers, verdict last."""
        now = epoch_from_iso(self.checked_at)
        rows = []
        for sensor in self._shown():
            rows.append((sensor["sensor"], "-", "every %ss" % sensor["poll_interval_seconds"],
                         _ago(sensor["last_poll_end"], now), "-", "-",
                         _problem_text(sensor["problem"])))
            for trigger in sensor["triggers"]:
                dispatch = _ago(trigger["last_dispatch_at"], now)
                if trigger["dispatched_total"]:
                    dispatch += " (%d)" % trigger["dispatched_total"]
                rows.append(("  " + trigger["trigger_ref"], trigger["rules"],
                             trigger["parameters_summary"], _ago(trigger["last_poll_end"], now),
                             dispatch, str(trigger["consecutive_failures"]),
                             trigger["idle"] or _problem_text(trigger["problem"])))
        out = []
        if rows:
            rows.insert(0, ("SENSOR / TRIGGER", "RULES", "PARAMETERS", "LAST POLL",
                            "LAST DISPATCH", "FAILS", "PROBLEM"))
            widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
            out = ["  ".join(["%-*s" % (width, cell) for width, cell in zip(widths, row)] +
                             [row[-1]]).rstrip() for row in rows]
        for request in self.records.requests:
            out.append("reconciliation request %s: %s" % (request["key"], (
                "refused: %s" % request["refused"] if request["refused"] else
                "waiting for AlmaAsdmSensor (requested %s)" % _ago(request["requested_at"], now))))
        if self.records.unreadable:
            out.append("unreadable health records: %s" % ", ".join(self.records.unreadable))
        out.append(self.verdict())
        return [self.scrubber.scrub(line) for line in out]


def _matches(sensor_filter, record):
    if not sensor_filter:
        return True
    trigger_type = str(record.get("trigger_type") or "").lower()
    return sensor_filter.strip().lower() in (str(record.get("sensor", "")).lower(), trigger_type,
                                             trigger_type.split(".", 1)[-1])


def _sensor_entry(record, now, triggers, heartbeat_seconds):
    """The report's entry of a per-sensor record, ``stalled`` per ``STALL_INTERVALS``."""
    signs = [epoch_from_iso(record.get(field))
             for field in ("last_poll_end", "heartbeat_at", "started_at")]
    last = max((moment for moment in signs if moment is not None), default=None)
    allowed = float(heartbeat_seconds or 0) + STALL_INTERVALS * float(
        record.get("poll_interval_seconds") or 0)
    stalled = last is None or now - last > allowed
    problem = record.get("problem")
    if stalled and not problem:
        since = iso_from_epoch(last) if last else None
        problem = {"kind": STALLED, "message": (
            "stalled or not running: nothing recorded since %s, more than its heartbeat and %d "
            "poll intervals (%ds) ago; or its health records cannot be written"
            % (since or "it started", STALL_INTERVALS, int(allowed))), "since": since}
    entry = {field: record.get(field) for field in SENSOR_FIELDS}
    entry.update(poll_interval_seconds=int(record.get("poll_interval_seconds") or 0),
                 stalled=stalled, problem=problem, triggers=triggers)
    return entry


def idle_reason(trigger_type, rule_names, config, has_worked=False):
    """Why a trigger with a problem is idle rather than failing (None: it is failing): every rule
    using it is disabled (StackStorm gives a disabled rule's trigger to the sensor too), or its
    ``SETTINGS`` key is unset in ``config``, or at its schema default while it never worked."""
    if rule_names and all(name.endswith(DISABLED) for name in rule_names):
        return "idle: every rule using it is disabled"
    key = SETTINGS.get(trigger_type)
    if key and config is not None and (not config.get(key) or
                                       not (config.is_chosen(key) or has_worked)):
        return NOT_CONFIGURED + key
    return None


def _trigger_entry(record, rules, config):
    ref = record["trigger_ref"]
    problem = record.get("problem")
    idle = problem and idle_reason(record.get("trigger_type"), rules.rules_for(ref), config,
                                   has_worked=bool(record.get("last_success")))
    entry = {field: record.get(field) for field in TRIGGER_FIELDS}
    entry.update(rules=rules.text_for(ref), rule_refs=rules.rules_for(ref),
                 parameters=scrub_parameters(record.get("parameters") or {}),
                 watched=bool(record.get("watched", True)),
                 consecutive_failures=int(record.get("consecutive_failures") or 0),
                 dispatched_total=int(record.get("dispatched_total") or 0),
                 problem=None if idle else problem, idle=idle or None,
                 idle_problem=problem if idle else None)
    entry["parameters_summary"] = _parameters_text(entry["parameters"])
    return entry


def build_status(records, rules, scrubber, heartbeat_seconds, query=StatusQuery(), now=None,
                 config=None):
    """Return the ``StatusReport`` of ``records`` (``HealthRecords``) and ``rules`` (``RuleIndex``).

    A trigger record its sensor's record does not list is a removed trigger's leftover, not shown;
    ``query.sensor`` matches a class name or trigger type (``FileMonitorSensor``,
    ``workspaces.file_detected``, ``file_detected``). ``heartbeat_seconds``: the pack config's
    ``health_heartbeat_minutes`` in seconds; ``config`` (``PackConfig``): for ``idle_reason``.
    """
    now = time.time() if now is None else now
    by_sensor = {}
    for record in sorted(records.triggers, key=lambda trigger: trigger["trigger_ref"]):
        by_sensor.setdefault(record["sensor"], []).append(record)
    sensors = []
    for name in sorted(set(records.sensors) | set(by_sensor)):
        record = records.sensors.get(name) or dict(
            new_sensor_record(name, by_sensor[name][0].get("trigger_type"), 0, None),
            triggers=None, problem={"kind": STALLED, "message": "no sensor record: the sensor "
                                    "has not written its health (not running?)", "since": None})
        if not _matches(query.sensor, record):
            continue
        watched = record.get("triggers")
        triggers = [_trigger_entry(item, rules, config) for item in by_sensor.get(name, [])
                    if watched is None or item["trigger_ref"] in watched]
        sensors.append(_sensor_entry(record, now, triggers, heartbeat_seconds))
    return StatusReport(sensors, iso_from_epoch(now), records, rules.unknown, scrubber, query)
