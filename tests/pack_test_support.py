"""Helpers for the pack's tests that must work under the stand-ins AND under st2-run-pack-tests.

``SchemaCheckedSensorTestCase`` validates every dispatched payload against its trigger type's
payload_schema (StackStorm's own test mocks do not; StackStorm itself drops invalid payloads), and
checks that dispatches use a registered trigger ref, not the bare trigger type.
"""

import os
import uuid

from st2tests.base import BaseSensorTestCase

from workspaces_devkit.st2meta import payload_errors, trigger_types_for_sensor_class

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_trigger(trigger_type, parameters=None, pack="workspaces"):
    """Return a trigger dict shaped like the ones StackStorm passes to ``add_trigger``."""
    name = str(uuid.uuid4())
    ref = "%s.%s" % (pack, name)
    return {
        "id": uuid.uuid4().hex[:24],
        "name": name,
        "ref": ref,
        "uid": "trigger:%s:%s:%s" % (pack, name, uuid.uuid4().hex[:8]),
        "type": trigger_type if "." in trigger_type else "%s.%s" % (pack, trigger_type),
        "pack": pack,
        "parameters": dict(parameters or {}),
    }


class SchemaCheckedSensorTestCase(BaseSensorTestCase):
    """BaseSensorTestCase whose dispatched payloads are always checked against the sensor's YAML."""

    def setUp(self):
        super(SchemaCheckedSensorTestCase, self).setUp()
        self._trigger_types = trigger_types_for_sensor_class(self.sensor_cls)
        self._known_refs = {}
        self.addCleanup(self.assert_dispatches_valid)

    def add_trigger(self, sensor, trigger_type, parameters=None):
        """Make a trigger, register it with ``sensor`` as StackStorm would, and return it."""
        trigger = make_trigger(trigger_type, parameters)
        self._known_refs[trigger["ref"]] = trigger["type"]
        sensor.add_trigger(trigger)
        return trigger

    def assert_dispatches_valid(self):
        """Fail when any dispatch used an unknown ref or a payload that breaks its schema."""
        problems = []
        for item in BaseSensorTestCase.get_dispatched_triggers(self):
            type_ref = self._known_refs.get(item["trigger"])
            if type_ref is None:
                problems.append("dispatch to %r, which is not a registered trigger ref"
                                % (item["trigger"],))
                continue
            problems.extend(payload_errors(type_ref, self._trigger_types[type_ref],
                                           item["payload"]))
        if problems:
            raise AssertionError("; ".join(problems))

    def get_dispatched_triggers(self):
        """Return dispatches after checking each one against its trigger type."""
        self.assert_dispatches_valid()
        return BaseSensorTestCase.get_dispatched_triggers(self)

    def payloads(self, trigger=None):
        """Return the dispatched payloads, optionally only those of one trigger dict or ref."""
        ref = trigger["ref"] if isinstance(trigger, dict) else trigger
        return [item["payload"] for item in self.get_dispatched_triggers()
                if ref is None or item["trigger"] == ref]
