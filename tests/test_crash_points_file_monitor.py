"""Crash points of the file monitor (tests/crash_points_support.py): nothing lost, repeats only of
one poll, at every side effect of each scenario. Guarantee G1, Guarantee G2."""


import pytest

from crash_points_support import (SCENARIOS, CrashPointsMixin, FileWorld, scenario_tests,
                                  scratch_folder)
from file_monitor_sensor import FileMonitorSensor
from pack_test_support import SchemaCheckedSensorTestCase, make_trigger

TRIGGER_TYPE = "workspaces.file_detected"


class FileMonitorWorld(FileWorld):
    """Triggers on one folder; an item is a file name."""

    max_triggers = 2

    def make_triggers(self, test, count):
        """``count`` triggers on the case's folder, known to the test's payload check."""
        triggers = [make_trigger(TRIGGER_TYPE, {"directory": self.folder, "settle_seconds": 0})
                    for _ in range(count)]
        for trigger in triggers:
            test._known_refs[trigger["ref"]] = trigger["type"]
        return triggers

    @staticmethod
    def refs(triggers):
        """The refs dispatched to."""
        return [trigger["ref"] for trigger in triggers]

    def new_sensor(self, test, triggers):
        """A sensor process: a new instance, its clock, its triggers added (as StackStorm does)."""
        sensor = test.get_sensor_instance()
        for trigger in triggers:
            sensor.add_trigger(trigger)
        return sensor

    def arrive(self, count, before_start):
        """``count`` new files."""
        names = []
        for _ in range(count):
            self.made += 1
            names.append(self.write(self.folder, "f%03d.dat" % self.made, before_start))
        return names

    @staticmethod
    def items_of(payload):
        """The file a dispatch reports."""
        return [payload["name"]]


@pytest.mark.fault
class FileMonitorCrashPointsTest(CrashPointsMixin, SchemaCheckedSensorTestCase):
    """Guarantee G1, Guarantee G2: the file monitor killed at every side effect."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(FileMonitorCrashPointsTest, self).setUp()
        root = scratch_folder(self, "crash-files-")
        self.world = FileMonitorWorld(root)


scenario_tests(FileMonitorCrashPointsTest, SCENARIOS)
