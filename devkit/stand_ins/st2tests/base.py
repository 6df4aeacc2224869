"""Stand-in for ``st2tests.base``: unittest base classes for pack sensor and action tests."""

import functools
import inspect
import os
import unittest

from st2tests.mocks.action import MockActionService, MockActionWrapper
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

__all__ = ["BaseSensorTestCase", "BaseActionTestCase"]


class BasePackResourceTestCase(unittest.TestCase):
    """Base of the pack test cases: reads the pack's ``tests/fixtures/`` files."""

    def get_fixture_content(self, fixture_path):
        """Return the text of ``tests/fixtures/<fixture_path>`` of the pack holding the test."""
        tests_dir = os.path.dirname(os.path.abspath(inspect.getfile(self.__class__)))
        with open(os.path.join(tests_dir, "fixtures", fixture_path)) as handle:
            return handle.read()


class BaseSensorTestCase(BasePackResourceTestCase):
    """Base for sensor tests: set ``sensor_cls``; use ``get_sensor_instance``.

    The sensor service validates every dispatched payload against the trigger type's payload_schema
    from the sensor's YAML file, and the test fails if any dispatch was invalid.
    """

    sensor_cls = None

    def setUp(self):
        super(BaseSensorTestCase, self).setUp()
        from workspaces_devkit.st2meta import trigger_types_for_sensor_class

        class_name = self.sensor_cls.__name__
        sensor_wrapper = MockSensorWrapper(pack="tests", class_name=class_name)
        self.sensor_service = MockSensorService(
            sensor_wrapper=sensor_wrapper,
            trigger_types=trigger_types_for_sensor_class(self.sensor_cls))
        self.addCleanup(self._fail_on_invalid_dispatches)

    def _fail_on_invalid_dispatches(self):
        if self.sensor_service.invalid_dispatches:
            problems = "; ".join(self.sensor_service.invalid_dispatches)
            raise AssertionError("invalid trigger payloads were dispatched: %s" % problems)

    def get_sensor_instance(self, config=None, poll_interval=None):
        """Return a new instance of ``sensor_cls`` bound to this test's sensor service."""
        kwargs = {"sensor_service": self.sensor_service}
        if config:
            kwargs["config"] = config
        if poll_interval is not None:
            kwargs["poll_interval"] = poll_interval
        instance = self.sensor_cls(**kwargs)
        self._learn_trigger_refs(instance)
        return instance

    def _learn_trigger_refs(self, instance):
        """Remember which trigger ref belongs to which type as add/update_trigger are called."""
        service = self.sensor_service
        for method_name in ("add_trigger", "update_trigger"):
            original = getattr(instance, method_name)

            @functools.wraps(original)
            def recording(trigger, _original=original):
                if isinstance(trigger, dict) and trigger.get("ref") and trigger.get("type"):
                    service.trigger_refs[trigger["ref"]] = trigger["type"]
                return _original(trigger)

            setattr(instance, method_name, recording)

    def get_dispatched_triggers(self):
        """Return the list of dispatches: dicts with ``trigger``, ``payload``, ``trace_context``."""
        return self.sensor_service.dispatched_triggers

    def get_last_dispatched_trigger(self):
        """Return the most recent dispatch."""
        return self.sensor_service.dispatched_triggers[-1]

    def assertTriggerDispatched(self, trigger, payload=None, trace_context=None):
        """Assert that ``trigger`` was dispatched (with that payload/trace context).

        As in StackStorm, a falsy ``payload`` (``{}``) or ``trace_context`` matches anything.
        """
        for item in self.get_dispatched_triggers():
            if item["trigger"] == trigger and (not payload or item["payload"] == payload) and \
                    (not trace_context or item["trace_context"] == trace_context):
                return True
        raise AssertionError('Trigger "%s" hasn\'t been dispatched' % (trigger,))


class BaseActionTestCase(BasePackResourceTestCase):
    """Base for action tests: set ``action_cls``; use ``get_action_instance``."""

    action_cls = None

    def setUp(self):
        super(BaseActionTestCase, self).setUp()
        class_name = self.action_cls.__name__
        action_wrapper = MockActionWrapper(pack="tests", class_name=class_name)
        self.action_service = MockActionService(action_wrapper=action_wrapper)

    def get_action_instance(self, config=None):
        """Return a new instance of ``action_cls`` with ``config`` and the action service."""
        return self.action_cls(config=config or {}, action_service=self.action_service)
