"""The datastore state helper shared by all sensors: outage rule, retries, size bound."""

import logging

import pytest
from st2common.services.datastore import MemoryKeyValueStore

from workspaces_pack.state import DatastoreState, SeenWindow, StateTooLarge, StateUnavailable

from conftest import USING_STAND_INS

LOG = logging.getLogger("test_state")


class FlakyService(object):
    """A sensor-service datastore whose failures are switched on and off by the test."""

    def __init__(self):
        from st2tests.mocks.datastore import MockDatastoreService
        self.store = MemoryKeyValueStore()
        self.datastore = MockDatastoreService(None, "workspaces", "TestSensor", store=self.store)
        self.get_value = self.datastore.get_value
        self.set_value = self.datastore.set_value
        self.list_values = self.datastore.list_values
        self.delete_value = self.datastore.delete_value


pytestmark = pytest.mark.skipif(not USING_STAND_INS,
                                reason="MemoryKeyValueStore failure switch is a stand-in feature")


def test_missing_state_is_none_and_saved_state_round_trips():
    service = FlakyService()
    state = DatastoreState(service, LOG)
    assert state.load("workspaces.t1") is None
    assert state.save("workspaces.t1", {"mark": 5, "seen": {"a": 5}}) is True
    assert DatastoreState(service, LOG).load("workspaces.t1") == {"mark": 5, "seen": {"a": 5}}
    assert service.store.get("workspaces.TestSensor:state:workspaces.t1").startswith("{")


def test_outage_is_not_mistaken_for_empty_state():
    service = FlakyService()
    DatastoreState(service, LOG).save("workspaces.t1", {"mark": 5})
    service.store.fail_with = ConnectionError("st2api down")
    with pytest.raises(StateUnavailable):
        DatastoreState(service, LOG).load("workspaces.t1")


def test_get_value_none_for_existing_key_is_unavailable():
    service = FlakyService()
    DatastoreState(service, LOG).save("workspaces.t1", {"mark": 5})
    service.get_value = lambda *args, **kwargs: None  # a blip: get fails, list works
    with pytest.raises(StateUnavailable):
        DatastoreState(service, LOG).load("workspaces.t1")


def test_failed_save_is_kept_and_flushed_when_the_datastore_is_back():
    service = FlakyService()
    state = DatastoreState(service, LOG)
    service.store.fail_with = ConnectionError("st2api down")
    assert state.save("workspaces.t1", {"mark": 7}) is False
    assert state.has_unsaved()
    assert state.load("workspaces.t1") == {"mark": 7}  # the newest state is used meanwhile
    service.store.fail_with = None
    assert state.flush() is True
    assert DatastoreState(service, LOG).load("workspaces.t1") == {"mark": 7}


def test_oversized_state_is_refused():
    state = DatastoreState(FlakyService(), LOG, max_bytes=100)
    with pytest.raises(StateTooLarge, match="workspaces.t1"):
        state.save("workspaces.t1", {"seen": {str(i): i for i in range(100)}})


def test_seen_window_reports_each_item_once_and_respects_the_floor():
    window = SeenWindow(max_entries=10)
    assert window.is_new("a", 100)
    window.add("a", 100)
    assert not window.is_new("a", 100)
    window.add("b", 200)
    window.prune(window=50)
    assert window.floor == 150
    assert not window.is_new("c", 120)  # older than the window: counted as handled
    assert window.is_new("c", 160)      # late arrival inside the window
    assert window.seen == {"b": 200}


def test_seen_window_stays_bounded_and_holds_below_pending_work():
    window = SeenWindow(max_entries=10)
    for i in range(1000):
        window.add("f%d" % i, i)
    window.prune(window=10 ** 6)
    assert len(window.seen) == 10
    assert window.floor == 990
    held = SeenWindow(max_entries=10)
    for i in range(100):
        held.add("f%d" % i, i)
    held.prune(window=5, hold_below=40)
    assert held.floor == 40
    assert held.is_new("pending", 41)
