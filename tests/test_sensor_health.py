"""Sensor health (issue 19): records per sensor and trigger, and ``workspaces.sensor_problem``.

Every problem kind comes from a real fault: a directory removed, a datastore refusing writes or
answering nothing, trigger parameters the sensor refuses, a state over the datastore's bound, a
column renamed in the archive, PostgreSQL stopped and started again. Each fault gives exactly one
``problem`` and one ``recovered`` dispatch across at least ten failing polls, and every payload is
checked against the trigger type's payload_schema (``SchemaCheckedSensorTestCase``).
"""

import json
import os
import shutil
import tempfile
import time

import sqlalchemy as sa

from alma_asdm_sensor import AlmaAsdmSensor
from alma_calibration_sensor import AlmaCalibrationSensor
from archive_test_support import ArchiveDatabases
from file_monitor_sensor import FileMonitorSensor
from pack_test_support import CountingDatastore, DatastoreOutage, SchemaCheckedSensorTestCase
from workspaces_pack.archive.engines import dispose_engines
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.state import list_all_values
from workspaces_pack.core.times import iso_from_epoch

FAILING_POLLS = 12


def touch(path, data=b"x"):
    """Write ``data`` to ``path`` and return the path."""
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def health_records(service):
    """``{"health" | "health:<trigger ref>": record}`` of every health record in the datastore."""
    records = {}
    for item in list_all_values(service.list_values, None, local=False):
        local_name = item.name.split(":", 1)[1] if ":" in item.name else item.name
        if local_name == "health" or local_name.startswith("health:"):
            records[local_name] = json.loads(item.value)
    return records


def transitions(problems):
    """``[(kind, state)]`` of problem payloads."""
    return [(payload["kind"], payload["state"]) for payload in problems]


class FileMonitorHealthTest(SchemaCheckedSensorTestCase):
    """Health of the file monitor against a temporary directory."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(FileMonitorHealthTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="health-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.incoming = os.path.join(self.root, "incoming")
        os.makedirs(self.incoming)
        self.offset = 0.0

    def sensor(self, **config):
        """A sensor on this test's service with a clock the test moves."""
        sensor = self.get_sensor_instance(config=config or None)
        sensor.clock = lambda: time.time() + self.offset
        return sensor

    def watch(self, sensor, **parameters):
        """Register a file_detected trigger on this test's directory."""
        parameters.setdefault("directory", self.incoming)
        parameters.setdefault("settle_seconds", 0)
        return self.add_trigger(sensor, "workspaces.file_detected", parameters)

    def record(self, trigger=None):
        """The stored record of ``trigger`` (the sensor's own record without one)."""
        key = "health" if trigger is None else "health:" + trigger["ref"]
        return health_records(self.sensor_service)[key]

    def test_the_sensor_record_lives_without_triggers_and_beats_once_per_interval(self):
        sensor = self.sensor()
        sensor.poll()
        record = self.record()
        self.assertEqual((record["format"], record["sensor"], record["trigger_type"]),
                         (1, "FileMonitorSensor", "workspaces.file_detected"))
        self.assertEqual(record["triggers"], [])
        self.assertIsNotNone(record["last_poll_end"])
        counter = CountingDatastore(self.sensor_service)
        for _ in range(10):
            self.offset += 30
            sensor.poll()  # 300 s of polls, inside the 10 minute heartbeat
        self.assertEqual(counter.total(), 0)
        self.offset += 301
        sensor.poll()
        self.assertEqual(counter.counts["set_value"], 1, "one heartbeat per interval")
        self.assertNotEqual(self.record()["heartbeat_at"], record["heartbeat_at"])

    def test_steady_state_polls_write_nothing_between_heartbeats(self):
        sensor = self.sensor(health_heartbeat_minutes=2)
        trigger = self.watch(sensor)
        sensor.poll()
        record = self.record(trigger)
        self.assertTrue(record["watched"])
        self.assertTrue(record["baseline_taken"])
        self.assertGreater(record["state_bytes"], 0)
        self.assertEqual(record["parameters"]["directory"], self.incoming)
        self.assertEqual(self.record()["triggers"], [trigger["ref"]])
        counter = CountingDatastore(self.sensor_service)
        for _ in range(20):
            self.offset += 5
            sensor.poll()
        self.assertEqual(counter.total(), 0, "a quiet poll wrote to the datastore")
        self.offset += 20
        sensor.poll()
        self.assertEqual(counter.counts["set_value"], 2, "heartbeat: trigger and sensor record")

    def test_a_new_file_counts_in_the_record_at_the_next_heartbeat(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        touch(os.path.join(self.incoming, "a.tar"))
        sensor.poll()
        self.assertEqual(len(self.payloads(trigger)), 1)
        self.offset += 601
        sensor.poll()
        record = self.record(trigger)
        self.assertEqual(record["dispatched_total"], 1)
        self.assertIsNotNone(record["last_dispatch_at"])
        self.assertEqual(record["consecutive_failures"], 0)

    def test_a_removed_directory_is_one_problem_and_one_recovery(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        shutil.rmtree(self.incoming)
        for _ in range(FAILING_POLLS):
            sensor.poll()
        self.assertEqual(transitions(self.problems()), [("directory_missing", "problem")])
        problem = self.problems()[0]
        self.assertEqual(problem["trigger_ref"], trigger["ref"])
        self.assertEqual(problem["consecutive_failures"], 1, "a problem at once, not after 3")
        record = self.record(trigger)
        self.assertEqual(record["problem"]["kind"], "directory_missing")
        self.assertEqual(record["consecutive_failures"], FAILING_POLLS)
        self.assertIn("cannot read directory", record["last_error"])
        os.makedirs(self.incoming)
        touch(os.path.join(self.incoming, "back.tar"))
        sensor.poll()
        self.assertEqual(transitions(self.problems()),
                         [("directory_missing", "problem"), ("directory_missing", "recovered")])
        self.assertIsNone(self.record(trigger)["problem"])
        self.assertEqual([p["name"] for p in self.payloads(trigger)], ["back.tar"])

    def test_a_datastore_refusing_writes_is_state_unsaved_after_the_threshold(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        with DatastoreOutage(self.sensor_service, get_returns_none=False, lists_fail=False):
            touch(os.path.join(self.incoming, "during.tar"))
            sensor.poll()
            self.assertEqual([p["name"] for p in self.payloads(trigger)], ["during.tar"],
                             "the refused writes held up a dispatch")
            sensor.poll()
            self.assertEqual(self.problems(), [], "a problem before problem_after_failures")
            for _ in range(FAILING_POLLS - 2):
                sensor.poll()
        self.assertEqual(transitions(self.problems()), [("state_unsaved", "problem")])
        self.assertEqual(self.problems()[0]["consecutive_failures"], 3)
        sensor.poll()  # the datastore takes writes again: state, then health
        self.assertEqual(transitions(self.problems()),
                         [("state_unsaved", "problem"), ("state_unsaved", "recovered")])
        self.assertIsNone(self.record(trigger)["problem"])
        restarted = self.sensor()
        restarted.add_trigger(trigger)
        restarted.poll()
        self.assertEqual([p["name"] for p in self.payloads(trigger)], ["during.tar"])

    def test_an_unreadable_datastore_is_a_problem_after_the_configured_failures(self):
        first = self.sensor()
        trigger = self.watch(first)
        first.poll()
        sensor = self.sensor(problem_after_failures=5)
        with DatastoreOutage(self.sensor_service):
            sensor.add_trigger(trigger)  # its state is not readable: loaded at a later turn
            for _ in range(4):
                sensor.poll()
            self.assertEqual(self.problems(), [])
            for _ in range(FAILING_POLLS - 4):
                sensor.poll()
        self.assertEqual(transitions(self.problems()), [("state_unreadable", "problem")])
        self.assertEqual(self.problems()[0]["consecutive_failures"], 5)
        sensor.poll()
        self.assertEqual(transitions(self.problems())[-1], ("state_unreadable", "recovered"))
        self.assertEqual(len(self.problems()), 2)

    def test_a_refused_state_save_is_a_problem_not_a_silent_replay(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor._state._max_bytes = 40  # a bound the state cannot meet: every save is refused
        for _ in range(FAILING_POLLS):
            sensor.poll()
        self.assertEqual(transitions(self.problems()), [("state_unsaved", "problem")])
        self.assertIn("a restart would dispatch again", self.record(trigger)["problem"]["message"])

    def test_bad_parameters_are_not_watched_at_once_and_recover_when_fixed(self):
        sensor = self.sensor()
        trigger = self.watch(sensor, directory="relative/path")
        for _ in range(FAILING_POLLS):
            sensor.poll()
        self.assertEqual(transitions(self.problems()), [("not_watched", "problem")])
        record = self.record(trigger)
        self.assertFalse(record["watched"])
        self.assertIn("directory", record["not_watched_reason"])
        trigger["parameters"]["directory"] = self.incoming
        sensor.update_trigger(trigger)
        sensor.poll()
        self.assertEqual(transitions(self.problems()),
                         [("not_watched", "problem"), ("not_watched", "recovered")])
        self.assertTrue(self.record(trigger)["watched"])

    def state_names(self, trigger):
        """Local names of the datastore keys of ``trigger`` other than its health record."""
        return sorted(item.name.split(":", 1)[1]
                      for item in self.sensor_service.list_values(local=False)
                      if item.name.endswith(":" + trigger["ref"]) and ":health:" not in item.name)

    def test_a_removed_trigger_loses_its_record_at_once_and_its_state_after_seven_days(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        sensor.remove_trigger(trigger)
        sensor.poll()
        self.assertNotIn("health:" + trigger["ref"], health_records(self.sensor_service))
        self.assertEqual(self.record()["triggers"], [])
        self.assertEqual(self.state_names(trigger),
                         ["retired:" + trigger["ref"], "state:" + trigger["ref"]])
        self.offset += 6.9 * 86400
        sensor.poll()
        self.assertIn("state:" + trigger["ref"], self.state_names(trigger))
        self.offset += 0.2 * 86400
        sensor.poll()
        self.assertEqual(self.state_names(trigger), [], "state of a removed trigger left behind")

    def test_a_trigger_back_within_seven_days_keeps_its_state(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        sensor.remove_trigger(trigger)
        sensor.poll()
        self.offset += 86400
        sensor.add_trigger(trigger)
        touch(os.path.join(self.incoming, "back.tar"))
        for _ in range(2):
            self.offset += 7 * 86400
            sensor.poll()
        self.assertEqual(self.state_names(trigger), ["state:" + trigger["ref"]])
        self.assertEqual([p["name"] for p in self.payloads(trigger)], ["back.tar"])

    def test_a_record_of_a_trigger_removed_while_the_sensor_was_down_is_deleted(self):
        first = self.sensor()
        gone = self.watch(first)
        kept = self.watch(first)
        first.poll()
        second = self.sensor()
        second.add_trigger(kept)
        second.poll()
        self.assertIn("health:" + gone["ref"], health_records(self.sensor_service),
                      "deleted before StackStorm could add every trigger")
        self.offset += 601
        second.poll()
        records = health_records(self.sensor_service)
        self.assertIn("health:" + kept["ref"], records)
        self.assertNotIn("health:" + gone["ref"], records)

    def test_a_raising_get_value_fails_only_that_triggers_turn(self):
        """Guarantee G3: the other triggers of the poll go on."""
        first = self.sensor()
        broken = self.watch(first)
        other = os.path.join(self.root, "other")
        os.makedirs(other)
        working = self.watch(first, directory=other)
        first.poll()
        real_get_value = self.sensor_service.get_value

        def get_value(name, *args, **kwargs):
            if name.endswith(broken["ref"]):
                raise ConnectionError("st2 API reset the connection")
            return real_get_value(name, *args, **kwargs)
        self.sensor_service.get_value = get_value
        sensor = self.sensor()
        sensor.add_trigger(broken)
        sensor.add_trigger(working)
        touch(os.path.join(self.incoming, "waiting.tar"))
        touch(os.path.join(other, "served.tar"))
        for _ in range(FAILING_POLLS):
            sensor.poll()
        self.assertEqual([p["name"] for p in self.payloads(working)], ["served.tar"])
        self.assertEqual(self.payloads(broken), [])
        self.assertEqual(transitions(self.problems()), [("state_unreadable", "problem")])
        self.assertEqual(self.record(broken)["problem"]["kind"], "state_unreadable")
        self.sensor_service.get_value = real_get_value
        sensor.poll()
        self.assertEqual([p["name"] for p in self.payloads(broken)], ["waiting.tar"])
        self.assertEqual(transitions(self.problems())[-1], ("state_unreadable", "recovered"))

    def test_more_than_a_page_of_records_and_tombstones_are_all_swept(self):
        """Guarantee G3: StackStorm's list_values answers 100 keys without a limit; the sweeps
        page."""
        removed = ["workspaces.gone%03d" % number for number in range(130)]
        long_ago = iso_from_epoch(time.time() - 8 * 86400)
        for ref in removed:
            self.sensor_service.set_value("health:" + ref, "{}", local=True)
            self.sensor_service.set_value("retired:" + ref, long_ago, local=True)
            self.sensor_service.set_value("state:" + ref, "{}", local=True)
        sensor = self.sensor()
        kept = self.watch(sensor)
        sensor.poll()
        self.offset += 601
        sensor.poll()
        self.offset += 601
        sensor.poll()
        left = [item.name for item in list_all_values(self.sensor_service.list_values, None)]
        self.assertEqual(sorted(name.split(":", 1)[1] for name in left),
                         ["health", "health:" + kept["ref"], "state:" + kept["ref"]])

    def test_a_file_written_after_the_trigger_was_added_is_new_though_the_first_poll_is_later(
            self):
        written = time.time() - 5  # before.tar was written 5 s before the trigger was added
        os.utime(touch(os.path.join(self.incoming, "before.tar")), (written, written))
        sensor = self.sensor()
        trigger = self.watch(sensor)
        time.sleep(0.01)  # more than a tick of the file system's clock
        touch(os.path.join(self.incoming, "arrived.tar"))
        self.offset = 60.0  # the first poll comes a minute later
        sensor.poll()
        sensor.poll()
        self.assertEqual([p["name"] for p in self.payloads(trigger)], ["arrived.tar"])
        self.assertTrue(self.record(trigger)["baseline_taken"])


class AlmaAsdmHealthCases(ArchiveDatabases):
    """The ASDM sensor's health against a real archive database."""

    sensor_cls = AlmaAsdmSensor

    def setUp(self):
        super(AlmaAsdmHealthCases, self).setUp()
        self.addCleanup(dispose_engines)

    def sensor(self):
        """A sensor watching one alma_asdm trigger, polled once successfully."""
        sensor = self.get_sensor_instance(config=self.archive_config(
            alma_reconcile_interval_hours=0))
        trigger = self.add_trigger(sensor, "workspaces.alma_asdm",
                                   {"qa0_statuses": ["Pass", "SemiPass"]})
        sensor.poll()
        self.assertEqual(self.problems(), [])
        return sensor, trigger

    def rename(self, old, new):
        """Rename a column of the execution block table, as a site schema change would."""
        table = schema_map(PackConfig({})).spec("execblock").name
        with self.alma_engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE %s RENAME COLUMN %s TO %s"
                                       % (table, old, new)))

    def test_a_renamed_column_is_a_table_mismatch_until_it_is_back(self):
        sensor, trigger = self.sensor()
        column = schema_map(PackConfig({})).spec("execblock").column("qa0_status").name
        self.rename(column, column + "_renamed")
        for _ in range(FAILING_POLLS):
            sensor.poll()
        self.assertEqual(transitions(self.problems()), [("table_mismatch", "problem")])
        self.assertIn(column, self.problems()[0]["message"])
        self.rename(column + "_renamed", column)
        sensor.poll()
        self.assertEqual(transitions(self.problems()),
                         [("table_mismatch", "problem"), ("table_mismatch", "recovered")])
        self.assertEqual(self.problems()[1]["trigger_ref"], trigger["ref"])


class AlmaCalibrationHealthTest(ArchiveDatabases, SchemaCheckedSensorTestCase):
    """The calibration sensor (one trigger, the type itself) with its archive URL unset."""

    sensor_cls = AlmaCalibrationSensor
    database = "sqlite"

    def setUp(self):
        super(AlmaCalibrationHealthTest, self).setUp()
        self.addCleanup(dispose_engines)

    def test_a_poll_that_cannot_run_is_poll_failing_after_the_threshold(self):
        config = self.archive_config()
        del config["alma_archive_db_url"]
        sensor = self.get_sensor_instance(config=config)
        for _ in range(2):
            sensor.poll()
        self.assertEqual(self.problems(), [])
        for _ in range(FAILING_POLLS - 2):
            sensor.poll()
        self.assertEqual(transitions(self.problems()), [("poll_failing", "problem")])
        problem = self.problems()[0]
        self.assertEqual((problem["trigger_ref"], problem["consecutive_failures"]),
                         ("workspaces.alma_calibration", 3))
        self.assertIn("alma_archive_db_url is not set", problem["message"])
        sensor.config["alma_archive_db_url"] = self.alma_url  # the operator sets it
        sensor.poll()
        self.assertEqual(transitions(self.problems()),
                         [("poll_failing", "problem"), ("poll_failing", "recovered")])
        record = health_records(self.sensor_service)["health:workspaces.alma_calibration"]
        self.assertEqual(record["consecutive_failures"], 0)
        self.assertIsNotNone(record["last_success"])


class AlmaAsdmHealthSqliteTest(AlmaAsdmHealthCases, SchemaCheckedSensorTestCase):
    """On SQLite."""

    database = "sqlite"


class AlmaAsdmHealthPostgresTest(AlmaAsdmHealthCases, SchemaCheckedSensorTestCase):
    """On PostgreSQL, which can also be stopped and started again."""

    database = "postgres"

    def test_postgresql_stopped_and_started_is_one_problem_and_one_recovery(self):
        sensor, trigger = self.sensor()
        self.pg.stop()
        try:
            for _ in range(FAILING_POLLS):
                sensor.poll()
        finally:
            self.pg.start()
        self.assertEqual(transitions(self.problems()), [("database_unreachable", "problem")])
        self.assertEqual(self.problems()[0]["consecutive_failures"], 3)
        record = health_records(self.sensor_service)["health:" + trigger["ref"]]
        self.assertEqual(record["consecutive_failures"], FAILING_POLLS)
        sensor.poll()
        self.assertEqual(transitions(self.problems()),
                         [("database_unreachable", "problem"),
                          ("database_unreachable", "recovered")])
