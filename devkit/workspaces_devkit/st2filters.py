"""StackStorm's Jinja filters for times, versions, regex substrings and JSONPath, for the devkit.

Behaviour read from StackStorm 3.9.0 (st2common/expressions/functions/time.py, version.py,
regex.py, data.py), written here, not copied. Versions are semantic versions (``semver``): build
metadata is ignored, the bumps reset the lower parts and drop pre-release and build, and a text
that is not a semantic version is refused with ``ValueError``.
"""

import datetime
import re

__all__ = ["MORE_FILTERS"]

_PRE_PART = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(%s(?:\.%s)*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$" % (_PRE_PART, _PRE_PART))
_MATCH_RE = re.compile(r"^(<=|>=|==|!=|<|>)(.*)$")


def _flags(ignorecase):
    return re.I if ignorecase else 0


def to_human_time_from_seconds(seconds):
    """``1h3m5s`` for 3785 seconds (see the module's description)."""
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


def _parse(text):
    match = _SEMVER_RE.match(str(text))
    if not match:
        raise ValueError("%s is not valid SemVer string" % (text,))
    major, minor, patch, pre, _build = match.groups()
    return int(major), int(minor), int(patch), pre


def _sort_key(text):
    """Semantic versions sort by major, minor, patch, then a release after its pre-releases,
    whose dot-separated parts sort numbers before words."""
    major, minor, patch, pre = _parse(text)
    if pre is None:
        return major, minor, patch, (1,)
    return major, minor, patch, (0, [(0, int(part), "") if part.isdigit() else (1, 0, part)
                                     for part in pre.split(".")])


def version_compare(value, pattern):
    """-1, 0 or 1 as ``value`` is lower than, equal to or higher than ``pattern``."""
    left, right = _sort_key(value), _sort_key(pattern)
    return (left > right) - (left < right)


def version_match(value, pattern):
    """True when ``value`` satisfies ``pattern`` (``>=1.2.0``, ``!=2.0.0`` ...)."""
    match = _MATCH_RE.match(str(pattern).strip())
    if not match:
        raise ValueError("%s is not a version match expression" % (pattern,))
    operator, version = match.group(1), match.group(2).strip()
    result = version_compare(value, version)
    return {"<": result < 0, "<=": result <= 0, ">": result > 0, ">=": result >= 0,
            "==": result == 0, "!=": result != 0}[operator]


def _bump(value, index):
    parts = list(_parse(value)[:3])
    parts[index] += 1
    for lower in range(index + 1, 3):
        parts[lower] = 0
    return "%d.%d.%d" % tuple(parts)


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
    "version_compare": version_compare,
    "version_more_than": lambda value, pattern: version_compare(value, pattern) == 1,
    "version_less_than": lambda value, pattern: version_compare(value, pattern) == -1,
    "version_equal": lambda value, pattern: version_compare(value, pattern) == 0,
    "version_match": version_match,
    "version_bump_major": lambda value: _bump(value, 0),
    "version_bump_minor": lambda value: _bump(value, 1),
    "version_bump_patch": lambda value: _bump(value, 2),
    "version_strip_patch": lambda value: "%d.%d" % _parse(value)[:2],
    "jsonpath_query": jsonpath_query,
}
