"""Fault suite for the sensors: crashes mid-poll, bursts, long datastore outages (marker: fault).

Each test names the docs/GUARANTEES.md line it checks (``Guarantee G<n>``);
``test_every_guarantee_is_checked`` fails when a guarantee has no test.
"""

import glob
import os
import re
import shutil
import tempfile

import pytest

from alma_asdm_sensor import AlmaAsdmSensor
from archive_test_support import ArchiveDatabases
from file_monitor_sensor import FileMonitorSensor
from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase
from vlba_data_sensor import VlbaDataSensor

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIGGER_TYPE = "workspaces.file_detected"


class SensorKilled(BaseException):
    """Stands for the sensor process being killed (not an Exception: nothing catches it)."""


@pytest.mark.fault
class FileMonitorFaultTest(SchemaCheckedSensorTestCase):
    """The file monitor under faults, with real files."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(FileMonitorFaultTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="fault-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def make_files(self, count, prefix="f"):
        """Create ``count`` files in the watched folder; return their names."""
        names = ["%s%05d.dat" % (prefix, index) for index in range(count)]
        for name in names:
            with open(os.path.join(self.root, name), "wb") as handle:
                handle.write(b"x")
        return names

    def names(self):
        """Dispatched file names, in order."""
        return [payload["name"] for payload in self.payloads()]

    def test_killed_mid_poll_loses_nothing_and_repeats_at_most_that_poll(self):
        """Guarantee G1, Guarantee G2."""
        first = self.get_sensor_instance()
        trigger = self.add_trigger(first, TRIGGER_TYPE, {"directory": self.root,
                                                         "settle_seconds": 0})
        first.poll()
        created = self.make_files(10)
        real_dispatch = self.sensor_service.dispatch
        sent = []

        def dying_dispatch(*args, **kwargs):
            if len(sent) == 4:
                raise SensorKilled()
            sent.append(kwargs.get("payload"))
            return real_dispatch(*args, **kwargs)
        self.sensor_service.dispatch = dying_dispatch
        with self.assertRaises(SensorKilled):
            first.poll()
        self.sensor_service.dispatch = real_dispatch
        second = self.get_sensor_instance()
        second.add_trigger(trigger)
        second.poll()
        second.poll()
        names = self.names()
        self.assertEqual(sorted(set(names)), created, "a file was lost")
        repeated = len(names) - len(set(names))
        self.assertLessEqual(repeated, 4, "more duplicates than the interrupted poll sent")

    @pytest.mark.slow
    def test_burst_of_10000_files_is_reported_once_each_with_bounded_state(self):
        """Guarantee G1, Guarantee G6."""
        sensor = self.get_sensor_instance()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {"directory": self.root,
                                                          "settle_seconds": 0})
        sensor.poll()
        created = self.make_files(10000)
        sensor.poll()
        sensor.poll()
        names = self.names()
        self.assertEqual(len(names), 10000)
        self.assertEqual(sorted(names), created)
        stored = self.sensor_service.get_value("state:" + trigger["ref"], local=True)
        self.assertLess(len(stored), 40 * 1024, "state grew with the number of files")

    def test_restart_after_names_were_removed_and_added_in_a_tree(self):
        """Guarantee G1, Guarantee G2: the listings kept in memory are rebuilt, nothing replays."""
        folders = [os.path.join(self.root, "dec11", "p%d" % index) for index in range(3)]
        for folder in folders:
            os.makedirs(folder)
            for index in range(40):
                open(os.path.join(folder, "old%02d.dat" % index), "w").close()
        first = self.get_sensor_instance()  # the files above are there before the trigger
        trigger = self.add_trigger(first, TRIGGER_TYPE, {"directory": self.root,
                                                         "recursive": True, "settle_seconds": 0})
        first.poll()
        os.remove(os.path.join(folders[0], "old05.dat"))
        open(os.path.join(folders[0], "while-up.dat"), "w").close()
        first.poll()
        del first  # the process dies; files come and go while it is down
        for index in range(0, 40, 4):
            os.remove(os.path.join(folders[1], "old%02d.dat" % index))
        created = ["down%d.dat" % index for index in range(5)]
        for name in created:
            open(os.path.join(folders[index % 3], name), "w").close()
        second = self.get_sensor_instance()
        second.add_trigger(trigger)
        second.poll()
        open(os.path.join(folders[1], "after.dat"), "w").close()
        second.poll()
        second.poll()
        self.assertEqual(sorted(self.names()), sorted(["while-up.dat", "after.dat"] + created))

    def test_datastore_down_for_many_polls_then_state_is_saved(self):
        """Guarantee G3."""
        sensor = self.get_sensor_instance()
        trigger = self.add_trigger(sensor, TRIGGER_TYPE, {"directory": self.root,
                                                          "settle_seconds": 0})
        sensor.poll()
        key = "state:" + trigger["ref"]
        before = self.sensor_service.get_value(key, local=True)
        outage = DatastoreOutage(self.sensor_service).start()
        created = self.make_files(5)
        for _ in range(10):
            sensor.poll()
        outage.stop()
        self.assertEqual(self.names(), created, "files were held back or repeated")
        sensor.poll()
        after = self.sensor_service.get_value(key, local=True)
        self.assertNotEqual(before, after, "state was not saved once the datastore was back")
        restarted = self.get_sensor_instance()
        restarted.add_trigger(trigger)
        restarted.poll()
        self.assertEqual(self.names(), created)


def test_every_guarantee_is_checked():
    """Each "**G<n>**" line of docs/GUARANTEES.md is named by at least one test."""
    with open(os.path.join(PACK_DIR, "docs", "GUARANTEES.md")) as handle:
        guarantees = handle.read()
    ids = re.findall(r"^- \*\*(G\d+)\*\*", guarantees, re.M)
    assert len(ids) >= 6, "docs/GUARANTEES.md lost its lines"
    tests = ""
    for path in glob.glob(os.path.join(PACK_DIR, "tests", "test_*.py")):
        with open(path) as handle:
            tests += handle.read()
    missing = [gid for gid in ids if not re.search(r"Guarantee %s\b" % gid, tests)]
    assert not missing, "guarantees in docs/GUARANTEES.md without a test: %s" % missing


def kill_after(service, count):
    """Make ``service.dispatch`` raise SensorKilled after ``count`` dispatches; return restore."""
    real_dispatch = service.dispatch
    sent = []

    def dying_dispatch(*args, **kwargs):
        if len(sent) == count:
            raise SensorKilled()
        sent.append(1)
        return real_dispatch(*args, **kwargs)
    service.dispatch = dying_dispatch

    def restore():
        service.dispatch = real_dispatch
    return restore


@pytest.mark.fault
class AlmaAsdmKilledTest(ArchiveDatabases, SchemaCheckedSensorTestCase):
    """The ALMA ASDM sensor killed in the middle of dispatching a poll's EBs (SQLite)."""

    sensor_cls = AlmaAsdmSensor

    def test_killed_mid_poll_loses_nothing(self):
        """Guarantee G1, Guarantee G2."""
        first = self.get_sensor_instance(config=self.archive_config())
        trigger = self.add_trigger(first, "workspaces.alma_asdm", {})
        restore = kill_after(self.sensor_service, 2)
        with self.assertRaises(SensorKilled):
            first.poll()
        restore()
        second = self.get_sensor_instance(config=self.archive_config())
        second.add_trigger(trigger)
        second.poll()
        second.poll()
        uids = [payload["eb_uid"] for payload in self.payloads()]
        expected = {eb["eb_uid"] for eb in self.sample["execution_blocks"]
                    if eb["qa0_status"] in ("Pass", "SemiPass") and eb["hours_ago"] < 12}
        self.assertEqual(set(uids), expected)
        self.assertLessEqual(len(uids) - len(set(uids)), 2)


@pytest.mark.fault
class VlbaKilledTest(SchemaCheckedSensorTestCase):
    """The VLBA sensor killed after dispatching the first of two ready projects."""

    sensor_cls = VlbaDataSensor

    def test_killed_mid_poll_loses_nothing(self):
        """Guarantee G1, Guarantee G2."""
        self._known_refs["workspaces.vlba_data"] = "workspaces.vlba_data"
        root = tempfile.mkdtemp(prefix="vlba-kill-")
        self.addCleanup(shutil.rmtree, root, True)
        config = {"vlba_data_directory": root, "vlba_settle_seconds": 0}
        first = self.get_sensor_instance(config=config)
        first.poll()
        # <mmmyy>/<project>/ folders; BL178AC's files are in two of them.
        layout = (("aug15", "BD179I0", "gatedi0"), ("dec11", "BL178AC", "bl178ac"),
                  ("jan12", "BL178AC", "bl178ac"))
        for month, project, job in layout:
            folder = os.path.join(root, month, project.lower())
            os.makedirs(folder)
            with open(os.path.join(folder, "VLBA_%s_%s_BIN0_SRC0_0_%s0801T000000.idifits"
                                   % (project, job, month[-2:])), "wb") as handle:
                handle.write(b"\0" * 10)
        restore = kill_after(self.sensor_service, 1)
        with self.assertRaises(SensorKilled):
            first.poll()
        restore()
        second = self.get_sensor_instance(config=config)
        second.poll()
        second.poll()
        projects = [payload["project_code"] for payload in self.payloads()]
        self.assertEqual(sorted(set(projects)), ["BD179I0", "BL178AC"])
        self.assertLessEqual(len(projects) - len(set(projects)), 1)
        [batch] = [payload for payload in self.payloads() if payload["project_code"] == "BL178AC"]
        self.assertEqual(batch["file_count"], 2, "a project's folders were split into batches")
