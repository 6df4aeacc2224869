"""Sensor workspaces.AlmaCalibrationSensor: ``workspaces.alma_calibration`` per delivered MOUS.

Polls ASA_DELIVERY_STATUS for deliveries dated (``alma_delivery_time_column``) after the
high-water mark minus the look-back window (daily, 2 days by default), reads the MOUS uid and
project code from the delivery name, the EBs from ASA_DELIVERY_ASDM_OUS, and applies NRAO's
calibration rule on ASA_PRODUCT_FILES: calibrateable when a science file exists and no script
whose NGAS file id is LIKE '%scriptFor%Cal%'. A delivery whose name cannot be parsed is logged with
its id and skipped, once.
The trigger type has no parameters, so there is one trigger (``workspaces.alma_calibration``)
and one state key: ``workspaces.AlmaCalibrationSensor:state:workspaces.alma_calibration``.
At its first poll it checks its tables and columns once (``sensing.archive_watch.ArchiveGate``): a
mismatch disables it with one error line naming the table and column.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.core.times import from_epoch, iso_from_datetime
from workspaces_pack.sensing.archive_watch import (ArchiveGate, ArchiveWatch, RowShape,
                                                  dispatch_new_rows)
from workspaces_pack.sensing.poll_cycle import TriggerTurn
from workspaces_pack.sensing.watches import WatchingSensorMixin

TRIGGER_REF = "workspaces.alma_calibration"
DELIVERY_ROWS = RowShape(tag="alma_calibration", id_key="delivery_id", time_key="delivered_at")


class AlmaCalibrationSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.alma_calibration`` once per newly delivered MOUS."""

    POLL_INTERVAL_KEY = "alma_calibration_poll_interval_seconds"
    TRIGGER_TYPE = TRIGGER_REF

    def __init__(self, sensor_service, config=None, poll_interval=86400):
        super(AlmaCalibrationSensor, self).__init__(sensor_service=sensor_service, config=config,
                                                    poll_interval=poll_interval)
        self._archive = ArchiveGate(self._pack_config, "alma_calibration_sensor")
        if self._watch({"ref": TRIGGER_REF, "parameters": {}}) is not None:
            self._archive.note_added(TRIGGER_REF)

    def _build_watch(self, trigger):
        hours = float(self._pack_config.get("alma_calibration_lookback_hours"))
        return ArchiveWatch(hours * 3600,
                            max_entries=int(self._pack_config.get("state_max_entries")),
                            clock=lambda: self.clock())

    def add_trigger(self, trigger):
        """The trigger type has no parameters: StackStorm's shadow trigger needs nothing."""

    def update_trigger(self, trigger):
        """Nothing to update (no parameters)."""

    def remove_trigger(self, trigger):
        """The sensor keeps polling: its single trigger is the trigger type itself."""

    def _poll_watches(self):
        """Query the deliveries once and dispatch new ones."""
        archive = self._archive.open(self._context)
        watch = self._watches.get(TRIGGER_REF)
        if archive is None or watch is None:
            return  # failed with why, or disabled: its tables do not match (logged once)
        turn = TriggerTurn(self._context, TRIGGER_REF, watch)
        if not turn.begin():
            return  # its state is unreadable, or held (reported)
        with turn:
            rows = archive.delivered_mouses(
                watch.since(), from_epoch(self.clock()),
                self._pack_config.get("alma_calibration_qa2_passed_values"))
            dispatch_new_rows(turn, rows, DELIVERY_ROWS, self._payload)

    def _payload(self, row):
        if not row["eb_uids"]:
            self._logger.warning("delivery %s (MOUS %s) lists no execution blocks; dispatched "
                                 "with eb_count 0", row["delivery_id"], row["mous_uid"])
        return {"mous_uid": row["mous_uid"], "project_code": row["project_code"],
                "calibrateable": row["calibrateable"], "eb_uids": row["eb_uids"],
                "eb_count": len(row["eb_uids"]), "delivery_id": row["delivery_id"],
                "delivery_name": row["delivery_name"],
                "delivered_at": iso_from_datetime(row["delivered_at"])}
