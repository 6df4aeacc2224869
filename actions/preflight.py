"""Action workspaces.preflight: check the pack config against the archives, Workspaces, folders."""

from st2common.runners.base_action import Action

from workspaces_pack.preflight import run_preflight


class PreflightAction(Action):
    """Inspect every configured database, service and directory; fail when anything is wrong."""

    def run(self, directories=None):
        """Run the action; see preflight.yaml for the parameters."""
        extra = [("directory", path) for path in (directories or [])]
        report = run_preflight(self.config, directories=extra)
        for line in report.lines():
            self.logger.info("%s", line)
        return report.ok, report.to_dict()
