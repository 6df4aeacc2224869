"""Health records as the sensors write them (HEALTH_SPEC format 1), for the status tests.

A private copy of the key names and record fields, written by hand so the status reader is tested
against the format itself, not against the writer's code.
"""

import datetime
import json

NOW = 1796396400.0  # 2026-12-04T15:00:00Z
FILE_TYPE = "workspaces.file_detected"
FILE_REF = "workspaces.6a1f0c2e-1d5b-4c8e-9f00-2b7d1e9c3a41"
MISSING_REF = "workspaces.0b9e6d4c-7f21-4a53-8c6e-5d2f4a1b7e90"
ASDM_TYPE = "workspaces.alma_asdm"


def iso(seconds_before_now):
    """The ISO-8601 UTC text of NOW minus ``seconds_before_now``."""
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(
        seconds=NOW - seconds_before_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sensor_record(sensor, trigger_type, interval, polled_ago, triggers, problem=None):
    """A per-sensor record whose last poll ended ``polled_ago`` seconds before NOW."""
    return {"format": 1, "sensor": sensor, "trigger_type": trigger_type,
            "poll_interval_seconds": interval, "started_at": iso(polled_ago + 3600),
            "last_poll_start": iso(polled_ago + 1), "last_poll_end": iso(polled_ago),
            "heartbeat_at": iso(polled_ago), "triggers": list(triggers), "problem": problem}


def trigger_record(sensor, ref, trigger_type, parameters, polled_ago=5, failures=0,
                   last_error=None, problem=None, dispatched=0, dispatched_ago=None):
    """A per-trigger record."""
    return {"format": 1, "sensor": sensor, "trigger_ref": ref, "trigger_type": trigger_type,
            "parameters": parameters, "watched": problem is None or
            problem["kind"] != "not_watched",
            "not_watched_reason": None, "last_poll_start": iso(polled_ago + 1),
            "last_poll_end": iso(polled_ago), "last_success": iso(polled_ago) if not failures
            else iso(polled_ago + 600), "consecutive_failures": failures,
            "last_error": last_error, "problem": problem, "dispatched_total": dispatched,
            "last_dispatch_at": iso(dispatched_ago) if dispatched_ago is not None else None,
            "state_bytes": 120, "baseline_taken": True, "heartbeat_at": iso(polled_ago)}


def problem(kind, message, since_ago=300):
    """A problem object."""
    return {"kind": kind, "message": message, "since": iso(since_ago)}


def key_of(record):
    """The full datastore key of a record (a sensor wrote it with local=True)."""
    if "trigger_ref" in record:
        return "workspaces.%s:health:%s" % (record["sensor"], record["trigger_ref"])
    return "workspaces.%s:health" % record["sensor"]


def write_records(set_value, records):
    """Store ``records`` through a datastore service's ``set_value`` (full names)."""
    for record in records:
        set_value(key_of(record), json.dumps(record, sort_keys=True), local=False)


def healthy_pack():
    """A file monitor with one healthy trigger and an ALMA ASDM sensor, both polling."""
    return [
        sensor_record("FileMonitorSensor", FILE_TYPE, 30, 10, [FILE_REF]),
        trigger_record("FileMonitorSensor", FILE_REF, FILE_TYPE,
                       {"directory": "/data/incoming", "pattern": "*.tar"},
                       dispatched=4, dispatched_ago=120),
        sensor_record("AlmaAsdmSensor", ASDM_TYPE, 60, 20, [ASDM_TYPE]),
        trigger_record("AlmaAsdmSensor", ASDM_TYPE, ASDM_TYPE, {}, polled_ago=20),
    ]


def rule_doc(name, trigger_type, trigger_ref, parameters=None, enabled=True):
    """A rule as st2's API lists it (RuleAPI: trigger type, ref and parameters)."""
    return {"ref": "workspaces." + name, "name": name, "pack": "workspaces", "enabled": enabled,
            "trigger": {"type": trigger_type, "ref": trigger_ref,
                        "parameters": parameters or {}}}
