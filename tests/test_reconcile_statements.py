"""The reconciliation's statements compile for Oracle (no server here): bound parameters only,
IN lists of at most 1000 values, the schema prefix, nothing dialect-specific."""

import datetime
import json
import re
import unittest

from sqlalchemy.dialects import oracle, postgresql, sqlite

from workspaces_pack.archive.engines import IN_CHUNK
from workspaces_pack.archive.reconcile import present_statement, range_statement
from workspaces_pack.archive.schema import schema_map
from workspaces_pack.core.config import PackConfig

CONFIG = {"alma_table_prefix": "ALMA.", "execution_blocks_table": "archive.execution_blocks"}


def compiled(statement, dialect):
    """Compile with expanding IN lists rendered as they are sent (one bound value each)."""
    return str(statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))


class OracleCompileTest(unittest.TestCase):
    """Each statement compiles for Oracle with bound parameters and the configured names."""

    def setUp(self):
        self.mapping = schema_map(PackConfig(CONFIG))

    def test_range_statement(self):
        statement = range_statement(self.mapping, datetime.datetime(2026, 10, 1),
                                    datetime.datetime(2026, 11, 1), ["Pass", "SemiPass"],
                                    project_like="2017.1.%")
        for dialect in (oracle.dialect(), postgresql.dialect(), sqlite.dialect()):
            text = compiled(statement, dialect)
            self.assertNotIn("2026", text, "values must be bound, not inlined")
            self.assertNotIn("Pass", text)
        text = compiled(statement, oracle.dialect())
        self.assertIn("FROM alma.aqua_v_execblock", text)
        self.assertIn("alma.aqua_v_execblock.endtime >= :since", text)
        self.assertIn("alma.aqua_v_execblock.endtime < :ended_before", text)
        self.assertIn("ESCAPE", text)
        self.assertNotRegex(text.upper(), r"\bLIMIT\b|\bILIKE\b|::|\"")

    def test_present_statement_in_list_is_at_most_1000_values(self):
        forms = ["uid://A002/X%x/X1" % n for n in range(IN_CHUNK)]
        forms += ["uid___A002_X%x_X1" % n for n in range(IN_CHUNK)]
        text = compiled(present_statement(self.mapping, forms, "ALMA"), oracle.dialect())
        self.assertIn("archive.execution_blocks.ngas_fileset_id IN (", text)
        self.assertIn("archive.execution_blocks.telescope = :telescope", text)
        self.assertEqual(len(re.findall(r":forms_\d+", text)), 2 * IN_CHUNK)
        self.assertLessEqual(2 * IN_CHUNK, 1000)
        self.assertNotIn("uid://", text)
        self.assertNotIn("uid___", text)


class RequestDocumentTest(unittest.TestCase):
    """The request an action leaves for the sensor: written and read back; junk refused."""

    def test_round_trip(self):
        from workspaces_pack.archive.reconcile import make_request, parse_request, refuse_request
        from workspaces_pack.core.keys import REQUEST_PREFIX
        start, end = datetime.datetime(2026, 10, 1), datetime.datetime(2026, 11, 1, 12)
        key, text = make_request(start, end, ["Pass"], "2017.1.*", clock=lambda: 1796663662.5)
        self.assertTrue(key.startswith(REQUEST_PREFIX))
        self.assertLess(len(text), 300)
        request = {"start": start, "end": end, "qa0_statuses": ["Pass"],
                   "project_code_pattern": "2017.1.*", "requested_at": 1796663662.5,
                   "refused": None}
        self.assertEqual(parse_request(text), request)
        refused = refuse_request(text, "archive_metadata_db_url is not set", 1796670000)
        self.assertEqual(parse_request(refused),
                         dict(request, refused="archive_metadata_db_url is not set"))
        self.assertEqual(json.loads(refused)["refused_at"], "2026-12-07T19:00:00Z")

    def test_junk_is_refused(self):
        from workspaces_pack.archive.reconcile import parse_request
        for text in ("", "[]", "{}", '{"start": "x", "end": 1, "qa0_statuses": []}',
                     '{"start": 1e300, "end": 2e300, "qa0_statuses": ["Pass"]}',
                     '{"start": 2, "end": 1, "qa0_statuses": ["Pass"]}',
                     '{"start": 1, "end": 2, "qa0_statuses": "Pass"}'):
            with self.assertRaises(ValueError, msg=text):
                parse_request(text)
