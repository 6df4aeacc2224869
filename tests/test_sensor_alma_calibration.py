"""AlmaCalibrationSensor against real databases: the calibration rule, once per delivery."""

import datetime

import pytest

from alma_calibration_sensor import AlmaCalibrationSensor
from archive_test_support import ArchiveDatabases
from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase
from workspaces_devkit.archive_fixtures import add_delivery, add_execution_block, eb_uid, mous_uid

TRIGGER_REF = "workspaces.alma_calibration"


class AlmaCalibrationSensorCases(ArchiveDatabases):
    """The cases, run once per database."""

    sensor_cls = AlmaCalibrationSensor

    def setUp(self):
        super(AlmaCalibrationSensorCases, self).setUp()
        self._known_refs[TRIGGER_REF] = TRIGGER_REF  # the type's own (shadow) trigger

    def sensor(self):
        """A new sensor instance on the shared sensor service."""
        return self.get_sensor_instance(config=self.archive_config())

    def test_deliveries_are_dispatched_once_with_the_calibration_rule(self):
        sensor = self.sensor()
        sensor.setup()
        sensor.poll()
        sensor.poll()
        payloads = self.payloads(TRIGGER_REF)
        self.assertEqual([p["mous_uid"] for p in payloads], [mous_uid(1), mous_uid(0)])
        by_mous = {p["mous_uid"]: p for p in payloads}
        self.assertTrue(by_mous[mous_uid(0)]["calibrateable"])
        self.assertFalse(by_mous[mous_uid(1)]["calibrateable"], "manual script ignored")
        self.assertEqual(by_mous[mous_uid(0)]["eb_uids"], sorted([eb_uid(0), eb_uid(1)]))
        self.assertEqual(by_mous[mous_uid(1)]["eb_uids"], sorted([eb_uid(2), eb_uid(3)]))
        self.assertEqual(by_mous[mous_uid(0)]["project_code"], "2017.1.00886.L")

    def test_restart_and_new_deliveries(self):
        self.sensor().poll()
        restarted = self.sensor()
        restarted.poll()
        self.assertEqual(len(self.payloads()), 2)
        mous = mous_uid(50)
        add_execution_block(self.alma_engine, eb_uid(500), "2018.1.00001.S", mous,
                            self.now - datetime.timedelta(hours=3))
        add_delivery(self.alma_engine, "2018.1.00001.S_2026_001", mous, "2018.1.00001.S",
                     self.now - datetime.timedelta(minutes=5), science_products=False)
        restarted.poll()
        payloads = self.payloads()
        self.assertEqual(len(payloads), 3)
        self.assertEqual(payloads[-1]["mous_uid"], mous)
        self.assertFalse(payloads[-1]["calibrateable"], "no science products: not calibrateable")
        self.assertEqual(payloads[-1]["eb_uids"], [eb_uid(500)])

    def test_delivery_outside_the_look_back_is_not_dispatched(self):
        add_delivery(self.alma_engine, "old", mous_uid(60), "2016.1.00002.S",
                     self.now - datetime.timedelta(days=5))
        self.sensor().poll()
        self.assertNotIn(mous_uid(60), [p["mous_uid"] for p in self.payloads()])

    def test_datastore_outage_replays_nothing(self):
        self.sensor().poll()
        restarted = self.sensor()
        with DatastoreOutage(self.sensor_service):
            restarted.poll()
        restarted.poll()
        self.assertEqual(len(self.payloads()), 2)


class AlmaCalibrationSensorSqliteTest(AlmaCalibrationSensorCases, SchemaCheckedSensorTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class AlmaCalibrationSensorPostgresTest(AlmaCalibrationSensorCases, SchemaCheckedSensorTestCase):
    """On a real PostgreSQL server."""

    database = "postgres"
