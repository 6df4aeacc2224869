"""The parameters of trigger ``workspaces.alma_asdm``, checked: what the ASDM sensor (and the
action ``workspaces.alma_reconcile``) queries."""

import re

from workspaces_pack.core.errors import ParameterError

__all__ = ["QA0_STATUSES", "asdm_query_options"]

QA0_STATUSES = ("Pass", "SemiPass", "Fail", "Pending", "Unset")
_PROJECT_GLOB = re.compile(r"^[A-Za-z0-9.*?_-]{1,64}$")
# A glob (*, ?) as a LIKE pattern with \ as the escape character
_GLOB_TO_LIKE = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\", "*": "%", "?": "_"})


def asdm_query_options(parameters, config):
    """Return the query options of ``workspaces.alma_asdm`` trigger ``parameters``:
    ``project_code_pattern`` a glob over project codes (letters, digits, ``.-_*?``),
    ``qa0_statuses`` a non-empty list from ``QA0_STATUSES`` (default: ``config``'s
    ``alma_asdm_qa0_statuses``). Raises ``ParameterError`` naming a bad one."""
    parameters = parameters or {}
    pattern = parameters.get("project_code_pattern")
    like = None
    if pattern not in (None, "", "*"):
        if not isinstance(pattern, str) or not _PROJECT_GLOB.match(pattern):
            raise ParameterError("project_code_pattern",
                                 "must be a glob of letters, digits, '.', '-', '_', '*', '?' "
                                 "(at most 64), got %r" % (pattern,))
        like = pattern.translate(_GLOB_TO_LIKE)
    statuses = parameters.get("qa0_statuses")
    if statuses is None:
        statuses = config.get("alma_asdm_qa0_statuses")
    if not isinstance(statuses, list) or not statuses:
        raise ParameterError("qa0_statuses", "must be a non-empty list, got %r" % (statuses,))
    unknown = [status for status in statuses if status not in QA0_STATUSES]
    if unknown:
        raise ParameterError("qa0_statuses", "unknown QA0 status(es) %r; allowed: %s"
                             % (unknown, ", ".join(QA0_STATUSES)))
    return {"project_like": like, "qa0_statuses": list(statuses)}
