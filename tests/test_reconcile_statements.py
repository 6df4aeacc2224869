"""The reconciliation's statements compile for Oracle (no server here): bound parameters only,
IN lists of at most 1000 values, the schema prefix, nothing dialect-specific."""

import datetime
import re
import unittest

from sqlalchemy.dialects import oracle, postgresql, sqlite

from workspaces_pack.archive_schema import schema_map
from workspaces_pack.reconcile import IN_CHUNK, present_statement, range_statement

CONFIG = {"alma_table_prefix": "ALMA.", "execution_blocks_table": "archive.execution_blocks"}


def compiled(statement, dialect, parameters):
    """Compile with expanding IN lists rendered as they would be sent."""
    return statement.params(**parameters).compile(dialect=dialect,
                                                  compile_kwargs={"render_postcompile": True})


class OracleCompileTest(unittest.TestCase):
    """Each statement compiles for Oracle with bound parameters and the configured names."""

    def setUp(self):
        self.mapping = schema_map(CONFIG)

    def test_range_statement(self):
        statement = range_statement(self.mapping, project_like="2017.1.%")
        parameters = {"ended_from": datetime.datetime(2026, 10, 1),
                      "ended_before": datetime.datetime(2026, 11, 1),
                      "statuses": ["Pass", "SemiPass"]}
        for dialect in (oracle.dialect(), postgresql.dialect(), sqlite.dialect()):
            text = str(compiled(statement, dialect, parameters))
            self.assertNotIn("2026", text, "values must be bound, not inlined")
            self.assertNotIn("Pass", text)
        text = str(compiled(statement, oracle.dialect(), parameters))
        self.assertIn("alma.aqua_v_execblock", text)
        self.assertIn("LEFT OUTER JOIN alma.sched_block_status", text)
        self.assertIn("alma.aqua_v_execblock.endtime >= :ended_from", text)
        self.assertIn("ESCAPE", text)
        self.assertNotRegex(text.upper(), r"\bLIMIT\b|\bILIKE\b|::")

    def test_present_statement_in_list_is_at_most_1000_values(self):
        forms = ["uid://A002/X%x/X1" % n for n in range(IN_CHUNK)]
        forms += ["uid___A002_X%x_X1" % n for n in range(IN_CHUNK)]
        statement = present_statement(self.mapping)
        query = compiled(statement, oracle.dialect(), {"forms": forms, "telescope": "ALMA"})
        text = str(query)
        self.assertIn("archive.execution_blocks.ngas_fileset_id IN (", text)
        self.assertIn("archive.execution_blocks.telescope = :telescope", text)
        self.assertEqual(len(re.findall(r":forms_\d+", text)), 2 * IN_CHUNK)
        self.assertLessEqual(2 * IN_CHUNK, 1000)
