"""Action workspaces.mark_asdm_not_calibrateable: block calibration of ALMA ASDMs in the archive."""

from st2common.runners.base_action import Action

from workspaces_pack.core.config import PackConfig
from workspaces_pack.flows.mark_not_calibrateable import mark_not_calibrateable


class MarkAsdmNotCalibrateableAction(Action):
    """Set calibration_status of one EB or all EBs of a MOUS, in one transaction."""

    def run(self, eb_uid=None, eb_uids=None, status=None):
        """Run the action; see mark_asdm_not_calibrateable.yaml for the parameters."""
        return mark_not_calibrateable(PackConfig(self.config), self.logger, eb_uid=eb_uid,
                                      eb_uids=eb_uids, status=status)
