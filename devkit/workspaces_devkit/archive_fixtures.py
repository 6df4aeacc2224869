"""Archive databases with realistic content, for tests, benchmarks and the local demo.

Tables are made from the pack's own definitions (``workspaces_pack.archive``), so the fixtures have
exactly the shape the sensors and the action query. Identifiers follow the archive's formats:
EB uids like ``uid://A002/Xc7111c/X3979``, MOUS uids like ``uid://A001/X1284/X265f``, project
codes like ``2017.1.00886.L``.
"""

import datetime

import sqlalchemy as sa

from workspaces_pack.archive import alma_tables, execution_blocks_table

__all__ = ["eb_uid", "mous_uid", "project_code", "create_alma_schema", "create_metadata_schema",
           "add_execution_block", "add_delivery", "add_metadata_row", "load_sample",
           "bulk_fill_execution_blocks", "utc_now"]


def utc_now():
    """The current time as a naive UTC datetime (how the archive stores times)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


def eb_uid(number):
    """Return a realistic, unique EB uid for ``number``."""
    return "uid://A002/X%x/X%x" % (0xc7111c + number // 4096, 0x1000 + number % 4096)


def mous_uid(number):
    """Return a realistic, unique MOUS uid for ``number``."""
    return "uid://A001/X%x/X%x" % (0x1284 + number // 4096, 0x265f + number % 4096)


def project_code(number):
    """Return a realistic ALMA project code for ``number``."""
    return "%d.1.%05d.%s" % (2017 + number % 8, 886 + number % 90000, "LSTS"[number % 4])


def create_alma_schema(engine, prefix=""):
    """Create the ALMA view tables (empty) in ``engine``; return them by short name."""
    metadata = sa.MetaData()
    tables = alma_tables(metadata, prefix=prefix)
    metadata.create_all(engine)
    return tables


def create_metadata_schema(engine, table_name="execution_blocks"):
    """Create the archive metadata ``execution_blocks`` table (empty); return it."""
    metadata = sa.MetaData()
    table = execution_blocks_table(metadata, name=table_name)
    metadata.create_all(engine)
    return table


def add_execution_block(engine, uid, project, mous, end_time, qa0_status="Pass", prefix=""):
    """Insert one EB into the ALMA views (with its QA0 status row)."""
    tables = alma_tables(prefix=prefix)
    with engine.begin() as connection:
        connection.execute(tables["execblock"].insert().values(
            execblockuid=uid, projectcode=project, obsunitsetuid=mous,
            starttime=end_time - datetime.timedelta(hours=1), endtime=end_time))
        connection.execute(tables["status"].insert().values(
            execblockuid=uid, qa0status=qa0_status, statustimestamp=end_time))


def add_delivery(engine, delivery_id, mous, project, delivered_at, manual_calibration=False,
                 science_products=True, prefix=""):
    """Insert a MOUS delivery with its product files (science files, maybe a manual script)."""
    tables = alma_tables(prefix=prefix)
    safe = mous.replace(":", "_").replace("/", "_")
    with engine.begin() as connection:
        connection.execute(tables["delivery"].insert().values(
            delivery_id=delivery_id, asa_ous_id=mous, delivery_date=delivered_at,
            status="DELIVERED"))
        connection.execute(tables["science"].insert().values(asa_ous_id=mous,
                                                             project_code=project))
        if science_products:
            connection.execute(tables["product_files"].insert().values(
                asa_ous_id=mous, file_class="science",
                ngas_file_id="member.%s.spw25.cube.I.pbcor.fits" % safe))
        connection.execute(tables["product_files"].insert().values(
            asa_ous_id=mous, file_class="script",
            ngas_file_id=("scriptForPI_Calibration_%s.py" % safe) if manual_calibration
            else "member.%s.scriptForImaging.py" % safe))


def add_metadata_row(engine, uid, project, status="Ready", table_name="execution_blocks"):
    """Insert an ``execution_blocks`` row for an ALMA EB."""
    table = execution_blocks_table(name=table_name)
    with engine.begin() as connection:
        connection.execute(table.insert().values(
            ost_exec_block_id=uid, telescope="ALMA", project_code=project,
            ngas_fileset_id=uid.replace(":", "_").replace("/", "_"),
            starttime=58000.0, endtime=58000.1, calibration_status=status))


def load_sample(alma_engine, metadata_engine, now=None):
    """Fill both databases with a small, realistic day of ALMA data; return what was added.

    Six EBs ended in the last 12 hours (Pass, SemiPass and one Fail), one ended 20 hours ago, two
    MOUS deliveries in the last 2 days (one calibrateable, one with a manual calibration script),
    and an ``execution_blocks`` row for every EB with status Ready.
    """
    now = now or utc_now()
    create_alma_schema(alma_engine)
    create_metadata_schema(metadata_engine)
    ebs = []
    statuses = ["Pass", "Pass", "SemiPass", "Fail", "Pass", "Pass", "Pass"]
    hours_ago = [1, 2, 3, 4, 6, 8, 20]
    for index, (qa0, hours) in enumerate(zip(statuses, hours_ago)):
        uid, mous = eb_uid(index), mous_uid(index // 2)
        project = "2017.1.00886.L" if index < 4 else "2019.1.01184.S"
        add_execution_block(alma_engine, uid, project, mous,
                            now - datetime.timedelta(hours=hours), qa0)
        add_metadata_row(metadata_engine, uid, project)
        ebs.append({"eb_uid": uid, "mous_uid": mous, "project_code": project, "qa0_status": qa0,
                    "hours_ago": hours})
    deliveries = [
        {"delivery_id": "2017.1.00886.L_2026_001", "mous_uid": mous_uid(0),
         "project_code": "2017.1.00886.L", "manual_calibration": False},
        {"delivery_id": "2017.1.00886.L_2026_002", "mous_uid": mous_uid(1),
         "project_code": "2017.1.00886.L", "manual_calibration": True},
    ]
    for hours, item in zip((5, 30), deliveries):
        add_delivery(alma_engine, item["delivery_id"], item["mous_uid"], item["project_code"],
                     now - datetime.timedelta(hours=hours), item["manual_calibration"])
    return {"execution_blocks": ebs, "deliveries": deliveries}


_PG_UID = "'uid://A002/X' || to_hex(n / 4096 + 13046044) || '/X' || to_hex(n % 4096 + 4096)"
_PG_END = ":newest - ((n - :first + 1) * interval '1 minute')"
_PG_FILL_EXECBLOCK = "".join([
    "INSERT INTO aqua_v_execblock (execblockuid, projectcode, obsunitsetuid, starttime, endtime) ",
    "SELECT ", _PG_UID, ", '2016.1.' || lpad((n % 90000)::text, 5, '0') || '.S', ",
    "'uid://A001/X' || to_hex(n / 40960 + 4740) || '/X' || to_hex(n % 4096), ",
    _PG_END, " - interval '1 hour', ", _PG_END,
    " FROM generate_series(:first, :last) AS n"])
_PG_FILL_STATUS = (
    "INSERT INTO aqua_status_history (execblockuid, qa0status, statustimestamp) "
    "SELECT " + _PG_UID + ", 'Pass', " + _PG_END + " FROM generate_series(:first, :last) AS n")


def bulk_fill_execution_blocks(engine, count, newest_end, start_number=1000000):
    """Insert ``count`` old EBs (all Pass, ending one minute apart before ``newest_end``).

    On PostgreSQL this runs server-side (``generate_series``); elsewhere in batches.
    """
    tables = alma_tables()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for statement in (_PG_FILL_EXECBLOCK, _PG_FILL_STATUS):
                connection.execute(sa.text(statement), {
                    "first": start_number, "last": start_number + count - 1,
                    "newest": newest_end})
            connection.execute(sa.text("ANALYZE aqua_v_execblock"))
            connection.execute(sa.text("ANALYZE aqua_status_history"))
        return
    batch = []
    for offset in range(count):
        number = start_number + offset
        end = newest_end - datetime.timedelta(minutes=offset + 1)
        batch.append({"execblockuid": eb_uid(number), "projectcode": project_code(number),
                      "obsunitsetuid": mous_uid(number // 10), "endtime": end,
                      "starttime": end - datetime.timedelta(hours=1)})
        if len(batch) == 20000 or offset == count - 1:
            with engine.begin() as connection:
                connection.execute(tables["execblock"].insert(), batch)
                connection.execute(tables["status"].insert(), [
                    {"execblockuid": row["execblockuid"], "qa0status": "Pass",
                     "statustimestamp": row["endtime"]} for row in batch])
            batch = []
