"""Action workspaces.preflight: check the pack config against the archives, Workspaces, folders."""

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.results import action_result
from workspaces_pack.flows.preflight import check_directories_parameter, run_preflight


class PreflightAction(Action):
    """Inspect every configured database, service and directory; fail when anything is wrong."""

    def run(self, directories=None):
        """Run the action; see preflight.yaml for the parameters."""
        try:
            extra = [("directory", path) for path in check_directories_parameter(directories)]
        except ParameterError as error:
            self.logger.error("%s", error)
            return action_result(False, error=error)
        report = run_preflight(PackConfig(self.config), directories=extra)
        for line in report.lines():
            self.logger.info("%s", line)
        return action_result(report.ok, report.to_dict(),
                             None if report.ok else report.verdict())
