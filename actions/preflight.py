"""Action workspaces.preflight: check the pack config against the archives, Workspaces, folders."""

from st2common.runners.base_action import Action

from workspaces_pack.flows.preflight import check_directories_parameter, run_preflight


class PreflightAction(Action):
    """Inspect every configured database, service and directory; fail when anything is wrong."""

    def run(self, directories=None):
        """Run the action; see preflight.yaml for the parameters."""
        try:
            extra = [("directory", path) for path in check_directories_parameter(directories)]
        except ValueError as error:
            self.logger.error("%s", error)
            return False, {"error": str(error), "parameter": "directories"}
        report = run_preflight(self.config, directories=extra)
        for line in report.lines():
            self.logger.info("%s", line)
        return report.ok, report.to_dict()
