"""Reconciliation: ALMA execution blocks that passed QA0 but are missing from NRAO's archive.

The ASDM sensor (``sensing.reconcile_schedule``) and the action ``workspaces.alma_reconcile``
compare, for a range of EB end times, the EBs of the ALMA archive with those present in
``execution_blocks`` (in either uid form, telescope ALMA only). The two live in different
databases, so the comparison runs in Python, streaming the ALMA rows ``IN_CHUNK`` at a time, one
IN list per chunk: memory stays bounded whatever the range. An action cannot dispatch a trigger:
it leaves a request in the datastore (``core.keys.REQUEST_PREFIX``) for the sensor's next poll.
"""

import collections
import datetime
import fnmatch
import json
import time
import uuid

import sqlalchemy as sa

from workspaces_pack.archive.alma_queries import AlmaArchive
from workspaces_pack.archive.engines import IN_CHUNK, run_checked
from workspaces_pack.archive.schema import ALMA, METADATA, schema_map
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.keys import REQUEST_PREFIX
from workspaces_pack.core.times import from_epoch, iso_from_epoch, to_epoch
from workspaces_pack.core.uids import file_safe_uid

__all__ = ["REQUEST_TTL_SECONDS", "SOURCE_NEW", "SOURCE_RECONCILE", "MAX_LISTED", "Selection",
           "Comparison", "compare", "range_statement", "present_statement", "make_request",
           "parse_request", "refuse_request", "check_range", "MAX_RANGE_DAYS"]

REQUEST_TTL_SECONDS = 7 * 24 * 3600
"""A request nobody serves (no ``workspaces.alma_asdm`` rule enabled), or refused, expires."""
SOURCE_NEW = "new"
SOURCE_RECONCILE = "reconcile"
MAX_LISTED = 1000
"""Most missing EBs an action result lists (all are counted)."""
MAX_RANGE_DAYS = 3660

Selection = collections.namedtuple("Selection",
                                   "start end qa0_statuses project_like project_pattern")
Selection.__doc__ = """The EBs a comparison reads: ended in ``[start, end)`` (naive-UTC datetimes)
with a QA0 status in ``qa0_statuses``, a project code ``LIKE project_like`` (SQL, None: any) and
matching the glob ``project_pattern`` (None: any)."""


def range_statement(mapping, start, end, qa0_statuses, project_like=None):
    """The ASDM sensor's SELECT of EBs with an upper bound: ended in ``[start, end)``."""
    eb = mapping.table("execblock")
    base = AlmaArchive(None, mapping).execution_blocks_statement(start, qa0_statuses,
                                                                 project_like)
    return base.where(eb.c.end_time < sa.bindparam("ended_before", end, type_=sa.DateTime))


def present_statement(mapping, forms, telescope):
    """SELECT of the ``execution_blocks`` uids among ``forms`` (at most 1000) of ``telescope``."""
    table = mapping.table("execution_blocks")
    return (sa.select(table.c.eb_uid.label("eb_uid"))
            .where(table.c.eb_uid.in_(sa.bindparam("forms", list(forms), expanding=True)))
            .where(table.c.telescope == sa.bindparam("telescope", telescope)))


def compare(config, alma_engine, meta_engine, selection, keep):
    """Return the ``Comparison`` of ``selection``: its ``missing`` rows are shaped like the ASDM
    sensor's, in end-time order. Raises ``ArchiveUnavailable``, or ``SchemaMismatch``."""
    comparison = Comparison(config, meta_engine, selection, keep)
    return run_checked(alma_engine, comparison.run,
                       comparison.mapping.specs_for("alma_reconcile", ALMA), "ALMA")


class Comparison(object):
    """Counts the EBs ``checked`` and ``missing_count``, keeps the first ``keep`` (``missing``)."""

    def __init__(self, config, meta_engine, selection, keep):
        self.mapping = schema_map(config)
        self.telescope = config.get("execution_blocks_alma_telescope")
        self.meta_engine = meta_engine
        self.selection = selection
        self.keep = keep
        self.checked = 0
        self.missing_count = 0
        self.missing = []
        self._previous_uid = None

    def run(self, connection):
        """Compare on ALMA ``connection`` (the MOUS lookups use a second one); return self."""
        chosen = self.selection
        statement = range_statement(self.mapping, chosen.start, chosen.end,
                                    list(chosen.qa0_statuses), chosen.project_like)
        with connection.engine.connect() as lookups:
            rows = connection.execution_options(yield_per=IN_CHUNK).execute(statement)
            for partition in rows.partitions(IN_CHUNK):
                missing = self._missing(self._selected(partition))
                self.missing_count += len(missing)
                kept = missing[:self.keep - len(self.missing)]
                AlmaArchive(None, self.mapping).add_mouses(lookups, kept)
                self.missing.extend(kept)
        return self

    def _selected(self, partition):
        """The EBs of ``partition`` (a row per scheduling block), each once, as dicts; those of
        the selection's ``project_pattern``."""
        pattern = self.selection.project_pattern
        chunk = []
        for row in partition:
            if row.eb_uid != self._previous_uid and (
                    pattern is None or fnmatch.fnmatchcase(row.project_code or "", pattern)):
                chunk.append(dict(row._mapping, project_code=row.project_code or ""))
            self._previous_uid = row.eb_uid
        return chunk

    def _missing(self, chunk):
        """The EBs of ``chunk`` that ``execution_blocks`` lacks in either uid form."""
        if not chunk:
            return []
        forms = {}
        for item in chunk:
            forms[item["eb_uid"]] = forms[file_safe_uid(item["eb_uid"])] = item["eb_uid"]
        statement = present_statement(self.mapping, sorted(forms), self.telescope)

        def present(connection):
            return set(forms[value] for value in connection.execute(statement).scalars()
                       if value in forms)
        found = run_checked(self.meta_engine, present,
                            self.mapping.specs_for("alma_reconcile", METADATA), "archive metadata")
        self.checked += len(chunk)
        return [item for item in chunk if item["eb_uid"] not in found]


def check_range(start, end):
    """Raise ``ParameterError`` unless ``start`` < ``end`` within ``MAX_RANGE_DAYS``."""
    if start >= end:
        raise ParameterError("start", "%s is not before end %s"
                             % (start.isoformat(), end.isoformat()))
    if end - start > datetime.timedelta(days=MAX_RANGE_DAYS):
        raise ParameterError("start", "the range is longer than %d days" % MAX_RANGE_DAYS)


def make_request(start, end, qa0_statuses, project_code_pattern=None, clock=time.time):
    """Return ``(datastore key, JSON text)`` of a dispatch request."""
    key = "%s%d-%s" % (REQUEST_PREFIX, int(clock()), uuid.uuid4().hex[:8])
    document = {"start": to_epoch(start), "end": to_epoch(end),
                "qa0_statuses": list(qa0_statuses), "requested_at": clock()}
    if project_code_pattern:
        document["project_code_pattern"] = project_code_pattern
    return key, json.dumps(document, sort_keys=True)


def parse_request(text):
    """Return the request's fields (``refused``: the sensor's reason, None while unanswered);
    ValueError for a document that is not a request."""
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
            "project_code_pattern": document.get("project_code_pattern"),
            "requested_at": document.get("requested_at"), "refused": document.get("refused")}


def refuse_request(text, reason, now):
    """Request ``text`` with ``refused`` (why) and ``refused_at`` (``now``, ISO-8601 UTC)."""
    document = json.loads(text)
    document.update(refused=reason, refused_at=iso_from_epoch(now))
    return json.dumps(document, sort_keys=True)
