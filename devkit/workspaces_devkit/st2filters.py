"""StackStorm's Jinja filters for times, versions, regex substrings and JSONPath, for the devkit.

Behaviour read from StackStorm 3.9.0 (st2common/expressions/functions/time.py, version.py,
regex.py, data.py), written here, not copied; versions are read by ``semver``, as StackStorm
reads them.
"""

import datetime
import re

import semver

__all__ = ["MORE_FILTERS"]


def _flags(ignorecase):
    return re.I if ignorecase else 0


def to_human_time_from_seconds(seconds):
    """``1h3m5s`` for 3785 seconds: whole seconds from the first non-zero part on (``0s`` for 0,
    the number with ``μs`` below one second)."""
    if not isinstance(seconds, (int, float)):
        raise AssertionError("to_human_time_from_seconds needs a number of seconds")
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return "%s\u03bcs" % seconds
    moment = datetime.datetime(1, 1, 1) + datetime.timedelta(seconds=int(round(seconds)))
    parts = [moment.year - 1, moment.day - 1, moment.hour, moment.minute, moment.second]
    first = next((index for index, part in enumerate(parts) if part), None)
    if first is None:
        return "0s"
    units = ["y", "d", "h", "m", "s"][first:]
    return "".join("%s%s" % (part, unit) for part, unit in zip(parts[first:], units))


def _version(text):
    """The ``semver.Version`` of ``text`` (``ValueError`` when it is not a semantic version)."""
    return semver.Version.parse(str(text))


def jsonpath_query(value, query):
    """The values ``query`` finds in ``value``, or None (needs ``jsonpath_rw``)."""
    try:
        import jsonpath_rw
    except ImportError:
        raise RuntimeError("jsonpath_query needs the jsonpath-rw package, which StackStorm "
                           "ships and the devkit does not install")
    found = [match.value for match in jsonpath_rw.parse(query).find(value)]
    return found or None


MORE_FILTERS = {
    "regex_match": lambda value, pattern, ignorecase=False: bool(
        re.match(pattern, str(value), _flags(ignorecase))),
    "regex_search": lambda value, pattern, ignorecase=False: bool(
        re.search(pattern, str(value), _flags(ignorecase))),
    "regex_replace": lambda value, pattern, replacement, ignorecase=False: re.compile(
        pattern, _flags(ignorecase)).sub(replacement, str(value)),
    "regex_substring": lambda value, pattern, result_index=0, ignorecase=False: re.findall(
        pattern, str(value), _flags(ignorecase))[result_index],
    "to_human_time_from_seconds": to_human_time_from_seconds,
    "version_compare": lambda value, pattern: _version(value).compare(pattern),
    "version_more_than": lambda value, pattern: _version(value).compare(pattern) == 1,
    "version_less_than": lambda value, pattern: _version(value).compare(pattern) == -1,
    "version_equal": lambda value, pattern: _version(value).compare(pattern) == 0,
    "version_match": lambda value, pattern: _version(value).match(pattern),
    "version_bump_major": lambda value: str(_version(value).bump_major()),
    "version_bump_minor": lambda value: str(_version(value).bump_minor()),
    "version_bump_patch": lambda value: str(_version(value).bump_patch()),
    "version_strip_patch": lambda value: "%d.%d" % _version(value).to_tuple()[:2],
    "jsonpath_query": jsonpath_query,
}
