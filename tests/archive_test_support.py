"""Archive databases for tests: a fresh SQLite file or a fresh database on a real PostgreSQL server.

``ArchiveDatabases`` is mixed into a test class next to a ``database`` attribute (``"sqlite"`` or
``"postgres"``). Each test gets new, empty ALMA and metadata databases filled with the sample day
of ``workspaces_devkit.archive_fixtures.load_sample``. PostgreSQL runs from Debian's packages,
started once per test process; where it cannot run the PostgreSQL tests are skipped, except under
CI (``CI`` set), where that is a failure.
"""

import os
import shutil
import tempfile
import unittest
import uuid

import sqlalchemy as sa

from workspaces_devkit import archive_fixtures
from workspaces_devkit.pg_server import PostgresUnavailable, shared_server
from workspaces_pack.core.uids import canonical_uid


def postgres_server():
    """Return the shared PostgreSQL server, or skip (fail under CI) when it cannot run."""
    try:
        return shared_server()
    except PostgresUnavailable as error:
        if os.environ.get("CI"):
            raise
        raise unittest.SkipTest("PostgreSQL unavailable: %s" % error)


def new_postgres_database(server):
    """Create an empty database on ``server``; return its SQLAlchemy URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE " + name))
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + "/" + name


class ArchiveDatabases(object):
    """Mixin: ``self.alma_url``/``self.metadata_url`` and engines, sample data loaded."""

    database = "sqlite"

    def setUp(self):
        super(ArchiveDatabases, self).setUp()
        if self.database == "postgres":
            self.pg = postgres_server()
            self.alma_url = new_postgres_database(self.pg)
            self.metadata_url = new_postgres_database(self.pg)
        else:
            folder = tempfile.mkdtemp(prefix="archive-")
            self.addCleanup(shutil.rmtree, folder, True)
            self.alma_url = "sqlite:///" + os.path.join(folder, "alma.sqlite")
            self.metadata_url = "sqlite:///" + os.path.join(folder, "metadata.sqlite")
        self.alma_engine = sa.create_engine(self.alma_url)
        self.metadata_engine = sa.create_engine(self.metadata_url)
        self.addCleanup(self.alma_engine.dispose)
        self.addCleanup(self.metadata_engine.dispose)
        self.now = archive_fixtures.utc_now()
        self.sample = archive_fixtures.load_sample(self.alma_engine, self.metadata_engine,
                                                   now=self.now)

    def archive_config(self, **extra):
        """Pack config pointing at this test's databases."""
        config = {"alma_archive_db_url": self.alma_url,
                  "archive_metadata_db_url": self.metadata_url,
                  "database_timeout_seconds": 3}
        config.update(extra)
        return config

    def calibration_statuses(self):
        """Return ``{eb uid (uid://...): calibration_status}`` of the ALMA rows."""
        return {canonical_uid(uid): status for uid, (telescope, status)
                in self.metadata_rows().items() if telescope == "ALMA"}

    def metadata_rows(self):
        """Return ``{stored identifier: (telescope, calibration_status)}`` of every row."""
        with self.metadata_engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT ngas_fileset_id, telescope, calibration_status FROM execution_blocks"))
            return {row[0]: (row[1], row[2]) for row in rows}
