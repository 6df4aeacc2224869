"""Sensor workspaces.FileMonitorSensor: trigger ``workspaces.file_detected`` for new, settled files.

One ``DirectoryWatch`` per trigger (see ``workspaces_pack.sensing.scanner``); per-trigger state
in the datastore under ``workspaces.FileMonitorSensor:state:<trigger ref>``, health under
``...:health`` and ``...:health:<trigger ref>`` (``sensing.health``). No trigger, no scan.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.sensing.poll_cycle import TriggerTurn
from workspaces_pack.sensing.scanner import DirectoryWatch, watch_spec_from_parameters
from workspaces_pack.sensing.watches import WatchingSensorMixin


class FileMonitorSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.file_detected`` once per new file matching a trigger's pattern."""

    TRIGGER_TYPE = "workspaces.file_detected"

    def __init__(self, sensor_service, config=None, poll_interval=30):
        super(FileMonitorSensor, self).__init__(sensor_service=sensor_service, config=config,
                                                poll_interval=poll_interval)

    def _build_watch(self, trigger):
        spec = watch_spec_from_parameters(trigger.get("parameters"))
        return DirectoryWatch(spec, max_entries=int(self._pack_config.get("state_max_entries")),
                              clock=lambda: self.clock(), added_at=self.clock())

    def _poll_watches(self):
        """Scan every watched directory once and dispatch its new settled files."""
        for ref, watch in self._watches.items():
            turn = TriggerTurn(self._context, ref, watch)
            if not turn.begin():
                continue  # its state is unreadable, or held (reported)
            with turn:
                dispatched = []
                for item in watch.poll():
                    payload = {"path": item.path, "directory": item.directory,
                               "name": item.name, "size": item.size, "mtime": item.mtime,
                               "pattern": watch.spec.pattern}
                    if not turn.dispatch(payload, "file", item.path):
                        break
                    dispatched.append(item)
                if dispatched:
                    self._logger.info("trigger %s: %d new file(s) dispatched", ref,
                                      len(dispatched))
                watch.mark_reported(dispatched)
