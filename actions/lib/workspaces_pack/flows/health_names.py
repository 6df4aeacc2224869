"""Temporary: the health-record names of HEALTH_SPEC format 1 that ``status`` reads.

``core/health_record.py`` (written with the sensors' health records) owns these; this module goes
once that one is merged, and ``flows/status.py`` imports them from there.
"""

import datetime
import json

__all__ = ["FORMAT", "SENSOR_KEY", "TRIGGER_KEY_PREFIX", "KINDS", "is_health_name",
           "trigger_ref_of", "parse_iso_utc", "iso_utc", "loads"]

FORMAT = 1
SENSOR_KEY = "health"
TRIGGER_KEY_PREFIX = "health:"
KINDS = ("not_watched", "poll_failing", "table_mismatch", "directory_missing",
         "database_unreachable", "state_unsaved", "state_unreadable")


def is_health_name(name):
    """True for a datastore key name (full or local) that holds a health record."""
    text = str(name)
    return text.endswith(":" + SENSOR_KEY) or (":" + TRIGGER_KEY_PREFIX) in text


def trigger_ref_of(name):
    """The trigger ref in a per-trigger record's key name, None for a per-sensor record."""
    text = str(name)
    index = text.find(TRIGGER_KEY_PREFIX)
    return None if index < 0 else text[index + len(TRIGGER_KEY_PREFIX):]


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


def loads(text):
    """A record from its stored text; None when it is not a record of this format."""
    try:
        record = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None
    return record
