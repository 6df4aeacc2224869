"""The datastore state helper shared by all sensors: outage rule, retries, size bound.

Runs against the sensor service of BaseSensorTestCase, so it exercises StackStorm's own mock
datastore under st2-run-pack-tests and the stand-in elsewhere.
"""

import logging
import unittest

from pack_test_support import DatastoreOutage
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

from workspaces_pack.core.state import DatastoreState, SeenWindow, StateTooLarge, StateUnavailable

LOG = logging.getLogger("test_state")


class DatastoreStateTest(unittest.TestCase):
    """DatastoreState over a mock sensor service."""

    def setUp(self):
        self.service = MockSensorService(MockSensorWrapper(pack="tests", class_name="TestSensor"))

    def test_missing_state_is_none_and_saved_state_round_trips(self):
        state = DatastoreState(self.service, LOG)
        self.assertIsNone(state.load("workspaces.t1"))
        self.assertTrue(state.save("workspaces.t1", {"mark": 5, "seen": {"a": 5}}))
        self.assertEqual(DatastoreState(self.service, LOG).load("workspaces.t1"),
                         {"mark": 5, "seen": {"a": 5}})
        names = [kv.name for kv in self.service.list_values(prefix="state:")]
        self.assertEqual(names, ["tests.TestSensor:state:workspaces.t1"])

    def test_outage_is_not_mistaken_for_empty_state(self):
        DatastoreState(self.service, LOG).save("workspaces.t1", {"mark": 5})
        with DatastoreOutage(self.service):
            with self.assertRaises(StateUnavailable):
                DatastoreState(self.service, LOG).load("workspaces.t1")

    def test_get_value_none_for_an_existing_key_is_unavailable(self):
        DatastoreState(self.service, LOG).save("workspaces.t1", {"mark": 5})
        with DatastoreOutage(self.service, lists_fail=False, writes_fail=False):
            with self.assertRaises(StateUnavailable):
                DatastoreState(self.service, LOG).load("workspaces.t1")

    def test_outage_on_a_trigger_without_state_is_still_unavailable(self):
        with DatastoreOutage(self.service):
            with self.assertRaises(StateUnavailable):
                DatastoreState(self.service, LOG).load("workspaces.new")

    def test_failed_save_is_kept_and_flushed_when_the_datastore_is_back(self):
        state = DatastoreState(self.service, LOG)
        with DatastoreOutage(self.service):
            self.assertFalse(state.save("workspaces.t1", {"mark": 7}))
            self.assertTrue(state.is_unsaved("workspaces.t1"))
            self.assertEqual(state.load("workspaces.t1"), {"mark": 7})
        self.assertTrue(state.flush())
        self.assertEqual(DatastoreState(self.service, LOG).load("workspaces.t1"), {"mark": 7})

    def test_oversized_state_is_refused(self):
        state = DatastoreState(self.service, LOG, max_bytes=100)
        with self.assertRaisesRegex(StateTooLarge, "workspaces.t1"):
            state.save("workspaces.t1", {"seen": {str(i): i for i in range(100)}})


class SeenWindowTest(unittest.TestCase):
    """High-water mark plus bounded seen set."""

    def test_reports_each_item_once_and_respects_the_floor(self):
        window = SeenWindow(max_entries=10)
        self.assertTrue(window.is_new("a", 100))
        window.add("a", 100)
        self.assertFalse(window.is_new("a", 100))
        window.add("b", 200)
        window.prune(window=50)
        self.assertEqual(window.floor, 150)
        self.assertFalse(window.is_new("c", 120))  # older than the window: counted as handled
        self.assertTrue(window.is_new("c", 160))   # late arrival inside the window
        self.assertEqual(window.seen, {"b": 200})

    def test_stays_bounded_and_holds_below_pending_work(self):
        window = SeenWindow(max_entries=10)
        for i in range(1000):
            window.add("f%d" % i, i)
        window.prune(window=10 ** 6)
        self.assertEqual(len(window.seen), 10)
        self.assertEqual(window.floor, 990)
        held = SeenWindow(max_entries=10)
        for i in range(100):
            held.add("f%d" % i, i)
        held.prune(window=5, hold_below=40)
        self.assertEqual(held.floor, 40)
        self.assertTrue(held.is_new("pending", 41))
