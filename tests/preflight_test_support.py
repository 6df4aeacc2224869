"""Archive databases built from the schema map, for the preflight and the sensors' own table check.

``SchemaDatabases`` is mixed into a test class next to ``database`` (``"sqlite"`` or
``"postgres"``): each test gets empty ALMA and metadata databases whose tables are made from the
pack's schema map (every configured table and column, uid columns text, windows date/time), with
the ALMA tables in schema ``alma`` on PostgreSQL (``alma_table_prefix: ALMA.``) and the execution
block view a real VIEW there. ``build(omit_table=..., omit_column=..., integer_column=...)`` makes
them with one deliberate mistake.
"""

import os
import shutil
import tempfile

import sqlalchemy as sa

from archive_test_support import new_postgres_database, postgres_server
from workspaces_pack.archive.schema import ALMA, METADATA, TIME, schema_map
from workspaces_pack.core.config import PackConfig

SECRET_PASSWORD = "s3cret-pw"


class SchemaDatabases(object):
    """Mixin: ``alma_url``, ``metadata_url``, ``config`` and ``build()``."""

    database = "sqlite"

    def setUp(self):
        super(SchemaDatabases, self).setUp()
        if self.database == "postgres":
            self.pg = postgres_server()
            self.alma_url = new_postgres_database(self.pg)
            self.metadata_url = new_postgres_database(self.pg)
            self.prefix = "ALMA."
        else:
            folder = tempfile.mkdtemp(prefix="preflight-")
            self.addCleanup(shutil.rmtree, folder, True)
            self.alma_url = "sqlite:///" + os.path.join(folder, "alma.sqlite")
            self.metadata_url = "sqlite:///" + os.path.join(folder, "metadata.sqlite")
            self.prefix = ""
        self.config = {"alma_archive_db_url": self.alma_url,
                       "archive_metadata_db_url": self.metadata_url,
                       "alma_table_prefix": self.prefix, "database_timeout_seconds": 3}

    def build(self, omit_table=None, omit_column=None, integer_column=None):
        """Create every mapped table; ``omit_*``/``integer_column`` are ``(role, column role)``."""
        mapping = schema_map(PackConfig(self.config))
        for database, url in ((ALMA, self.alma_url), (METADATA, self.metadata_url)):
            engine = sa.create_engine(url)
            try:
                with engine.begin() as connection:
                    for spec in mapping.tables(database):
                        if spec.role == omit_table:
                            continue
                        self._create(connection, spec, omit_column, integer_column)
            finally:
                engine.dispose()

    def _create(self, connection, spec, omit_column, integer_column):
        columns = []
        for column in spec.columns.values():
            if (spec.role, column.role) == omit_column:
                continue
            if (spec.role, column.role) == integer_column:
                kind = "INTEGER"
            else:
                kind = "TIMESTAMP" if column.value_type == TIME else "VARCHAR(128)"
            columns.append("%s %s" % (column.name, kind))
        if spec.schema:
            connection.execute(sa.text("CREATE SCHEMA IF NOT EXISTS %s" % spec.schema))
        name = spec.display
        if self.database == "postgres" and spec.role == "execblock":
            base = "%s.%s_base" % (spec.schema, spec.name) if spec.schema else spec.name + "_base"
            connection.execute(sa.text("CREATE TABLE %s (%s)" % (base, ", ".join(columns))))
            connection.execute(sa.text("CREATE VIEW %s AS SELECT * FROM %s" % (name, base)))
            return
        connection.execute(sa.text("CREATE TABLE %s (%s)" % (name, ", ".join(columns))))


def insert(url, config, role, rows):
    """Insert ``rows`` (dicts keyed by column role) into the mapped table of ``role``."""
    table = schema_map(PackConfig(config)).table(role)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
    finally:
        engine.dispose()
