"""Stand-in for ``st2tests.mocks.sensor``: a sensor service that records (and checks) dispatches."""

import logging

from st2tests.mocks.datastore import MockDatastoreService
from workspaces_devkit.kvstore import DatastoreMethods

__all__ = ["MockSensorWrapper", "MockSensorService", "TraceContext"]


class TraceContext(object):
    """The trace context attached to a dispatch (``trace_tag`` or ``id_``)."""

    def __init__(self, id_=None, trace_tag=None):
        self.id_ = id_
        self.trace_tag = trace_tag

    def __eq__(self, other):
        return isinstance(other, TraceContext) and \
            (self.id_, self.trace_tag) == (other.id_, other.trace_tag)

    def __repr__(self):
        return "TraceContext(id_=%r, trace_tag=%r)" % (self.id_, self.trace_tag)


class MockSensorWrapper(object):
    """Names the pack and class a sensor service belongs to."""

    def __init__(self, pack, class_name):
        self._pack = pack
        self._class_name = class_name


class MockSensorService(DatastoreMethods):
    """Sensor service for tests: records every dispatch and keeps an in-memory datastore.

    Unlike StackStorm's own mock, when ``trigger_types`` (``{type_ref: spec}``) is given, every
    dispatched payload is validated against its type's ``payload_schema``; a payload StackStorm
    would
    drop is recorded in ``invalid_dispatches`` and raises AssertionError at the dispatch call.
    Parameterised trigger refs are resolved through ``trigger_refs`` (``{ref: type_ref}``).
    """

    def __init__(self, sensor_wrapper, trigger_types=None):
        self._sensor_wrapper = sensor_wrapper
        self._logger = logging.getLogger("sensors.%s" % sensor_wrapper._class_name)
        self.dispatched_triggers = []
        self.invalid_dispatches = []
        self.trigger_types = dict(trigger_types or {})
        self.trigger_refs = {}
        self._datastore_service = MockDatastoreService(
            logger=self._logger, pack_name=sensor_wrapper._pack,
            class_name=sensor_wrapper._class_name)

    # --- triggers -------------------------------------------------------------------------
    def get_logger(self, name):
        """Return a logger for the sensor."""
        return logging.getLogger("sensors.%s" % name)

    def dispatch(self, trigger, payload=None, trace_tag=None):
        """Record a dispatch of ``trigger`` (a trigger ref) with ``payload``."""
        trace_context = TraceContext(trace_tag=trace_tag) if trace_tag else None
        return self.dispatch_with_context(trigger, payload=payload, trace_context=trace_context)

    def dispatch_with_context(self, trigger, payload=None, trace_context=None):
        """Record a dispatch with an explicit trace context, validating the payload."""
        item = {"trigger": trigger, "payload": payload, "trace_context": trace_context}
        self.dispatched_triggers.append(item)
        if self.trigger_types:
            errors = self._validate(trigger, payload)
            if errors:
                self.invalid_dispatches.extend(errors)
                raise AssertionError("; ".join(errors))
        return item

    def _validate(self, trigger, payload):
        from workspaces_devkit.st2meta import payload_errors

        type_ref = self.trigger_refs.get(trigger, trigger)
        spec = self.trigger_types.get(type_ref)
        if spec is None:
            return ["dispatch to %r: not a known trigger ref or trigger type of this sensor "
                    "(known types: %s)" % (trigger, ", ".join(sorted(self.trigger_types)))]
        return payload_errors(type_ref, spec, payload)
