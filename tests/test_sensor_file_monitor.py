"""FileMonitorSensor with real files and folders: new files once, settling, restarts, outages."""

import os
import shutil
import tempfile
import time

from file_monitor_sensor import FileMonitorSensor
from pack_test_support import CountingDatastore, DatastoreOutage, SchemaCheckedSensorTestCase

TRIGGER_TYPE = "workspaces.file_detected"


def touch(path, data=b"x"):
    """Write ``data`` to ``path`` (making folders) and return the path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


class FileMonitorSensorTest(SchemaCheckedSensorTestCase):
    """The sensor against a temporary directory tree."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(FileMonitorSensorTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="filemon-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.incoming = os.path.join(self.root, "incoming")
        os.makedirs(self.incoming)
        self.offset = 0.0

    def sensor(self):
        """A new sensor instance on this test's (shared) sensor service, with a test clock."""
        sensor = self.get_sensor_instance()
        sensor.clock = lambda: time.time() + self.offset
        return sensor

    def watch(self, sensor, **parameters):
        """Register a file_detected trigger on ``sensor`` and return it."""
        parameters.setdefault("directory", self.incoming)
        parameters.setdefault("settle_seconds", 0)
        return self.add_trigger(sensor, TRIGGER_TYPE, parameters)

    def names(self, trigger=None):
        """Names of the files dispatched so far (for one trigger or all), in order."""
        return [payload["name"] for payload in self.payloads(trigger)]

    def advance(self, seconds):
        """Move the test clock forward."""
        self.offset += seconds

    def test_new_file_is_reported_once_and_existing_files_are_the_baseline(self):
        touch(os.path.join(self.incoming, "old.tar"))
        sensor = self.sensor()
        trigger = self.watch(sensor, pattern="*.tar")
        sensor.setup()
        sensor.poll()
        self.assertEqual(self.names(), [])
        new = touch(os.path.join(self.incoming, "new.tar"), b"12345")
        touch(os.path.join(self.incoming, "notes.txt"))
        touch(os.path.join(self.incoming, ".hidden.tar"))
        sensor.poll()
        sensor.poll()
        payloads = self.payloads(trigger)
        self.assertEqual([p["name"] for p in payloads], ["new.tar"])
        self.assertEqual(payloads[0]["path"], new)
        self.assertEqual(payloads[0]["directory"], self.incoming)
        self.assertEqual(payloads[0]["size"], 5)
        self.assertEqual(payloads[0]["pattern"], "*.tar")
        self.assertAlmostEqual(payloads[0]["mtime"], os.stat(new).st_mtime, places=3)
        dispatched = self.get_dispatched_triggers()[0]
        self.assertEqual(dispatched["trigger"], trigger["ref"])
        self.assertEqual(dispatched["trace_context"].trace_tag, "file:" + new)

    def test_a_file_still_being_written_is_reported_after_it_settles(self):
        sensor = self.sensor()
        self.watch(sensor, settle_seconds=60)
        sensor.poll()
        path = touch(os.path.join(self.incoming, "big.idifits"), b"a" * 10)
        sensor.poll()
        with open(path, "ab") as handle:
            handle.write(b"b" * 10)
        self.advance(30)
        sensor.poll()
        self.assertEqual(self.names(), [], "reported while still being written")
        self.advance(31)
        sensor.poll()
        self.assertEqual(self.names(), ["big.idifits"])
        self.assertEqual(self.payloads()[0]["size"], 20)
        sensor.poll()
        self.assertEqual(len(self.payloads()), 1)

    def test_restart_reports_exactly_the_files_created_while_down(self):
        touch(os.path.join(self.incoming, "before.tar"))
        first = self.sensor()
        trigger = self.watch(first)
        first.poll()
        touch(os.path.join(self.incoming, "a.tar"))
        first.poll()
        self.assertEqual(self.names(), ["a.tar"])
        del first  # the sensor process dies
        touch(os.path.join(self.incoming, "b.tar"))
        touch(os.path.join(self.incoming, "c.tar"))
        second = self.sensor()
        second.add_trigger(trigger)  # StackStorm re-adds the same trigger to the new process
        second.poll()
        second.poll()
        self.assertEqual(sorted(self.names()), ["a.tar", "b.tar", "c.tar"])

    def test_restart_while_a_file_is_settling_reports_it_once(self):
        first = self.sensor()
        trigger = self.watch(first, settle_seconds=60)
        first.poll()
        touch(os.path.join(self.incoming, "slow.tar"))
        first.poll()
        self.assertEqual(self.names(), [])
        second = self.sensor()
        second.add_trigger(trigger)
        second.poll()
        self.advance(61)
        second.poll()
        second.poll()
        self.assertEqual(self.names(), ["slow.tar"])

    def test_rename_into_the_directory_counts_as_new(self):
        outside = touch(os.path.join(self.root, "staging", "moved.tar"))
        sensor = self.sensor()
        self.watch(sensor)
        sensor.poll()
        os.rename(outside, os.path.join(self.incoming, "moved.tar"))
        sensor.poll()
        self.assertEqual(self.names(), ["moved.tar"])

    def test_rename_into_the_directory_while_down_counts_as_new(self):
        outside = touch(os.path.join(self.root, "staging", "moved.tar"))
        first = self.sensor()
        trigger = self.watch(first)
        first.poll()
        os.rename(outside, os.path.join(self.incoming, "moved.tar"))
        second = self.sensor()
        second.add_trigger(trigger)
        second.poll()
        self.assertEqual(self.names(), ["moved.tar"])

    def test_three_triggers_on_overlapping_directories_each_get_their_own_events(self):
        sub = os.path.join(self.incoming, "sub")
        os.makedirs(sub)
        sensor = self.sensor()
        everything = self.watch(sensor, recursive=True)
        only_sub = self.watch(sensor, directory=sub)
        fits_top = self.watch(sensor, pattern="*.fits")
        sensor.poll()
        touch(os.path.join(self.incoming, "top.fits"))
        touch(os.path.join(sub, "inner.fits"))
        touch(os.path.join(sub, "inner.txt"))
        sensor.poll()
        sensor.poll()
        self.assertEqual(sorted(self.names(everything)), ["inner.fits", "inner.txt", "top.fits"])
        self.assertEqual(sorted(self.names(only_sub)), ["inner.fits", "inner.txt"])
        self.assertEqual(self.names(fits_top), ["top.fits"])

    def test_new_sub_directory_files_are_found_when_recursive(self):
        sensor = self.sensor()
        trigger = self.watch(sensor, recursive=True)
        sensor.poll()
        touch(os.path.join(self.incoming, "p1", "deep", "x.dat"))
        sensor.poll()
        self.assertEqual([p["path"] for p in self.payloads(trigger)],
                         [os.path.join(self.incoming, "p1", "deep", "x.dat")])

    def test_datastore_returning_none_replays_nothing(self):
        for index in range(20):
            touch(os.path.join(self.incoming, "old%02d.tar" % index))
        first = self.sensor()
        trigger = self.watch(first)
        first.poll()
        self.assertEqual(self.names(), [])
        second = self.sensor()
        outage = DatastoreOutage(self.sensor_service).start()
        second.add_trigger(trigger)
        second.poll()
        second.poll()
        self.assertEqual(self.names(), [], "replayed the directory during a datastore outage")
        self.assertGreater(outage.calls, 0)
        outage.stop()
        touch(os.path.join(self.incoming, "after.tar"))
        second.poll()
        self.assertEqual(self.names(), ["after.tar"])

    def test_failed_state_writes_are_retried_and_nothing_is_dispatched_twice(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        with DatastoreOutage(self.sensor_service, get_returns_none=True):
            touch(os.path.join(self.incoming, "during.tar"))
            sensor.poll()
            sensor.poll()
        self.assertEqual(self.names(), ["during.tar"])
        sensor.poll()  # the datastore is back: the unsaved state is written
        restarted = self.sensor()
        restarted.add_trigger(trigger)
        restarted.poll()
        self.assertEqual(self.names(), ["during.tar"], "dispatched twice after the outage")

    def test_no_trigger_means_no_work(self):
        """No trigger: no scan and no state; only the sensor's own health record, once."""
        counter = CountingDatastore(self.sensor_service)
        sensor = self.sensor()
        sensor.setup()
        sensor.poll()
        written = [item.name.split(".", 1)[1]
                   for item in self.sensor_service.list_values(local=False)]
        self.assertEqual(written, ["FileMonitorSensor:health"])
        self.assertEqual(counter.counts["get_value"], 0)
        counter.reset()
        for _ in range(3):
            sensor.poll()
        self.assertEqual(counter.total(), 0)

    def test_datastore_calls_per_poll_do_not_grow_with_files(self):
        for index in range(200):
            touch(os.path.join(self.incoming, "old%03d.tar" % index))
        sensor = self.sensor()
        self.watch(sensor)
        sensor.poll()
        counter = CountingDatastore(self.sensor_service)
        for index in range(50):
            touch(os.path.join(self.incoming, "new%03d.tar" % index))
        sensor.poll()
        self.assertEqual(len(self.payloads()), 50)
        self.assertLessEqual(counter.total(), 2)
        counter.reset()
        sensor.poll()
        self.assertEqual(counter.total(), 0, "a poll with nothing new wrote to the datastore")

    def test_state_stays_small_however_many_files_arrive(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        for index in range(3000):
            touch(os.path.join(self.incoming, "f%05d.tar" % index))
        sensor.poll()
        self.assertEqual(len(self.payloads()), 3000)
        stored = self.sensor_service.get_value("state:" + trigger["ref"], local=True)
        self.assertLess(len(stored), 64 * 1024)
        restarted = self.sensor()
        restarted.add_trigger(trigger)
        restarted.poll()
        self.assertEqual(len(self.payloads()), 3000)

    def test_ready_marker_holds_a_folders_files_until_it_exists(self):
        sensor = self.sensor()
        self.watch(sensor, recursive=True, ready_marker="READY")
        sensor.poll()
        touch(os.path.join(self.incoming, "proj", "a.fits"))
        sensor.poll()
        sensor.poll()
        self.assertEqual(self.names(), [])
        touch(os.path.join(self.incoming, "proj", "READY"))
        sensor.poll()
        self.assertEqual(self.names(), ["a.fits"])

    def test_directory_removed_and_recreated(self):
        """Guarantee G1: a directory removed and recreated under a trigger."""
        sensor = self.sensor()
        trigger = self.watch(sensor)
        sensor.poll()
        shutil.rmtree(self.incoming)
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            sensor.poll()
        self.assertEqual(len([line for line in logs.output if "cannot read" in line]), 1,
                         "the missing directory must be logged once, not every poll")
        os.makedirs(self.incoming)
        touch(os.path.join(self.incoming, "again.tar"))
        sensor.poll()
        self.assertEqual(self.names(trigger), ["again.tar"])

    def test_a_directory_that_appears_later_brings_new_files(self):
        """Guarantee G1: files arriving with a directory made after the rule are not baseline."""
        later = os.path.join(self.root, "made-later")
        sensor = self.sensor()
        trigger = self.watch(sensor, directory=later)
        with self.assertLogs(level="WARNING"):
            sensor.poll()
        touch(os.path.join(later, "first.tar"))
        sensor.poll()
        self.assertEqual(self.names(trigger), ["first.tar"])

    def test_bad_parameters_fail_that_trigger_only(self):
        """Guarantee G7."""
        sensor = self.sensor()
        good = self.watch(sensor)
        bad_cases = [
            ({"pattern": "*"}, "directory"),
            ({"directory": "relative/path"}, "directory"),
            ({"directory": self.incoming + "/../../etc"}, "directory"),
            ({"directory": 42}, "directory"),
            ({"directory": self.incoming, "pattern": "../*"}, "pattern"),
            ({"directory": self.incoming, "pattern": ""}, "pattern"),
            ({"directory": self.incoming, "settle_seconds": -1}, "settle_seconds"),
            ({"directory": self.incoming, "settle_seconds": "soon"}, "settle_seconds"),
            ({"directory": self.incoming, "recursive": "yes"}, "recursive"),
            ({"directory": self.incoming, "ready_marker": "a/b"}, "ready_marker"),
        ]
        for parameters, parameter in bad_cases:
            with self.assertLogs(level="ERROR") as logs:
                self.add_trigger(sensor, TRIGGER_TYPE, parameters)
            self.assertIn("parameter %r" % parameter, logs.output[0], parameters)
        missing = self.watch(sensor, directory=os.path.join(self.root, "does-not-exist"))
        sensor.poll()
        touch(os.path.join(self.incoming, "fine.tar"))
        sensor.poll()
        self.assertEqual(self.names(good), ["fine.tar"])
        self.assertEqual(self.names(missing), [])

    def test_trigger_calls_in_any_order(self):
        sensor = self.sensor()
        trigger = self.watch(sensor)  # before setup(), as StackStorm may do
        sensor.add_trigger(trigger)  # repeated
        sensor.setup()
        sensor.remove_trigger({"id": "nope", "ref": "workspaces.unknown", "parameters": {}})
        sensor.poll()
        touch(os.path.join(self.incoming, "one.tar"))
        sensor.poll()
        changed = dict(trigger, parameters=dict(trigger["parameters"], pattern="*.fits"))
        sensor.update_trigger(changed)
        sensor.poll()
        touch(os.path.join(self.incoming, "two.fits"))
        touch(os.path.join(self.incoming, "three.tar"))
        sensor.poll()
        sensor.remove_trigger(trigger)
        touch(os.path.join(self.incoming, "four.fits"))
        sensor.poll()
        self.assertEqual(self.names(), ["one.tar", "two.fits"])

    def test_poll_never_raises(self):
        sensor = self.sensor()
        self.watch(sensor)
        sensor.poll()

        def broken(*args, **kwargs):
            raise RuntimeError("message bus down")
        self.sensor_service.dispatch = broken
        touch(os.path.join(self.incoming, "x.tar"))
        sensor.poll()
        sensor.poll()
