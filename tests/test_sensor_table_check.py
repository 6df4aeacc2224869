"""Each ALMA sensor checks its own tables once: a mismatch disables the trigger with one error line
naming the table, column and config key, instead of an SQL error at every poll."""

import pytest

from alma_calibration_sensor import AlmaCalibrationSensor
from pack_test_support import SchemaCheckedSensorTestCase
from preflight_test_support import SchemaDatabases


class CalibrationTableCheckCases(SchemaDatabases):
    """The cases, run once per database."""

    sensor_cls = AlmaCalibrationSensor

    def test_a_missing_column_disables_the_sensor_with_one_error_line(self):
        self.build(omit_column=("delivery_asdm", "deliverable_name"))
        sensor = self.get_sensor_instance(config=self.config)
        with self.assertLogs(level="WARNING") as logs:
            for _ in range(3):
                sensor.poll()
        self.assertEqual(len(logs.output), 1, logs.output)
        line = logs.output[0]
        self.assertTrue(line.startswith("ERROR"), line)
        self.assertIn("asa_delivery_asdm_ous.deliverable_name", line)
        self.assertIn("alma_delivery_asdm_table.deliverable_name", line)
        self.assertIn("disabled", line)
        self.assertEqual(self.payloads(), [])
        self.assertEqual([(p["kind"], p["state"]) for p in self.problems()],
                         [("table_mismatch", "problem")])

    def test_matching_tables_keep_the_sensor_running(self):
        self.build()
        sensor = self.get_sensor_instance(config=self.config)
        with self.assertLogs(level="DEBUG") as logs:
            sensor.poll()
            sensor.poll()
        self.assertFalse([line for line in logs.output if line.startswith(("ERROR", "WARN"))],
                         logs.output)


class CalibrationTableCheckSqliteTest(CalibrationTableCheckCases, SchemaCheckedSensorTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class CalibrationTableCheckPostgresTest(CalibrationTableCheckCases,
                                        SchemaCheckedSensorTestCase):
    """On a real PostgreSQL server (schema ``alma``)."""

    database = "postgres"
