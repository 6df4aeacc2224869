"""Time in the pack: POSIX seconds, naive-UTC datetimes, and their ISO-8601 texts.

Two texts, both ending in ``Z``: ``iso_from_epoch`` (whole seconds: health records, status,
tombstones) and ``iso_from_datetime`` (microseconds kept: trigger payloads, action results, logs).
"""

import datetime

from workspaces_pack.core.errors import ParameterError

__all__ = ["to_epoch", "from_epoch", "iso_from_epoch", "epoch_from_iso", "iso_from_datetime",
           "parse_time"]

_EPOCH = datetime.datetime(1970, 1, 1)
_SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _naive_utc(value):
    """``value`` (a naive-UTC or aware datetime, or an ISO string from SQLite) in naive UTC."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def to_epoch(value):
    """Return POSIX seconds for a naive-UTC or aware datetime (or an ISO string, from SQLite)."""
    return (_naive_utc(value) - _EPOCH).total_seconds()


def from_epoch(seconds):
    """Return the naive-UTC datetime of POSIX ``seconds``."""
    return _EPOCH + datetime.timedelta(seconds=seconds)


def iso_from_epoch(epoch):
    """``2026-12-04T15:04:05Z`` for POSIX seconds, None for None."""
    return None if epoch is None else from_epoch(float(epoch)).strftime(_SECONDS_FORMAT)


def epoch_from_iso(text):
    """POSIX seconds of an ``iso_from_epoch`` text (None for None or an unreadable value)."""
    try:
        return to_epoch(datetime.datetime.strptime(str(text), _SECONDS_FORMAT)) if text else None
    except ValueError:
        return None


def iso_from_datetime(value):
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` for a naive-UTC or aware datetime."""
    return _naive_utc(value).isoformat() + "Z"


def parse_time(value, parameter):
    """Return the naive-UTC datetime of ``YYYY-MM-DD`` or ISO 8601 ``value`` (an action
    parameter); raise ``ParameterError`` naming ``parameter``."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not text:
        raise ParameterError(parameter, "expected a date like 2026-11-01 or 2026-11-01T12:00:00Z, "
                                        "got %r" % (value,))
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return _naive_utc(datetime.datetime.fromisoformat(text))
    except ValueError:
        raise ParameterError(parameter, "%r is not a date (2026-11-01) or an ISO 8601 time "
                                        "(2026-11-01T12:00:00Z)" % (value,))
