"""AlmaCalibrationSensor against real databases: deliveries, NRAO's calibration rule, once each.

Deliveries come from ASA_DELIVERY_STATUS (time column ``alma_delivery_time_column``), the MOUS
and project from the delivery name, the EBs from ASA_DELIVERY_ASDM_OUS, the rule from
ASA_PRODUCT_FILES (a science file and no NGAS file id LIKE '%scriptFor%Cal%').
"""

import datetime

import pytest
import sqlalchemy as sa

from alma_calibration_sensor import AlmaCalibrationSensor
from archive_test_support import ArchiveDatabases
from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase
from workspaces_devkit.archive_fixtures import (add_delivery, add_execution_block, delivery_name,
                                                eb_uid, mous_uid)

TRIGGER_REF = "workspaces.alma_calibration"


class AlmaCalibrationSensorCases(ArchiveDatabases):
    """The cases, run once per database."""

    sensor_cls = AlmaCalibrationSensor

    def setUp(self):
        super(AlmaCalibrationSensorCases, self).setUp()
        self._known_refs[TRIGGER_REF] = TRIGGER_REF  # the type's own (shadow) trigger

    def sensor(self, **config):
        """A new sensor instance on the shared sensor service."""
        return self.get_sensor_instance(config=self.archive_config(**config))

    def deliver(self, number, minutes_ago=5, ebs=1, **options):
        """Add a delivery of MOUS ``number`` with ``ebs`` EBs; return the MOUS uid."""
        mous = mous_uid(number)
        uids = [eb_uid(number * 10 + index) for index in range(ebs)]
        for uid in uids:
            add_execution_block(self.alma_engine, uid, "2018.1.00001.S", mous,
                                self.now - datetime.timedelta(hours=3))
        add_delivery(self.alma_engine, "2018.1.00001.S_%04d" % number, mous, "2018.1.00001.S",
                     self.now - datetime.timedelta(minutes=minutes_ago), uids, **options)
        return mous

    def by_mous(self):
        return {p["mous_uid"]: p for p in self.payloads(TRIGGER_REF)}

    def test_deliveries_are_dispatched_once_with_the_calibration_rule(self):
        sensor = self.sensor()
        sensor.setup()
        sensor.poll()
        sensor.poll()
        payloads = self.payloads(TRIGGER_REF)
        self.assertEqual([p["mous_uid"] for p in payloads], [mous_uid(1), mous_uid(0)])
        by_mous = self.by_mous()
        self.assertTrue(by_mous[mous_uid(0)]["calibrateable"])
        self.assertFalse(by_mous[mous_uid(1)]["calibrateable"], "manual script ignored")
        self.assertEqual(by_mous[mous_uid(0)]["eb_uids"], sorted([eb_uid(0), eb_uid(1)]))
        self.assertEqual(by_mous[mous_uid(1)]["eb_uids"], sorted([eb_uid(2), eb_uid(3)]))
        self.assertEqual(by_mous[mous_uid(0)]["eb_count"], 2)
        self.assertEqual(by_mous[mous_uid(0)]["project_code"], "2017.1.00886.L")
        self.assertEqual(by_mous[mous_uid(0)]["delivery_name"],
                         "2017.1.00886.L_uid___A001_X1284_X265f")

    def test_restart_and_new_deliveries(self):
        self.sensor().poll()
        restarted = self.sensor()
        restarted.poll()
        self.assertEqual(len(self.payloads()), 2)
        mous = self.deliver(50, science_products=False)
        restarted.poll()
        payloads = self.payloads()
        self.assertEqual(len(payloads), 3)
        self.assertEqual(payloads[-1]["mous_uid"], mous)
        self.assertFalse(payloads[-1]["calibrateable"], "no science products: not calibrateable")
        self.assertEqual(payloads[-1]["eb_uids"], [eb_uid(500)])

    def test_rule_uses_the_leading_wildcard_on_prefixed_file_ids(self):
        """``member.uid___...scriptForCalibration.py`` is a manual calibration script;
        ``scriptForPI.py`` and ``scriptForImaging`` are not."""
        manual = self.deliver(70, manual_calibration=True)
        plain = self.deliver(71)
        self.sensor().poll()
        by_mous = self.by_mous()
        self.assertFalse(by_mous[manual]["calibrateable"])
        self.assertTrue(by_mous[plain]["calibrateable"])

    def test_ebs_are_found_whether_linked_by_delivery_id_or_name(self):
        by_id = self.deliver(72, ebs=2, linked_by="delivery_id")
        by_name = self.deliver(73, ebs=2, linked_by="delivery_name")
        self.sensor().poll()
        by_mous = self.by_mous()
        self.assertEqual(by_mous[by_id]["eb_uids"], [eb_uid(720), eb_uid(721)])
        self.assertEqual(by_mous[by_name]["eb_uids"], [eb_uid(730), eb_uid(731)])

    def test_delivery_outside_the_look_back_is_not_dispatched(self):
        old = self.deliver(60, minutes_ago=5 * 24 * 60)
        self.sensor().poll()
        self.assertNotIn(old, self.by_mous())

    def test_delivery_dated_in_the_future_waits_for_its_time(self):
        later = self.deliver(61, minutes_ago=-60)
        sensor = self.sensor()
        sensor.poll()
        self.assertNotIn(later, self.by_mous())
        sensor.clock = lambda: (self.now - datetime.datetime(1970, 1, 1)).total_seconds() + 7200
        sensor.poll()
        self.assertIn(later, self.by_mous())

    def test_only_qa2_passed_deliveries_unless_configured(self):
        failed = self.deliver(62, qa2_passed="N")
        self.sensor().poll()
        self.assertNotIn(failed, self.by_mous())
        self.sensor(alma_calibration_qa2_passed_values=[]).poll()
        self.assertIn(failed, self.by_mous(), "an empty list reads every delivery")

    def test_unparsable_delivery_name_is_logged_once_with_its_id_and_skipped(self):
        add_delivery(self.alma_engine, "2018.1.00003.S_0001", mous_uid(63), "2018.1.00003.S",
                     self.now - datetime.timedelta(minutes=20), [eb_uid(630)],
                     name="2018.1.00003.S_member_ous_63")
        good = self.deliver(64)
        sensor = self.sensor()
        with self.assertLogs(level="ERROR") as logs:
            sensor.poll()
        text = "\n".join(logs.output)
        self.assertIn("2018.1.00003.S_0001", text)
        self.assertIn("2018.1.00003.S_member_ous_63", text)
        self.assertIn(good, self.by_mous())
        self.assertNotIn(mous_uid(63), self.by_mous())
        with self.assertLogs(level="DEBUG") as later:
            sensor.poll()
            self.sensor().poll()
        self.assertNotIn("2018.1.00003.S_0001", "\n".join(
            line for line in later.output if "ERROR" in line))
        self.assertEqual(len(self.payloads()), 3)

    def test_mous_without_ebs_is_dispatched_with_eb_count_zero_and_a_warning(self):
        with self.assertLogs(level="WARNING") as logs:
            mous = self.deliver(65, ebs=0, manual_calibration=True)
            self.sensor().poll()
        payload = self.by_mous()[mous]
        self.assertEqual((payload["eb_uids"], payload["eb_count"]), ([], 0))
        self.assertIn("lists no execution blocks", "\n".join(logs.output))

    def test_configured_delivery_time_column(self):
        with self.alma_engine.begin() as connection:
            connection.execute(sa.text(
                "ALTER TABLE asa_delivery_status ADD COLUMN delivery_time TIMESTAMP"))
            connection.execute(sa.text("UPDATE asa_delivery_status SET delivery_time = :t "
                                       "WHERE delivery_name = :n"),
                               {"t": self.now - datetime.timedelta(hours=1),
                                "n": delivery_name("2017.1.00886.L", mous_uid(0))})
        self.sensor(alma_delivery_time_column="DELIVERY_TIME").poll()
        self.assertEqual(list(self.by_mous()), [mous_uid(0)])

    def test_wrong_time_column_is_named(self):
        sensor = self.sensor(alma_delivery_time_column="DELIVERY_DATE")
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
        text = "\n".join(logs.output)
        self.assertIn("asa_delivery_status.delivery_date", text)
        self.assertIn("alma_delivery_time_column", text)
        self.assertEqual(self.payloads(), [])

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
