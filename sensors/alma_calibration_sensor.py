"""Sensor workspaces.AlmaCalibrationSensor: ``workspaces.alma_calibration`` per delivered MOUS.

Polls ASA_DELIVERY_STATUS for deliveries dated (``alma_delivery_time_column``) after the
high-water mark minus the look-back window (daily, 2 days by default), reads the MOUS uid and
project code from the delivery name, the EBs from ASA_DELIVERY_ASDM_OUS, and applies NRAO's
calibration rule on ASA_PRODUCT_FILES: calibrateable when a science file exists and no script
whose NGAS file id is LIKE '%scriptFor%Cal%'. A delivery whose name cannot be parsed is logged with
its id and skipped, once.
The trigger type has no parameters, so there is one trigger (``workspaces.alma_calibration``)
and one state key: ``workspaces.AlmaCalibrationSensor:state:workspaces.alma_calibration``.
At its first poll the sensor checks its tables and columns once (``sensing.table_gate``); a mismatch
disables it with one error line naming the table and column.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.archive.alma_queries import alma_archive
from workspaces_pack.archive.engines import ArchiveError
from workspaces_pack.archive.table_checks import ALMA_AREA
from workspaces_pack.core.times import from_epoch, iso_from_datetime
from workspaces_pack.sensing.archive_watch import ArchiveWatch, RowSource, failing_body, poll_rows
from workspaces_pack.sensing.poll_cycle import run_turn
from workspaces_pack.sensing.table_gate import SchemaGate
from workspaces_pack.sensing.watches import WatchingSensorMixin, poll_safely

TRIGGER_REF = "workspaces.alma_calibration"


class AlmaCalibrationSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.alma_calibration`` once per newly delivered MOUS."""

    POLL_INTERVAL_KEY = "alma_calibration_poll_interval_seconds"
    TRIGGER_TYPE = TRIGGER_REF

    def __init__(self, sensor_service, config=None, poll_interval=86400):
        super(AlmaCalibrationSensor, self).__init__(sensor_service=sensor_service, config=config,
                                                    poll_interval=poll_interval)
        self._schema_gate = SchemaGate()
        if self._watch({"ref": TRIGGER_REF, "parameters": {}}) is not None:
            self._schema_gate.note_added(TRIGGER_REF)

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
        watch = self._watches.get(TRIGGER_REF)
        try:
            archive = alma_archive(self._pack_config)
        except ArchiveError as error:
            if watch is not None:
                run_turn(self._context, TRIGGER_REF, watch, failing_body(error))
            return
        if self._schema_gate.pending:
            poll_safely(self._logger, "table check", self._check_tables, archive)
        watch = self._watches.get(TRIGGER_REF)
        if watch is None:
            return  # disabled: its tables do not match the pack config (logged once)
        qa2_values = self._pack_config.get("alma_calibration_qa2_passed_values")

        def fetch(since):
            return archive.delivered_mouses(since, from_epoch(self.clock()), qa2_values)
        source = RowSource(fetch, "delivery_id", "delivered_at", self._payload, "alma_calibration")
        run_turn(self._context, TRIGGER_REF, watch, lambda turn: poll_rows(turn, source))

    def _check_tables(self, archive):
        self._schema_gate.run(self._watches, ALMA_AREA, archive.engine,
                              archive.schema.specs_for("alma_calibration_sensor"))

    def _payload(self, row):
        if not row["eb_uids"]:
            self._logger.warning("delivery %s (MOUS %s) lists no execution blocks; dispatched "
                                 "with eb_count 0", row["delivery_id"], row["mous_uid"])
        return {"mous_uid": row["mous_uid"], "project_code": row["project_code"],
                "calibrateable": row["calibrateable"], "eb_uids": row["eb_uids"],
                "eb_count": len(row["eb_uids"]), "delivery_id": row["delivery_id"],
                "delivery_name": row["delivery_name"],
                "delivered_at": iso_from_datetime(row["delivered_at"])}
