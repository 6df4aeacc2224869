"""The work of action workspaces.mark_asdm_not_calibrateable, kept out of the action module."""

from workspaces_pack.archive.database import (ArchiveError, MetadataArchive, SchemaMismatch,
                                              UnknownUids, database_engine)
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import ConfigError, PackConfig
from workspaces_pack.core.uids import check_alma_uid

__all__ = ["mark_not_calibrateable", "collect_uids", "MAX_UIDS"]

MAX_UIDS = 5000
MAX_STATUS_LENGTH = 64


def collect_uids(eb_uid=None, eb_uids=None):
    """Return the uids to mark (``eb_uid`` and ``eb_uids`` together, as given, an EB given twice
    in either form once).

    Raises ValueError naming the parameter and the value for a missing, malformed or oversized
    input. A uid may be written ``uid://A002/Xc7111c/X3979`` or ``uid___A002_Xc7111c_X3979``.
    """
    given = []
    if eb_uid not in (None, ""):
        given.append((eb_uid, check_alma_uid(eb_uid, "eb_uid")))
    if eb_uids is not None:
        if isinstance(eb_uids, str) or not isinstance(eb_uids, (list, tuple)):
            raise ValueError("parameter 'eb_uids': must be a list of ALMA uids, got %r"
                             % (eb_uids,))
        if len(eb_uids) > MAX_UIDS:
            raise ValueError("parameter 'eb_uids': %d uids given, at most %d per run"
                             % (len(eb_uids), MAX_UIDS))
        given.extend((uid, check_alma_uid(uid, "eb_uids")) for uid in eb_uids)
    if not given:
        raise ValueError("parameter 'eb_uid' or 'eb_uids': give at least one execution block uid")
    first = {}
    for uid, canonical in given:
        first.setdefault(canonical, uid)
    return list(first.values())


def mark_not_calibrateable(config, logger, eb_uid=None, eb_uids=None, status=None):
    """Set the EBs' calibration_status to the not-calibrateable value; return ``(ok, result)``.

    All EBs change in one transaction, or none do (unknown uid, table or column not as configured,
    database error). Only rows of the ALMA telescope are touched. Marking an EB
    that already has the status succeeds and says so (``changed: false``).
    """
    pack_config = PackConfig(config)
    try:
        uids = collect_uids(eb_uid, eb_uids)
        status = status if status not in (None, "") else \
            pack_config.get("not_calibrateable_status")
        if not isinstance(status, str) or len(status) > MAX_STATUS_LENGTH or not status.strip():
            raise ValueError("parameter 'status': must be a non-empty text of at most %d "
                             "characters, got %r" % (MAX_STATUS_LENGTH, status))
        archive = MetadataArchive(
            database_engine(pack_config, "archive_metadata_db_url"),
            schema_map(pack_config), pack_config.get("execution_blocks_alma_telescope"))
        marked = archive.mark_calibration_status(uids, status)
    except UnknownUids as error:
        logger.error("%s", error)
        return False, {"error": str(error), "unknown_uids": error.uids, "marked": []}
    except SchemaMismatch as error:
        logger.error("%s", error)
        return False, {"error": str(error), "mismatch": [str(f) for f in error.findings],
                       "marked": []}
    except (ValueError, ConfigError, ArchiveError) as error:
        logger.error("%s", error)
        return False, {"error": str(error), "marked": []}
    changed = [item for item in marked if item["changed"]]
    for item in marked:
        logger.info("%s: calibration_status %r -> %r%s", item["eb_uid"], item["previous_status"],
                    item["new_status"], "" if item["changed"] else " (already marked)")
    return True, {"status": status, "marked": marked, "changed_count": len(changed),
                  "already_marked_count": len(marked) - len(changed)}
