"""Action workspaces.alma_reconcile: ALMA EBs passed QA0 yet missing from execution_blocks."""

from st2common.runners.base_action import Action

from workspaces_pack.flows.alma_reconcile import reconcile


class AlmaReconcileAction(Action):
    """Compare a date range of the ALMA archive with execution_blocks; optionally dispatch."""

    def run(self, start=None, end=None, days=None, qa0_statuses=None, project_code_pattern=None,
            dispatch=False):
        """Run the action; see alma_reconcile.yaml for the parameters."""
        return reconcile(self.config, self.logger, self.action_service, {
            "start": start, "end": end, "days": days, "qa0_statuses": qa0_statuses,
            "project_code_pattern": project_code_pattern, "dispatch": dispatch})
