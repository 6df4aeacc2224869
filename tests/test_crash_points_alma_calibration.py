"""Crash points of the ALMA calibration sensor (tests/crash_points_support.py) on SQLite archive
copies: nothing lost, repeats only of one poll, at every side effect. Guarantee G1, Guarantee G2."""

import datetime

import pytest

from alma_calibration_sensor import AlmaCalibrationSensor
from crash_points_support import (SCENARIOS, ArchiveWorld, CrashPointsMixin, scenario_tests,
                                  scratch_folder)
from pack_test_support import SchemaCheckedSensorTestCase
from workspaces_devkit.archive_fixtures import add_delivery, eb_uid, mous_uid, utc_now

TRIGGER_REF = "workspaces.alma_calibration"


class CalibrationWorld(ArchiveWorld):
    """Deliveries of MOUSes; an item is a delivery id."""

    max_triggers = 1

    def existing(self):
        """The sample's deliveries inside the 48-hour look-back."""
        return [item["delivery_id"] for item in self.sample["deliveries"]
                if item["hours_ago"] < 48]

    @staticmethod
    def make_triggers(test, count):
        """The sensor's one trigger (the type's own ref)."""
        return [TRIGGER_REF]

    @staticmethod
    def refs(triggers):
        """The refs dispatched to."""
        return list(triggers)

    def new_sensor(self, test, triggers):
        """A sensor process: its trigger comes with it."""
        return test.get_sensor_instance(config=self.config())

    def arrive(self, count, before_start):
        """``count`` new deliveries, a minute ago, of one EB each."""
        ids = []
        for _ in range(count):
            self.made += 1
            number = 2000 + self.made
            delivery_id = "2018.1.00001.S_%04d" % number
            add_delivery(self.engine, delivery_id, mous_uid(number), "2018.1.00001.S",
                         utc_now() - datetime.timedelta(minutes=1), [eb_uid(number)])
            ids.append(delivery_id)
        return ids

    @staticmethod
    def items_of(payload):
        """The delivery a dispatch reports."""
        return [payload["delivery_id"]]


@pytest.mark.fault
class AlmaCalibrationCrashPointsTest(CrashPointsMixin, SchemaCheckedSensorTestCase):
    """Guarantee G1, Guarantee G2: the calibration sensor killed at every side effect."""

    sensor_cls = AlmaCalibrationSensor

    def setUp(self):
        super(AlmaCalibrationCrashPointsTest, self).setUp()
        root = scratch_folder(self, "crash-calibration-")
        self.world = CalibrationWorld(root)
        self.addCleanup(self.world.close)


scenario_tests(AlmaCalibrationCrashPointsTest, SCENARIOS)
