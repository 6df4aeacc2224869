"""The archive-database layer (SQLAlchemy Core): ALMA archive views and NRAO archive metadata.

Portable SQL only, every value a bound parameter and every IN list at most ``IN_CHUNK`` values, so
the same code runs on PostgreSQL (tested for real), SQLite (the local demo) and Oracle (the ALMA
archive in production; a test compiles every statement for Oracle). Every table and column name
comes from the schema map (``archive/schema.py``, read from the pack config). Connection URLs
come from the pack config (secret) and never appear in errors or logs.

When a query fails, the configured tables and columns it uses are compared with the database: a
missing one raises ``SchemaMismatch`` naming it and its config key, instead of a bare SQL error.
"""

import threading
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.table_checks import describe_database_error, inspect_tables
from workspaces_pack.core.checks import OK
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.times import from_epoch
from workspaces_pack.core.uids import canonical_uid, parse_delivery_name, stored_uid_forms

__all__ = ["ArchiveError", "ArchiveUnavailable", "SchemaMismatch", "UnknownUids",
           "engine_for", "AlmaArchive", "MetadataArchive", "glob_to_like", "chunks",
           "MANUAL_CALIBRATION_SCRIPT", "run_checked", "dispose_engines", "database_engine",
           "NotConfigured", "IN_CHUNK"]

IN_CHUNK = 500  # Oracle allows at most 1000 values in one IN list
MANUAL_CALIBRATION_SCRIPT = "%scriptFor%Cal%"
"""NRAO's test for a manual calibration script, as published (NGAS file ids carry prefixes)."""
_ENGINES = {}
_ENGINES_LOCK = threading.Lock()


class ArchiveError(Exception):
    """A database problem, described without the connection URL or its password."""


class NotConfigured(ArchiveError):
    """The database URL a part of the pack needs is not set in the pack config."""


class ArchiveUnavailable(ArchiveError):
    """The database could not be reached or answered with an error; try again later."""


class SchemaMismatch(ArchiveError):
    """A configured table or column is missing from the database, or has the wrong type.

    ``findings`` lists the ``table_checks.Finding``s that are not ok; the message names each
    table or column and the pack config key that names it.
    """

    def __init__(self, findings):
        super(SchemaMismatch, self).__init__(
            "the archive does not match the pack config: %s" % "; ".join(str(f) for f in findings))
        self.findings = list(findings)


class UnknownUids(ArchiveError):
    """Some uids given to the action are not in the table; nothing was changed."""

    def __init__(self, uids):
        super(UnknownUids, self).__init__("unknown execution block uid(s): %s; nothing was changed"
                                          % ", ".join(uids))
        self.uids = list(uids)


def dispose_engines():
    """Close the pooled connections of every engine ``engine_for`` made, and forget them.

    A sensor or action process uses one or two URLs for its life; a process that goes through
    many databases (the test suite: a fresh database per test) calls this between them, or the
    idle pooled connections add up to the server's connection limit.
    """
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def engine_for(url, timeout_seconds=10):
    """Return a shared SQLAlchemy engine for ``url`` (one pool per URL and process)."""
    key = (url, timeout_seconds)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            try:
                parsed = sa.engine.make_url(url)
            except Exception:
                raise ArchiveError("the database URL in the pack config is not a valid SQLAlchemy"
                                   " URL")
            connect_args = {}
            if parsed.get_backend_name() == "postgresql":
                connect_args["connect_timeout"] = int(timeout_seconds)
                if parsed.get_driver_name() == "psycopg":
                    # psycopg 3 prepares a statement after 5 runs; PostgreSQL may then pick a
                    # generic plan that ignores how recent ``since`` is and scans whole views.
                    connect_args["prepare_threshold"] = None
            elif parsed.get_backend_name() == "sqlite":
                connect_args["timeout"] = timeout_seconds
            try:
                engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
            except Exception as error:
                raise ArchiveError("cannot use the configured database URL (%s)"
                                   % type(error).__name__)
            _ENGINES[key] = engine
        return engine


def database_engine(config, key, consequence=None):
    """Return the engine of the database URL under pack config ``key`` (``alma_archive_db_url``
    or ``archive_metadata_db_url``); raise ``NotConfigured`` naming the key (and ``consequence``,
    what stays undone) when it is not set."""
    config = config if isinstance(config, PackConfig) else PackConfig(config)
    url = config.get(key)
    if not url:
        raise NotConfigured("%s is not set in the pack config (st2 pack config workspaces)%s"
                            % (key, "; " + consequence if consequence else ""))
    return engine_for(url, config.get("database_timeout_seconds"))


def glob_to_like(pattern):
    """Translate a glob (``*``, ``?``) into a LIKE pattern with ``\\`` as escape character."""
    out = []
    for char in pattern:
        if char in "%_\\":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def chunks(values, size=IN_CHUNK):
    """Yield ``values`` (a list) in slices of at most ``size``: one IN list each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _mismatch(connection, specs):
    """Return the findings that are not ok for ``specs``, or [] when the check itself fails."""
    try:
        if connection.in_transaction():
            connection.rollback()
        return [found for found in inspect_tables(connection, specs) if found.status != OK]
    except Exception:
        return []


def run_checked(engine, function, specs, what="archive", begin=False):
    """Run ``function(connection)``; turn driver errors into ``ArchiveError``s without SQL text.

    A failed statement is followed by a check of ``specs`` (the tables it uses): a configured
    table or column that is missing raises ``SchemaMismatch`` naming it.
    """
    try:
        connection = engine.connect()
    except sa_exc.SQLAlchemyError as error:
        raise _archive_error(what, error)
    with connection:
        try:
            if begin:
                with connection.begin():
                    return function(connection)
            return function(connection)
        except SchemaMismatch:
            raise
        except sa_exc.SQLAlchemyError as error:
            mismatch = _mismatch(connection, specs)
            if mismatch:
                raise SchemaMismatch(mismatch)
            raise _archive_error(what, error)


def _archive_error(what, error):
    """The ``ArchiveError`` for a SQLAlchemy ``error`` (``ArchiveUnavailable`` for a driver one)."""
    text = describe_database_error(error)
    if isinstance(error, sa_exc.DBAPIError):
        return ArchiveUnavailable("%s database error (%s)" % (what, text))
    return ArchiveError("%s query failed (%s)" % (what, text))


def _expanding(name, values):
    return sa.bindparam(name, list(values), expanding=True)


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
                 .where(eb.c.qa0_status.in_(_expanding("statuses", qa0_statuses)))
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
                .where(sbs.c.sched_block_uid.in_(_expanding("blocks", sched_block_uids))))

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
            query = query.where(delivery.c.qa2_passed.in_(_expanding("qa2", qa2_values)))
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
        mouses = files.c.mous_uid.in_(_expanding("mouses", mous_uids))
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
                .where(link.c.deliverable_name.in_(_expanding("names", deliverable_names))))

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


class MetadataArchive(object):
    """Writes to the NRAO archive metadata database (the not-calibrateable mark)."""

    def __init__(self, engine, mapping, telescope="ALMA"):
        self.engine = engine
        self.spec = mapping.spec("execution_blocks")
        self.telescope = telescope

    def _rows_statement(self, stored_uids):
        table = self.spec.table()
        return (sa.select(table.c.eb_uid.label("eb_uid"),
                          table.c.calibration_status.label("calibration_status"))
                .where(table.c.telescope == sa.bindparam("telescope", self.telescope))
                .where(table.c.eb_uid.in_(_expanding("uids", stored_uids)))
                .with_for_update())

    def _update_statement(self, stored_uids, status):
        table = self.spec.table()
        return (table.update()
                .where(table.c.telescope == sa.bindparam("telescope", self.telescope))
                .where(table.c.eb_uid.in_(_expanding("uids", stored_uids)))
                .values(calibration_status=sa.bindparam("status", status)))

    def mark_calibration_status(self, uids, status):
        """Set the calibration status of the ALMA EBs ``uids`` to ``status`` in one transaction.

        ``uids`` may be in either form (``uid://A002/Xc7111c/X3979`` or
        ``uid___A002_Xc7111c_X3979``); rows holding either form match, and only rows of this
        telescope are read or changed. Returns one dict per uid (eb_uid as given,
        previous_status, new_status, changed). Raises ``UnknownUids`` (and changes nothing) when
        a uid has no row, ``SchemaMismatch`` when the configured table or columns are missing
        or the uid column is not text.
        """
        canonical = [(uid, canonical_uid(uid)) for uid in uids]
        bad = [uid for uid, form in canonical if form is None]
        if bad:
            raise ArchiveError("not an ALMA uid: %s" % ", ".join(map(str, bad)))
        half = IN_CHUNK // 2

        def mark(connection):
            mismatch = [found for found in inspect_tables(connection, [self.spec])
                        if found.status != OK]
            if mismatch:
                raise SchemaMismatch(mismatch)
            previous = {}
            forms = sorted(set(form for _, form in canonical))
            for chunk in chunks(forms, half):
                stored = stored_uid_forms(chunk)
                for row in connection.execute(self._rows_statement(stored)):
                    previous.setdefault(canonical_uid(row.eb_uid), []).append(
                        row.calibration_status)
            missing = [uid for uid, form in canonical if form not in previous]
            if missing:
                raise UnknownUids(missing)
            to_change = [form for form in forms
                         if any(value != status for value in previous[form])]
            for chunk in chunks(to_change, half):
                connection.execute(self._update_statement(stored_uid_forms(chunk), status))
            return [{"eb_uid": uid, "previous_status": previous[form][0], "new_status": status,
                     "changed": form in to_change} for uid, form in canonical]
        return run_checked(self.engine, mark, [self.spec], "archive metadata", begin=True)
