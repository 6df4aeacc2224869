"""The library says each shared idea once (``core``): problem kinds, datastore keys, times.

The trigger's enum, the status output and the operator's docs agree with ``core.problems``; no
module but ``core/keys.py`` spells a datastore key prefix and none but ``core/problems.py`` a
problem kind; the two ISO texts of ``core.times`` read back.
"""

import ast
import os
import re
import unittest

import yaml

from pack_test_support import PACK_DIR
from status_test_support import FILE_TYPE, NOW, sensor_record
from workspaces_pack.core import problems
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.scrub import Scrubber
from workspaces_pack.core.times import (epoch_from_iso, from_epoch, iso_from_datetime,
                                        iso_from_epoch)
from workspaces_pack.flows.status import HealthRecords, RuleIndex, build_status

LIBRARY = os.path.join(PACK_DIR, "actions", "lib", "workspaces_pack")


def _code_files():
    for folder in (LIBRARY, os.path.join(PACK_DIR, "sensors"), os.path.join(PACK_DIR, "actions")):
        for root, dirs, files in os.walk(folder):
            dirs[:] = [name for name in dirs if name != "__pycache__"]
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(root, name)


def _string_literals(path):
    """The string constants of the module's code (docstrings and field names left out)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            skipped.add(id(node.body[0].value))
        elif isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys)
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and
            isinstance(node.value, str) and id(node) not in skipped]


class ProblemKindsTest(unittest.TestCase):
    """One definition of the problem kinds, and everything that names them agrees."""

    def test_the_trigger_enum_is_the_dispatched_kinds(self):
        with open(os.path.join(PACK_DIR, "triggers", "sensor_problem.yaml")) as handle:
            schema = yaml.safe_load(handle)["payload_schema"]
        self.assertEqual(tuple(schema["properties"]["kind"]["enum"]), problems.DISPATCHED_KINDS)

    def test_the_operating_guide_explains_every_kind_and_no_other(self):
        with open(os.path.join(PACK_DIR, "docs", "OPERATING.md")) as handle:
            text = handle.read()
        table = text[text.index("## Problem kinds"):]
        table = table[:table.index("\n## ", 3)]
        documented = re.findall(r"^\| `([a-z_]+)`", table, re.MULTILINE)
        self.assertEqual(sorted(documented), sorted(problems.STATUS_KINDS))

    def test_the_status_shows_kinds_of_the_one_list(self):
        records = HealthRecords()
        records.sensors["FileMonitorSensor"] = sensor_record(
            "FileMonitorSensor", FILE_TYPE, 30, 3600, [])
        report = build_status(records, RuleIndex(), Scrubber(PackConfig({})), 600, now=NOW)
        kinds = [found["kind"] for found in report.problems()]
        self.assertEqual(kinds, [problems.STALLED])
        self.assertTrue(set(kinds) <= set(problems.STATUS_KINDS))

    def test_no_module_but_core_problems_spells_a_kind(self):
        own = os.path.join(LIBRARY, "core", "problems.py")
        found = ["%s: %r" % (os.path.relpath(path, PACK_DIR), literal)
                 for path in _code_files() if path != own
                 for literal in _string_literals(path) if literal in problems.STATUS_KINDS]
        self.assertEqual(found, [])


class DatastoreKeysTest(unittest.TestCase):
    """Every key prefix is named in core/keys.py only."""

    def test_no_module_but_core_keys_spells_a_key_prefix(self):
        own = os.path.join(LIBRARY, "core", "keys.py")
        prefixes = ("state:", "reconcile:", "retired:", "health:", ":request:")
        found = ["%s: %r" % (os.path.relpath(path, PACK_DIR), literal)
                 for path in _code_files() if path != own
                 for literal in _string_literals(path)
                 if any(prefix in literal for prefix in prefixes) or literal == "health"]
        self.assertEqual(found, [])


class TimesTest(unittest.TestCase):
    """The record text reads back to its second; the payload text keeps microseconds."""

    def test_record_times_read_back(self):
        self.assertEqual(iso_from_epoch(NOW), "2026-12-04T15:00:00Z")
        self.assertEqual(epoch_from_iso(iso_from_epoch(NOW + 0.7)), NOW)
        self.assertIsNone(epoch_from_iso("yesterday"))

    def test_payload_times_keep_microseconds(self):
        moment = from_epoch(NOW).replace(microsecond=250)
        self.assertEqual(iso_from_datetime(moment), "2026-12-04T15:00:00.000250Z")
        self.assertEqual(iso_from_datetime(from_epoch(NOW)), "2026-12-04T15:00:00Z")


if __name__ == "__main__":
    unittest.main()
