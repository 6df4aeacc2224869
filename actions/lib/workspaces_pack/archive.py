"""The archive-database layer (SQLAlchemy Core): ALMA archive views and NRAO archive metadata.

Portable SQL only, every value a bound parameter, so the same code runs on PostgreSQL (tested for
real), SQLite (the local demo) and Oracle (the ALMA archive in production). Table and column names
are lower case, which SQLAlchemy leaves unquoted: Oracle resolves them to its upper-case views
(``AQUA_V_EXECBLOCK`` ...), PostgreSQL and SQLite to their lower-case tables. Connection URLs come
from the pack config (secret) and never appear in errors or logs.

ALMA view shapes assumed here (DOMAIN.md names the views; column names are this pack's reading):

- ``aqua_v_execblock``: execblockuid, projectcode, obsunitsetuid (the MOUS), starttime, endtime
- ``aqua_status_history``: execblockuid, qa0status, statustimestamp
- ``asa_delivery_status``: delivery_id, asa_ous_id (the MOUS), delivery_date, status
- ``asa_product_files``: asa_ous_id, file_class, ngas_file_id
- ``asa_science``: asa_ous_id, project_code
"""

import datetime
import re
import threading

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

__all__ = ["ArchiveError", "ArchiveUnavailable", "UnknownUids", "engine_for", "alma_tables",
           "execution_blocks_table", "AlmaArchive", "MetadataArchive", "glob_to_like",
           "to_epoch", "iso_utc", "DELIVERED"]

DELIVERED = "DELIVERED"
IN_CHUNK = 500  # Oracle allows at most 1000 values in one IN list
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,127}$")
_ENGINES = {}
_ENGINES_LOCK = threading.Lock()
_EPOCH = datetime.datetime(1970, 1, 1)


class ArchiveError(Exception):
    """A database problem, described without the connection URL or its password."""


class ArchiveUnavailable(ArchiveError):
    """The database could not be reached or answered with an error; try again later."""


class UnknownUids(ArchiveError):
    """Some uids given to the action are not in the table; nothing was changed."""

    def __init__(self, uids):
        super(UnknownUids, self).__init__("unknown execution block uid(s): %s; nothing was changed"
                                          % ", ".join(uids))
        self.uids = list(uids)


def _describe(error):
    """Return a one-line description of a driver error, without SQL text or parameters."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return "%s: %s" % (type(original).__name__, text[:200])


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


def _schema(prefix):
    prefix = (prefix or "").strip().rstrip(".")
    if not prefix:
        return None
    if not _IDENTIFIER.match(prefix):
        raise ArchiveError("alma_table_prefix %r is not a schema name" % prefix)
    return prefix.lower()


def alma_tables(metadata=None, prefix=""):
    """Return the ALMA view definitions (``sqlalchemy.Table``) in a dict keyed by short name."""
    metadata = metadata if metadata is not None else sa.MetaData()
    schema = _schema(prefix)
    return {
        "execblock": sa.Table(
            "aqua_v_execblock", metadata,
            sa.Column("execblockuid", sa.String(64), nullable=False, index=True),
            sa.Column("projectcode", sa.String(32)),
            sa.Column("obsunitsetuid", sa.String(64), index=True),
            sa.Column("starttime", sa.DateTime),
            sa.Column("endtime", sa.DateTime, index=True),
            schema=schema),
        "status": sa.Table(
            "aqua_status_history", metadata,
            sa.Column("execblockuid", sa.String(64), nullable=False, index=True),
            sa.Column("qa0status", sa.String(32)),
            sa.Column("statustimestamp", sa.DateTime),
            schema=schema),
        "delivery": sa.Table(
            "asa_delivery_status", metadata,
            sa.Column("delivery_id", sa.String(64), nullable=False),
            sa.Column("asa_ous_id", sa.String(64), nullable=False, index=True),
            sa.Column("delivery_date", sa.DateTime, index=True),
            sa.Column("status", sa.String(32)),
            schema=schema),
        "product_files": sa.Table(
            "asa_product_files", metadata,
            sa.Column("asa_ous_id", sa.String(64), nullable=False, index=True),
            sa.Column("file_class", sa.String(32)),
            sa.Column("ngas_file_id", sa.String(256)),
            schema=schema),
        "science": sa.Table(
            "asa_science", metadata,
            sa.Column("asa_ous_id", sa.String(64), nullable=False, index=True),
            sa.Column("project_code", sa.String(32)),
            schema=schema),
    }


def execution_blocks_table(metadata=None, name="execution_blocks"):
    """Return the NRAO archive metadata ``execution_blocks`` table (``schema.table`` allowed)."""
    metadata = metadata if metadata is not None else sa.MetaData()
    parts = (name or "").split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(part) for part in parts):
        raise ArchiveError("execution_blocks_table %r is not a table name" % name)
    schema, table = (None, parts[0]) if len(parts) == 1 else parts
    return sa.Table(
        table, metadata,
        sa.Column("execution_block_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ost_exec_block_id", sa.String(64), index=True),
        sa.Column("filegroup_id", sa.Integer),
        sa.Column("telescope", sa.String(16)),
        sa.Column("project_code", sa.String(32)),
        sa.Column("ngas_fileset_id", sa.String(128)),
        sa.Column("starttime", sa.Float),
        sa.Column("endtime", sa.Float),
        sa.Column("calibration_status", sa.String(64), nullable=False,
                  server_default="Unknown"),
        schema=schema)


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


def to_epoch(value):
    """Return POSIX seconds for a naive-UTC or aware datetime (or a string from SQLite)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (value - _EPOCH).total_seconds()


def from_epoch(seconds):
    """Return the naive-UTC datetime of POSIX ``seconds``."""
    return _EPOCH + datetime.timedelta(seconds=seconds)


def iso_utc(value):
    """Return ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` for a datetime stored as naive UTC."""
    return from_epoch(to_epoch(value)).isoformat() + "Z"


def _run(engine, function):
    try:
        with engine.connect() as connection:
            return function(connection)
    except sa_exc.DBAPIError as error:
        raise ArchiveUnavailable("archive database error (%s)" % _describe(error))
    except sa_exc.SQLAlchemyError as error:
        raise ArchiveError("archive query failed (%s)" % _describe(error))


_SHARED_TABLES = {}


def _shared(kind, key, make):
    """One Table set per kind and name, so SQLAlchemy's compiled-statement cache is reused."""
    with _ENGINES_LOCK:
        if (kind, key) not in _SHARED_TABLES:
            _SHARED_TABLES[(kind, key)] = make()
        return _SHARED_TABLES[(kind, key)]


class AlmaArchive(object):
    """Read-only queries on the ALMA archive views used by the ALMA sensors."""

    def __init__(self, engine, prefix=""):
        self.engine = engine
        self.tables = _shared("alma", prefix or "", lambda: alma_tables(prefix=prefix))

    def execution_blocks_statement(self, since, qa0_statuses, project_like=None):
        """Return the SELECT of EBs that ended at or after ``since`` with a wanted QA0 status."""
        eb, status = self.tables["execblock"], self.tables["status"]
        query = (sa.select(eb.c.execblockuid, eb.c.projectcode, eb.c.obsunitsetuid,
                           eb.c.endtime, status.c.qa0status)
                 .select_from(eb.join(status, status.c.execblockuid == eb.c.execblockuid))
                 .where(eb.c.endtime >= sa.bindparam("since", since, type_=sa.DateTime))
                 .where(status.c.qa0status.in_(sa.bindparam("statuses", list(qa0_statuses),
                                                            expanding=True)))
                 .order_by(eb.c.endtime, eb.c.execblockuid))
        if project_like is not None:
            query = query.where(eb.c.projectcode.like(project_like, escape="\\"))
        return query

    def new_execution_blocks(self, since, qa0_statuses, project_like=None):
        """Return EBs ended at or after ``since`` (a naive-UTC datetime), oldest first.

        Each is a dict: eb_uid, project_code, mous_uid, qa0_status, end_time (datetime). An EB
        with several wanted status rows appears once.
        """
        statement = self.execution_blocks_statement(since, qa0_statuses, project_like)

        def query(connection):
            found = {}
            for row in connection.execute(statement):
                if row.execblockuid not in found:
                    found[row.execblockuid] = {
                        "eb_uid": row.execblockuid, "project_code": row.projectcode,
                        "mous_uid": row.obsunitsetuid, "qa0_status": row.qa0status,
                        "end_time": row.endtime}
            return list(found.values())
        return _run(self.engine, query)

    def delivered_mouses(self, since):
        """Return MOUS deliveries at or after ``since``, oldest first, with the calibration rule.

        Each is a dict: delivery_id, mous_uid, project_code, delivered_at (datetime),
        calibrateable (science products present and no manual ``scriptFor*Cal*`` script) and
        eb_uids (the MOUS's execution blocks, sorted).
        """
        delivery, files = self.tables["delivery"], self.tables["product_files"]
        science, eb = self.tables["science"], self.tables["execblock"]
        has_science = sa.exists().where(files.c.asa_ous_id == delivery.c.asa_ous_id) \
            .where(files.c.file_class == "science")
        has_manual_script = sa.exists().where(files.c.asa_ous_id == delivery.c.asa_ous_id) \
            .where(files.c.file_class == "script") \
            .where(files.c.ngas_file_id.like("scriptFor%Cal%"))
        project = sa.select(sa.func.max(science.c.project_code)) \
            .where(science.c.asa_ous_id == delivery.c.asa_ous_id).scalar_subquery()
        statement = (sa.select(delivery.c.delivery_id, delivery.c.asa_ous_id,
                               delivery.c.delivery_date, project.label("project_code"),
                               has_science.label("has_science"),
                               has_manual_script.label("has_manual_script"))
                     .where(delivery.c.delivery_date >= sa.bindparam("since", since,
                                                                     type_=sa.DateTime))
                     .where(delivery.c.status == DELIVERED)
                     .order_by(delivery.c.delivery_date, delivery.c.delivery_id))

        def query(connection):
            mouses = [{"delivery_id": row.delivery_id, "mous_uid": row.asa_ous_id,
                       "project_code": row.project_code, "delivered_at": row.delivery_date,
                       "calibrateable": bool(row.has_science) and not bool(row.has_manual_script),
                       "eb_uids": []}
                      for row in connection.execute(statement)]
            by_mous = {}
            for item in mouses:
                by_mous.setdefault(item["mous_uid"], []).append(item)
            uids = sorted(by_mous)
            for start in range(0, len(uids), IN_CHUNK):
                chunk = uids[start:start + IN_CHUNK]
                rows = connection.execute(
                    sa.select(eb.c.obsunitsetuid, eb.c.execblockuid)
                    .where(eb.c.obsunitsetuid.in_(sa.bindparam("mouses", chunk, expanding=True)))
                    .order_by(eb.c.execblockuid))
                for row in rows:
                    for item in by_mous[row.obsunitsetuid]:
                        if row.execblockuid not in item["eb_uids"]:
                            item["eb_uids"].append(row.execblockuid)
            return mouses
        return _run(self.engine, query)


class MetadataArchive(object):
    """Writes to the NRAO archive metadata database (the not-calibrateable mark)."""

    def __init__(self, engine, table_name="execution_blocks"):
        self.engine = engine
        self.table = _shared("execution_blocks", table_name,
                             lambda: execution_blocks_table(name=table_name))

    def mark_calibration_status(self, uids, status):
        """Set ``calibration_status`` of the EBs ``uids`` to ``status`` in one transaction.

        Returns one dict per uid (eb_uid, previous_status, new_status, changed). Raises
        ``UnknownUids`` (and changes nothing) when a uid has no row.
        """
        table = self.table

        def mark(connection):
            previous = {}
            for start in range(0, len(uids), IN_CHUNK):
                chunk = uids[start:start + IN_CHUNK]
                rows = connection.execute(
                    sa.select(table.c.ost_exec_block_id, table.c.calibration_status)
                    .where(table.c.ost_exec_block_id.in_(
                        sa.bindparam("uids", chunk, expanding=True)))
                    .with_for_update())
                for row in rows:
                    previous.setdefault(row.ost_exec_block_id, row.calibration_status)
            missing = [uid for uid in uids if uid not in previous]
            if missing:
                raise UnknownUids(missing)
            to_change = [uid for uid in uids if previous[uid] != status]
            for start in range(0, len(to_change), IN_CHUNK):
                chunk = to_change[start:start + IN_CHUNK]
                connection.execute(
                    table.update()
                    .where(table.c.ost_exec_block_id.in_(
                        sa.bindparam("uids", chunk, expanding=True)))
                    .values(calibration_status=sa.bindparam("status", status)))
            return [{"eb_uid": uid, "previous_status": previous[uid], "new_status": status,
                     "changed": previous[uid] != status} for uid in uids]

        try:
            with self.engine.begin() as connection:
                return mark(connection)
        except sa_exc.DBAPIError as error:
            raise ArchiveUnavailable("archive metadata database error (%s)" % _describe(error))
        except sa_exc.SQLAlchemyError as error:
            raise ArchiveError("archive metadata update failed (%s)" % _describe(error))
