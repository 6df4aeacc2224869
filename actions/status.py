"""Action workspaces.status: what every sensor is doing, from its health records."""

import os

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.health_record import heartbeat_seconds
from workspaces_pack.core.results import action_result
from workspaces_pack.core.scrub import Scrubber
from workspaces_pack.flows.status import (build_status, check_parameters, read_health_records,
                                          rules_from_st2_api)


class StatusAction(Action):
    """Report every sensor and trigger of the pack; fail while any problem stands."""

    make_client = None
    """st2client's ``Client`` class unless set (tests give a stand-in)."""

    def run(self, sensor=None, problems_only=False):
        """Run the action; see status.yaml for the parameters."""
        try:
            query = check_parameters(sensor, problems_only)
        except ParameterError as error:
            self.logger.error("%s", error)
            return action_result(False, error=error)
        config = PackConfig(self.config)
        scrubber = Scrubber(config)
        try:
            records = read_health_records(self.action_service.list_values)
        except Exception as error:  # the st2 API (datastore) failed: nothing to report on
            reason = scrubber.scrub(" ".join(str(error).split()) or type(error).__name__)
            error = "cannot read the health records from the datastore: %s" % reason
            self.logger.error("%s", error)
            return action_result(False, error=error)
        rules = rules_from_st2_api(os.environ, make_client=self.make_client)
        report = build_status(records, rules, scrubber, heartbeat_seconds(config), query,
                              config=config)
        print("\n".join(report.lines()))
        return action_result(report.ok, report.to_dict(),
                             None if report.ok else report.verdict())
