"""Benchmark: one ALMA ASDM poll over 1,000,000 EB rows with 100 new ones, on real PostgreSQL.

The EB view has the published columns and each EB's MOUS comes through SCHED_BLOCK_STATUS (ten EBs
per scheduling block; indexes on ENDTIME and DOMAIN_ENTITY_ID, as the fixtures create them).
Prints the time of one sensor poll and the rows its query read, next to the same SQL run bare
(psycopg cursor, same bound values) in the same run, and the state size. Falls back to SQLite
when PostgreSQL cannot run here (the figure label says which).
"""

import datetime
import statistics
import sys
import time

if __name__ == "__main__":
    from run_all import setup_path
    setup_path()

import sqlalchemy as sa  # noqa: E402

from alma_asdm_sensor import AlmaAsdmSensor  # noqa: E402
from pack_test_support import make_trigger  # noqa: E402
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper  # noqa: E402
from workspaces_devkit import archive_fixtures  # noqa: E402
from workspaces_devkit.pg_server import PostgresServer, PostgresUnavailable  # noqa: E402
from workspaces_pack.archive.alma_queries import AlmaArchive  # noqa: E402
from workspaces_pack.archive.schema import schema_map  # noqa: E402
from workspaces_pack.core.config import PackConfig  # noqa: E402

ROUNDS = 5


def _database():
    try:
        server = PostgresServer().start()
        return server, server.url, "PostgreSQL"
    except PostgresUnavailable:
        import tempfile
        folder = tempfile.mkdtemp(prefix="bench-alma-")
        return None, "sqlite:///%s/alma.sqlite" % folder, "SQLite"


def _bare_statements(engine, archive, since):
    """The poll's two statements (EBs of the window, MOUSes of their scheduling blocks) with the
    values the poll will bind, compiled once outside the timing."""
    first = archive.execution_blocks_statement(since, ["Pass", "SemiPass"])
    with engine.connect() as connection:
        blocks = sorted(set(row.sched_block_uid for row in connection.execute(first)))
    return [statement.compile(engine, compile_kwargs={"render_postcompile": True})
            for statement in (first, archive.mous_statement(blocks))]


_TABLES = "('aqua_v_execblock', 'sched_block_status')"
_ROWS_READ = (
    "SELECT sum(pg_stat_get_xact_tuples_returned(c.oid)) FROM pg_class c "
    "WHERE c.relname IN " + _TABLES + " OR c.oid IN (SELECT i.indexrelid FROM pg_index i "
    "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN " + _TABLES + ")")


def _run_bare(engine, statements, kind):
    """Run the compiled statements on a bare DB-API cursor; return (seconds, rows read).

    Rows read (PostgreSQL): index entries and table rows (sequential scans) the two statements
    read, from the transaction's own statistics of both tables and their indexes; on SQLite the
    rows returned.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        returned = 0
        for compiled in statements:
            params = compiled.params
            cursor.execute(str(compiled), params if kind == "PostgreSQL" else
                           [params[name] for name in compiled.positiontup])
            returned += len(cursor.fetchall())
        seconds = time.perf_counter() - started
        if kind == "PostgreSQL":
            cursor.execute(_ROWS_READ)
            returned = int(cursor.fetchone()[0])
        raw.rollback()
        return seconds, returned
    finally:
        raw.close()


def run(quick=False):
    """Return the benchmark rows."""
    count = 100000 if quick else 1000000
    server, url, kind = _database()
    try:
        engine = sa.create_engine(url)
        archive_fixtures.create_alma_schema(engine)
        now = archive_fixtures.utc_now()
        archive_fixtures.bulk_fill_execution_blocks(engine, count, now - datetime.timedelta(
            hours=13))
        service = MockSensorService(MockSensorWrapper(pack="workspaces",
                                                      class_name="AlmaAsdmSensor"))
        trigger = make_trigger("alma_asdm", {})
        sensor = AlmaAsdmSensor(sensor_service=service, config={"alma_archive_db_url": url})
        sensor.add_trigger(trigger)
        sensor.poll()  # first poll: the look-back window
        polls, bares, rows_read = [], [], []
        archive = AlmaArchive(engine, schema_map(PackConfig({})))
        for round_index in range(ROUNDS):
            for index in range(100 // ROUNDS if round_index else 100):
                number = 10 * 1000 * 1000 + round_index * 1000 + index
                archive_fixtures.add_execution_block(
                    engine, archive_fixtures.eb_uid(number), "2025.1.00001.S",
                    archive_fixtures.mous_uid(number),
                    now - datetime.timedelta(minutes=30 - round_index))
            watch = sensor._watches.items()[0][1]
            statements = _bare_statements(engine, archive, watch.since())
            before = len(service.dispatched_triggers)
            started = time.perf_counter()
            sensor.poll()
            polls.append(time.perf_counter() - started)
            assert len(service.dispatched_triggers) > before, "poll found nothing new"
            seconds, read = _run_bare(engine, statements, kind)
            bares.append(seconds)
            rows_read.append(read)
        state = service.get_value("state:" + trigger["ref"], local=True) or ""
        dispatched = len(service.dispatched_triggers)
    finally:
        if server is not None:
            server.destroy()
    poll_ms = statistics.median(polls) * 1000
    bare_ms = statistics.median(bares) * 1000
    label = "%dk EB rows, %s" % (count // 1000, kind)
    return [
        {"benchmark": "alma poll", "figure": "ASDM poll, %s" % label, "value": round(poll_ms, 2),
         "unit": "ms", "baseline": round(bare_ms, 2), "ratio": round(poll_ms / bare_ms, 2)},
        {"benchmark": "alma poll", "figure": "rows read per poll, EBs + MOUS lookups",
         "value": int(statistics.median(rows_read)), "unit": "rows", "baseline": count,
         "ratio": round(statistics.median(rows_read) / float(count), 5)},
        {"benchmark": "alma poll", "figure": "EBs dispatched in all (100, then 4 polls of 20)",
         "value": dispatched, "unit": "events", "baseline": None, "ratio": None},
        {"benchmark": "alma poll", "figure": "state size per trigger", "value": len(state),
         "unit": "bytes", "baseline": None, "ratio": None},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print("%-50s %10s %-6s baseline %-10s ratio %s" % (
            row["figure"], row["value"], row["unit"], row["baseline"], row["ratio"]))
