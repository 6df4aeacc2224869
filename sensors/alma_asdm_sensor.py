"""Sensor workspaces.AlmaAsdmSensor: trigger ``workspaces.alma_asdm`` for new ALMA execution blocks.

Polls the ALMA execution block view (AQUA_V_EXECBLOCK: QA0STATUS, OBSPROJECTCODE, ENDTIME) for EBs
with a wanted QA0 status that ended after the trigger's high-water mark minus the look-back window,
each with its MOUS through SCHED_BLOCK_STATUS (names from the pack config's schema map). An EB
whose MOUS is not found is dispatched all the same, with ``mous_found: false``.
State per trigger: ``workspaces.AlmaAsdmSensor:state:<trigger ref>``.

Also reconciles (``workspaces_pack.sensing.reconcile_schedule``): once a day, and when the action
``workspaces.alma_reconcile`` asks, EBs missing from ``execution_blocks`` are dispatched with
``source: reconcile``; memory per trigger in ``workspaces.AlmaAsdmSensor:reconcile:<trigger ref>``.
When a trigger is added, its tables and columns are checked once (``archive_watch.ArchiveGate``); a
mismatch disables the trigger with one error line naming the table and column.
"""

import workspaces_lib_path  # noqa: F401  (puts actions/lib on sys.path)
from st2reactor.sensor.base import PollingSensor

from workspaces_pack.archive.asdm_parameters import asdm_query_options
from workspaces_pack.archive.reconcile import SOURCE_NEW
from workspaces_pack.core.keys import RECONCILE_PREFIX, STATE_PREFIX
from workspaces_pack.core.times import iso_from_datetime
from workspaces_pack.sensing.archive_watch import (ArchiveGate, ArchiveWatch, RowShape,
                                                  dispatch_new_rows)
from workspaces_pack.sensing.poll_cycle import TriggerTurn
from workspaces_pack.sensing.reconcile_schedule import AlmaReconciler
from workspaces_pack.sensing.watches import WatchingSensorMixin, poll_step, trigger_ref

EB_ROWS = RowShape(tag="alma_asdm", id_key="eb_uid", time_key="end_time")


class AlmaAsdmSensor(WatchingSensorMixin, PollingSensor):
    """Dispatch ``workspaces.alma_asdm`` once per new Pass/SemiPass execution block."""

    POLL_INTERVAL_KEY = "alma_asdm_poll_interval_seconds"
    TRIGGER_TYPE = "workspaces.alma_asdm"
    STATE_PREFIXES = (STATE_PREFIX, RECONCILE_PREFIX)

    def __init__(self, sensor_service, config=None, poll_interval=3600):
        super(AlmaAsdmSensor, self).__init__(sensor_service=sensor_service, config=config,
                                             poll_interval=poll_interval)
        self._reconciler = AlmaReconciler(sensor_service, self._logger, self._pack_config,
                                          lambda: self.clock())
        self._archive = ArchiveGate(self._pack_config, "alma_asdm_sensor")

    def _build_watch(self, trigger):
        options = asdm_query_options(trigger.get("parameters"), self._pack_config)
        return ArchiveWatch(float(self._pack_config.get("alma_asdm_lookback_hours")) * 3600,
                            max_entries=int(self._pack_config.get("state_max_entries")),
                            clock=lambda: self.clock(), **options)

    def add_trigger(self, trigger):
        """Watch a rule's trigger; its tables are checked once at the next poll."""
        if self._watch(trigger) is not None:
            self._archive.note_added(trigger_ref(trigger))

    def update_trigger(self, trigger):
        """Apply changed parameters (checked again like a new trigger)."""
        self.add_trigger(trigger)

    def remove_trigger(self, trigger):
        """Stop watching; its state and reconciliation memory are kept 7 days, then deleted."""
        self._watches.remove(trigger)
        self._reconciler.forget(trigger_ref(trigger))

    def cleanup(self):
        """Write state that could not be saved yet, if the datastore answers."""
        super(AlmaAsdmSensor, self).cleanup()
        self._reconciler.flush()

    def _poll_watches(self):
        """Query the archive once per trigger, dispatch new EBs, reconcile."""
        if not len(self._watches):
            return
        with poll_step(self._logger, "saving reconciliation memory"):
            self._reconciler.flush()
        archive = self._archive.open(self._context)
        if archive is None:
            return  # every trigger's turn failed with why
        for ref, watch in self._watches.items():
            turn = TriggerTurn(self._context, ref, watch)
            if not turn.begin():
                continue  # its state is unreadable, or held (reported)
            with turn:
                rows = archive.new_execution_blocks(watch.since(), watch.options["qa0_statuses"],
                                                    watch.options["project_like"])
                sent = dispatch_new_rows(turn, rows, EB_ROWS, _payload)
                if sent:
                    self._reconciler.note_dispatched(ref, sent)
        with poll_step(self._logger, "reconciliation"):
            self._reconciler.poll(self._context, archive, _payload)


def _payload(row):
    return {"eb_uid": row["eb_uid"], "project_code": row["project_code"] or "",
            "mous_uid": row["mous_uid"], "mous_found": row["mous_found"],
            "qa0_status": row["qa0_status"], "end_time": iso_from_datetime(row["end_time"]),
            "source": SOURCE_NEW}
