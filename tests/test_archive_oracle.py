"""Every statement the pack sends to the archives also compiles for Oracle (the ALMA archive).

No Oracle server here: the archive layer runs against SQLite with the tables in attached schemas
(``alma`` for ``alma_table_prefix: ALMA.``, ``archive`` for ``execution_blocks_table:
archive.execution_blocks``), with enough deliveries and uids to need several IN lists. Each
statement it executes is compiled with SQLAlchemy's Oracle dialect and must have: every value as a
bound parameter, IN lists of at most 1000 values, the schema prefix on every table, unquoted
(case-insensitive) names, and no SQL functions (nothing dialect-only).
"""

import datetime
import os
import shutil
import tempfile
import unittest

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.sql import visitors

from workspaces_devkit import archive_fixtures
from workspaces_pack.archive.alma_queries import AlmaArchive
from workspaces_pack.archive.execution_blocks import MetadataArchive
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import PackConfig

CONFIG = {"alma_table_prefix": "ALMA.", "execution_blocks_table": "archive.execution_blocks"}
MANY = 1300


def _attached(folder, schema):
    """An SQLite engine whose database ``schema`` is attached (as Oracle's schema would be)."""
    engine = sa.create_engine("sqlite:///" + os.path.join(folder, "main.sqlite"))
    path = os.path.join(folder, schema + ".sqlite")

    @sa.event.listens_for(engine, "connect")
    def attach(dbapi_connection, record):
        dbapi_connection.execute("ATTACH DATABASE '%s' AS %s" % (path, schema))
    return engine


class OracleCompileTest(unittest.TestCase):
    """The statements of the two ALMA sensors and of the mark action, compiled for Oracle."""

    def setUp(self):
        folder = tempfile.mkdtemp(prefix="oracle-compile-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.mapping = schema_map(PackConfig(CONFIG))
        self.alma = _attached(folder, "alma")
        self.metadata = _attached(folder, "archive")
        self.addCleanup(self.alma.dispose)
        self.addCleanup(self.metadata.dispose)
        self.now = archive_fixtures.utc_now()
        archive_fixtures.load_sample(self.alma, self.metadata, self.now, mapping=self.mapping)
        self._add_many_deliveries()
        self.sent = []
        for engine in (self.alma, self.metadata):
            sa.event.listen(engine, "before_execute", self._record)

    def _add_many_deliveries(self):
        tables = archive_fixtures.alma_fixture_tables(mapping=self.mapping)
        deliveries, links = [], []
        for number in range(100, 100 + MANY):
            mous = archive_fixtures.mous_uid(number)
            name = archive_fixtures.delivery_name("2018.1.00001.S", mous)
            deliveries.append({"delivery_id": "D%05d" % number, "delivery_name": name,
                               "qa2_passed": "Y", "id": number,
                               "delivered_at": self.now - datetime.timedelta(minutes=number)})
            links.append({"asdm_uid": archive_fixtures.eb_uid(number), "deliverable_name": name})
        with self.alma.begin() as connection:
            connection.execute(tables["delivery"].insert(), deliveries)
            connection.execute(tables["delivery_asdm"].insert(), links)

    def _record(self, connection, clause, multiparams, params, options):
        if isinstance(clause, (sa.sql.Select, sa.sql.Update, sa.sql.Insert, sa.sql.Delete)):
            self.sent.append(clause)

    def _check(self, statement, schema):
        compiled = statement.compile(dialect=oracle.dialect())
        sql = str(compiled)
        where = "%s\n%s" % (type(statement).__name__, sql)
        for name, bind in compiled.binds.items():
            value = compiled.params.get(name)
            if bind.expanding:
                self.assertLessEqual(len(value), 1000, where)
                self.assertGreater(len(value), 0, where)
            for item in (value if isinstance(value, list) else [value]):
                if isinstance(item, str) and len(item) > 2:
                    self.assertNotIn(item, sql, "a value is written into the SQL: " + where)
        tables = [element for element in visitors.iterate(statement)
                  if isinstance(element, sa.Table)]
        self.assertTrue(tables, where)
        for table in tables:
            self.assertEqual(table.schema, schema, where)
            self.assertIn("%s.%s" % (schema, table.name), sql, where)
        self.assertNotIn('"', sql, "a quoted (case-sensitive) name: " + where)
        functions = [element for element in visitors.iterate(statement)
                     if isinstance(element, sa.sql.functions.FunctionElement)]
        self.assertEqual(functions, [], where)
        self.assertTrue(compiled.binds, "no bound parameter: " + where)
        rendered = str(statement.compile(dialect=oracle.dialect(),
                                         compile_kwargs={"render_postcompile": True}))
        self.assertIn(":", rendered, where)
        self.assertNotIn("POSTCOMPILE", rendered, where)

    def test_asdm_sensor_statements(self):
        archive = AlmaArchive(self.alma, self.mapping)
        found = archive.new_execution_blocks(self.now - datetime.timedelta(hours=12),
                                             ["Pass", "SemiPass"], "2017.1.%")
        self.assertEqual(len(found), 3)
        self.assertEqual(len(self.sent), 2, "the EBs, then the MOUSes of their scheduling blocks")
        for statement in self.sent:
            self._check(statement, "alma")

    def test_calibration_sensor_statements_chunk_their_in_lists(self):
        archive = AlmaArchive(self.alma, self.mapping)
        found = archive.delivered_mouses(self.now - datetime.timedelta(days=3), None, ["Y"])
        self.assertEqual(len(found), MANY + 2)
        many = [item for item in found if item["delivery_id"].startswith("D")]
        self.assertEqual([len(item["eb_uids"]) for item in many], [1] * MANY)
        self.assertGreaterEqual(len(self.sent), 1 + 2 * 3 + 6, "IN lists were not chunked")
        for statement in self.sent:
            self._check(statement, "alma")

    def test_mark_action_statements(self):
        archive = MetadataArchive(self.metadata, self.mapping)
        marked = archive.mark_calibration_status(
            [archive_fixtures.eb_uid(n) for n in range(7) if n != 3], "Do Not Calibrate")
        self.assertEqual(len(marked), 6)
        self.assertTrue(self.sent)
        statement_types = set(type(statement).__name__ for statement in self.sent)
        self.assertEqual(statement_types, {"Select", "Update"})
        for statement in self.sent:
            self._check(statement, "archive")

    def test_mark_action_in_lists_of_many_uids(self):
        with self.metadata.begin() as connection:
            table = archive_fixtures.metadata_fixture_table(mapping=self.mapping)
            connection.execute(table.insert(), [
                {"eb_uid": archive_fixtures.eb_uid(n).replace("/", "_").replace(":", "_"),
                 "telescope": "ALMA", "calibration_status": "Ready", "filegroup_id": 1,
                 "calibration_level": "RAW", "project_code": "2018.1.00001.S"}
                for n in range(1000, 1000 + MANY)])
        archive = MetadataArchive(self.metadata, self.mapping)
        archive.mark_calibration_status(
            [archive_fixtures.eb_uid(n) for n in range(1000, 1000 + MANY)], "Do Not Calibrate")
        self.assertGreaterEqual(len(self.sent), 2 * (MANY // 250))
        for statement in self.sent:
            self._check(statement, "archive")
