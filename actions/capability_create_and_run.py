"""Action workspaces.capability_create_and_run: create, submit and optionally await a capability
request in NRAO Workspaces."""

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.flows.create_and_run import create_and_run


class CapabilityCreateAndRunAction(Action):
    """Create a capability request, submit it and (with wait) follow it to its end."""

    def run(self, capability_name, **parameters):
        """Run the action; see capability_create_and_run.yaml for the parameters."""
        return create_and_run("capability", PackConfig(self.config), self.logger,
                              capability_name=capability_name, **parameters)
