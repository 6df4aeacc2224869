"""The ALMA archive's reads (SQLAlchemy Core): new execution blocks and delivered MOUSes.

``alma_archive(config)`` is the handle the ALMA sensors and the reconciliation query through: the
configured database's engine (``engines.database_engine``) with the schema map (every table and
column name from the pack config, ``archive/schema.py``).
"""

import time

import sqlalchemy as sa

from workspaces_pack.archive.engines import (ArchiveError, chunks, database_engine, expanding,
                                             run_checked)
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.times import from_epoch
from workspaces_pack.core.uids import parse_delivery_name

__all__ = ["AlmaArchive", "alma_archive", "MANUAL_CALIBRATION_SCRIPT"]

MANUAL_CALIBRATION_SCRIPT = "%scriptFor%Cal%"
"""NRAO's test for a manual calibration script, as published (NGAS file ids carry prefixes)."""


def alma_archive(config):
    """Return the ``AlmaArchive`` of ``config`` (a ``PackConfig``); raise ``ArchiveError`` when
    the URL is unset or a configured name is malformed."""
    engine = database_engine(config, "alma_archive_db_url")
    try:
        mapping = schema_map(config)
    except ConfigError as error:
        raise ArchiveError(str(error))
    return AlmaArchive(engine, mapping)


class AlmaArchive(object):
    """Read-only queries on the ALMA archive used by the ALMA sensors (names from the schema map).
    """

    def __init__(self, engine, mapping):
        self.engine = engine
        self.schema = mapping

    def execution_blocks_statement(self, since, qa0_statuses, project_like=None):
        """Return the SELECT of EBs that ended at or after ``since`` with a wanted QA0 status
        (with their scheduling block uid; the MOUS comes from ``mous_statement``)."""
        eb = self.schema.table("execblock")
        query = (sa.select(eb.c.eb_uid.label("eb_uid"),
                           eb.c.project_code.label("project_code"),
                           eb.c.qa0_status.label("qa0_status"),
                           eb.c.end_time.label("end_time"),
                           eb.c.sched_block_uid.label("sched_block_uid"))
                 .where(eb.c.end_time >= sa.bindparam("since", since, type_=sa.DateTime))
                 .where(eb.c.qa0_status.in_(expanding("statuses", qa0_statuses)))
                 .order_by(eb.c.end_time, eb.c.eb_uid))
        if project_like is not None:
            query = query.where(eb.c.project_code.like(project_like, escape="\\"))
        return query

    def mous_statement(self, sched_block_uids):
        """Return the SELECT of the MOUS uid of each of ``sched_block_uids`` (at most
        ``IN_CHUNK``) from the scheduling block status table."""
        sbs = self.schema.table("sched_block_status")
        return (sa.select(sbs.c.sched_block_uid.label("sched_block_uid"),
                          sbs.c.mous_uid.label("mous_uid"))
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
        """Return EBs ended at or after ``since`` (a naive-UTC datetime), oldest first.

        Each is a dict: eb_uid, project_code, mous_uid ("" when not found), mous_found,
        qa0_status, end_time (datetime). An EB appears once.

        The MOUS is looked up by the window's scheduling blocks in a second, indexed query (a
        left join in Python): in one statement PostgreSQL's planner chose to hash-join the whole
        scheduling block table, reading far more than the window's rows.
        """
        statement = self.execution_blocks_statement(since, qa0_statuses, project_like)

        def query(connection):
            found = {}
            for row in connection.execute(statement):
                if row.eb_uid not in found:
                    found[row.eb_uid] = {
                        "eb_uid": row.eb_uid, "project_code": row.project_code or "",
                        "qa0_status": row.qa0_status, "end_time": row.end_time,
                        "sched_block_uid": row.sched_block_uid}
            self.add_mouses(connection, found.values())
            return list(found.values())
        return run_checked(self.engine, query, self.schema.specs_for("alma_asdm_sensor"), "ALMA")

    def deliveries_statement(self, since, until, qa2_values):
        """Return the SELECT of deliveries dated in [since, until], oldest first."""
        delivery = self.schema.table("delivery")
        query = (sa.select(delivery.c.delivery_id.label("delivery_id"),
                           delivery.c.delivery_name.label("delivery_name"),
                           delivery.c.delivered_at.label("delivered_at"))
                 .where(delivery.c.delivered_at >= sa.bindparam("since", since,
                                                                type_=sa.DateTime))
                 .where(delivery.c.delivered_at <= sa.bindparam("until", until,
                                                                type_=sa.DateTime))
                 .order_by(delivery.c.delivered_at, delivery.c.delivery_id))
        if qa2_values:
            query = query.where(delivery.c.qa2_passed.in_(expanding("qa2", qa2_values)))
        return query

    def delivered_mouses(self, since, until=None, qa2_values=("Y",)):
        """Return deliveries dated from ``since`` to ``until`` (default now), oldest first.

        Each is a dict: delivery_id, delivery_name, delivered_at (datetime) and, parsed from the
        name, project_code and mous_uid; calibrateable (NRAO's rule: a science product file and
        no ``MANUAL_CALIBRATION_SCRIPT`` script) and eb_uids (from the delivery-ASDM table,
        sorted; possibly empty). A delivery whose name cannot be parsed has ``skip_reason``
        instead of those keys.
        """
        until = until if until is not None else from_epoch(time.time())
        statement = self.deliveries_statement(since, until, list(qa2_values or ()))

        def query(connection):
            deliveries = []
            for row in connection.execute(statement):
                delivery_id = row.delivery_id if row.delivery_id is not None \
                    else row.delivery_name
                item = {"delivery_id": str(delivery_id), "delivery_name": row.delivery_name,
                        "delivered_at": row.delivered_at}
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

    def calibration_rule_statements(self, mous_uids):
        """Return the two SELECTs of NRAO's rule for ``mous_uids`` (at most ``IN_CHUNK``): MOUSes
        with a science file, and MOUSes with a manual calibration script."""
        files = self.schema.table("product_files")
        mouses = files.c.mous_uid.in_(expanding("mouses", mous_uids))
        science = (sa.select(files.c.mous_uid.label("mous_uid")).distinct()
                   .where(mouses).where(files.c.file_class == "science"))
        manual = (sa.select(files.c.mous_uid.label("mous_uid")).distinct()
                  .where(mouses).where(files.c.file_class == "script")
                  .where(files.c.ngas_file_id.like(MANUAL_CALIBRATION_SCRIPT)))
        return science, manual

    def _add_calibrateable(self, connection, deliveries):
        mouses = sorted(set(item["mous_uid"] for item in deliveries))
        with_science, with_manual_script = set(), set()
        for chunk in chunks(mouses):
            science, manual = self.calibration_rule_statements(chunk)
            with_science.update(row.mous_uid for row in connection.execute(science))
            with_manual_script.update(row.mous_uid for row in connection.execute(manual))
        for item in deliveries:
            mous = item["mous_uid"]
            item["calibrateable"] = mous in with_science and mous not in with_manual_script

    def delivery_ebs_statement(self, deliverable_names):
        """Return the SELECT of the EBs of the deliveries ``deliverable_names``."""
        link = self.schema.table("delivery_asdm")
        return (sa.select(link.c.deliverable_name.label("deliverable_name"),
                          link.c.asdm_uid.label("asdm_uid"))
                .where(link.c.deliverable_name.in_(expanding("names", deliverable_names))))

    def _add_eb_uids(self, connection, deliveries):
        # Public sources differ on whether the deliverable name holds the delivery's id or its
        # name: both are looked up (a delivery id never equals another delivery's name).
        by_key = {}
        for item in deliveries:
            item["eb_uids"] = []
            for key in (item["delivery_id"], item["delivery_name"]):
                by_key.setdefault(key, []).append(item)
        for chunk in chunks(sorted(by_key)):
            for row in connection.execute(self.delivery_ebs_statement(chunk)):
                for item in by_key.get(row.deliverable_name, ()):
                    if row.asdm_uid and row.asdm_uid not in item["eb_uids"]:
                        item["eb_uids"].append(row.asdm_uid)
        for item in deliveries:
            item["eb_uids"].sort()
