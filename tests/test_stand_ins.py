"""The StackStorm stand-ins behave as StackStorm does (datastore, schema dialect, dispatch checks).

These tests describe the stand-ins themselves, so they are skipped under the real StackStorm
harness, whose test mocks differ (no ttl, no str(), no payload validation).
"""

import os
import sys
import unittest

import jsonschema
import pytest

from conftest import USING_STAND_INS

pytestmark = [pytest.mark.standins, pytest.mark.skipif(
    not USING_STAND_INS,
    reason="tests the devkit's stand-ins, which are not importable here: StackStorm's real "
           "st2common/st2reactor/st2tests hold the same module names")]

MINI_PACK_SENSORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                                 "mini_pack", "sensors")


class FakeClock(object):
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def datastore():
    from st2common.services.datastore import MemoryKeyValueStore
    from st2tests.mocks.datastore import MockDatastoreService

    clock = FakeClock()
    store = MemoryKeyValueStore(clock=clock)
    service = MockDatastoreService(logger=None, pack_name="workspaces",
                                   class_name="FileMonitorSensor", store=store)
    return service, store, clock


def test_local_keys_are_prefixed_with_pack_and_class(datastore):
    service, store, _ = datastore
    service.set_value("state:abc", "1")
    assert [kv.name for kv in store.list()] == ["workspaces.FileMonitorSensor:state:abc"]
    assert service.get_value("state:abc") == "1"
    service.set_value("global", "2", local=False)
    assert service.get_value("global", local=False) == "2"
    assert service.get_value("global") is None


def test_values_are_stored_as_str(datastore):
    service, _, _ = datastore
    service.set_value("n", 42)
    service.set_value("d", {"a": 1})
    assert service.get_value("n") == "42"
    assert service.get_value("d") == "{'a': 1}"


def test_ttl_expires_keys(datastore):
    service, _, clock = datastore
    service.set_value("short", "x", ttl=10)
    assert service.get_value("short") == "x"
    clock.now += 11
    assert service.get_value("short") is None
    assert service.list_values() == []


def test_list_values_by_prefix_returns_full_names(datastore):
    service, _, _ = datastore
    for name in ("state:a", "state:b", "other"):
        service.set_value(name, name)
    names = [kv.name for kv in service.list_values(prefix="state:")]
    assert names == ["workspaces.FileMonitorSensor:state:a", "workspaces.FileMonitorSensor:state:b"]
    assert len(service.list_values()) == 3
    assert [kv.value for kv in service.list_values(prefix="state:", limit=1, offset=1)] == \
        ["state:b"]


def test_get_value_returns_none_on_error_but_writes_and_lists_raise(datastore):
    service, store, _ = datastore
    service.set_value("k", "v")
    store.fail_with = ConnectionError("st2api is down")
    assert service.get_value("k") is None
    with pytest.raises(ConnectionError):
        service.set_value("k", "w")
    with pytest.raises(ConnectionError):
        service.list_values()
    store.fail_with = None
    assert service.get_value("k") == "v"


def test_delete_value_is_true_for_missing_keys_and_false_in_an_outage(datastore):
    # as StackStorm's (tests/test_parity_datastore.py): st2client takes the API's 404 as done
    service, store, _ = datastore
    service.set_value("k", "v")
    assert service.delete_value("k") is True
    assert service.delete_value("k") is True
    service.set_value("k", "v")
    store.fail_with = ConnectionError("st2api is down")
    assert service.delete_value("k") is False
    store.fail_with = None
    assert service.get_value("k") == "v"


def test_json_file_store_persists_between_instances(tmp_path):
    from st2common.services.datastore import JsonFileKeyValueStore

    path = str(tmp_path / "kv.json")
    JsonFileKeyValueStore(path).set("a", "1")
    assert JsonFileKeyValueStore(path).get("a") == "1"


def test_schema_dialect_uses_property_level_required_and_fills_defaults():
    from st2common.util import schema as util_schema

    schema = {"type": "object", "properties": {"path": {"type": "string", "required": True},
                                               "size": {"type": "integer", "default": 0}}}
    assert util_schema.validate({"path": "/x"}, schema) == {"path": "/x", "size": 0}
    with pytest.raises(jsonschema.ValidationError, match="'path' is a required property"):
        util_schema.validate({}, schema)


def test_schema_validate_returns_a_cleaned_copy_and_handles_none_like_stackstorm():
    from st2common.util import schema as util_schema

    schema = {"type": "object", "properties": {
        "size": {"type": "integer", "default": 0},
        "note": {"type": "string"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "count": {"type": "integer", "required": True}}}
    payload = {"size": None, "note": None, "count": 1}
    cleaned = util_schema.validate(payload, schema, allow_default_none=True)
    assert cleaned == {"size": 0, "note": None, "count": 1}
    assert payload == {"size": None, "note": None, "count": 1}
    with pytest.raises(jsonschema.ValidationError, match="None is not one of"):
        util_schema.validate({"kind": None, "count": 1}, schema, allow_default_none=True)
    with pytest.raises(jsonschema.ValidationError, match="None is not of type 'integer'"):
        util_schema.validate({"count": None}, schema, allow_default_none=True)


def test_schema_dialect_rejects_object_level_required_lists():
    from st2common.util import schema as util_schema

    schema = {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}
    with pytest.raises(jsonschema.SchemaError, match="is not of type 'boolean'"):
        util_schema.validate({"path": "/x"}, schema)


def _run_case(case_cls):
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case_cls).run(result)
    return result


def _mini_case(payload):
    sys.path.insert(0, MINI_PACK_SENSORS)
    try:
        from mini_sensor import MiniSensor
    finally:
        sys.path.remove(MINI_PACK_SENSORS)
    from st2tests.base import BaseSensorTestCase

    class MiniCase(BaseSensorTestCase):
        sensor_cls = MiniSensor

        def test_dispatch(self):
            sensor = self.get_sensor_instance()
            sensor.add_trigger({"id": "1", "ref": "mini.0f0e", "type": "mini.thing_seen",
                                "parameters": {"label": "x"}, "pack": "mini", "uid": "u"})
            sensor.to_send = [payload]
            try:
                sensor.poll()
            except AssertionError:
                pass  # a sensor that swallows errors must not hide the failure either
            self.assertTriggerDispatched("mini.0f0e")

    return MiniCase


def test_valid_payload_passes():
    result = _run_case(_mini_case({"name": "a", "size": 3}))
    assert result.wasSuccessful(), result.errors + result.failures


def test_invalid_payload_fails_the_test_naming_the_trigger_type():
    result = _run_case(_mini_case({"size": "big"}))
    assert not result.wasSuccessful()
    text = "".join(str(item[1]) for item in result.errors + result.failures)
    assert "trigger type mini.thing_seen" in text
    assert "'name' is a required property" in text


def test_polling_sensor_base_keeps_interval():
    from st2reactor.sensor.base import PollingSensor

    assert PollingSensor.__init__.__defaults__ == (None, 5)
