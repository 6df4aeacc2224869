"""Action workspaces.workflow_create_and_run: create a workflow request in NRAO Workspaces, attach
files, submit it and optionally await its end."""

from st2common.runners.base_action import Action

from workspaces_pack.workspaces_service.create_and_run import action_result


class WorkflowCreateAndRunAction(Action):
    """Create a workflow request, upload files, submit it and (with wait) follow it to its end."""

    def run(self, workflow_name, arguments=None, files=None, submit=True, wait=False,
            wait_timeout=3600, poll_interval=10):
        """Run the action; see workflow_create_and_run.yaml for the parameters."""
        return action_result("workflow", self.config, self.logger, workflow_name=workflow_name,
                             arguments=arguments, files=files, submit=submit, wait=wait,
                             wait_timeout=wait_timeout, poll_interval=poll_interval)
