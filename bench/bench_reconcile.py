"""Benchmark: the reconciliation of 30 days over 1,000,000 EB rows, on real PostgreSQL.

The ALMA EB view holds 1,000,000 Pass EBs ending one minute apart (43,200 in the last 30 days);
``execution_blocks`` holds every one of them in file-safe form except one in a thousand. Prints
the time of one ``reconcile.compare`` (stream the range 500 EBs at a time, one IN list of 1000
values per chunk, MOUS lookups for the missing ones) next to the same SQL run bare on a DB-API
cursor in the same run, the EBs checked and found missing. Falls back to SQLite when PostgreSQL
cannot run here (the label says which).
"""

import datetime
import statistics
import time

if __name__ == "__main__":
    from run_all import setup_path
    setup_path()

import sqlalchemy as sa  # noqa: E402

from workspaces_devkit import archive_fixtures  # noqa: E402
from workspaces_devkit.pg_server import PostgresServer, PostgresUnavailable  # noqa: E402
from workspaces_pack.archive.engines import IN_CHUNK  # noqa: E402
from workspaces_pack.archive.reconcile import (Selection, compare,  # noqa: E402
                                               present_statement, range_statement)
from workspaces_pack.archive.schema import schema_map  # noqa: E402
from workspaces_pack.core.config import PackConfig  # noqa: E402
from workspaces_pack.core.uids import file_safe_uid  # noqa: E402

ROUNDS = 3
DAYS = 30
START_NUMBER = 1000000
_PG_FILL_METADATA = (
    "INSERT INTO execution_blocks (filegroup_id, calibration_level, telescope, ngas_fileset_id, "
    "project_code, calibration_status) SELECT 1, 'RAW', 'ALMA', "
    "'uid___A002_X' || to_hex(n / 4096 + 13046044) || '_X' || to_hex(n % 4096 + 4096), "
    "'2016.1.00001.S', 'Ready' FROM generate_series(:first, :last) AS n WHERE n % 1000 <> 7")


def _database():
    try:
        server = PostgresServer().start()
        return server, server.url, "PostgreSQL"
    except PostgresUnavailable:
        import tempfile
        folder = tempfile.mkdtemp(prefix="bench-reconcile-")
        return None, "sqlite:///%s/archive.sqlite" % folder, "SQLite"


def _fill_metadata(engine, count):
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text(_PG_FILL_METADATA),
                               {"first": START_NUMBER, "last": START_NUMBER + count - 1})
            connection.execute(sa.text("ANALYZE execution_blocks"))
        return
    table = archive_fixtures.metadata_fixture_table()
    batch = []
    for number in range(START_NUMBER, START_NUMBER + count):
        if number % 1000 != 7:
            batch.append({"filegroup_id": 1, "calibration_level": "RAW", "telescope": "ALMA",
                          "eb_uid": file_safe_uid(archive_fixtures.eb_uid(number)),
                          "project_code": "2016.1.00001.S", "calibration_status": "Ready"})
        if len(batch) == 20000 or number == START_NUMBER + count - 1:
            with engine.begin() as connection:
                connection.execute(table.insert(), batch)
            batch = []


def _bare(engine, mapping, start, end, kind):
    """The same SQL on a bare DB-API cursor: the range, then one IN list per 500 EBs."""
    with engine.connect() as connection:
        uids = [row.eb_uid for row in connection.execute(
            range_statement(mapping, start, end, ["Pass", "SemiPass"]))]
    statements = [range_statement(mapping, start, end, ["Pass", "SemiPass"])]
    for first in range(0, len(uids), IN_CHUNK):
        chunk = uids[first:first + IN_CHUNK]
        forms = chunk + [file_safe_uid(uid) for uid in chunk]
        statements.append(present_statement(mapping, forms, "ALMA"))
    compiled = [statement.compile(engine, compile_kwargs={"render_postcompile": True})
                for statement in statements]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for query in compiled:
            params = query.params
            cursor.execute(str(query), params if kind == "PostgreSQL" else
                           [params[name] for name in query.positiontup])
            cursor.fetchall()
        seconds = time.perf_counter() - started
        raw.rollback()
        return seconds
    finally:
        raw.close()


def run(quick=False):
    """Return the benchmark rows."""
    count = 100000 if quick else 1000000
    server, url, kind = _database()
    try:
        engine = sa.create_engine(url)
        archive_fixtures.create_alma_schema(engine)
        archive_fixtures.create_metadata_schema(engine)
        now = archive_fixtures.utc_now()
        archive_fixtures.bulk_fill_execution_blocks(engine, count, now, START_NUMBER)
        _fill_metadata(engine, count)
        mapping = schema_map(PackConfig({}))
        end = now
        start = now - datetime.timedelta(days=DAYS)
        timings, bares, result = [], [], None
        for _ in range(ROUNDS):
            started = time.perf_counter()
            selection = Selection(start, end, ["Pass", "SemiPass"], None, None)
            result = compare(PackConfig({}), engine, engine, selection, keep=500)
            timings.append(time.perf_counter() - started)
            bares.append(_bare(engine, mapping, start, end, kind))
    finally:
        if server is not None:
            server.destroy()
    compare_ms = statistics.median(timings) * 1000
    bare_ms = statistics.median(bares) * 1000
    label = "%d days of %dk EB rows, %s" % (DAYS, count // 1000, kind)
    return [
        {"benchmark": "reconcile", "figure": "comparison, %s" % label,
         "value": round(compare_ms, 1), "unit": "ms", "baseline": round(bare_ms, 1),
         "ratio": round(compare_ms / bare_ms, 2)},
        {"benchmark": "reconcile", "figure": "EBs checked (in the range)",
         "value": result.checked, "unit": "EBs", "baseline": count,
         "ratio": round(result.checked / float(count), 4)},
        {"benchmark": "reconcile", "figure": "EBs found missing (1 in 1000 left out)",
         "value": result.missing_count, "unit": "EBs", "baseline": None, "ratio": None},
    ]
