"""Bad-input suite for trigger parameters: each bad value is refused with an error naming the
parameter, the sensor keeps serving its other triggers, and odd but valid values work."""

import os
import shutil
import tempfile

import pytest

from alma_asdm_sensor import AlmaAsdmSensor
from archive_test_support import ArchiveDatabases
from file_monitor_sensor import FileMonitorSensor
from pack_test_support import SchemaCheckedSensorTestCase

HUGE = "x" * 5000
NUL = "a\x00b"


def file_cases(root):
    """(parameter, bad value) pairs for workspaces.file_detected."""
    return [
        ("directory", None), ("directory", ""), ("directory", 42), ("directory", ["/tmp"]),
        ("directory", {"path": "/tmp"}), ("directory", True), ("directory", "relative/dir"),
        ("directory", root + "/../../etc"), ("directory", "/" + HUGE), ("directory", "/tmp/" + NUL),
        ("pattern", ""), ("pattern", 5), ("pattern", ["*"]), ("pattern", "sub/*.fits"),
        ("pattern", "../*"), ("pattern", HUGE), ("pattern", NUL), ("pattern", ".."),
        ("recursive", "yes"), ("recursive", 1), ("recursive", []),
        ("settle_seconds", -1), ("settle_seconds", "soon"), ("settle_seconds", 1e308),
        ("settle_seconds", float("nan")), ("settle_seconds", True), ("settle_seconds", [5]),
        ("ready_marker", "a/b"), ("ready_marker", ".."), ("ready_marker", 5),
        ("ready_marker", HUGE),
    ]


ASDM_CASES = [
    ("project_code_pattern", 5), ("project_code_pattern", HUGE),
    ("project_code_pattern", "2017%"), ("project_code_pattern", "x' OR '1'='1"),
    ("project_code_pattern", "../etc"), ("project_code_pattern", "ünïcode*"),
    ("project_code_pattern", ["2017.*"]),
    ("qa0_statuses", "Pass"), ("qa0_statuses", []), ("qa0_statuses", ["Bogus"]),
    ("qa0_statuses", [5]), ("qa0_statuses", ["Pass'; DROP TABLE aqua_v_execblock; --"]),
    ("qa0_statuses", {"Pass": True}),
]


class FileDetectedBadInputTest(SchemaCheckedSensorTestCase):
    """workspaces.file_detected: every parameter, every kind of bad value."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(FileDetectedBadInputTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="bad-input-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def test_each_bad_value_names_its_parameter_and_disturbs_nothing(self):
        sensor = self.get_sensor_instance()
        good = self.add_trigger(sensor, "workspaces.file_detected",
                                {"directory": self.root, "settle_seconds": 0})
        sensor.poll()
        for parameter, value in file_cases(self.root):
            parameters = {"directory": self.root, "settle_seconds": 0}
            parameters[parameter] = value
            with self.assertLogs(level="ERROR") as logs:
                self.add_trigger(sensor, "workspaces.file_detected", parameters)
            self.assertIn("parameter %r" % parameter, "\n".join(logs.output),
                          "%s=%r" % (parameter, value))
        with open(os.path.join(self.root, "after.dat"), "wb") as handle:
            handle.write(b"x")
        sensor.poll()
        self.assertEqual([p["name"] for p in self.payloads(good)], ["after.dat"])
        self.assertEqual(len(self.payloads()), 1, "a refused trigger dispatched something")

    def test_unicode_and_metacharacter_names_are_data(self):
        folder = os.path.join(self.root, "données ✓ 'quoted' $HOME")
        os.makedirs(folder)
        sensor = self.get_sensor_instance()
        trigger = self.add_trigger(sensor, "workspaces.file_detected",
                                   {"directory": folder, "pattern": "данные_*.fits",
                                    "settle_seconds": 0})
        sensor.poll()
        name = "данные_%s'; DROP TABLE x; --.fits" % "1"
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"x")
        with open(os.path.join(folder, "other.fits"), "wb") as handle:
            handle.write(b"x")
        sensor.poll()
        [payload] = self.payloads(trigger)
        self.assertEqual(payload["name"], name)
        self.assertEqual(payload["directory"], folder)


class AlmaAsdmBadInputCases(ArchiveDatabases):
    """workspaces.alma_asdm: every parameter, every kind of bad value."""

    sensor_cls = AlmaAsdmSensor

    def test_each_bad_value_names_its_parameter_and_disturbs_nothing(self):
        sensor = self.get_sensor_instance(config=self.archive_config())
        good = self.add_trigger(sensor, "workspaces.alma_asdm", {})
        for parameter, value in ASDM_CASES:
            with self.assertLogs(level="ERROR") as logs:
                self.add_trigger(sensor, "workspaces.alma_asdm", {parameter: value})
            self.assertIn("parameter %r" % parameter, "\n".join(logs.output),
                          "%s=%r" % (parameter, value))
        sensor.poll()
        self.assertEqual(len(self.payloads(good)), 5)
        self.assertEqual(len(self.payloads()), 5, "a refused trigger dispatched something")


class AlmaAsdmBadInputSqliteTest(AlmaAsdmBadInputCases, SchemaCheckedSensorTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class AlmaAsdmBadInputPostgresTest(AlmaAsdmBadInputCases, SchemaCheckedSensorTestCase):
    """On PostgreSQL."""

    database = "postgres"
