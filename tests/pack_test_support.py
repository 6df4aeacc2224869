"""Helpers for the pack's tests that must work under the stand-ins AND under st2-run-pack-tests.

``SchemaCheckedSensorTestCase`` validates every dispatched payload against its trigger type's
payload_schema (StackStorm's own test mocks do not; StackStorm itself drops invalid payloads), and
checks that dispatches use a registered trigger ref, not the bare trigger type.
"""

import copy
import logging
import os
import uuid

from st2tests.base import BaseSensorTestCase

from workspaces_devkit.st2meta import payload_errors, trigger_types_for_sensor_class

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBLEM_TRIGGER = "workspaces.sensor_problem"


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
        # StackStorm's MockSensorService hands out a Mock logger; a real logger lets tests read
        # what an operator would see in the sensor log (assertLogs), under any harness.
        self.sensor_service.get_logger = lambda name: logging.getLogger("sensors." + name)
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
        dispatched = BaseSensorTestCase.get_dispatched_triggers(self)
        checked = getattr(self, "_checked_dispatches", 0)
        self._checked_dispatches = len(dispatched)
        for item in dispatched[checked:]:
            type_ref = self._known_refs.get(item["trigger"]) or self._shadow_ref(item["trigger"])
            if type_ref is None:
                problems.append("dispatch to %r, which is not a registered trigger ref"
                                % (item["trigger"],))
                continue
            problems.extend(payload_errors(type_ref, self._trigger_types[type_ref],
                                           item["payload"]))
        if problems:
            raise AssertionError("; ".join(problems))

    def _shadow_ref(self, ref):
        """A trigger type without parameters is dispatched by its own ref: StackStorm registers a
        shadow trigger of the same ref for it (st2common/services/triggers.py
        ``create_shadow_trigger``)."""
        spec = self._trigger_types.get(ref)
        if spec is not None and not spec.get("parameters_schema"):
            return ref
        return None

    def get_dispatched_triggers(self):
        """Return dispatches after checking each one against its trigger type."""
        self.assert_dispatches_valid()
        return BaseSensorTestCase.get_dispatched_triggers(self)

    def payloads(self, trigger=None):
        """Return the dispatched payloads, optionally only those of one trigger dict or ref.

        Without a trigger: every payload but the ``workspaces.sensor_problem`` ones (``problems``).
        """
        ref = trigger["ref"] if isinstance(trigger, dict) else trigger
        return [item["payload"] for item in self.get_dispatched_triggers()
                if item["trigger"] == ref or
                (ref is None and item["trigger"] != PROBLEM_TRIGGER)]

    def problems(self):
        """Return the ``workspaces.sensor_problem`` payloads dispatched so far, in order."""
        return self.payloads(PROBLEM_TRIGGER)


class DatastoreOutage(object):
    """Simulate a st2 API outage on a sensor or action service, under any test harness.

    While active, ``get_value`` returns None and ``delete_value`` False (StackStorm swallows
    the error in both), and ``set_value`` and ``list_values`` raise ``ConnectionError``
    (tests/test_parity_datastore.py holds StackStorm's own service to this). Works with
    StackStorm's mocks and with the stand-ins, by replacing the service's methods on the
    instance. Usable as a context manager or with ``start()``/``stop()``. ``calls`` counts
    datastore calls made meanwhile.
    """

    METHODS = ("get_value", "set_value", "list_values", "delete_value")

    def __init__(self, service, get_returns_none=True, lists_fail=True, writes_fail=True):
        self.service = service
        self.get_returns_none = get_returns_none
        self.lists_fail = lists_fail
        self.writes_fail = writes_fail
        self.calls = 0
        self._originals = {}

    def _fail(self, name):
        def replacement(*args, **kwargs):
            self.calls += 1
            if name == "get_value" and self.get_returns_none:
                return None
            if name == "delete_value" and self.writes_fail:
                return False
            if (name == "list_values" and self.lists_fail) or \
                    (name == "set_value" and self.writes_fail):
                raise ConnectionError("st2 API unavailable (simulated outage)")
            return self._originals[name](*args, **kwargs)
        return replacement

    def start(self):
        """Begin the outage."""
        for name in self.METHODS:
            self._originals[name] = getattr(self.service, name)
            setattr(self.service, name, self._fail(name))
        return self

    def stop(self):
        """End the outage; the service's own methods answer again."""
        for name, method in self._originals.items():
            setattr(self.service, name, method)
        self._originals = {}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class CountingDatastore(object):
    """Count datastore calls made through a service (wraps the methods on the instance)."""

    def __init__(self, service):
        self.service = service
        self.counts = dict((name, 0) for name in DatastoreOutage.METHODS)
        for name in DatastoreOutage.METHODS:
            setattr(service, name, self._counted(name, getattr(service, name)))

    def _counted(self, name, method):
        def counted(*args, **kwargs):
            self.counts[name] += 1
            return method(*args, **kwargs)
        return counted

    def total(self):
        """Return the number of calls so far."""
        return sum(self.counts.values())

    def reset(self):
        """Set every count back to zero."""
        for name in self.counts:
            self.counts[name] = 0


def workspaces_config(url, **extra):
    """Return a pack config pointing both Workspaces services at ``url`` (an emulator)."""
    config = {"capability_service_url": url, "workflow_service_url": url,
              "connect_timeout_seconds": 2, "read_timeout_seconds": 5, "retry_count": 3,
              "retry_backoff_seconds": 0.01}
    config.update(extra)
    return config


def closed_port_url():
    """Return an http URL on loopback where nothing listens (connection refused)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


def stackstorm_trigger_parameters_refusal(trigger_type, parameters):
    """The text StackStorm's rule API answers (400) for refused trigger parameters.

    st2api's rules controller (v3.9.0 st2api/controllers/v1/rules.py, post and put) aborts with
    ``six.text_type(e)`` of the jsonschema error that ``validate_trigger_parameters``
    (st2common/validators/api/reactor.py) raises from ``util_schema.validate``: this function.
    """
    from jsonschema import ValidationError
    from st2common.util import schema as util_schema

    from workspaces_devkit.content import load_pack

    pack_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    schema = load_pack(pack_dir).trigger_types()[trigger_type]["parameters_schema"]
    try:
        util_schema.validate(copy.deepcopy(parameters), schema, util_schema.CustomValidator,
                             use_default=True, allow_default_none=True)
    except ValidationError as error:
        return str(error)
    raise AssertionError("the schema of %s accepts %r" % (trigger_type, parameters))
