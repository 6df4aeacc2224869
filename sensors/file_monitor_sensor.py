"""Sensor workspaces.FileMonitorSensor: trigger ``workspaces.file_detected`` for new, settled files.

One ``DirectoryWatch`` per trigger (see ``workspaces_pack.sensing.scanner``); per-trigger state
in the datastore under ``workspaces.FileMonitorSensor:state:<trigger ref>``. No trigger, no work.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.sensing.scanner import DirectoryWatch, ScanError, watch_spec_from_parameters
from workspaces_pack.sensing.watches import (WatchingSensorMixin, ensure_state_loaded, poll_safely,
                                             save_state_if_changed, trace_tag)

MAX_REMEMBERED = 1500


class FileMonitorSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.file_detected`` once per new file matching a trigger's pattern."""

    def __init__(self, sensor_service, config=None, poll_interval=30):
        super(FileMonitorSensor, self).__init__(sensor_service=sensor_service, config=config,
                                                poll_interval=poll_interval)
        self._init_watching(self._build_watch)

    def _build_watch(self, trigger):
        spec = watch_spec_from_parameters(trigger.get("parameters"))
        max_entries = min(int(self._pack_config.get("state_max_entries")), MAX_REMEMBERED)
        return DirectoryWatch(spec, max_entries=max_entries, clock=lambda: self.clock())

    def poll(self):
        """Scan every watched directory once and dispatch its new settled files; never raises."""
        if not len(self._watches):
            return
        poll_safely(self._logger, "saving sensor state", self._state.flush)
        for ref, trigger, watch in self._watches.items():
            poll_safely(self._logger, "poll of trigger %s" % ref, self._poll_trigger, ref, watch)

    def _poll_trigger(self, ref, watch):
        if not ensure_state_loaded(self._state, self._watches, ref, watch):
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
        save_state_if_changed(self._state, self._logger, ref, watch)
