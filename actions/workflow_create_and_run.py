"""Action workspaces.workflow_create_and_run: create a workflow request in NRAO Workspaces, attach
files, submit it and optionally await its end."""

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.flows.create_and_run import create_and_run


class WorkflowCreateAndRunAction(Action):
    """Create a workflow request, upload files, submit it and (with wait) follow it to its end."""

    def run(self, workflow_name, **parameters):
        """Run the action; see workflow_create_and_run.yaml for the parameters."""
        return create_and_run("workflow", PackConfig(self.config), self.logger,
                              workflow_name=workflow_name, **parameters)
