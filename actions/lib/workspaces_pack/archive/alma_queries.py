"""The ALMA archive's reads (SQLAlchemy Core): new execution blocks and delivered MOUSes."""

import time

import sqlalchemy as sa

from workspaces_pack.archive.engines import (ArchiveError, chunks, database_engine, expanding,
                                             run_checked)
from workspaces_pack.archive.schema import labelled, schema_map
from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.times import from_epoch
from workspaces_pack.core.uids import parse_delivery_name

__all__ = ["AlmaArchive", "alma_archive", "MANUAL_CALIBRATION_SCRIPT"]

MANUAL_CALIBRATION_SCRIPT = "%scriptFor%Cal%"
"""NRAO's test for a manual calibration script, as published (NGAS file ids carry prefixes)."""


def alma_archive(config):
    """Return the ``AlmaArchive`` the ALMA sensors and the reconciliation query through: the
    engine of ``alma_archive_db_url`` with the schema map of ``config`` (a ``PackConfig``). Raises
    ``ArchiveError`` when the URL is unset or a configured name is malformed."""
    engine = database_engine(config, "alma_archive_db_url")
    try:
        mapping = schema_map(config)
    except ConfigError as error:
        raise ArchiveError(str(error))
    return AlmaArchive(engine, mapping)


def _time(name, value):
    return sa.bindparam(name, value, type_=sa.DateTime)


class AlmaArchive(object):
    """Read-only queries on the ALMA archive (names from the schema map)."""

    def __init__(self, engine, mapping):
        self.engine = engine
        self.schema = mapping

    def execution_blocks_statement(self, since, qa0_statuses, project_like=None):
        """Return the SELECT of EBs that ended at or after ``since`` with a wanted QA0 status
        (with their scheduling block uid; the MOUS comes from ``mous_statement``)."""
        eb = self.schema.table("execblock")
        query = (sa.select(*labelled(eb, "eb_uid", "project_code", "qa0_status", "end_time",
                                     "sched_block_uid"))
                 .where(eb.c.end_time >= _time("since", since))
                 .where(eb.c.qa0_status.in_(expanding("statuses", qa0_statuses)))
                 .order_by(eb.c.end_time, eb.c.eb_uid))
        if project_like is not None:
            query = query.where(eb.c.project_code.like(project_like, escape="\\"))
        return query

    def mous_statement(self, sched_block_uids):
        """Return the SELECT of the MOUS uid of each of ``sched_block_uids`` (at most
        ``IN_CHUNK``) from the scheduling block status table."""
        sbs = self.schema.table("sched_block_status")
        return (sa.select(*labelled(sbs, "sched_block_uid", "mous_uid"))
                .where(sbs.c.sched_block_uid.in_(expanding("blocks", sched_block_uids))))

    def add_mouses(self, connection, items):
        """Give each EB of ``items`` its MOUS, looked up by its scheduling block: replace each
        item's ``sched_block_uid`` by ``mous_uid`` ("" when not found) and ``mous_found``."""
        items = list(items)
        blocks = sorted(set(item["sched_block_uid"] for item in items if item["sched_block_uid"]))
        mouses = {}
        for chunk in chunks(blocks):
            for row in connection.execute(self.mous_statement(chunk)):
                if row.mous_uid:
                    mouses.setdefault(row.sched_block_uid, row.mous_uid)
        for item in items:
            mous = mouses.get(item.pop("sched_block_uid"))
            item.update(mous_uid=mous or "", mous_found=mous is not None)

    def new_execution_blocks(self, since, qa0_statuses, project_like=None):
        """Return EBs ended at or after ``since`` (naive UTC), oldest first, each once: dicts of
        eb_uid, project_code, mous_uid ("" when not found), mous_found, qa0_status, end_time.

        The MOUS is looked up in a second, indexed query (a left join in Python): in one
        statement PostgreSQL's planner hash-joined the whole scheduling block table.
        """
        statement = self.execution_blocks_statement(since, qa0_statuses, project_like)

        def query(connection):
            found = {}
            for row in connection.execute(statement):
                if row.eb_uid not in found:
                    found[row.eb_uid] = dict(row._mapping, project_code=row.project_code or "")
            self.add_mouses(connection, found.values())
            return list(found.values())
        return run_checked(self.engine, query, self.schema.specs_for("alma_asdm_sensor"), "ALMA")

    def delivered_mouses(self, since, until=None, qa2_values=("Y",)):
        """Return deliveries dated from ``since`` to ``until`` (default now), oldest first: dicts
        of delivery_id, delivery_name, delivered_at and, parsed from the name, project_code and
        mous_uid; calibrateable (NRAO's rule: a science product file and no manual calibration
        script) and eb_uids (sorted, possibly empty). A name that cannot be parsed gives
        ``skip_reason`` instead of those keys."""
        until = until if until is not None else from_epoch(time.time())
        delivery = self.schema.table("delivery")
        statement = (sa.select(*labelled(delivery, "delivery_id", "delivery_name", "delivered_at"))
                     .where(delivery.c.delivered_at >= _time("since", since))
                     .where(delivery.c.delivered_at <= _time("until", until))
                     .order_by(delivery.c.delivered_at, delivery.c.delivery_id))
        if qa2_values:
            statement = statement.where(delivery.c.qa2_passed.in_(expanding("qa2", qa2_values)))

        def query(connection):
            deliveries = []
            for row in connection.execute(statement):
                delivery_id = row.delivery_id if row.delivery_id is not None \
                    else row.delivery_name
                item = dict(row._mapping, delivery_id=str(delivery_id))
                try:
                    item["project_code"], item["mous_uid"] = parse_delivery_name(
                        row.delivery_name)
                except ValueError as error:
                    item["skip_reason"] = str(error)
                deliveries.append(item)
            parsed = [item for item in deliveries if "skip_reason" not in item]
            self._add_calibrateable(connection, parsed)
            self._add_eb_uids(connection, parsed)
            return deliveries
        specs = self.schema.specs_for("alma_calibration_sensor")
        return run_checked(self.engine, query, specs, "ALMA")

    def _add_calibrateable(self, connection, deliveries):
        files = self.schema.table("product_files")
        with_science, with_manual_script = set(), set()
        for chunk in chunks(sorted(set(item["mous_uid"] for item in deliveries))):
            mouses = sa.select(files.c.mous_uid.label("mous_uid")).distinct().where(
                files.c.mous_uid.in_(expanding("mouses", chunk)))
            science = mouses.where(files.c.file_class == "science")
            manual = (mouses.where(files.c.file_class == "script")
                      .where(files.c.ngas_file_id.like(MANUAL_CALIBRATION_SCRIPT)))
            with_science.update(row.mous_uid for row in connection.execute(science))
            with_manual_script.update(row.mous_uid for row in connection.execute(manual))
        for item in deliveries:
            mous = item["mous_uid"]
            item["calibrateable"] = mous in with_science and mous not in with_manual_script

    def _add_eb_uids(self, connection, deliveries):
        # Public sources differ on whether the deliverable name holds the delivery's id or its
        # name: both are looked up (a delivery id never equals another delivery's name).
        link = self.schema.table("delivery_asdm")
        by_key = {}
        for item in deliveries:
            item["eb_uids"] = []
            for key in (item["delivery_id"], item["delivery_name"]):
                by_key.setdefault(key, []).append(item)
        for chunk in chunks(sorted(by_key)):
            statement = (sa.select(*labelled(link, "deliverable_name", "asdm_uid"))
                         .where(link.c.deliverable_name.in_(expanding("names", chunk))))
            for row in connection.execute(statement):
                for item in by_key.get(row.deliverable_name, ()):
                    if row.asdm_uid and row.asdm_uid not in item["eb_uids"]:
                        item["eb_uids"].append(row.asdm_uid)
        for item in deliveries:
            item["eb_uids"].sort()
