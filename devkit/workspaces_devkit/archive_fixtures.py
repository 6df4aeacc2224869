"""Archive databases with realistic content, for tests, benchmarks and the local demo.

Every table of the schema map (``archive/schema.py``) is built with its published shape: the ALMA
views and tables (and ``ASA_SCIENCE``) and NRAO's ``execution_blocks``, the pack's columns named
(and keyed by role) as the map says, so a fixture built for a renamed config has the renamed
columns; the other published columns are there too. Identifiers follow the archive's formats
(EB uid ``uid://A002/Xc7111c/X3979``, MOUS uid ``uid://A001/X1284/X265f``, project code
``2017.1.00886.L``, delivery name ``2017.1.00886.L_uid___A001_X1284_X265f``).
"""

import datetime

import sqlalchemy as sa

from workspaces_pack.archive.schema import ALMA, schema_map
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.uids import file_safe_uid

__all__ = ["eb_uid", "mous_uid", "sb_uid", "project_code", "delivery_name", "create_alma_schema",
           "create_metadata_schema", "add_execution_block", "add_delivery", "add_metadata_row",
           "add_vla_row", "load_sample", "bulk_fill_execution_blocks", "utc_now",
           "alma_fixture_tables", "metadata_fixture_table"]

_UID = sa.String(64)
_NAME = sa.String(128)

# Per table role of the schema map: the published types of the columns the pack uses (by role; the
# archive's own, not the pack's declaration, so the table checks meet what the archive has), then
# the other published columns (by name), then the columns (by role) a real archive indexes.
_ALMA_SHAPES = {
    "execblock": (
        {"eb_uid": _UID, "sched_block_uid": _UID, "project_code": sa.String(32),
         "qa0_status": sa.String(16), "end_time": sa.DateTime},
        [("starttime", sa.DateTime), ("status", sa.String(16)), ("execfraction", sa.Float),
         ("sessionuid", _UID), ("sessionpartid", sa.String(32)),
         ("finalcommentid", sa.String(64)), ("almabuild", sa.String(64))],
        ["eb_uid", "end_time"]),
    "sched_block_status": (
        {"sched_block_uid": _UID, "mous_uid": _UID},
        [("status_entity_id", _UID), ("domain_entity_state", sa.String(32))], ["sched_block_uid"]),
    "delivery": (
        {"delivery_id": sa.String(64), "delivery_name": _NAME, "qa2_passed": sa.String(1),
         "delivered_at": sa.DateTime},
        [("id", sa.Integer)], ["delivered_at"]),
    "delivery_asdm": ({"asdm_uid": _UID, "deliverable_name": _NAME}, [], ["deliverable_name"]),
    "product_files": (
        {"mous_uid": _UID, "file_class": sa.String(32), "ngas_file_id": sa.String(256)},
        [("asa_energy_id", sa.String(64)), ("stored_size", sa.BigInteger)], ["mous_uid"]),
}
_SCIENCE_COLUMNS = [("asa_ous_id", _UID), ("member_ouss_id", _UID), ("project_code", sa.String(32)),
                    ("asdm_uid", _UID), ("product_type", sa.String(32)),
                    ("dataset_id", sa.String(128))]


def utc_now():
    """The current time as a naive UTC datetime (how the archive stores times)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


def eb_uid(number):
    """Return a realistic, unique EB uid for ``number``."""
    return "uid://A002/X%x/X%x" % (0xc7111c + number // 4096, 0x1000 + number % 4096)


def mous_uid(number):
    """Return a realistic, unique MOUS uid for ``number``."""
    return "uid://A001/X%x/X%x" % (0x1284 + number // 4096, 0x265f + number % 4096)


def sb_uid(number):
    """Return a realistic, unique scheduling block uid for ``number``."""
    return "uid://A001/X%x/X%x" % (0x1284 + number // 4096, 0x4000 + number % 4096)


def project_code(number):
    """Return a realistic ALMA project code for ``number``."""
    return "%d.1.%05d.%s" % (2017 + number % 8, 886 + number % 90000, "LSTS"[number % 4])


def delivery_name(project, mous):
    """Return the delivery name of ``mous``: ``<project>_<file-safe MOUS uid>``."""
    return "%s_%s" % (project, file_safe_uid(mous))


def _mapping(mapping):
    return mapping if mapping is not None else schema_map(PackConfig({}))


def alma_fixture_tables(mapping=None):
    """Return the full ALMA tables (``sqlalchemy.Table``, the pack's columns keyed by role) by
    role, plus ``science`` (ASA_SCIENCE, which the pack does not read)."""
    metadata = sa.MetaData()
    mapping = _mapping(mapping)
    tables = {}
    schema = None
    for spec in mapping.tables(ALMA):
        types, extras, indexed = _ALMA_SHAPES[spec.role]
        schema = spec.schema
        columns = [sa.Column(column.name, types[column.role], key=column.role,
                             index=column.role in indexed)
                   for column in spec.columns.values()]
        used = set(column.name for column in columns)
        columns += [sa.Column(name, kind) for name, kind in extras if name not in used]
        tables[spec.role] = sa.Table(spec.name, metadata, *columns, schema=schema)
    tables["science"] = sa.Table("asa_science", metadata,
                                 *[sa.Column(name, kind) for name, kind in _SCIENCE_COLUMNS],
                                 schema=schema)
    return tables


#: NRAO's published ``execution_blocks`` columns after its key: name, type, options.
_METADATA_COLUMNS = [
    ("ost_exec_block_id", sa.Integer, {}), ("filegroup_id", sa.Integer, {"nullable": False}),
    ("calibration_level", sa.String, {"nullable": False}),
    ("telescope", sa.String, {"nullable": False}), ("configuration", sa.String, {}),
    ("scheduling_block_id", sa.Integer, {}), ("ngas_fileset_id", sa.String, {"index": True}),
    ("project_code", sa.String, {"nullable": False}), ("starttime", sa.Float, {}),
    ("endtime", sa.Float, {}),
    ("calibration_status", sa.String, {"nullable": False, "server_default": "Unknown"}),
    ("scheduling_block_type", sa.String, {}), ("band_code", sa.String, {}),
]


def metadata_fixture_table(mapping=None):
    """Return NRAO's ``execution_blocks`` (published DDL; the pack's columns keyed by role)."""
    spec = _mapping(mapping).spec("execution_blocks")
    roles = dict((column.name, column.role) for column in spec.columns.values())
    columns = [sa.Column("execution_block_id", sa.Integer, primary_key=True, autoincrement=True)]
    columns += [sa.Column(name, kind, key=roles.get(name, name), **options)
                for name, kind, options in _METADATA_COLUMNS]
    names = set(column.name for column in columns)
    columns += [sa.Column(column.name, sa.String, key=column.role, index=True)
                for column in spec.columns.values() if column.name not in names]
    return sa.Table(spec.name, sa.MetaData(), *columns, schema=spec.schema)


def create_alma_schema(engine, mapping=None):
    """Create the ALMA tables (empty) in ``engine``; return them by role."""
    tables = alma_fixture_tables(mapping=mapping)
    tables["execblock"].metadata.create_all(engine)
    return tables


def create_metadata_schema(engine, mapping=None):
    """Create the archive metadata ``execution_blocks`` table (empty); return it."""
    table = metadata_fixture_table(mapping=mapping)
    table.metadata.create_all(engine)
    return table


def add_execution_block(engine, uid, project, mous, end_time, qa0_status="Pass",
                        sched_block=None, mapping=None):
    """Insert one EB into AQUA_V_EXECBLOCK, and its scheduling block's MOUS into
    SCHED_BLOCK_STATUS (none when ``mous`` is None); ``sched_block`` defaults to one scheduling
    block per MOUS (or per EB when ``mous`` is None)."""
    tables = alma_fixture_tables(mapping=mapping)
    sched_block = sched_block or _sched_block_of(mous or uid)
    sbs = tables["sched_block_status"]
    with engine.begin() as connection:
        connection.execute(tables["execblock"].insert().values(
            eb_uid=uid, sched_block_uid=sched_block, project_code=project,
            qa0_status=qa0_status, end_time=end_time,
            starttime=end_time - datetime.timedelta(hours=1),
            status="SUCCESS", execfraction=1.0, sessionuid=mous, almabuild="CYCLE10"))
        if mous is not None:
            known = connection.execute(sa.select(sa.func.count()).select_from(sbs).where(
                sbs.c.sched_block_uid == sched_block)).scalar()
            if not known:
                connection.execute(sbs.insert().values(
                    sched_block_uid=sched_block, mous_uid=mous, status_entity_id=sched_block,
                    domain_entity_state="FullyObserved"))


def _sched_block_of(uid):
    """A scheduling block uid derived from a MOUS (or EB) uid: same archive, another serial."""
    head, last = uid.rsplit("/", 1)
    return "%s/X%x" % (head, int(last[1:], 16) + 0x100000)


def add_delivery(engine, delivery_id, mous, project, delivered_at, eb_uids=(),
                 manual_calibration=False, science_products=True, qa2_passed="Y",
                 linked_by="delivery_id", name=None, mapping=None):
    """Insert a delivery of ``mous`` with its EB links and product files. ``linked_by``: what
    ASA_DELIVERY_ASDM_OUS.DELIVERABLE_NAME holds (``delivery_id`` or ``delivery_name``); ``name``
    overrides the delivery name. Product files: science files unless ``science_products`` is
    false, and the PI's imaging script or (``manual_calibration``) a ``scriptForCalibration``."""
    tables = alma_fixture_tables(mapping=mapping)
    name = name or delivery_name(project, mous)
    safe = file_safe_uid(mous)
    link = delivery_id if linked_by == "delivery_id" else name
    with engine.begin() as connection:
        next_id = connection.execute(sa.select(sa.func.count()).select_from(
            tables["delivery"])).scalar() + 1
        connection.execute(tables["delivery"].insert().values(
            id=next_id, delivery_id=delivery_id, delivery_name=name, qa2_passed=qa2_passed,
            delivered_at=delivered_at))
        for uid in eb_uids:
            connection.execute(tables["delivery_asdm"].insert().values(
                asdm_uid=uid, deliverable_name=link))
            connection.execute(tables["science"].insert().values(
                asa_ous_id=mous, member_ouss_id=mous, project_code=project, asdm_uid=uid,
                product_type="IMAGE", dataset_id=name))
        files = [("script", "member.%s.scriptForPI.py" % safe)]
        if science_products:
            files.append(("science", "member.%s.J1924-2914_sci.spw25.cube.I.pbcor.fits" % safe))
        if manual_calibration:
            files.append(("script", "member.%s.scriptForCalibration.py" % safe))
        for file_class, ngas_id in files:
            connection.execute(tables["product_files"].insert().values(
                mous_uid=mous, file_class=file_class, ngas_file_id=ngas_id,
                stored_size=2880 * 100))


def add_metadata_row(engine, uid, project, status="Ready", stored_form="file_safe",
                     telescope="ALMA", mapping=None):
    """Insert an ``execution_blocks`` row for an ALMA EB; the uid column holds ``uid`` in
    ``stored_form`` (``file_safe``: ``uid___A002_...``, or ``canonical``: ``uid://A002/...``)."""
    stored = file_safe_uid(uid) if stored_form == "file_safe" else uid
    row = {"eb_uid": stored, "telescope": telescope, "calibration_status": status,
           "filegroup_id": 1, "calibration_level": "RAW", "project_code": project,
           "starttime": 61000.0, "endtime": 61000.04, "configuration": "C-5", "band_code": "6"}
    _insert_metadata(engine, row, mapping)


def add_vla_row(engine, name, ost_id, project, status="Unknown", mapping=None):
    """Insert a VLA ``execution_blocks`` row (integer ``ost_exec_block_id``, a VLA EB name)."""
    row = {"eb_uid": name, "telescope": "VLA", "calibration_status": status,
           "ost_exec_block_id": ost_id, "filegroup_id": 2, "calibration_level": "RAW",
           "project_code": project, "scheduling_block_id": 28862036, "starttime": 56782.57,
           "endtime": 56782.61, "configuration": "B", "band_code": "L"}
    _insert_metadata(engine, row, mapping)


def _insert_metadata(engine, row, mapping):
    """Insert ``row`` (by column key; keys the table has not are left out)."""
    table = metadata_fixture_table(mapping=mapping)
    keys = set(column.key for column in table.columns)
    with engine.begin() as connection:
        connection.execute(table.insert().values(**{k: v for k, v in row.items() if k in keys}))


def load_sample(alma_engine, metadata_engine, now=None, mapping=None):
    """Fill both databases with a small, realistic day of ALMA data; return what was added.

    Seven EBs (Pass, Pass, SemiPass, Fail, Pass, Pass, Pass) ended 1, 2, 3, 4, 6, 8 and 20 hours
    ago; the one 8 hours ago belongs to a scheduling block with no MOUS in SCHED_BLOCK_STATUS.
    Two deliveries in the last 2 days: MOUS 0 (EBs 0 and 1, calibrateable; its EB links carry
    the delivery id) and MOUS 1 (EBs 2 and 3, a manual calibration script; links carry the
    delivery name). ``execution_blocks`` has a Ready row per ALMA EB (EB 6 stored as
    ``uid://...``, the others as ``uid___...``) and two VLA rows.
    """
    now = now or utc_now()
    create_alma_schema(alma_engine, mapping)
    create_metadata_schema(metadata_engine, mapping)
    ebs = []
    statuses = ["Pass", "Pass", "SemiPass", "Fail", "Pass", "Pass", "Pass"]
    hours_ago = [1, 2, 3, 4, 6, 8, 20]
    for index, (qa0, hours) in enumerate(zip(statuses, hours_ago)):
        uid = eb_uid(index)
        mous = None if index == 5 else mous_uid(index // 2)
        project = "2017.1.00886.L" if index < 4 else "2019.1.01184.S"
        add_execution_block(alma_engine, uid, project, mous,
                            now - datetime.timedelta(hours=hours), qa0, mapping=mapping)
        add_metadata_row(metadata_engine, uid, project, mapping=mapping,
                         stored_form="canonical" if index == 6 else "file_safe")
        ebs.append({"eb_uid": uid, "mous_uid": mous, "project_code": project, "qa0_status": qa0,
                    "hours_ago": hours})
    add_vla_row(metadata_engine, "13B-014.sb28862036.eb29155786.56782.5720116088", 29155786,
                "13B-014", mapping=mapping)
    add_vla_row(metadata_engine, "13B-014.sb28862036.eb29155790.56783.5720116088", 29155790,
                "13B-014", status="Calibrated", mapping=mapping)
    deliveries = [
        {"delivery_id": "2017.1.00886.L_2026_001", "mous_uid": mous_uid(0),
         "project_code": "2017.1.00886.L", "manual_calibration": False,
         "eb_uids": [eb_uid(0), eb_uid(1)], "linked_by": "delivery_id", "hours_ago": 5},
        {"delivery_id": "2017.1.00886.L_2026_002", "mous_uid": mous_uid(1),
         "project_code": "2017.1.00886.L", "manual_calibration": True,
         "eb_uids": [eb_uid(2), eb_uid(3)], "linked_by": "delivery_name", "hours_ago": 30},
    ]
    for item in deliveries:
        add_delivery(alma_engine, item["delivery_id"], item["mous_uid"], item["project_code"],
                     now - datetime.timedelta(hours=item["hours_ago"]), item["eb_uids"],
                     item["manual_calibration"], linked_by=item["linked_by"], mapping=mapping)
        item["delivery_name"] = delivery_name(item["project_code"], item["mous_uid"])
    return {"execution_blocks": ebs, "deliveries": deliveries}


_PG_UID = "'uid://A002/X' || to_hex(n / 4096 + 13046044) || '/X' || to_hex(n % 4096 + 4096)"
_PG_SB = "'uid://A001/X' || to_hex(n / 40960 + 4740) || '/X' || to_hex((n / 10) % 4096 + 16384)"
_PG_MOUS = "'uid://A001/X' || to_hex(n / 40960 + 4740) || '/X' || to_hex((n / 10) % 4096)"
_PG_END = ":newest - ((n - :first + 1) * interval '1 minute')"
_PG_FILL_EXECBLOCK = "".join([
    "INSERT INTO aqua_v_execblock (execblockuid, schedblockuid, obsprojectcode, qa0status, ",
    "status, execfraction, starttime, endtime) SELECT ", _PG_UID, ", ", _PG_SB, ", ",
    "'2016.1.' || lpad((n % 90000)::text, 5, '0') || '.S', 'Pass', 'SUCCESS', 1.0, ",
    _PG_END, " - interval '1 hour', ", _PG_END, " FROM generate_series(:first, :last) AS n"])
_PG_FILL_SCHED_BLOCKS = "".join([
    "INSERT INTO sched_block_status (domain_entity_id, parent_obs_unit_set_status_id) SELECT ",
    _PG_SB, ", ", _PG_MOUS, " FROM generate_series(:first, :last) AS n WHERE n % 10 = 0"])


def bulk_fill_execution_blocks(engine, count, newest_end, start_number=1000000):
    """Insert ``count`` old EBs (all Pass, ending one minute apart before ``newest_end``), ten
    per scheduling block, each scheduling block with its MOUS in SCHED_BLOCK_STATUS.

    Uses the default table names. On PostgreSQL this runs server-side (``generate_series``);
    elsewhere in batches.
    """
    tables = alma_fixture_tables()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for statement in (_PG_FILL_EXECBLOCK, _PG_FILL_SCHED_BLOCKS):
                connection.execute(sa.text(statement), {
                    "first": start_number, "last": start_number + count - 1,
                    "newest": newest_end})
            connection.execute(sa.text("ANALYZE aqua_v_execblock"))
            connection.execute(sa.text("ANALYZE sched_block_status"))
        return
    batch, blocks = [], []
    for offset in range(count):
        number = start_number + offset
        end = newest_end - datetime.timedelta(minutes=offset + 1)
        block = sb_uid(number // 10)
        batch.append({"eb_uid": eb_uid(number), "sched_block_uid": block,
                      "project_code": project_code(number), "qa0_status": "Pass",
                      "end_time": end, "starttime": end - datetime.timedelta(hours=1)})
        if number % 10 == 0 or offset == 0:
            blocks.append({"sched_block_uid": block, "mous_uid": mous_uid(number // 10)})
        if len(batch) == 20000 or offset == count - 1:
            with engine.begin() as connection:
                connection.execute(tables["execblock"].insert(), batch)
                if blocks:
                    connection.execute(tables["sched_block_status"].insert(), blocks)
            batch, blocks = [], []
