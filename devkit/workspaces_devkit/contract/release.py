"""The release rule: a breaking contract difference ships only with a new major version whose
CHANGES.md section names each break and what a rule author must change (docs/UPGRADING.md).

Versions follow semver with npm's caret reading for 0.x: the leftmost non-zero component is the
major (0.2.0 -> 0.3.0 and 1.4.2 -> 2.0.0 are major bumps). CHANGES.md names breaks under a
``### Breaking`` heading of its ``## <version>`` section, one bullet per break: the break's key
(``Difference.key``) in backquotes, then what to change.
"""

import os
import re
from collections import namedtuple

from workspaces_devkit.contract.compare import breaking, compare_contracts
from workspaces_devkit.contract.snapshot import (
    baseline, build_contract, load_snapshot, pack_version, parse_version, snapshot_versions)

__all__ = ["caret_major", "next_major", "is_major_bump", "breaking_notes", "ReleaseCheck",
           "check_release", "history_problems"]

_SECTION_RE = re.compile(r"^##\s+v?(\S+)\s*$")
_BREAKING_RE = re.compile(r"^###\s+breaking\b", re.IGNORECASE)
_BULLET_RE = re.compile(r"^[-*]\s+`([^`]+)`\s*[:\-\u2013\u2014]?\s*(.*)$")


def caret_major(version):
    """The part of ``version`` a caret range (``^version``) keeps fixed: ``(1,)`` for 1.4.2,
    ``(0, 2)`` for 0.2.5, ``(0, 0, 3)`` for 0.0.3."""
    major, minor, patch = parse_version(version)
    if major:
        return (major,)
    if minor:
        return (0, minor)
    return (0, 0, patch)


def next_major(version):
    """The lowest version that is a major bump from ``version`` (0.2.0 -> 0.3.0)."""
    kept = caret_major(version)
    return "%d.%d.%d" % (kept[:-1] + (kept[-1] + 1, 0, 0))[:3]


def is_major_bump(old, new):
    """True when ``new`` is higher than ``old`` and outside ``^old``."""
    return parse_version(new) > parse_version(old) and caret_major(new) != caret_major(old)


def breaking_notes(changes_text, version):
    """Return ``{key: text}`` of the Breaking bullets in CHANGES.md's section for ``version``."""
    notes, in_section, in_breaking, current = {}, False, False, None
    for line in changes_text.splitlines():
        section = _SECTION_RE.match(line)
        if section:
            in_section, in_breaking, current = section.group(1) == version, False, None
            continue
        if not in_section:
            continue
        if line.startswith("#"):
            in_breaking, current = bool(_BREAKING_RE.match(line)), None
            continue
        if not in_breaking:
            continue
        bullet = _BULLET_RE.match(line)
        if bullet:
            current = bullet.group(1).strip()
            notes[current] = bullet.group(2).strip()
        elif current and line.startswith((" ", "\t")) and line.strip():
            notes[current] = (notes[current] + " " + line.strip()).strip()
        elif not line.strip():
            current = None
    return notes


class ReleaseCheck(namedtuple("ReleaseCheck", "version baseline differences problems")):
    """The working tree against its baseline snapshot: ``differences`` (``Difference`` list) and
    the ``problems`` (text) that stop a release; ``ok`` when there are none."""

    __slots__ = ()

    @property
    def ok(self):
        """True when nothing stops the release."""
        return not self.problems


def _rule_problems(breaks, old_version, new_version, changes_text):
    """The release rule for ``breaks`` (breaking differences) from ``old_version``."""
    problems = []
    if breaks and not is_major_bump(old_version, new_version):
        problems.append("%d breaking difference(s) from %s need a major version: %s or higher, "
                        "not %s" % (len(breaks), old_version, next_major(old_version),
                                    new_version))
    notes = breaking_notes(changes_text, new_version) if breaks else {}
    for difference in breaks:
        if not notes.get(difference.key):
            problems.append(
                "CHANGES.md's ## %s section has no '### Breaking' bullet \"- `%s`: <what a "
                "rule author must change>\" (%s)"
                % (new_version, difference.key, difference.change))
    return problems


def history_problems(pack_dir, changes_text):
    """The release rule over the committed snapshots, each against the one before it."""
    versions = snapshot_versions(pack_dir)
    problems = []
    for old_version, new_version in zip(versions, versions[1:]):
        breaks = breaking(compare_contracts(load_snapshot(pack_dir, old_version),
                                            load_snapshot(pack_dir, new_version)))
        problems.extend("contract/%s.json: %s" % (new_version, problem) for problem in
                        _rule_problems(breaks, old_version, new_version, changes_text))
    return problems


def check_release(pack_dir, changes_path=None):
    """Compare the working tree's contract with its baseline snapshot and apply the rule (and
    apply it to every committed snapshot against the one before it)."""
    version = pack_version(pack_dir)
    path = changes_path or os.path.join(pack_dir, "CHANGES.md")
    changes_text = open(path).read() if os.path.exists(path) else ""
    base_version, base = baseline(pack_dir, version)
    if base is None:
        return ReleaseCheck(version, None, [], [
            "no contract snapshot of %s or a lower version in contract/: run `workspaces-local "
            "contract snapshot` on the released version" % version])
    differences = compare_contracts(base, build_contract(pack_dir))
    problems = history_problems(pack_dir, changes_text)
    if base_version == version:
        if differences:
            problems.append(
                "the contract of %s is released (contract/%s.json) and the working tree differs "
                "from it (%d difference(s)): raise pack.yaml's version (%s for a breaking "
                "difference), never rewrite a released snapshot" % (
                    version, version, len(differences), next_major(version)))
        return ReleaseCheck(version, base_version, differences, problems)
    problems.extend(_rule_problems(breaking(differences), base_version, version, changes_text))
    return ReleaseCheck(version, base_version, differences, problems)
