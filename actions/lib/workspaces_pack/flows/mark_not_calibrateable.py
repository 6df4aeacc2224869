"""The work of action workspaces.mark_asdm_not_calibrateable, kept out of the action module."""

from workspaces_pack.archive.engines import (ArchiveError, SchemaMismatch, UnknownUids,
                                             database_engine)
from workspaces_pack.archive.execution_blocks import MetadataArchive
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.results import action_result, failed_result
from workspaces_pack.core.uids import check_alma_uid

__all__ = ["mark_not_calibrateable", "collect_uids", "MAX_UIDS"]

MAX_UIDS = 5000
MAX_STATUS_LENGTH = 64


def collect_uids(eb_uid=None, eb_uids=None):
    """Return the uids to mark: ``eb_uid`` and ``eb_uids`` together, as given (either form of a
    uid, ``core.uids``), an EB given twice once; raise ``ParameterError`` for a bad input."""
    given = []
    if eb_uid not in (None, ""):
        given.append((eb_uid, check_alma_uid(eb_uid, "eb_uid")))
    if eb_uids is not None:
        if isinstance(eb_uids, str) or not isinstance(eb_uids, (list, tuple)):
            raise ParameterError("eb_uids", "must be a list of ALMA uids, got %r" % (eb_uids,))
        if len(eb_uids) > MAX_UIDS:
            raise ParameterError("eb_uids", "%d uids given, at most %d per run"
                                 % (len(eb_uids), MAX_UIDS))
        given.extend((uid, check_alma_uid(uid, "eb_uids")) for uid in eb_uids)
    if not given:
        raise ParameterError("eb_uid", "give eb_uid or eb_uids: at least one execution block "
                                       "uid")
    first = {}
    for uid, canonical in given:
        first.setdefault(canonical, uid)
    return list(first.values())


def mark_not_calibrateable(config, logger, eb_uid=None, eb_uids=None, status=None):
    """Set the EBs' calibration_status to the not-calibrateable value; return the action's
    ``(ok, result)`` (``core.results``).

    All EBs change in one transaction, or none do; only rows of the ALMA telescope are touched.
    Marking an EB that already has the status succeeds and says so (``changed: false``).
    """
    try:
        uids = collect_uids(eb_uid, eb_uids)
        status = status if status not in (None, "") else \
            config.get("not_calibrateable_status")
        if not isinstance(status, str) or len(status) > MAX_STATUS_LENGTH or not status.strip():
            raise ParameterError("status", "must be a non-empty text of at most %d characters, "
                                           "got %r" % (MAX_STATUS_LENGTH, status))
        archive = MetadataArchive(database_engine(config, "archive_metadata_db_url"),
                                  schema_map(config), config.get("execution_blocks_alma_telescope"))
        marked = archive.mark_calibration_status(uids, status)
    except UnknownUids as error:
        return failed_result(logger, error, {"marked": [], "unknown_uids": error.uids})
    except SchemaMismatch as error:
        return failed_result(logger, error, {
            "marked": [], "mismatch": [str(found) for found in error.findings]})
    except (ParameterError, ConfigError, ArchiveError) as error:
        return failed_result(logger, error, {"marked": []})
    changed = [item for item in marked if item["changed"]]
    for item in marked:
        logger.info("%s: calibration_status %r -> %r%s", item["eb_uid"], item["previous_status"],
                    item["new_status"], "" if item["changed"] else " (already marked)")
    return action_result(True, {"status": status, "marked": marked, "changed_count": len(changed),
                                "already_marked_count": len(marked) - len(changed)})
