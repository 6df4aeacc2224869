"""What the two ALMA sensors share: the archive handle from config and trigger parameter checks."""

import re

from workspaces_pack.archive.database import (AlmaArchive, ArchiveError, database_engine,
                                              glob_to_like)
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import ConfigError, PackConfig
from workspaces_pack.core.errors import ParameterError

__all__ = ["QA0_STATUSES", "alma_archive", "asdm_query_options"]

QA0_STATUSES = ("Pass", "SemiPass", "Fail", "Pending", "Unset")
_PROJECT_GLOB = re.compile(r"^[A-Za-z0-9.*?_-]{1,64}$")


def alma_archive(config):
    """Return an ``AlmaArchive`` for the configured database and schema map; raise
    ``ArchiveError`` when the URL is unset or a configured name is malformed."""
    config = PackConfig(config)
    engine = database_engine(config, "alma_archive_db_url", "the ALMA sensors stay idle")
    try:
        mapping = schema_map(config)
    except ConfigError as error:
        raise ArchiveError(str(error))
    return AlmaArchive(engine, mapping)


def asdm_query_options(parameters, config):
    """Validate ``workspaces.alma_asdm`` trigger parameters; return the query options.

    ``project_code_pattern``: a glob over project codes (letters, digits, ``.``, ``-``, ``_``,
    ``*``, ``?``); ``qa0_statuses``: a non-empty list from ``QA0_STATUSES``, defaulting to the
    pack config's ``alma_asdm_qa0_statuses``.
    """
    parameters = parameters or {}
    pattern = parameters.get("project_code_pattern")
    like = None
    if pattern not in (None, "", "*"):
        if not isinstance(pattern, str) or not _PROJECT_GLOB.match(pattern):
            raise ParameterError("project_code_pattern",
                                 "must be a glob of letters, digits, '.', '-', '_', '*', '?' "
                                 "(at most 64), got %r" % (pattern,))
        like = glob_to_like(pattern)
    statuses = parameters.get("qa0_statuses")
    if statuses is None:
        statuses = PackConfig(config).get("alma_asdm_qa0_statuses")
    if not isinstance(statuses, list) or not statuses:
        raise ParameterError("qa0_statuses", "must be a non-empty list, got %r" % (statuses,))
    unknown = [status for status in statuses if status not in QA0_STATUSES]
    if unknown:
        raise ParameterError("qa0_statuses", "unknown QA0 status(es) %r; allowed: %s"
                             % (unknown, ", ".join(QA0_STATUSES)))
    return {"project_like": like, "qa0_statuses": list(statuses)}
