"""workspaces.mark_asdm_not_calibrateable on real databases: one transaction, idempotent, safe."""

import pytest
from st2tests.base import BaseActionTestCase

from archive_test_support import ArchiveDatabases
from mark_asdm_not_calibrateable import MarkAsdmNotCalibrateableAction
from pack_test_support import closed_port_url
from workspaces_devkit.archive_fixtures import eb_uid

MARK = "Do Not Calibrate"


class MarkNotCalibrateableCases(ArchiveDatabases):
    """The cases, run once per database."""

    action_cls = MarkAsdmNotCalibrateableAction

    def run_action(self, config=None, **parameters):
        """Run the action; return ``(succeeded, result)``."""
        action = self.get_action_instance(config=config or self.archive_config())
        outcome = action.run(**parameters)
        return outcome if isinstance(outcome, tuple) else (True, outcome)

    def test_marks_one_eb_and_returns_previous_and_new_status(self):
        ok, result = self.run_action(eb_uid=eb_uid(0))
        self.assertTrue(ok, result)
        self.assertEqual(result["marked"], [{"eb_uid": eb_uid(0), "previous_status": "Ready",
                                             "new_status": MARK, "changed": True}])
        statuses = self.calibration_statuses()
        self.assertEqual(statuses[eb_uid(0)], MARK)
        self.assertEqual(statuses[eb_uid(1)], "Ready", "another EB was changed")

    def test_marking_twice_succeeds_and_says_it_was_already_marked(self):
        self.run_action(eb_uids=[eb_uid(0), eb_uid(1)])
        ok, result = self.run_action(eb_uids=[eb_uid(0), eb_uid(1), eb_uid(2)])
        self.assertTrue(ok, result)
        self.assertEqual(result["already_marked_count"], 2)
        self.assertEqual(result["changed_count"], 1)
        self.assertEqual([item["changed"] for item in result["marked"]], [False, False, True])

    def test_unknown_uid_fails_and_changes_nothing(self):
        unknown = "uid://A002/Xfffff/X1"
        ok, result = self.run_action(eb_uids=[eb_uid(0), unknown])
        self.assertFalse(ok)
        self.assertIn(unknown, result["error"])
        self.assertEqual(result["unknown_uids"], [unknown])
        self.assertEqual(self.calibration_statuses()[eb_uid(0)], "Ready")

    def test_malformed_uids_fail_naming_the_parameter(self):
        for parameters, name in [({"eb_uid": "uid___A002_Xc7111c_X3979"}, "eb_uid"),
                                 ({"eb_uids": ["uid://A002/Xc7111c/X3979' OR '1'='1"]},
                                  "eb_uids"),
                                 ({"eb_uids": "uid://A002/Xc7111c/X3979"}, "eb_uids"),
                                 ({}, "eb_uid")]:
            ok, result = self.run_action(**parameters)
            self.assertFalse(ok, parameters)
            self.assertIn("parameter '%s" % name, result["error"])
        self.assertEqual(set(self.calibration_statuses().values()), {"Ready"})

    def test_status_text_is_data_not_sql(self):
        status = "x'; DROP TABLE execution_blocks; --"
        ok, result = self.run_action(eb_uid=eb_uid(4), status=status)
        self.assertTrue(ok, result)
        statuses = self.calibration_statuses()
        self.assertEqual(statuses[eb_uid(4)], status)
        self.assertEqual(len(statuses), len(self.sample["execution_blocks"]))

    def test_unreachable_or_unset_database_fails_clearly_without_secrets(self):
        port = closed_port_url().rsplit(":", 1)[1]
        config = {"archive_metadata_db_url":
                  "postgresql+psycopg://archive:s3cret-pw@127.0.0.1:%s/meta" % port,
                  "database_timeout_seconds": 2}
        ok, result = self.run_action(config=config, eb_uid=eb_uid(0))
        self.assertFalse(ok)
        self.assertIn("database", result["error"])
        self.assertNotIn("s3cret-pw", repr(result))
        ok, result = self.run_action(config={"database_timeout_seconds": 2}, eb_uid=eb_uid(0))
        self.assertFalse(ok)
        self.assertIn("archive_metadata_db_url", result["error"])


class MarkNotCalibrateableSqliteTest(MarkNotCalibrateableCases, BaseActionTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class MarkNotCalibrateablePostgresTest(MarkNotCalibrateableCases, BaseActionTestCase):
    """On a real PostgreSQL server."""

    database = "postgres"
