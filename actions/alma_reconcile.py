"""Action workspaces.alma_reconcile: ALMA EBs passed QA0 yet missing from execution_blocks."""

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.flows.alma_reconcile import reconcile


class AlmaReconcileAction(Action):
    """Compare a date range of the ALMA archive with execution_blocks; optionally dispatch."""

    def run(self, **parameters):
        """Run the action; see alma_reconcile.yaml for the parameters."""
        return reconcile(PackConfig(self.config), self.logger, self.action_service, parameters)
