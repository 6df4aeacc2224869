"""The health records the sensors write and ``workspaces.status`` reads (format 1, HEALTH_SPEC).

Keys (``core.keys``): per sensor ``health`` and per trigger ``health:<trigger ref>``.

Values are JSON objects (``dumps``) with ``"format": 1``; times are ``core.times.iso_from_epoch``
texts (``2026-12-04T15:04:05Z``) or null; problem kinds are ``core.problems``'s. Secrets never
enter a record: parameters and error lines pass through ``core.scrub``.
"""

import json

from workspaces_pack.core.keys import HEALTH_KEY, HEALTH_PREFIX, ref_after
from workspaces_pack.core.scrub import scrub_line, scrub_parameters

__all__ = ["FORMAT", "PROBLEM", "RECOVERED", "PROBLEM_TRIGGER", "trigger_key", "is_health_name",
           "trigger_ref_of", "new_sensor_record", "new_trigger_record", "problem_payload", "dumps",
           "loads", "heartbeat_seconds"]

FORMAT = 1
PROBLEM_TRIGGER = "workspaces.sensor_problem"
PROBLEM = "problem"
RECOVERED = "recovered"


def trigger_key(ref):
    """Datastore name (without the local prefix) of the record of trigger ``ref``."""
    return HEALTH_PREFIX + ref


def is_health_name(name):
    """True for a datastore key name (full or local) that holds a health record."""
    text = str(name)
    return text.endswith(":" + HEALTH_KEY) or (":" + HEALTH_PREFIX) in text or \
        text == HEALTH_KEY or text.startswith(HEALTH_PREFIX)


def trigger_ref_of(name):
    """The trigger ref in a per-trigger record's key name, None for a per-sensor record."""
    return ref_after(HEALTH_PREFIX, name)


def new_sensor_record(sensor, trigger_type, poll_interval_seconds, started_at):
    """A per-sensor record (every field of the format, nothing polled yet)."""
    return {"format": FORMAT, "sensor": sensor, "trigger_type": trigger_type,
            "poll_interval_seconds": int(poll_interval_seconds), "started_at": started_at,
            "last_poll_start": None, "last_poll_end": None, "heartbeat_at": None,
            "triggers": [], "problem": None}


def new_trigger_record(sensor, trigger_ref, trigger_type, parameters):
    """A per-trigger record (every field of the format, nothing polled yet)."""
    return {"format": FORMAT, "sensor": sensor, "trigger_ref": trigger_ref,
            "trigger_type": trigger_type, "parameters": scrub_parameters(parameters or {}),
            "watched": True, "not_watched_reason": None, "last_poll_start": None,
            "last_poll_end": None, "last_success": None, "consecutive_failures": 0,
            "last_error": None, "problem": None, "dispatched_total": 0,
            "last_dispatch_at": None, "state_bytes": 0, "baseline_taken": False,
            "heartbeat_at": None}


def problem_payload(record, standing, state):
    """The ``workspaces.sensor_problem`` payload of a record (sensor or trigger) and its
    ``standing`` problem (the record's ``problem`` field); ``state`` is PROBLEM or RECOVERED."""
    return {"sensor": record["sensor"], "trigger_ref": record.get("trigger_ref") or "",
            "trigger_parameters": scrub_parameters(record.get("parameters") or {}),
            "kind": standing["kind"], "message": scrub_line(standing["message"]),
            "since": standing["since"],
            "consecutive_failures": int(record.get("consecutive_failures") or 0),
            "state": state}


def dumps(record):
    """The stored text of a record."""
    return json.dumps(record, sort_keys=True)


def loads(text):
    """A record from its stored text; None when it is not a record of this format."""
    try:
        record = json.loads(text)
    except (TypeError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def heartbeat_seconds(config):
    """The heartbeat interval in seconds: the pack config's ``health_heartbeat_minutes`` (a
    ``PackConfig``). Writers rewrite a quiet record this often; readers allow for it."""
    return 60.0 * float(config.get("health_heartbeat_minutes"))
