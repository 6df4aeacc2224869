"""Action workspaces.status: what every sensor is doing, from its health records."""

import os

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.health_record import heartbeat_seconds
from workspaces_pack.flows.preflight import Scrubber
from workspaces_pack.flows.status import (build_status, check_parameters, read_health_records,
                                          rules_from_st2_api)


class StatusAction(Action):
    """Report every sensor and trigger of the pack; fail while any problem stands."""

    make_client = None
    """st2client's ``Client`` class unless set (tests give a stand-in)."""

    def run(self, sensor=None, problems_only=False):
        """Run the action; see status.yaml for the parameters."""
        try:
            sensor, problems_only = check_parameters(sensor, problems_only)
        except ParameterError as error:
            self.logger.error("%s", error)
            return False, {"ok": False, "error": str(error), "parameter": error.parameter}
        scrubber = Scrubber(self.config)
        try:
            records = read_health_records(self.action_service.list_values)
        except Exception as error:  # the st2 API (datastore) failed: nothing to report on
            reason = scrubber.scrub(" ".join(str(error).split()) or type(error).__name__)
            self.logger.error("cannot read the health records from the datastore: %s", reason)
            return False, {"ok": False, "error": "cannot read the health records from the "
                                                 "datastore: %s" % reason}
        rules = rules_from_st2_api(os.environ, make_client=self.make_client)
        heartbeat = heartbeat_seconds(PackConfig(self.config))
        report = build_status(records, rules, sensor_filter=sensor,
                              problems_only=problems_only, scrubber=scrubber,
                              heartbeat_seconds=heartbeat, config=self.config)
        print("\n".join(report.lines()))
        return report.ok, report.to_dict()
