"""State bounds true at every allowed setting (issue 19): the largest ``state_max_entries`` with
the longest real identifiers never makes a state value the datastore refuses, and what a bound
forgets is never dispatched again after a restart.

The longest ALMA uid ``core.uids.ALMA_UID`` accepts is 46 characters
(``uid://A999/X<16 hex>/X<16 hex>``); a file monitor's state also holds its directory, up to
PATH_MAX.
"""

import datetime
import json
import logging
import os
import shutil
import tempfile
import unittest

import yaml

from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

from workspaces_pack.core.config import PackConfig, config_schema_path
from workspaces_pack.core.state import DEFAULT_MAX_BYTES, DatastoreState
from workspaces_pack.core.uids import ALMA_UID
from workspaces_pack.sensing.archive_watch import ArchiveWatch
from workspaces_pack.sensing.reconcile_schedule import AlmaReconciler, CooldownMemory
from workspaces_pack.sensing.scanner import DirectoryWatch, watch_spec_from_parameters

LOG = logging.getLogger("test_state_bounds")
with open(config_schema_path()) as _handle:
    LARGEST = yaml.safe_load(_handle)["state_max_entries"]["maximum"]
START = datetime.datetime(2026, 12, 4, 12, 0, 0)


def longest_uid(number):
    """A distinct ALMA uid of the greatest length ALMA_UID accepts."""
    uid = "uid://A999/X%016x/X%016x" % (number, number)
    assert ALMA_UID.match(uid) and len(uid) == 46
    return uid


class BoundsCase(unittest.TestCase):
    """A datastore over StackStorm's (or the stand-in's) mock sensor service."""

    def setUp(self):
        self.service = MockSensorService(MockSensorWrapper(pack="tests", class_name="Bounds"))
        self.state = DatastoreState(self.service, LOG)

    def saved_bytes(self, ref):
        """Bytes of the stored value of ``ref``."""
        return len(self.service.get_value("state:" + ref, local=True).encode("utf-8"))


class ArchiveWatchBoundsTest(BoundsCase):
    """Both ALMA sensors keep an ``ArchiveWatch`` per trigger."""

    def rows(self, count, identifier=longest_uid):
        """``count`` rows inside the look-back window, with microsecond times, oldest first."""
        return [{"eb_uid": identifier(index),
                 "end_time": START + datetime.timedelta(seconds=index * 7.123457)}
                for index in range(count)]

    def test_the_largest_setting_with_the_longest_uids_saves_and_replays_nothing(self):
        clock = lambda: 1e10  # noqa: E731  (the rows are all inside a huge look-back)
        watch = ArchiveWatch(1e10, max_entries=LARGEST, clock=clock)
        watch.load_state(None)
        rows = self.rows(LARGEST)
        watch.mark_handled(rows, "eb_uid", "end_time")
        self.assertTrue(self.state.save("t", watch.to_state()), "the save was refused")
        self.assertLessEqual(self.saved_bytes("t"), DEFAULT_MAX_BYTES)
        self.assertLess(len(watch.to_state()["seen"]), LARGEST,
                        "the byte budget did not lower the cap")
        restarted = ArchiveWatch(1e10, max_entries=LARGEST, clock=clock)
        restarted.load_state(DatastoreState(self.service, LOG).load("t"))
        self.assertEqual(restarted.select_new(rows, "eb_uid", "end_time"), [],
                         "rows forgotten by the bound were dispatched again after a restart")

    def test_long_delivery_ids_of_the_calibration_sensor_stay_inside_the_bound(self):
        watch = ArchiveWatch(1e10, max_entries=LARGEST, clock=lambda: 1e10)
        watch.load_state(None)
        rows = self.rows(LARGEST, identifier=lambda n: "2017.1.00886.L_2026_12_04T%012d_%s" % (
            n, "x" * 160))
        watch.mark_handled(rows, "eb_uid", "end_time")
        self.assertTrue(self.state.save("t", watch.to_state()))
        self.assertLessEqual(self.saved_bytes("t"), DEFAULT_MAX_BYTES)


class ReconciliationMemoryBoundsTest(BoundsCase):
    """The ASDM sensor's reconciliation memory (cooldown) per trigger."""

    def test_the_memory_cap_holds_the_longest_uids_at_the_largest_setting(self):
        reconciler = AlmaReconciler(self.service, LOG, PackConfig({"state_max_entries": LARGEST}),
                                    lambda: 1.7e9)
        self.assertLess(reconciler.max_entries, LARGEST)
        memory = CooldownMemory(reconciler.max_entries)
        for index in range(LARGEST):
            if memory.room():
                memory.remember(longest_uid(index), 1765000000.123456 + index * 0.000123)
        memory.last_run = 1765000000.654321
        self.assertEqual(memory.room(), 0)
        self.assertTrue(self.state.save("t", memory.to_state()))
        self.assertLessEqual(self.saved_bytes("t"), DEFAULT_MAX_BYTES)

    def test_a_small_setting_is_kept_as_it_is(self):
        reconciler = AlmaReconciler(self.service, LOG, PackConfig({"state_max_entries": 10}),
                                    lambda: 0)
        self.assertEqual(reconciler.max_entries, 10)


class DirectoryWatchBoundsTest(BoundsCase):
    """The file monitor and the VLBA sensor keep a ``DirectoryWatch`` per trigger."""

    def setUp(self):
        super(DirectoryWatchBoundsTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="bounds-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.directory = self.root
        while len(self.directory) < 3800:  # a directory path near PATH_MAX (4096)
            self.directory = os.path.join(self.directory, "d" * 200)
        os.makedirs(self.directory)

    def watch(self):
        spec = watch_spec_from_parameters({"directory": self.directory, "settle_seconds": 0,
                                           "pattern": "*"})
        watch = DirectoryWatch(spec, window_seconds=1e9, max_entries=LARGEST, clock=lambda: 2e9)
        watch.load_state(DatastoreState(self.service, LOG).load("t"))
        return watch

    def test_the_largest_setting_with_a_long_directory_saves_and_replays_nothing(self):
        first = self.watch()
        first.poll()  # empty baseline
        names = []
        for index in range(LARGEST):
            name = "f%05d-%s.dat" % (index, "n" * 200)
            with open(os.path.join(self.directory, name), "wb"):
                pass
            names.append(name)
        found = first.poll()
        self.assertEqual(len(found), LARGEST)
        first.mark_reported(found)
        self.assertTrue(self.state.save("t", first.to_state()), "the save was refused")
        self.assertLessEqual(self.saved_bytes("t"), DEFAULT_MAX_BYTES)
        restarted = self.watch()
        self.assertEqual(restarted.poll(), [], "files were reported again after a restart")
        stored = json.loads(self.service.get_value("state:t", local=True))
        self.assertEqual(stored["directory"], self.directory)
