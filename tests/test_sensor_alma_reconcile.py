"""Reconciliation in AlmaAsdmSensor and the action workspaces.alma_reconcile, on real databases.

An EB set to Pass long after it ended is outside the hourly look-back; the daily reconciliation
finds it missing from execution_blocks and dispatches it once, marked ``source: reconcile``, then
leaves it alone for the cooldown. The on-demand action reports the same and, with dispatch, leaves
a request the sensor serves once, or refuses with its reason. Its health (a metadata database that
stops answering, a table that stops matching) is shown by workspaces.sensor_problem and
workspaces.status.
"""

import contextlib
import datetime
import io
import json
import os
from unittest import mock

import pytest
import sqlalchemy as sa

from alma_asdm_sensor import AlmaAsdmSensor
from alma_reconcile import AlmaReconcileAction
from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase, closed_port_url
from archive_test_support import new_postgres_database
from preflight_test_support import SchemaDatabases, insert
from status import StatusAction
from test_action_status import API_ENV, FakeRules, client_factory
from test_status_end_to_end import SharedDatastore
from workspaces_devkit.archive_fixtures import eb_uid, mous_uid
from workspaces_devkit.pg_server import PostgresServer
from workspaces_pack.archive.engines import dispose_engines
from workspaces_pack.archive.schema import METADATA, schema_map
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.keys import REQUEST_PREFIX
from workspaces_pack.core.uids import file_safe_uid

TRIGGER_TYPE = "workspaces.alma_asdm"
HOUR = 3600.0
DAY = 24 * HOUR


class ReconcileCases(SchemaDatabases):
    """The cases, run once per database."""

    sensor_cls = AlmaAsdmSensor

    def setUp(self):
        super(ReconcileCases, self).setUp()
        self.build()
        self.now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None,
                                                                        microsecond=0)
        self.offset = 0.0
        self.number = 0

    # --- data ----------------------------------------------------------------------------
    def add_eb(self, days_ago, qa0="Pass", in_nrao=None, project="2017.1.00886.L", mous=True):
        """Add an EB that ended ``days_ago`` days ago; ``in_nrao``: None, "uid", "file", "vla"."""
        self.number += 1
        uid = eb_uid(self.number)
        block = "uid://A002/Xb%x/X1" % self.number
        insert(self.alma_url, self.config, "execblock", [{
            "eb_uid": uid, "sched_block_uid": block, "project_code": project, "qa0_status": qa0,
            "end_time": self.now - datetime.timedelta(days=days_ago)}])
        if mous:
            insert(self.alma_url, self.config, "sched_block_status", [{
                "sched_block_uid": block, "mous_uid": mous_uid(self.number)}])
        if in_nrao:
            value = file_safe_uid(uid) if in_nrao in ("file", "vla") else uid
            insert(self.metadata_url, self.config, "execution_blocks", [{
                "eb_uid": value, "telescope": "VLA" if in_nrao == "vla" else "ALMA",
                "calibration_status": "Ready"}])
        return uid

    def ingest(self, uid):
        """NRAO's archive gets the EB (as ingestion would)."""
        insert(self.metadata_url, self.config, "execution_blocks", [{
            "eb_uid": file_safe_uid(uid), "telescope": "ALMA", "calibration_status": "Ready"}])

    # --- sensor --------------------------------------------------------------------------
    def sensor(self, **config):
        """A sensor on this test's databases whose clock runs ``self.offset`` seconds ahead."""
        values = dict(self.config)
        values.update(config)
        sensor = self.get_sensor_instance(config=values)
        sensor.clock = self.clock
        return sensor

    def clock(self):
        """The sensor's time (POSIX seconds)."""
        return (self.now - datetime.datetime(1970, 1, 1)).total_seconds() + self.offset

    def reconciled(self, trigger=None):
        """EB uids dispatched with source reconcile, in order."""
        return [p["eb_uid"] for p in self.payloads(trigger) if p["source"] == "reconcile"]

    def fresh(self, trigger=None):
        """EB uids dispatched by the hourly poll (source new)."""
        return [p["eb_uid"] for p in self.payloads(trigger) if p["source"] == "new"]

    # --- cases ---------------------------------------------------------------------------
    def test_eb_set_to_pass_long_after_it_ended_is_reconciled_once(self):
        late = self.add_eb(days_ago=10)
        present = self.add_eb(days_ago=9, in_nrao="file")
        self.add_eb(days_ago=8, qa0="Fail")
        self.add_eb(days_ago=40)  # older than alma_reconcile_days
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [late])
        payload = [p for p in self.payloads(trigger) if p["eb_uid"] == late][0]
        self.assertEqual(payload["mous_uid"], mous_uid(1))
        self.assertEqual(payload["project_code"], "2017.1.00886.L")
        self.assertNotIn(present, self.reconciled())
        sensor.poll()
        self.offset = 25 * HOUR  # the next day: still missing, but dispatched within 72 h
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [late])
        self.offset = 74 * HOUR  # after the cooldown, still missing: dispatched again
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [late, late])
        self.ingest(late)
        self.offset = 99 * HOUR
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [late, late])

    def test_new_eb_dispatched_by_the_hourly_poll_is_not_reconciled_while_ingesting(self):
        recent = self.add_eb(days_ago=0.05)
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.assertEqual(self.fresh(trigger), [recent])
        self.offset = 30 * HOUR
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [])

    def test_either_uid_form_counts_as_present_but_not_another_telescope(self):
        as_uid = self.add_eb(days_ago=5, in_nrao="uid")
        as_file = self.add_eb(days_ago=4, in_nrao="file")
        vla_only = self.add_eb(days_ago=3, in_nrao="vla")
        no_mous = self.add_eb(days_ago=2, mous=False)
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [vla_only, no_mous])
        by_uid = dict((p["eb_uid"], p) for p in self.payloads(trigger))
        self.assertEqual((by_uid[no_mous]["mous_uid"], by_uid[no_mous]["mous_found"]), ("", False))
        self.assertEqual(by_uid[vla_only]["mous_found"], True)
        self.assertNotIn(as_uid, self.reconciled())
        self.assertNotIn(as_file, self.reconciled())

    def test_trigger_parameters_narrow_the_reconciliation(self):
        semipass = self.add_eb(days_ago=6, qa0="SemiPass")
        other = self.add_eb(days_ago=5, project="2019.1.01184.S")
        sensor = self.sensor()
        only_pass = self.add_trigger(sensor, TRIGGER_TYPE, {"qa0_statuses": ["Pass"]})
        only_2019 = self.add_trigger(sensor, TRIGGER_TYPE, {"project_code_pattern": "2019.1.*"})
        sensor.poll()
        self.assertEqual(self.reconciled(only_pass), [other])
        self.assertEqual(self.reconciled(only_2019), [other])
        self.assertNotIn(semipass, self.reconciled(only_pass))

    def test_interval_zero_turns_the_schedule_off(self):
        self.add_eb(days_ago=10)
        sensor = self.sensor(alma_reconcile_interval_hours=0)
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.offset = 50 * DAY
        sensor.poll()
        self.assertEqual(self.reconciled(), [])

    def test_state_stays_bounded_and_the_rest_waits(self):
        """Guarantee G6: the reconciliation memory holds at most state_max_entries EBs."""
        missing = [self.add_eb(days_ago=20 - index * 0.1) for index in range(25)]
        sensor = self.sensor(state_max_entries=10)
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="INFO") as logs:
            sensor.poll()
        self.assertEqual(self.reconciled(trigger), missing[:10])
        self.assertIn("15 left for the next run", "\n".join(logs.output))
        stored = self.stored_memory(trigger)
        self.assertEqual(len(stored["dispatched"]), 10)
        self.offset = 25 * HOUR
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), missing[:10])  # memory full for 72 h
        self.offset = 73 * HOUR
        for uid in missing[:10]:
            self.ingest(uid)
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), missing[:20])
        self.assertLessEqual(len(self.stored_memory(trigger)["dispatched"]), 10)

    def stored_memory(self, trigger):
        """The reconciliation memory the sensor keeps in the datastore for ``trigger``."""
        names = [item.name for item in self.sensor_service.list_values(local=True)
                 if item.name.endswith(":reconcile:" + trigger["ref"])]
        self.assertEqual(len(names), 1, names)
        raw = self.sensor_service.get_value("reconcile:" + trigger["ref"], local=True)
        self.assertLess(len(raw), 4096)
        return json.loads(raw)

    def test_a_mismatched_table_disables_the_trigger_with_one_error_line(self):
        engine = sa.create_engine(self.alma_url)
        with engine.begin() as connection:
            prefix = "alma." if self.prefix else ""
            connection.execute(sa.text("DROP TABLE %ssched_block_status" % prefix))
        engine.dispose()
        sensor = self.sensor()
        self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            sensor.poll()
        errors = [line for line in logs.output if line.startswith("ERROR")]
        self.assertEqual(len(errors), 1, logs.output)
        self.assertIn("sched_block_status", errors[0])
        self.assertIn("alma_sched_block_status_table.table", errors[0])
        self.assertIn("disabled", errors[0])
        self.assertEqual(len(logs.output), 1, logs.output)
        self.assertEqual(self.payloads(), [])

    def test_restart_keeps_the_cooldown(self):
        late = self.add_eb(days_ago=10)
        first = self.sensor()
        trigger = self.add_trigger(first, TRIGGER_TYPE, {})
        first.poll()
        self.offset = 30 * HOUR
        second = self.sensor()
        second.add_trigger(trigger)
        second.poll()
        self.assertEqual(self.reconciled(trigger), [late])

    def test_datastore_outage_skips_the_reconciliation_and_replays_nothing(self):
        """Guarantee G3: unreadable memory is never taken as "nothing dispatched yet"."""
        late = self.add_eb(days_ago=10)
        recent = self.add_eb(days_ago=0.05)
        first = self.sensor()
        trigger = self.add_trigger(first, TRIGGER_TYPE, {})
        first.poll()
        second = self.sensor()
        second.add_trigger(trigger)
        self.offset = 74 * HOUR  # the cooldown of both is over: only the stored memory says so
        with DatastoreOutage(self.sensor_service):
            second.poll()
        self.assertEqual(self.reconciled(trigger), [late])
        self.assertEqual(self.fresh(trigger), [recent], "nothing replayed during the outage")
        second.poll()  # the memory is readable again: both are past their cooldown
        self.assertEqual(self.reconciled(trigger), [late, late, recent])

    def test_a_non_text_uid_column_turns_the_reconciliation_off_with_one_error_line(self):
        self.metadata_url = self._integer_uid_database()
        self.config["archive_metadata_db_url"] = self.metadata_url
        self.add_eb(days_ago=10)
        recent = self.add_eb(days_ago=0.05)
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            self.offset = 30 * HOUR
            sensor.poll()
        self.assertEqual(len(logs.output), 1, logs.output)
        self.assertIn("reconciliation off", logs.output[0])
        self.assertIn("execution_blocks.ngas_fileset_id is wrong type", logs.output[0])
        self.assertIn("execution_blocks_uid_column", logs.output[0])
        self.assertEqual(self.fresh(trigger), [recent], "the hourly poll goes on")
        self.assertEqual(self.reconciled(trigger), [])

    def _integer_uid_database(self):
        """A metadata database whose execution_blocks uid column is an INTEGER."""
        if self.database == "postgres":
            from archive_test_support import new_postgres_database
            url = new_postgres_database(self.pg)
        else:
            url = self.metadata_url.replace("metadata.sqlite", "integer_uid.sqlite")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "CREATE TABLE execution_blocks (ngas_fileset_id INTEGER, telescope VARCHAR(8), "
                "calibration_status VARCHAR(32))"))
        engine.dispose()
        return url

    # --- health ----------------------------------------------------------------------------
    def metadata_on_its_own_server(self):
        """PostgreSQL: move the metadata database to a server of its own, so it can be stopped
        while the ALMA database answers (SQLite needs nothing: its file stands alone)."""
        if self.database != "postgres":
            return
        self.metadata_server = PostgresServer().start()
        self.addCleanup(self.metadata_server.destroy)
        self.metadata_url = new_postgres_database(self.metadata_server)
        self.config["archive_metadata_db_url"] = self.metadata_url
        engine = sa.create_engine(self.metadata_url)
        with engine.begin() as connection:
            for spec in schema_map(PackConfig(self.config)).tables(METADATA):
                self._create(connection, spec, None, None)
        engine.dispose()

    @contextlib.contextmanager
    def metadata_database_down(self):
        """The metadata database stops answering: its PostgreSQL server stopped (fast shutdown
        cuts the open connections), or its SQLite file replaced by a folder SQLite cannot
        open (the pooled connections closed, as the outage would)."""
        path = self.metadata_url[len("sqlite:///"):]
        if self.database == "postgres":
            self.metadata_server.stop()
        else:
            os.rename(path, path + ".away")
            os.mkdir(path)
        dispose_engines()
        try:
            yield
        finally:
            if self.database == "postgres":
                self.metadata_server.start()
            else:
                os.rmdir(path)
                os.rename(path + ".away", path)

    def rename_uid_column(self, old, new):
        """A DBA renames execution_blocks' uid column."""
        engine = sa.create_engine(self.metadata_url)
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE execution_blocks RENAME COLUMN %s TO %s"
                                       % (old, new)))
        engine.dispose()

    def status(self):
        """Run workspaces.status over the sensor's datastore at the sensor's time; return
        ``(ok, result, table)``."""
        action = StatusAction(config={}, action_service=SharedDatastore(self.sensor_service))
        action.make_client = client_factory(FakeRules([]))
        out = io.StringIO()
        with mock.patch.dict("os.environ", API_ENV), \
                mock.patch("workspaces_pack.flows.status.time.time", return_value=self.clock()), \
                contextlib.redirect_stdout(out):
            ok, result = action.run()
        return ok, result, out.getvalue()

    def problem_changes(self):
        """``(kind, state, trigger_ref)`` of each workspaces.sensor_problem dispatched."""
        return [(p["kind"], p["state"], p["trigger_ref"]) for p in self.problems()]

    def test_an_unreachable_metadata_database_is_one_problem_and_one_recovery(self):
        self.metadata_on_its_own_server()
        late = self.add_eb(days_ago=10)
        sensor = self.sensor()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.metadata_database_down():
            with self.assertLogs(level="WARNING") as logs:
                for _ in range(3):  # problem_after_failures (3) attempts, one per poll
                    sensor.poll()
            ok, result, table = self.status()
        self.assertEqual(self.reconciled(trigger), [])
        self.assertEqual(len(logs.output), 1, logs.output)
        self.assertIn("reconciliation failed, tried again next poll: archive metadata database",
                      logs.output[0])
        self.assertEqual(self.problem_changes(), [("reconcile_failing", "problem", "")])
        self.assertFalse(ok)
        self.assertEqual([(p["sensor"], p["trigger_ref"], p["kind"]) for p in result["problems"]],
                         [("AlmaAsdmSensor", None, "reconcile_failing")])
        self.assertIn("reconcile_failing: reconciliation failed", table.splitlines()[1])
        self.offset += 601  # the heartbeat is due: every record is written again
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [late])
        self.assertEqual(self.problem_changes(), [("reconcile_failing", "problem", ""),
                                                  ("reconcile_failing", "recovered", "")])
        ok, result, table = self.status()
        self.assertTrue(ok, result["problems"])
        [entry] = result["sensors"][0]["triggers"]
        self.assertEqual(entry["dispatched_total"], 1, "the reconciled EB counts as a dispatch")

    def test_a_request_the_sensor_cannot_serve_is_refused_with_its_reason(self):
        late = self.add_eb(days_ago=10)
        ok, result = self.run_action(days=20, dispatch=True)
        self.assertTrue(ok, result)
        key = result["request_key"]
        self.rename_uid_column("ngas_fileset_id", "renamed_uid")
        sensor = self.sensor(alma_reconcile_interval_hours=0)
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            sensor.poll()
        self.assertEqual(len(logs.output), 1, logs.output)
        self.assertIn("reconciliation off: archive metadata execution_blocks.ngas_fileset_id is "
                      "missing", logs.output[0])
        self.assertEqual(self.reconciled(trigger), [])
        self.assertEqual(self.problem_changes(), [("reconcile_off", "problem", "")])
        refusal = json.loads(self.sensor_service.get_value(key, local=False))
        self.assertIn("execution_blocks_uid_column", refusal["refused"])
        ok, result, table = self.status()
        self.assertFalse(ok)
        self.assertEqual([(p["sensor"], p["kind"]) for p in result["problems"]],
                         [("AlmaAsdmSensor", "reconcile_off")])
        self.assertEqual([(r["key"], r["refused"]) for r in result["reconcile_requests"]],
                         [(key, refusal["refused"])])
        self.assertIn("reconciliation request %s: refused: archive metadata execution_blocks."
                      "ngas_fileset_id is missing" % key, table)
        self.rename_uid_column("renamed_uid", "ngas_fileset_id")
        sensor.poll()
        self.assertEqual(self.problem_changes(), [("reconcile_off", "problem", ""),
                                                  ("reconcile_off", "recovered", "")])
        self.assertEqual(self.reconciled(trigger), [], "a refused request stays refused")
        self.assertNotIn(late, self.fresh(trigger))
        self.assertEqual(self.requests(), [key], "kept, with its reason, until it expires")

    # --- the action ----------------------------------------------------------------------
    def run_action(self, **parameters):
        """Run workspaces.alma_reconcile with the sensor's datastore; return (ok, result)."""
        action = AlmaReconcileAction(config=self.config, action_service=self.sensor_service)
        return action.run(**parameters)

    def test_action_reports_and_its_dispatch_request_is_served_once(self):
        late = self.add_eb(days_ago=10)
        self.add_eb(days_ago=9, in_nrao="uid")
        old = self.add_eb(days_ago=45)
        ok, result = self.run_action(days=60)
        self.assertTrue(ok, result)
        self.assertEqual([item["eb_uid"] for item in result["missing"]], [old, late])
        self.assertEqual(result["checked_count"], 3)
        self.assertFalse(result["dispatch_requested"])
        self.assertEqual(self.requests(), [])
        start = (self.now - datetime.timedelta(days=50)).strftime("%Y-%m-%d")
        ok, result = self.run_action(start=start, dispatch=True)
        self.assertTrue(ok, result)
        self.assertEqual(result["missing_count"], 2)
        self.assertEqual(self.requests(), [result["request_key"]])
        sensor = self.sensor(alma_reconcile_interval_hours=0)
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [old, late])
        self.assertEqual(self.requests(), [])
        sensor.poll()
        self.assertEqual(self.reconciled(trigger), [old, late])

    def test_a_junk_request_is_logged_deleted_and_harmless(self):
        late = self.add_eb(days_ago=10)
        self.sensor_service.set_value(REQUEST_PREFIX + "junk", "not json", local=False)
        sensor = self.sensor(alma_reconcile_interval_hours=0)
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {})
        with self.assertLogs(level="ERROR") as logs:
            sensor.poll()
        self.assertIn(REQUEST_PREFIX + "junk", logs.output[0])
        self.assertEqual(self.requests(), [])
        self.assertEqual(self.reconciled(trigger), [])
        self.assertNotIn(late, self.fresh(trigger))

    def requests(self):
        """Keys of pending reconciliation requests."""
        items = self.sensor_service.list_values(local=False, prefix=REQUEST_PREFIX)
        return [item.name for item in items]

    def test_action_bad_input_names_the_parameter(self):
        for parameters, name in [({"start": "yesterday"}, "start"),
                                 ({"start": "2026-11-02", "end": "2026-11-01"}, "start"),
                                 ({"days": -3}, "days"),
                                 ({"qa0_statuses": ["Passed"]}, "qa0_statuses"),
                                 ({"project_code_pattern": "x' OR 1=1"}, "project_code_pattern")]:
            ok, result = self.run_action(**parameters)
            self.assertFalse(ok, parameters)
            self.assertIn("'%s'" % name, result["error"])

    def test_action_without_metadata_database_fails_clearly(self):
        self.config["archive_metadata_db_url"] = ""
        ok, result = self.run_action()
        self.assertFalse(ok)
        self.assertIn("archive_metadata_db_url", result["error"])

    def test_action_names_the_failing_database_without_secrets(self):
        """Guarantee G8: the error names the database, not its URL, user or password."""
        self.add_eb(days_ago=3)
        port = closed_port_url().rsplit(":", 1)[1]
        self.config["archive_metadata_db_url"] = (
            "postgresql+psycopg://meta_user:s3cret-pw@127.0.0.1:%s/meta" % port)
        self.config["database_timeout_seconds"] = 2
        ok, result = self.run_action()
        self.assertFalse(ok)
        self.assertIn("archive metadata database", result["error"])
        self.assertNotIn("s3cret-pw", json.dumps(result))
        self.assertNotIn("meta_user", json.dumps(result))

    def test_a_missing_uid_column_is_named_not_an_sql_error(self):
        self.add_eb(days_ago=3)
        self.config["execution_blocks_uid_column"] = "no_such_column"
        ok, result = self.run_action()
        self.assertFalse(ok)
        self.assertIn("execution_blocks.no_such_column", result["error"])
        self.assertIn("execution_blocks_uid_column", result["error"])
        self.assertIn("missing", result["error"])

    def test_a_non_text_uid_column_is_named_not_an_sql_error(self):
        """The action checks its tables first: the error names the column and its config key."""
        self.metadata_url = self._integer_uid_database()
        self.config["archive_metadata_db_url"] = self.metadata_url
        self.add_eb(days_ago=3)
        ok, result = self.run_action()
        self.assertFalse(ok)
        self.assertIn("execution_blocks.ngas_fileset_id", result["error"])
        self.assertIn("wrong type", result["error"])
        self.assertIn("execution_blocks_uid_column", result["error"])


class ReconcileSqliteTest(ReconcileCases, SchemaCheckedSensorTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class ReconcilePostgresTest(ReconcileCases, SchemaCheckedSensorTestCase):
    """On a real PostgreSQL server (ALMA tables in schema ``alma``, the EB view a view)."""

    database = "postgres"
