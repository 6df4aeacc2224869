"""The work of action workspaces.alma_reconcile, kept out of the action module."""

import datetime

from workspaces_pack.archive.asdm_parameters import asdm_query_options
from workspaces_pack.archive.engines import ArchiveError, database_engine
from workspaces_pack.archive.reconcile import (MAX_LISTED, MAX_RANGE_DAYS, REQUEST_TTL_SECONDS,
                                               Selection, check_range, compare, make_request)
from workspaces_pack.archive.schema import ALMA, METADATA, schema_map
from workspaces_pack.archive.table_checks import (ALMA_AREA, METADATA_AREA, describe_mismatches,
                                                  table_mismatches)
from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.errors import ParameterError, checked_amount, checked_flag
from workspaces_pack.core.results import action_result, failed_result
from workspaces_pack.core.times import iso_from_datetime, parse_time

__all__ = ["reconcile"]

DISPATCH_NOTE = ("the ASDM sensor dispatches these EBs (source reconcile) at its next poll through "
                 "the enabled workspaces.alma_asdm rules, except those dispatched within "
                 "alma_reconcile_cooldown_hours, then deletes the request; when it cannot "
                 "(reconciliation off), it writes why into the request's key (refused), which "
                 "workspaces.status lists; a request expires after 7 days")


def _range(config, parameters, now):
    end, start, days = (parameters.get(name) for name in ("end", "start", "days"))
    end_time = parse_time(end, "end") if end not in (None, "") else now
    if start not in (None, ""):
        start_time = parse_time(start, "start")
    else:
        days = config.get("alma_reconcile_days") if days is None else days
        days = checked_amount("days", days, "days", MAX_RANGE_DAYS)
        start_time = end_time - datetime.timedelta(days=days)
    check_range(start_time, end_time)
    return start_time, end_time


def reconcile(config, logger, service, parameters, now=None):
    """Compare the ALMA archive with ``execution_blocks`` for a range; return the action's
    ``(ok, result)`` (``core.results``). ``parameters`` are the action's (alma_reconcile.yaml).

    The result lists the EBs missing from ``execution_blocks`` (the first ``MAX_LISTED``; all are
    counted). With ``dispatch`` a request is left in the datastore (``service.set_value``) that
    the ASDM sensor serves at its next poll (``DISPATCH_NOTE``). Before comparing, the tables it
    reads pass the table gate; a database that does not answer is named by the comparison.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    try:
        dispatch = checked_flag("dispatch", parameters.get("dispatch", False))
        start_time, end_time = _range(config, parameters, now)
        options = asdm_query_options(parameters, config)
        engines = {ALMA: database_engine(config, "alma_archive_db_url"),
                   METADATA: database_engine(config, "archive_metadata_db_url")}
        mapping = schema_map(config)
        mismatches = []
        for area, database in ((ALMA_AREA, ALMA), (METADATA_AREA, METADATA)):
            mismatches += table_mismatches(area, engines[database], mapping.specs_for(
                "alma_reconcile", database)) or []
        if mismatches:
            return failed_result(logger, "the archives do not match the pack config: %s"
                                 % describe_mismatches(mismatches),
                                 {"mismatches": [item.to_dict() for item in mismatches]})
        selection = Selection(start_time, end_time, options["qa0_statuses"],
                              options["project_like"], None)
        result = compare(config, engines[ALMA], engines[METADATA], selection, keep=MAX_LISTED)
    except (ParameterError, ConfigError, ArchiveError) as error:
        return failed_result(logger, error)
    missing = [{"eb_uid": row["eb_uid"], "project_code": row["project_code"] or "",
                "mous_uid": row["mous_uid"] or "", "qa0_status": row["qa0_status"],
                "end_time": iso_from_datetime(row["end_time"])} for row in result.missing]
    report = {"start": iso_from_datetime(start_time), "end": iso_from_datetime(end_time),
              "qa0_statuses": options["qa0_statuses"], "checked_count": result.checked,
              "missing_count": result.missing_count, "missing": missing,
              "listed_all": len(missing) == result.missing_count, "dispatch_requested": False}
    logger.info("EBs ended %s .. %s: %d checked, %d missing in execution_blocks",
                report["start"], report["end"], result.checked, result.missing_count)
    if dispatch and result.missing_count:
        key, document = make_request(start_time, end_time, options["qa0_statuses"],
                                     parameters.get("project_code_pattern"))
        try:
            service.set_value(key, document, ttl=REQUEST_TTL_SECONDS, local=False)
        except Exception as error:
            return failed_result(logger, "could not leave the dispatch request in the "
                                 "datastore (%s)" % error, report)
        report.update(dispatch_requested=True, request_key=key, note=DISPATCH_NOTE)
        logger.info("dispatch requested: datastore key %s", key)
    return action_result(True, report)
