"""The health records the sensors write and ``workspaces.status`` reads (format 1, HEALTH_SPEC).

Pure functions and constants; imports nothing but the standard library.

Keys (written by a sensor with ``local=True``, so StackStorm stores them as
``workspaces.<SensorClass>:<name>``, st2common/services/datastore.py ``_get_full_key_prefix``)
    per sensor ``health`` and per trigger ``health:<trigger ref>``.

Values are JSON objects (``dumps``) with ``"format": 1``; times are ISO-8601 UTC strings
(``2026-12-04T15:04:05Z``) or null. Secrets never enter a record: parameters whose name holds
password/secret/token/url are replaced by ``"***"`` and error lines are scrubbed of URLs, users and
passwords (``scrub_parameters``, ``scrub_line``).
"""

import datetime
import json
import re

__all__ = ["FORMAT", "KINDS", "IMMEDIATE_KINDS", "PROBLEM", "RECOVERED", "SENSOR_KEY",
           "TRIGGER_KEY_PREFIX", "PROBLEM_TRIGGER", "trigger_key", "is_health_name",
           "trigger_ref_of", "iso_utc", "parse_iso_utc", "scrub_parameters", "scrub_line",
           "new_sensor_record", "new_trigger_record", "problem_payload", "dumps", "loads",
           "heartbeat_seconds"]

FORMAT = 1
SENSOR_KEY = "health"
TRIGGER_KEY_PREFIX = "health:"
PROBLEM_TRIGGER = "workspaces.sensor_problem"
PROBLEM = "problem"
RECOVERED = "recovered"

KINDS = ("not_watched", "poll_failing", "table_mismatch", "directory_missing",
         "database_unreachable", "state_unsaved", "state_unreadable")
"""Problem kinds, shared by the records and the ``workspaces.sensor_problem`` payload."""

IMMEDIATE_KINDS = ("not_watched", "table_mismatch", "directory_missing", "state_unsaved")
"""Kinds that are a problem at once; the others only after ``problem_after_failures`` polls."""

SECRET_NAME = re.compile(r"password|secret|token|url", re.IGNORECASE)
MAX_LINE = 300
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S+")
_USER_AT = re.compile(r"\b[^\s:@/'\"]+(:[^\s@/'\"]*)?@(?=[A-Za-z0-9\[])")
_SECRET_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|user(?:name)?)"
                           r"(\s*[=:]\s*|\s+)(['\"]?)[^\s'\",;)]+\3")


def trigger_key(ref):
    """Datastore name (without the local prefix) of the record of trigger ``ref``."""
    return TRIGGER_KEY_PREFIX + ref


def is_health_name(name):
    """True for a datastore key name (full or local) that holds a health record."""
    text = str(name)
    return text.endswith(":" + SENSOR_KEY) or (":" + TRIGGER_KEY_PREFIX) in text or \
        text == SENSOR_KEY or text.startswith(TRIGGER_KEY_PREFIX)


def trigger_ref_of(name):
    """The trigger ref in a per-trigger record's key name, None for a per-sensor record."""
    text = str(name)
    index = text.find(TRIGGER_KEY_PREFIX)
    if index < 0:
        return None
    return text[index + len(TRIGGER_KEY_PREFIX):]


def iso_utc(epoch):
    """``2026-12-04T15:04:05Z`` for POSIX seconds, None for None."""
    if epoch is None:
        return None
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=float(epoch))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text):
    """POSIX seconds of an ``iso_utc`` string (None for None or an unreadable value)."""
    if not text:
        return None
    try:
        moment = datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return (moment - datetime.datetime(1970, 1, 1)).total_seconds()


def scrub_parameters(parameters):
    """A copy of trigger ``parameters`` with secret-looking keys' values replaced by ``***``."""
    if isinstance(parameters, dict):
        return dict((key, "***" if SECRET_NAME.search(str(key)) else scrub_parameters(value))
                    for key, value in parameters.items())
    if isinstance(parameters, list):
        return [scrub_parameters(value) for value in parameters]
    if isinstance(parameters, str):
        return scrub_line(parameters, limit=None) if ("://" in parameters or
                                                      "@" in parameters) else parameters
    return parameters


def scrub_line(text, limit=MAX_LINE):
    """One line of ``text`` without URLs, ``user:password@`` parts or ``password=...`` values."""
    if text is None:
        return None
    line = " ".join(str(text).split())
    line = _URL.sub("<url>", line)
    line = _USER_AT.sub("<user>@", line)
    line = _SECRET_VALUE.sub(lambda match: "%s%s***" % (match.group(1), match.group(2)), line)
    if limit is not None and len(line) > limit:
        line = line[:limit - 3] + "..."
    return line


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


def problem_payload(record, problem, state):
    """The ``workspaces.sensor_problem`` payload for ``problem`` of a record (sensor or trigger)."""
    return {"sensor": record["sensor"], "trigger_ref": record.get("trigger_ref") or "",
            "trigger_parameters": scrub_parameters(record.get("parameters") or {}),
            "kind": problem["kind"], "message": scrub_line(problem["message"]),
            "since": problem["since"],
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
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None
    return record


def heartbeat_seconds(config):
    """The heartbeat interval in seconds: the pack config's ``health_heartbeat_minutes`` (a
    ``PackConfig``). Writers rewrite a quiet record this often; readers allow for it."""
    return 60.0 * float(config.get("health_heartbeat_minutes"))
