"""Reconciliation: ALMA execution blocks that passed QA0 but are missing from NRAO's archive.

NRAO ran a separate daily job for this; here the ASDM sensor runs it (``reconcile_schedule``) and
the action ``workspaces.alma_reconcile`` runs it on demand. Both compare, for a range of EB end
times, the Pass/SemiPass EBs of the ALMA archive (``AQUA_V_EXECBLOCK``, MOUS through
``SCHED_BLOCK_STATUS``) with the EBs present in ``execution_blocks`` (matched through
``execution_blocks_uid_column`` in either uid form, telescope ALMA only). The two live in different
databases, so the comparison runs in Python, in chunks: ALMA rows are streamed ``IN_CHUNK`` at a
time and each chunk is looked up with one IN list of at most 1000 values (both uid forms), so
memory stays bounded whatever the range.

An action cannot dispatch a trigger: with ``dispatch: true`` it leaves a request in the datastore
(``core.keys.REQUEST_PREFIX`` + id, a small JSON document naming the range and filters) that the
ASDM sensor serves at its next poll through the same trigger and rules.
"""

import datetime
import json
import time
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.database import IN_CHUNK, AlmaArchive, database_engine, run_checked
from workspaces_pack.archive.schema import ALMA, METADATA, schema_map
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.keys import REQUEST_PREFIX
from workspaces_pack.core.times import from_epoch, to_epoch
from workspaces_pack.core.uids import file_safe_uid

__all__ = ["SOURCE_NEW", "SOURCE_RECONCILE", "MAX_LISTED",
           "Comparison", "compare", "range_statement", "present_statement",
           "make_request", "parse_request", "metadata_engine", "check_range", "MAX_RANGE_DAYS"]

SOURCE_NEW = "new"
SOURCE_RECONCILE = "reconcile"
MAX_LISTED = 1000
"""Most missing EBs an action result lists (all are counted)."""
MAX_RANGE_DAYS = 3660


class Comparison(object):
    """What one comparison found: EBs checked, how many are missing, and the first ``keep``."""

    def __init__(self, start, end, keep=None):
        self.start = start
        self.end = end
        self.keep = keep
        self.checked = 0
        self.missing_count = 0
        self.missing = []

    def add_missing(self, row):
        """Count a missing EB; keep it while fewer than ``keep`` are kept (return True then)."""
        self.missing_count += 1
        if self.keep is None or len(self.missing) < self.keep:
            self.missing.append(row)
            return True
        return False


def range_statement(mapping, start, end, qa0_statuses, project_like=None):
    """SELECT of EBs with a wanted QA0 status that ended in ``[start, end)``, oldest first.

    The ASDM sensor's own statement (``AlmaArchive.execution_blocks_statement``, with each EB's
    scheduling block uid) with an upper bound ``ended_before``.
    """
    eb = mapping.table("execblock")
    base = AlmaArchive(None, mapping).execution_blocks_statement(start, qa0_statuses,
                                                                 project_like)
    return base.where(eb.c.end_time < sa.bindparam("ended_before", end, type_=sa.DateTime))


def present_statement(mapping, forms, telescope):
    """SELECT of the uid column of the ``execution_blocks`` rows among ``forms`` (at most 1000
    values) of ``telescope``."""
    table = mapping.table("execution_blocks")
    return (sa.select(table.c.eb_uid.label("eb_uid"))
            .where(table.c.eb_uid.in_(sa.bindparam("forms", list(forms), expanding=True)))
            .where(table.c.telescope == sa.bindparam("telescope", telescope)))


def metadata_engine(config):
    """Return the engine of ``archive_metadata_db_url``; raise ``NotConfigured`` when unset."""
    return database_engine(config, "archive_metadata_db_url", "the reconciliation needs it to "
                           "know which EBs NRAO's archive has")


def compare(config, alma_engine, meta_engine, start, end, qa0_statuses, project_like=None,
            keep=None, row_filter=None):
    """Compare the ALMA EBs ended in ``[start, end)`` with ``execution_blocks``.

    Returns a ``Comparison``; its ``missing`` rows are dicts shaped like the ASDM sensor's
    (eb_uid, project_code, mous_uid ("" when not found), mous_found, qa0_status, end_time), in
    end-time order. ``row_filter(row)`` may drop rows before they are looked up. Raises
    ``ArchiveUnavailable``, or ``SchemaMismatch`` naming a configured table or column the
    database lacks; the message names the database that failed.
    """
    config = config if isinstance(config, PackConfig) else PackConfig(config)
    mapping = schema_map(config)
    telescope = config.get("execution_blocks_alma_telescope")
    statement = range_statement(mapping, start, end, list(qa0_statuses), project_like)
    result = Comparison(start, end, keep)
    meta_specs = mapping.specs_for("alma_reconcile", METADATA)

    def lookup_present(meta, chunk):
        forms = {}
        for item in chunk:
            forms[item["eb_uid"]] = item["eb_uid"]
            forms[file_safe_uid(item["eb_uid"])] = item["eb_uid"]

        def lookup(connection):
            found = connection.execute(present_statement(mapping, sorted(forms), telescope))
            return set(forms[value] for value in found.scalars() if value in forms)
        try:
            if meta is None:
                raise sa_exc.InvalidRequestError("no metadata connection")
            return lookup(meta)
        except sa_exc.SQLAlchemyError:
            # Asked again on a fresh connection by the archive layer's runner: it answers, or
            # fails naming the metadata database (and a configured column it lacks).
            return run_checked(meta_engine, lookup, meta_specs, "archive metadata")

    def scan(connection, lookups, meta):
        rows = connection.execution_options(yield_per=IN_CHUNK).execute(statement)
        previous = None
        for partition in rows.partitions(IN_CHUNK):
            chunk = []
            for row in partition:
                if row.eb_uid == previous:
                    continue
                previous = row.eb_uid
                item = {"eb_uid": row.eb_uid, "project_code": row.project_code or "",
                        "qa0_status": row.qa0_status, "end_time": row.end_time,
                        "sched_block_uid": row.sched_block_uid}
                if row_filter is None or row_filter(item):
                    chunk.append(item)
            if not chunk:
                continue
            present = lookup_present(meta, chunk)
            missing = []
            for item in chunk:
                result.checked += 1
                if item["eb_uid"] not in present:
                    missing.append(item)
            kept = [item for item in missing if result.add_missing(item)]
            if kept:
                archive.add_mouses(lookups, kept)

    def run(connection):
        # A second ALMA connection for the MOUS lookups (the first one streams), and one
        # metadata connection for the whole comparison.
        with alma_engine.connect() as lookups:
            try:
                meta = meta_engine.connect()
            except sa_exc.SQLAlchemyError:
                meta = None
            try:
                scan(connection, lookups, meta)
            finally:
                if meta is not None:
                    meta.close()
        return result
    archive = AlmaArchive(alma_engine, mapping)
    alma_specs = mapping.specs_for("alma_reconcile", ALMA)
    return run_checked(alma_engine, run, alma_specs, "ALMA")


def check_range(start, end):
    """Raise ``ParameterError`` unless ``start`` < ``end`` and the range is at most
    ``MAX_RANGE_DAYS``."""
    if start >= end:
        raise ParameterError("start", "%s is not before end %s"
                             % (start.isoformat(), end.isoformat()))
    if end - start > datetime.timedelta(days=MAX_RANGE_DAYS):
        raise ParameterError("start", "the range is longer than %d days" % MAX_RANGE_DAYS)


def make_request(start, end, qa0_statuses, project_code_pattern=None, clock=time.time):
    """Return ``(datastore key, JSON text)`` of an on-demand dispatch request."""
    key = "%s%d-%s" % (REQUEST_PREFIX, int(clock()), uuid.uuid4().hex[:8])
    document = {"start": to_epoch(start), "end": to_epoch(end),
                "qa0_statuses": list(qa0_statuses), "requested_at": clock()}
    if project_code_pattern:
        document["project_code_pattern"] = project_code_pattern
    return key, json.dumps(document, sort_keys=True)


def parse_request(text):
    """Return ``{"start", "end" (datetimes), "qa0_statuses", "project_code_pattern"}``.

    Raises ValueError for a document that is not a request.
    """
    try:
        document = json.loads(text)
        start, end = from_epoch(float(document["start"])), from_epoch(float(document["end"]))
        statuses = document["qa0_statuses"]
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ValueError("not a reconciliation request")
    if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
        raise ValueError("qa0_statuses of the request is not a list of names")
    check_range(start, end)
    return {"start": start, "end": end, "qa0_statuses": statuses,
            "project_code_pattern": document.get("project_code_pattern")}
