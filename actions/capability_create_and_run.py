"""Action workspaces.capability_create_and_run: create, submit and optionally await a capability
request in NRAO Workspaces."""

from st2common.runners.base_action import Action

from workspaces_pack.workspaces_service.create_and_run import action_result


class CapabilityCreateAndRunAction(Action):
    """Create a capability request, submit it and (with wait) follow it to its end."""

    def run(self, capability_name, parameters=None, submit=True, wait=False, wait_timeout=3600,
            poll_interval=10):
        """Run the action; see capability_create_and_run.yaml for the parameters."""
        return action_result("capability", self.config, self.logger,
                             capability_name=capability_name, parameters=parameters,
                             submit=submit, wait=wait, wait_timeout=wait_timeout,
                             poll_interval=poll_interval)
