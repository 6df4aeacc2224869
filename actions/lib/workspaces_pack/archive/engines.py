"""The archive databases' engines, and running statements on them with errors that say what failed.

Portable SQL only, every value a bound parameter and every IN list at most ``IN_CHUNK`` values, so
the same statements run on PostgreSQL, SQLite (the local demo) and Oracle (the ALMA archive).
"""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.table_checks import describe_database_error, mismatched
from workspaces_pack.core import problems

__all__ = ["ArchiveError", "NotConfigured", "ArchiveUnavailable", "SchemaMismatch", "UnknownUids",
           "URL_KEYS", "IN_CHUNK", "database_engine", "dispose_engines", "run_checked", "chunks",
           "expanding"]

IN_CHUNK = 500  # Oracle allows at most 1000 values in one IN list
URL_KEYS = {"alma_archive_db_url": "the ALMA sensors and the reconciliation stay idle",
            "archive_metadata_db_url": "the reconciliation and the not-calibrateable mark need it"}
"""The pack config keys of the two database URLs, each with what stays undone without it."""
_ENGINES = {}


class ArchiveError(Exception):
    """A database problem, described without the connection URL or its password; ``problem`` is
    its health problem kind (``core.problems``)."""

    problem = problems.POLL_FAILING


class NotConfigured(ArchiveError):
    """The database URL a part of the pack needs is not set in the pack config."""


class ArchiveUnavailable(ArchiveError):
    """The database could not be reached or answered with an error; try again later."""

    problem = problems.DATABASE_UNREACHABLE


class SchemaMismatch(ArchiveError):
    """A configured table or column is missing from the database, or has the wrong type;
    ``findings`` lists the ``table_checks.Finding``s that are not ok."""

    problem = problems.TABLE_MISMATCH

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


def database_engine(config, key):
    """The one way to a database: the engine (one pool per URL and process) of the URL under
    ``key`` of ``URL_KEYS`` in ``config`` (a ``PackConfig``). Raises ``NotConfigured`` naming the
    key and what stays undone when it is not set, ``ArchiveError`` when it is not a usable URL."""
    url = config.get(key)
    if not url:
        raise NotConfigured("%s is not set in the pack config (st2 pack config workspaces); %s"
                            % (key, URL_KEYS[key]))
    timeout_seconds = config.get("database_timeout_seconds")
    engine = _ENGINES.get((url, timeout_seconds))
    if engine is None:  # an engine connects only when used: a race's loser is simply dropped
        engine = _ENGINES.setdefault((url, timeout_seconds), _new_engine(url, timeout_seconds))
    return engine


def _new_engine(url, timeout_seconds):
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        raise ArchiveError("the database URL in the pack config is not a valid SQLAlchemy URL")
    connect_args = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = int(timeout_seconds)
        if parsed.get_driver_name() == "psycopg":
            # psycopg 3 prepares a statement after 5 runs; PostgreSQL may then pick a generic
            # plan that ignores how recent ``since`` is and scans whole views.
            connect_args["prepare_threshold"] = None
    elif parsed.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout_seconds
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except Exception as error:
        raise ArchiveError("cannot use the configured database URL (%s)" % type(error).__name__)


def dispose_engines():
    """Close the pooled connections of every engine ``database_engine`` made, and forget them
    (between the many databases of the test suite, lest idle connections reach the limit)."""
    for engine in list(_ENGINES.values()):
        engine.dispose()
    _ENGINES.clear()


def chunks(values, size=IN_CHUNK):
    """Yield ``values`` (a list) in slices of at most ``size``: one IN list each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def expanding(name, values):
    """The bound IN list parameter ``name`` holding ``values``."""
    return sa.bindparam(name, list(values), expanding=True)


def run_checked(engine, function, specs, what="archive"):
    """Run ``function(connection)`` (it commits what it writes); turn driver errors into
    ``ArchiveError``s without SQL text, URLs or passwords. A failed statement is followed by a
    check of ``specs`` (the tables it uses): a configured table or column that is missing raises
    ``SchemaMismatch`` naming it and its config key."""
    try:
        connection = engine.connect()
    except sa_exc.SQLAlchemyError as error:
        raise _archive_error(what, error)
    with connection:
        try:
            return function(connection)
        except sa_exc.SQLAlchemyError as error:
            try:
                connection.rollback()
                mismatch = mismatched(connection, specs)
            except Exception:  # the check failed too: the statement's own error is reported
                mismatch = []
            if mismatch:
                raise SchemaMismatch(mismatch)
            raise _archive_error(what, error)


def _archive_error(what, error):
    """The ``ArchiveError`` for a SQLAlchemy ``error`` (``ArchiveUnavailable`` for a driver one)."""
    text = describe_database_error(error)
    if isinstance(error, sa_exc.DBAPIError):
        return ArchiveUnavailable("%s database error (%s)" % (what, text))
    return ArchiveError("%s query failed (%s)" % (what, text))
