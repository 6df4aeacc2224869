"""Crash points of the ALMA ASDM sensor (tests/crash_points_support.py) on SQLite archive copies:
nothing lost, repeats only of one poll, at every side effect. Guarantee G1, Guarantee G2."""

import datetime

import pytest

from alma_asdm_sensor import AlmaAsdmSensor
from crash_points_support import (SCENARIOS, ArchiveWorld, CrashPointsMixin, scenario_tests,
                                  scratch_folder)
from pack_test_support import SchemaCheckedSensorTestCase, make_trigger
from workspaces_devkit.archive_fixtures import add_execution_block, eb_uid, mous_uid, utc_now

TRIGGER_TYPE = "workspaces.alma_asdm"


class AsdmWorld(ArchiveWorld):
    """Triggers on the execution block view; an item is an EB uid."""

    max_triggers = 2

    def existing(self):
        """The sample's Pass/SemiPass EBs inside the 12-hour look-back."""
        return [eb["eb_uid"] for eb in self.sample["execution_blocks"]
                if eb["qa0_status"] in ("Pass", "SemiPass") and eb["hours_ago"] < 12]

    @staticmethod
    def make_triggers(test, count):
        """``count`` triggers, known to the test's payload check."""
        triggers = [make_trigger(TRIGGER_TYPE, {}) for _ in range(count)]
        for trigger in triggers:
            test._known_refs[trigger["ref"]] = trigger["type"]
        return triggers

    @staticmethod
    def refs(triggers):
        """The refs dispatched to."""
        return [trigger["ref"] for trigger in triggers]

    def new_sensor(self, test, triggers):
        """A sensor process with its triggers added."""
        sensor = test.get_sensor_instance(config=self.config())
        for trigger in triggers:
            sensor.add_trigger(trigger)
        return sensor

    def arrive(self, count, before_start):
        """``count`` new Pass EBs that ended a minute ago."""
        uids = []
        for _ in range(count):
            self.made += 1
            uid = eb_uid(1000 + self.made)
            add_execution_block(self.engine, uid, "2018.1.01234.S", mous_uid(1000 + self.made),
                                utc_now() - datetime.timedelta(minutes=1))
            uids.append(uid)
        return uids

    @staticmethod
    def items_of(payload):
        """The EB a dispatch reports."""
        return [payload["eb_uid"]]


@pytest.mark.fault
class AlmaAsdmCrashPointsTest(CrashPointsMixin, SchemaCheckedSensorTestCase):
    """Guarantee G1, Guarantee G2: the ASDM sensor killed at every side effect."""

    sensor_cls = AlmaAsdmSensor

    def setUp(self):
        super(AlmaAsdmCrashPointsTest, self).setUp()
        root = scratch_folder(self, "crash-asdm-")
        self.world = AsdmWorld(root)
        self.addCleanup(self.world.close)


scenario_tests(AlmaAsdmCrashPointsTest, SCENARIOS)
