"""Benchmark: one ALMA ASDM poll over 1,000,000 EB rows with 100 new ones, on real PostgreSQL.

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
from workspaces_pack.archive import AlmaArchive  # noqa: E402

ROUNDS = 5


def _database():
    try:
        server = PostgresServer().start()
        return server, server.url, "PostgreSQL"
    except PostgresUnavailable:
        import tempfile
        folder = tempfile.mkdtemp(prefix="bench-alma-")
        return None, "sqlite:///%s/alma.sqlite" % folder, "SQLite"


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
        archive = AlmaArchive(engine)
        for round_index in range(ROUNDS):
            for index in range(100 // ROUNDS if round_index else 100):
                number = 10 * 1000 * 1000 + round_index * 1000 + index
                archive_fixtures.add_execution_block(
                    engine, archive_fixtures.eb_uid(number), "2025.1.00001.S",
                    archive_fixtures.mous_uid(number),
                    now - datetime.timedelta(minutes=30 - round_index))
            watch = sensor._watches.items()[0][2]
            statement = archive.execution_blocks_statement(watch.since(), ["Pass", "SemiPass"])
            compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
            before = len(service.dispatched_triggers)
            started = time.perf_counter()
            sensor.poll()
            polls.append(time.perf_counter() - started)
            assert len(service.dispatched_triggers) > before, "poll found nothing new"
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                params = compiled.params
                sql = str(compiled)
                started = time.perf_counter()
                cursor.execute(sql, params if kind == "PostgreSQL" else
                               [params[name] for name in compiled.positiontup])
                rows_read.append(len(cursor.fetchall()))
                bares.append(time.perf_counter() - started)
            finally:
                raw.close()
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
        {"benchmark": "alma poll", "figure": "rows read per poll (look-back window)",
         "value": int(statistics.median(rows_read)), "unit": "rows", "baseline": count,
         "ratio": round(statistics.median(rows_read) / float(count), 5)},
        {"benchmark": "alma poll", "figure": "EBs dispatched in all (first poll + 100 new)",
         "value": dispatched, "unit": "events", "baseline": None, "ratio": None},
        {"benchmark": "alma poll", "figure": "state size per trigger", "value": len(state),
         "unit": "bytes", "baseline": None, "ratio": None},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print("%-50s %10s %-6s baseline %-10s ratio %s" % (
            row["figure"], row["value"], row["unit"], row["baseline"], row["ratio"]))
