"""Sensor workspaces.VlbaDataSensor: ``workspaces.vlba_data`` when a VLBA project's data is ready.

Scans the configured VLBA data tree (``vlba_data_directory``) for FITS-IDI files with the file
monitor's scanner. The project is the observation code in each file name
(``VLBA_<OBSCODE>_<job>_BIN0_SRC0_<n>_<YYMMDDTHHMMSS>.idifits``), whatever the folder layout (one
folder per project, or ``<mmmyy>/<project>/``): a project's new files, in one folder or several,
are dispatched as one batch once all of them have settled (and its ready marker exists). A file
whose name does not parse is logged once and skipped. The trigger type has no parameters, so the
state key is ``workspaces.VlbaDataSensor:state:workspaces.vlba_data``.
"""

import os
import re

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.core.errors import ParameterError
from workspaces_pack.sensing.poll_cycle import TriggerTurn
from workspaces_pack.sensing.scanner import DirectoryWatch, watch_spec_from_parameters
from workspaces_pack.sensing.watches import WatchingSensorMixin

TRIGGER_REF = "workspaces.vlba_data"
FILE_NAME = re.compile(r"^VLBA_(?P<obs_code>[A-Za-z0-9]+)_(?P<job>.+)_BIN\d+_SRC\d+_"
                       r"(?P<number>\d+)_(?P<time>\d{6}T\d{6})\.\w+$")
CONFIG_KEYS = {"directory": "vlba_data_directory", "pattern": "vlba_file_pattern",
               "settle_seconds": "vlba_settle_seconds", "ready_marker": "vlba_ready_marker"}


class VlbaDataSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.vlba_data`` once per project whose new files are complete."""

    POLL_INTERVAL_KEY = "vlba_poll_interval_seconds"
    TRIGGER_TYPE = TRIGGER_REF
    WATCH_NOUN = "VLBA data tree"

    def __init__(self, sensor_service, config=None, poll_interval=60):
        super(VlbaDataSensor, self).__init__(sensor_service=sensor_service, config=config,
                                             poll_interval=poll_interval)
        self._watch({"ref": TRIGGER_REF, "parameters": {}})

    def _build_watch(self, trigger):
        config = self._pack_config
        try:
            spec = watch_spec_from_parameters(
                {"directory": config.get("vlba_data_directory"),
                 "pattern": config.get("vlba_file_pattern"), "recursive": True,
                 "settle_seconds": config.get("vlba_settle_seconds"),
                 "ready_marker": config.get("vlba_ready_marker") or None},
                group_of=obs_code_of)
        except ParameterError as error:
            key = CONFIG_KEYS.get(error.parameter, error.parameter)
            raise ParameterError(key, "invalid pack config value: %s" % error)
        return DirectoryWatch(spec, max_entries=int(config.get("state_max_entries")),
                              clock=lambda: self.clock(), added_at=self.clock())

    def add_trigger(self, trigger):
        """The trigger type has no parameters: StackStorm's shadow trigger needs nothing."""

    def update_trigger(self, trigger):
        """Nothing to update (no parameters)."""

    def remove_trigger(self, trigger):
        """The sensor keeps scanning: its single trigger is the trigger type itself."""

    def _poll_watches(self):
        """Scan the tree once and dispatch projects whose data is ready."""
        watch = self._watches.get(TRIGGER_REF)
        if watch is None:
            return  # the config is invalid; logged when the sensor started (health: not_watched)
        turn = TriggerTurn(self._context, TRIGGER_REF, watch)
        if not turn.begin():
            return  # its state is unreadable, or held (reported)
        with turn:
            found = watch.poll()
            unparsed = [item for item in found if obs_code_of(item.name) is None]
            for item in unparsed:
                self._logger.warning("VLBA file %s skipped: its name is not VLBA_<OBSCODE>_<job>_"
                                     "BIN<n>_SRC<n>_<n>_<YYMMDDTHHMMSS>.<extension>", item.path)
            watch.mark_reported(unparsed)
            for project, files in self._projects(found):
                folders = sorted(set(item.directory for item in files))
                directory = folders[0] if len(folders) == 1 else os.path.commonpath(folders)
                payload = {"project_code": project, "directory": directory,
                           "directories": folders,
                           "files": [os.path.relpath(item.path, directory) for item in files],
                           "file_count": len(files),
                           "total_bytes": sum(item.size for item in files)}
                if not turn.dispatch(payload, "vlba_data", files[0].path):
                    break
                self._logger.info("VLBA project %s ready: %d file(s), %d bytes", project,
                                  len(files), payload["total_bytes"])
                watch.mark_reported(files)

    @staticmethod
    def _projects(found):
        """Group settled files by observation code, whatever their folders; files stay in order."""
        groups = {}
        for item in found:
            project = obs_code_of(item.name)
            if project is not None:
                groups.setdefault(project, []).append(item)
        return sorted(groups.items())


def obs_code_of(file_name):
    """Return the observation code (upper case) of a VLBA FITS-IDI file name, None if it has none.

    ``VLBA_BL178AC_bl178ac_BIN0_SRC0_0_111228T171125.idifits`` -> ``BL178AC``; the job token
    (``bl178ac``) is free-form and may itself contain ``_``.
    """
    match = FILE_NAME.match(file_name)
    return match.group("obs_code").upper() if match else None
