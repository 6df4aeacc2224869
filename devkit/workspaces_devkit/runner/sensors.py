"""Host the pack's sensors as StackStorm's sensor container does, in threads of one process.

Each sensor gets its triggers through ``add_trigger`` BEFORE ``setup()`` (StackStorm's trigger
watcher starts first), then polls every ``poll_interval`` seconds. As in StackStorm an exception
out of ``poll()`` kills the sensor; it is respawned at most twice.
"""

import hashlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import uuid

from workspaces_devkit.kvstore import DatastoreMethods, LocalDatastoreService

#: The runner's own log (``workspaces-local -v`` shows it): one line per finished poll.
LOG = logging.getLogger(__name__)

__all__ = ["LocalSensorService", "SensorHost", "triggers_for_sensor", "MAX_RESPAWNS"]

MAX_RESPAWNS = 2
_LOADS = iter(range(1, 10 ** 9))


class LocalSensorService(DatastoreMethods):
    """The ``sensor_service`` a sensor gets: dispatch to the runner, datastore, loggers."""

    def __init__(self, pack_ref, class_name, store, on_dispatch):
        self._class_name = class_name
        self._on_dispatch = on_dispatch
        self._logger = logging.getLogger("sensors.%s" % class_name)
        self._datastore_service = LocalDatastoreService(self._logger, pack_ref, class_name,
                                                        store)

    def get_logger(self, name):
        """Return a logger for the sensor."""
        return logging.getLogger("sensors.%s" % name)

    def dispatch(self, trigger, payload=None, trace_tag=None):
        """Hand a trigger instance to the runner."""
        self._on_dispatch(trigger, payload, trace_tag, self._class_name)

    def dispatch_with_context(self, trigger, payload=None, trace_context=None):
        """Hand a trigger instance with a trace context to the runner."""
        self.dispatch(trigger, payload, getattr(trace_context, "trace_tag", None))


def _trigger_name_key(type_ref, parameters):
    """The digest of a trigger's parameters and the datastore key of its stable name."""
    digest = hashlib.md5(json.dumps(parameters, sort_keys=True).encode()).hexdigest()
    return digest, "runner.trigger_name:%s:%s" % (type_ref, digest)


def _parameterised(spec):
    return bool((spec.get("parameters_schema") or {}).get("properties"))


def rule_trigger_ref(pack, rule, store):
    """The ref of the trigger the sensors got for ``rule`` (a ``RuleSpec``), as
    ``triggers_for_sensor`` names it; None when no sensor has been given that trigger yet."""
    trigger = rule.raw.get("trigger") or {}
    if not _parameterised(pack.trigger_types().get(trigger.get("type")) or {}):
        return trigger.get("type")
    name = store.get(_trigger_name_key(trigger.get("type"), trigger["parameters"])[1]) \
        if trigger.get("parameters") else None
    return "%s.%s" % (pack.ref, name) if name else None


def triggers_for_sensor(pack, sensor, store):
    """Return the trigger dicts StackStorm would pass to ``add_trigger`` for this sensor.

    A trigger type without parameters gets its shadow trigger (ref == type ref, parameters {}); a
    parameterised type gets one trigger per distinct parameter set used by the pack's rules, with a
    ``<pack>.<uuid>`` ref kept stable across runs in the datastore.
    """
    triggers = []
    for spec in sensor.trigger_types:
        type_ref = spec["ref"]
        if not _parameterised(spec):
            triggers.append({"id": hashlib.md5(type_ref.encode()).hexdigest()[:24],
                             "uid": "trigger:%s:%s" % (pack.ref, spec["name"]), "ref": type_ref,
                             "name": spec["name"], "pack": pack.ref, "type": type_ref,
                             "parameters": {}})
            continue
        seen = set()
        for rule in pack.rules:
            trigger = rule.raw.get("trigger") or {}
            params = trigger.get("parameters")
            if trigger.get("type") != type_ref or not params:
                continue
            digest, key = _trigger_name_key(type_ref, params)
            if digest in seen:
                continue
            seen.add(digest)
            name = store.get(key)
            if not name:
                name = str(uuid.uuid4())
                store.set(key, name)
            triggers.append({"id": digest[:24], "ref": "%s.%s" % (pack.ref, name),
                             "uid": "trigger:%s:%s:%s" % (pack.ref, name, digest), "name": name,
                             "pack": pack.ref, "type": type_ref, "parameters": params})
    return triggers


_IMPORT_LOCK = threading.Lock()


def load_sensor_class(sensor, forget_modules=()):
    """Load the sensor class from its file, fresh each call, after dropping ``forget_modules``
    from ``sys.modules`` (under a lock, so no other sensor thread imports meanwhile)."""
    with _IMPORT_LOCK:
        for name in forget_modules:
            sys.modules.pop(name, None)
        directory = os.path.dirname(sensor.entry_point)
        if directory not in sys.path:
            sys.path.append(directory)
        name = "%s_local%d" % (os.path.splitext(os.path.basename(sensor.entry_point))[0],
                               next(_LOADS))
        spec = importlib.util.spec_from_file_location(name, sensor.entry_point)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, sensor.class_name)


class SensorHost(object):
    """Runs one sensor: instantiate, add triggers, setup, poll loop, respawn, reload."""

    def __init__(self, pack, sensor, config, store, on_dispatch, on_event,
                 poll_interval=None):
        self.pack = pack
        self.sensor = sensor
        self.config = config
        self.store = store
        self.on_dispatch = on_dispatch
        self.on_event = on_event
        self.poll_interval = poll_interval or sensor.poll_interval or 5
        self.triggers = []
        self.instance = None
        self.respawns = 0
        self.polls = 0
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._triggers_changed = threading.Event()
        self._forget_modules = ()
        self._thread = None

    @property
    def name(self):
        """The sensor's class name."""
        return self.sensor.class_name

    def _start_instance(self):
        forget, self._forget_modules = self._forget_modules, ()
        cls = load_sensor_class(self.sensor, forget)
        service = LocalSensorService(self.pack.ref, self.name, self.store, self.on_dispatch)
        instance = cls(sensor_service=service, config=self.config,
                       poll_interval=self.poll_interval)
        self.triggers = triggers_for_sensor(self.pack, self.sensor, self.store)
        for trigger in self.triggers:
            instance.add_trigger(dict(trigger))
        instance.setup()
        self.instance = instance

    def start(self):
        """Start the sensor in a background thread."""
        self._thread = threading.Thread(target=self._run, name="sensor-%s" % self.name,
                                        daemon=True)
        self._thread.start()

    def triggers_changed(self):
        """The pack's rules changed: before its next poll the sensor gets ``add_trigger`` and
        ``remove_trigger`` calls, as from StackStorm's trigger watcher."""
        self._triggers_changed.set()

    def _sync_triggers(self):
        self._triggers_changed.clear()
        wanted = triggers_for_sensor(self.pack, self.sensor, self.store)
        have = {trigger["ref"]: trigger for trigger in self.triggers}
        want = {trigger["ref"]: trigger for trigger in wanted}
        for ref in [ref for ref in have if ref not in want]:
            self.instance.remove_trigger(dict(have[ref]))
            self.on_event("sensor", "%s: trigger %s removed (no rule uses %s any more)" % (
                self.name, ref, json.dumps(have[ref]["parameters"], sort_keys=True)))
        for ref in [ref for ref in want if ref not in have]:
            self.instance.add_trigger(dict(want[ref]))
            self.on_event("sensor", "%s: trigger %s added %s" % (
                self.name, ref, json.dumps(want[ref]["parameters"], sort_keys=True)))
        self.triggers = wanted

    def reload(self, forget_modules=()):
        """Ask the sensor to reload its code (and re-import ``forget_modules``) before its next
        poll."""
        self._forget_modules = tuple(self._forget_modules) + tuple(forget_modules)
        self._reload.set()

    def stop(self, timeout=5):
        """Stop polling and run the sensor's cleanup."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.instance is not None:
            try:
                self.instance.cleanup()
            except Exception as error:  # cleanup problems must not block the runner's exit
                self.on_event("sensor", "%s cleanup failed: %s" % (self.name, error))

    def _run(self):
        while not self._stop.is_set():
            try:
                if self._reload.is_set() or self.instance is None:
                    reloading = self.instance is not None
                    if reloading:
                        self.instance.cleanup()
                    self._reload.clear()
                    self._start_instance()
                    self.on_event("sensor", "%s %s (%d trigger%s)" % (
                        self.name, "reloaded" if reloading else "started", len(self.triggers),
                        "" if len(self.triggers) == 1 else "s"))
                elif self._triggers_changed.is_set():
                    self._sync_triggers()
                self.instance.poll()
                self.polls += 1
                LOG.info("%s: poll %d done", self.name, self.polls)
            except Exception as error:
                if self.respawns >= MAX_RESPAWNS:
                    self.on_event("sensor", "%s died: %s; not respawned again (StackStorm "
                                  "respawns at most %d times)" % (self.name, error, MAX_RESPAWNS))
                    return
                self.respawns += 1
                self.instance = None
                self.on_event("sensor", "%s crashed: %s; respawn %d of %d" % (
                    self.name, error, self.respawns, MAX_RESPAWNS))
                continue
            deadline = time.time() + self.poll_interval
            while time.time() < deadline and not self._stop.is_set() and \
                    not self._reload.is_set() and not self._triggers_changed.is_set():
                time.sleep(min(0.1, self.poll_interval))
