"""Crash points of the VLBA sensor (tests/crash_points_support.py): nothing lost, repeats only of
one poll, at every side effect of each scenario. Guarantee G1, Guarantee G2."""

import os

import pytest

from crash_points_support import (SCENARIOS, CrashPointsMixin, FileWorld, scenario_tests,
                                  scratch_folder)
from pack_test_support import SchemaCheckedSensorTestCase
from vlba_data_sensor import VlbaDataSensor

TRIGGER_REF = "workspaces.vlba_data"


class VlbaWorld(FileWorld):
    """The VLBA data tree, one ``<project>/`` folder per project; an item is a file name."""

    max_triggers = 1

    def make_triggers(self, test, count):
        """The sensor's one trigger (the type's own ref)."""
        return [TRIGGER_REF]

    @staticmethod
    def refs(triggers):
        """The refs dispatched to."""
        return list(triggers)

    def new_sensor(self, test, triggers):
        """A sensor process: its trigger comes with it."""
        sensor = test.get_sensor_instance(config={"vlba_data_directory": self.folder,
                                                  "vlba_settle_seconds": 0})
        return sensor

    def arrive(self, count, before_start):
        """``count`` new projects of one FITS-IDI file each; odd ones in two month folders."""
        names = []
        for _ in range(count):
            self.made += 1
            code = "T%03dA" % self.made
            months = ("dec11", "jan12") if self.made % 2 else ("dec11",)
            for number, month in enumerate(months):
                names.append(self.write(
                    os.path.join(self.folder, month, code.lower()),
                    "VLBA_%s_%s_BIN0_SRC0_%d_111228T171125.idifits" % (code, code.lower(), number),
                    before_start))
        return names

    @staticmethod
    def items_of(payload):
        """The files of a project's batch."""
        return [os.path.basename(path) for path in payload["files"]]


@pytest.mark.fault
class VlbaCrashPointsTest(CrashPointsMixin, SchemaCheckedSensorTestCase):
    """Guarantee G1, Guarantee G2: the VLBA sensor killed at every side effect."""

    sensor_cls = VlbaDataSensor

    def setUp(self):
        super(VlbaCrashPointsTest, self).setUp()
        root = scratch_folder(self, "crash-vlba-")
        self.world = VlbaWorld(root)


scenario_tests(VlbaCrashPointsTest, SCENARIOS)
