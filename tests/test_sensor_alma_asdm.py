"""AlmaAsdmSensor against real databases (SQLite and PostgreSQL) with the published ALMA shapes.

EBs come from AQUA_V_EXECBLOCK (QA0STATUS, OBSPROJECTCODE, ENDTIME), each EB's MOUS through
SCHED_BLOCK_STATUS; names from the pack config's schema map.
"""

import datetime

import pytest
import sqlalchemy as sa

from alma_asdm_sensor import AlmaAsdmSensor
from archive_test_support import ArchiveDatabases
from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase, closed_port_url
from workspaces_devkit.archive_fixtures import (add_execution_block, create_alma_schema, eb_uid,
                                                mous_uid)
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import PackConfig

TRIGGER_TYPE = "workspaces.alma_asdm"


class AlmaAsdmSensorCases(ArchiveDatabases):
    """The cases, run once per database (see the subclasses at the end)."""

    sensor_cls = AlmaAsdmSensor

    def sensor(self, **config):
        """A new sensor instance (same sensor service, so the same datastore)."""
        return self.get_sensor_instance(config=self.archive_config(**config))

    def uids(self, trigger=None):
        """EB uids dispatched so far, in order."""
        return [payload["eb_uid"] for payload in self.payloads(trigger)]

    def expected_initial(self):
        """Sample EBs with Pass/SemiPass that ended inside the 12 h look-back, oldest first."""
        wanted = [eb for eb in self.sample["execution_blocks"]
                  if eb["qa0_status"] in ("Pass", "SemiPass") and eb["hours_ago"] < 12]
        return [eb["eb_uid"] for eb in sorted(wanted, key=lambda eb: -eb["hours_ago"])]

    def add_eb(self, number, hours_ago, qa0="Pass", project="2018.1.01234.S"):
        """Insert an EB that ended ``hours_ago`` hours before the test's start; return its uid."""
        uid = eb_uid(number)
        add_execution_block(self.alma_engine, uid, project, mous_uid(number),
                            self.now - datetime.timedelta(hours=hours_ago), qa0)
        return uid

    def test_each_new_eb_is_dispatched_once(self):
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {"qa0_statuses": ["Pass", "SemiPass"]})
        sensor.setup()
        sensor.poll()
        sensor.poll()
        self.assertEqual(self.uids(trigger), self.expected_initial())
        first = self.payloads(trigger)[0]
        self.assertEqual(first["project_code"], "2019.1.01184.S")
        self.assertTrue(first["end_time"].endswith("Z"))
        self.assertEqual(self.get_dispatched_triggers()[0]["trace_context"].trace_tag,
                         "alma_asdm:" + first["eb_uid"])
        new = self.add_eb(100, hours_ago=0.5)
        sensor.poll()
        sensor.poll()
        self.assertEqual(self.uids(trigger), self.expected_initial() + [new])

    def test_each_eb_carries_its_mous_from_the_scheduling_block(self):
        sensor = self.sensor()
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        by_uid = {p["eb_uid"]: p for p in self.payloads()}
        for eb in self.sample["execution_blocks"]:
            if eb["eb_uid"] not in by_uid:
                continue
            payload = by_uid[eb["eb_uid"]]
            if eb["mous_uid"] is None:
                self.assertEqual((payload["mous_uid"], payload["mous_found"]), ("", False))
            else:
                self.assertEqual((payload["mous_uid"], payload["mous_found"]),
                                 (eb["mous_uid"], True))
        self.assertIn(False, [p["mous_found"] for p in by_uid.values()],
                      "the EB without a MOUS was dropped")
        self.assertNotIn("None", [p["mous_uid"] for p in by_uid.values()])

    def test_several_ebs_of_one_scheduling_block_each_dispatched_once(self):
        sensor = self.sensor()
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        shared = [eb_uid(110), eb_uid(111)]
        for offset, uid in enumerate(shared):
            add_execution_block(self.alma_engine, uid, "2018.1.01234.S", mous_uid(110),
                                self.now - datetime.timedelta(minutes=10 - offset))
        sensor.poll()
        self.assertEqual(self.uids()[-2:], shared)
        self.assertEqual({p["mous_uid"] for p in self.payloads()[-2:]}, {mous_uid(110)})

    def test_renamed_columns_in_the_config_are_used(self):
        renamed = {"alma_execblock_view": {"table": "EXECBLOCKS", "project_code": "PROJECT"},
                   "alma_sched_block_status_table": {"mous_uid": "MOUS"}}
        with self.alma_engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE aqua_v_execblock RENAME TO execblocks"))
            connection.execute(sa.text(
                "ALTER TABLE execblocks RENAME COLUMN obsprojectcode TO project"))
            connection.execute(sa.text(
                "ALTER TABLE sched_block_status RENAME COLUMN parent_obs_unit_set_status_id "
                "TO mous"))
        sensor = self.sensor(**renamed)
        self.add_trigger(sensor, TRIGGER_TYPE, {"project_code_pattern": "2017.1.*"})
        sensor.poll()
        self.assertEqual({p["project_code"] for p in self.payloads()}, {"2017.1.00886.L"})
        self.assertEqual(self.payloads()[0]["mous_uid"], mous_uid(1))

    def test_wrong_column_name_in_the_config_is_named_and_nothing_is_lost(self):
        sensor = self.sensor(alma_execblock_view={"project_code": "PROJECTCODE"})
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
        text = "\n".join(logs.output)
        self.assertIn("aqua_v_execblock.projectcode", text)
        self.assertIn("alma_execblock_view.project_code", text)
        self.assertIn("missing", text)
        self.assertEqual(self.uids(), [])
        fixed = self.sensor()
        fixed.add_trigger(trigger)
        fixed.poll()
        self.assertEqual(self.uids(), self.expected_initial())

    def test_malformed_name_in_the_config_is_named(self):
        sensor = self.sensor(alma_sched_block_status_table={"table": "sched block status"})
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
        self.assertIn("alma_sched_block_status_table.table", "\n".join(logs.output))
        self.assertEqual(self.uids(), [])

    def test_late_arriving_eb_inside_the_look_back_is_found(self):
        sensor = self.sensor()
        self.add_trigger(sensor, TRIGGER_TYPE, {"qa0_statuses": ["Pass", "SemiPass"]})
        sensor.poll()
        late = self.add_eb(101, hours_ago=5)  # older than the newest EB already handled
        too_old = self.add_eb(102, hours_ago=30)
        sensor.poll()
        self.assertIn(late, self.uids())
        self.assertNotIn(too_old, self.uids())
        self.assertEqual(len(self.uids()), len(set(self.uids())))

    def test_restart_finds_what_arrived_while_down(self):
        first = self.sensor()
        trigger = self.add_trigger(first, TRIGGER_TYPE, {"qa0_statuses": ["Pass", "SemiPass"]})
        first.poll()
        arrived = [self.add_eb(103, hours_ago=0.2), self.add_eb(104, hours_ago=0.1, qa0="SemiPass")]
        second = self.sensor()
        second.add_trigger(trigger)
        second.poll()
        self.assertEqual(self.uids(), self.expected_initial() + arrived)

    def test_parameters_narrow_the_query(self):
        sensor = self.sensor()
        only_2019 = self.add_trigger(sensor, TRIGGER_TYPE, {"project_code_pattern": "2019.1.*"})
        semipass = self.add_trigger(sensor, TRIGGER_TYPE, {"qa0_statuses": ["SemiPass"]})
        sensor.poll()
        self.assertEqual({p["project_code"] for p in self.payloads(only_2019)}, {"2019.1.01184.S"})
        self.assertEqual([p["qa0_status"] for p in self.payloads(semipass)], ["SemiPass"])

    def test_sql_injection_in_trigger_parameters_changes_nothing(self):
        sensor = self.sensor()
        good = self.add_trigger(sensor, TRIGGER_TYPE, {})
        attacks = [
            {"project_code_pattern": "2017%' OR '1'='1"},
            {"project_code_pattern": "x'; DROP TABLE aqua_v_execblock; --"},
            {"qa0_statuses": ["Pass'); DELETE FROM sched_block_status; --"]},
            {"qa0_statuses": "Pass"},
            {"qa0_statuses": []},
        ]
        for parameters in attacks:
            with self.assertLogs(level="ERROR") as logs:
                self.add_trigger(sensor, TRIGGER_TYPE, parameters)
            self.assertIn("parameter", logs.output[0])
        literal = self.add_trigger(sensor, TRIGGER_TYPE, {"project_code_pattern": "2017_1*"})
        sensor.poll()
        self.assertEqual(self.uids(good), self.expected_initial())
        self.assertEqual(self.uids(literal), [], "'_' must match itself, not any character")
        with self.alma_engine.connect() as connection:
            count = connection.execute(sa.text("SELECT COUNT(*) FROM aqua_v_execblock")).scalar()
        self.assertEqual(count, len(self.sample["execution_blocks"]))

    def test_datastore_outage_replays_nothing(self):
        first = self.sensor()
        trigger = self.add_trigger(first, TRIGGER_TYPE, {})
        first.poll()
        second = self.sensor()
        with DatastoreOutage(self.sensor_service):
            second.add_trigger(trigger)
            second.poll()
        second.poll()
        self.assertEqual(self.uids(), self.expected_initial())

    def test_unset_or_unreachable_database_is_logged_and_retried(self):
        sensor = self.get_sensor_instance(config={})
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
        self.assertIn("alma_archive_db_url is not set", logs.output[0])
        unreachable = self.get_sensor_instance(config={
            "alma_archive_db_url": "postgresql+psycopg://user:s3cret-pw@127.0.0.1:%s/alma"
            % closed_port_url().rsplit(":", 1)[1], "database_timeout_seconds": 2})
        self.add_trigger(unreachable, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            unreachable.poll()
        self.assertNotIn("s3cret-pw", "\n".join(logs.output))
        self.assertIn("will query again", "\n".join(logs.output))
        self.assertEqual(self.uids(), [])


class AlmaAsdmSensorSqliteTest(AlmaAsdmSensorCases, SchemaCheckedSensorTestCase):
    """On SQLite (the local demo's database)."""

    database = "sqlite"


@pytest.mark.postgres
class AlmaAsdmSensorPostgresTest(AlmaAsdmSensorCases, SchemaCheckedSensorTestCase):
    """On a real PostgreSQL server."""

    database = "postgres"

    def test_schema_prefix_reads_the_views_of_that_schema(self):
        """alma_table_prefix "ALMA." finds lower-case tables in schema alma (Oracle: ALMA)."""
        with self.alma_engine.begin() as connection:
            connection.execute(sa.text("CREATE SCHEMA alma"))
        mapping = schema_map(PackConfig({"alma_table_prefix": "ALMA."}))
        create_alma_schema(self.alma_engine, mapping)
        add_execution_block(self.alma_engine, eb_uid(120), "2018.1.00002.S", mous_uid(120),
                            self.now - datetime.timedelta(hours=1), mapping=mapping)
        sensor = self.sensor(alma_table_prefix="ALMA.")
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.assertEqual(self.uids(), [eb_uid(120)])
        self.assertEqual(self.payloads()[0]["mous_uid"], mous_uid(120))

    def test_database_stopped_and_restarted_between_polls_loses_nothing(self):
        """Guarantee G4: PostgreSQL stopped and restarted during polls."""
        sensor = self.sensor()
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        arrived = self.add_eb(105, hours_ago=0.1)
        self.alma_engine.dispose()
        self.pg.stop()
        try:
            with self.assertLogs(level="WARNING") as logs:
                sensor.poll()
                sensor.poll()
            self.assertEqual(len([line for line in logs.output if "database" in line]), 1,
                             "an outage is logged once, not at every poll")
        finally:
            self.pg.start()
        sensor.poll()
        self.assertEqual(self.uids(), self.expected_initial() + [arrived])
