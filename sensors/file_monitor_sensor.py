"""Sensor workspaces.FileMonitorSensor: trigger ``workspaces.file_detected`` for new, settled files.

One ``DirectoryWatch`` per trigger (see ``workspaces_pack.scanner``); per-trigger state in the
datastore under ``workspaces.FileMonitorSensor:state:<trigger ref>``. No trigger, no work.
"""

import time

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.config import PackConfig
from workspaces_pack.scanner import DirectoryWatch, ScanError, watch_spec_from_parameters
from workspaces_pack.state import DatastoreState, StateTooLarge, StateUnavailable
from workspaces_pack.triggers import TriggerWatches, poll_safely, trace_tag

MAX_REMEMBERED = 1500


class FileMonitorSensor(PollingSensor):
    """Dispatch ``workspaces.file_detected`` once per new file matching a trigger's pattern."""

    def __init__(self, sensor_service, config=None, poll_interval=30):
        super(FileMonitorSensor, self).__init__(sensor_service=sensor_service, config=config,
                                                poll_interval=poll_interval)
        self._logger = sensor_service.get_logger(name=self.__class__.__name__)
        self._pack_config = PackConfig(config)
        self._state = DatastoreState(sensor_service, self._logger)
        self._watches = TriggerWatches(self._logger, self._build_watch)
        self.clock = time.time

    def _build_watch(self, trigger):
        spec = watch_spec_from_parameters(trigger.get("parameters"))
        max_entries = min(int(self._pack_config.get("state_max_entries")), MAX_REMEMBERED)
        return DirectoryWatch(spec, max_entries=max_entries, clock=lambda: self.clock())

    def setup(self):
        """Nothing to prepare: watches are made by add_trigger, which may come first."""

    def cleanup(self):
        """Write state that could not be saved yet, if the datastore answers."""
        self._state.flush()

    def add_trigger(self, trigger):
        """Start watching a trigger's directory (bad parameters are logged, not raised)."""
        self._watches.add(trigger)

    def update_trigger(self, trigger):
        """Apply changed parameters; unchanged ones keep the watch's progress."""
        self._watches.add(trigger)

    def remove_trigger(self, trigger):
        """Stop watching; the trigger's datastore state is kept (see README, Sensor state)."""
        self._watches.remove(trigger)

    def poll(self):
        """Scan every watched directory once and dispatch its new settled files; never raises."""
        if not len(self._watches):
            return
        poll_safely(self._logger, "saving sensor state", self._state.flush)
        for ref, trigger, watch in self._watches.items():
            poll_safely(self._logger, "poll of trigger %s" % ref, self._poll_trigger, ref, watch)

    def _poll_trigger(self, ref, watch):
        if not watch.loaded:
            try:
                watch.load_state(self._state.load(ref))
            except StateUnavailable as error:
                self._watches.problem(ref, "state not readable, poll skipped (%s)" % error)
                return
        try:
            found = watch.poll()
        except ScanError as error:
            self._watches.problem(ref, "%s; will look again next poll" % error)
            return
        self._watches.clear_problem(ref)
        dispatched = []
        for item in found:
            payload = {"path": item.path, "directory": item.directory, "name": item.name,
                       "size": item.size, "mtime": item.mtime, "pattern": watch.spec.pattern}
            try:
                self.sensor_service.dispatch(trigger=ref, payload=payload,
                                             trace_tag=trace_tag("file", item.path))
            except Exception as error:
                self._logger.warning("dispatch of %s for %s failed (%s); retried next poll",
                                     item.path, ref, error)
                break
            dispatched.append(item)
        if dispatched:
            self._logger.info("trigger %s: %d new file(s) dispatched", ref, len(dispatched))
        watch.mark_reported(dispatched)
        if watch.changed:
            try:
                self._state.save(ref, watch.to_state())
            except StateTooLarge as error:
                self._logger.error("trigger %s: %s", ref, error)
            watch.changed = False
