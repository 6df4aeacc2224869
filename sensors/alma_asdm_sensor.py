"""Sensor workspaces.AlmaAsdmSensor: trigger ``workspaces.alma_asdm`` for new ALMA execution blocks.

Polls the ALMA execution block view (AQUA_V_EXECBLOCK: QA0STATUS, OBSPROJECTCODE, ENDTIME) for EBs
with a wanted QA0 status that ended after the trigger's high-water mark minus the look-back window,
each with its MOUS through SCHED_BLOCK_STATUS (names from the pack config's schema map). An EB
whose MOUS is not found is dispatched all the same, with ``mous_found: false``.
State per trigger: ``workspaces.AlmaAsdmSensor:state:<trigger ref>``.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.alma_sensors import alma_archive, asdm_query_options
from workspaces_pack.archive import ArchiveError, iso_utc
from workspaces_pack.archive_watch import ArchiveWatch, SensorContext, poll_rows
from workspaces_pack.triggers import WatchingSensorMixin, poll_safely


class AlmaAsdmSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.alma_asdm`` once per new Pass/SemiPass execution block."""

    POLL_INTERVAL_KEY = "alma_asdm_poll_interval_seconds"

    def __init__(self, sensor_service, config=None, poll_interval=3600):
        super(AlmaAsdmSensor, self).__init__(sensor_service=sensor_service, config=config,
                                             poll_interval=poll_interval)
        self._init_watching(self._build_watch)
        self._context = SensorContext(sensor_service, self._logger, self._state, self._watches)

    def _build_watch(self, trigger):
        options = asdm_query_options(trigger.get("parameters"), self.config)
        return ArchiveWatch(float(self._pack_config.get("alma_asdm_lookback_hours")) * 3600,
                            max_entries=int(self._pack_config.get("state_max_entries")),
                            clock=lambda: self.clock(), **options)

    def poll(self):
        """Query the archive once per trigger and dispatch new EBs; never raises."""
        if not len(self._watches):
            return
        poll_safely(self._logger, "saving sensor state", self._state.flush)
        try:
            archive = alma_archive(self.config)
        except ArchiveError as error:
            for ref, _, _ in self._watches.items():
                self._watches.problem(ref, str(error))
            return
        for ref, trigger, watch in self._watches.items():
            def fetch(since, watch=watch):
                return archive.new_execution_blocks(since, watch.options["qa0_statuses"],
                                                    watch.options["project_like"])
            poll_safely(self._logger, "poll of trigger %s" % ref, poll_rows, self._context, ref,
                        watch, fetch, "eb_uid", "end_time", _payload, "alma_asdm")


def _payload(row):
    return {"eb_uid": row["eb_uid"], "project_code": row["project_code"] or "",
            "mous_uid": row["mous_uid"], "mous_found": row["mous_found"],
            "qa0_status": row["qa0_status"], "end_time": iso_utc(row["end_time"])}
