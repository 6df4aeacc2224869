"""workspaces.mark_asdm_not_calibrateable on real databases: one transaction, idempotent, safe.

The sample's ``execution_blocks`` has the published DDL (integer ``ost_exec_block_id``): ALMA EBs
are matched through ``execution_blocks_uid_column`` (``ngas_fileset_id``), in either uid form, and
only ALMA rows are touched.
"""

import pytest
from st2tests.base import BaseActionTestCase

from archive_test_support import ArchiveDatabases
from mark_asdm_not_calibrateable import MarkAsdmNotCalibrateableAction
from pack_test_support import closed_port_url
from workspaces_devkit.archive_fixtures import add_metadata_row, eb_uid

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

    def test_either_uid_form_matches_either_stored_form(self):
        """EB 0 is stored as uid___..., EB 6 as uid://...; both are found from both forms."""
        given = ["uid___A002_Xc7111c_X1000", eb_uid(1), "uid___A002_Xc7111c_X1006", eb_uid(5)]
        ok, result = self.run_action(eb_uids=given)
        self.assertTrue(ok, result)
        self.assertEqual([item["eb_uid"] for item in result["marked"]], given)
        statuses = self.calibration_statuses()
        self.assertEqual([statuses[eb_uid(n)] for n in (0, 1, 6, 5, 2)],
                         [MARK, MARK, MARK, MARK, "Ready"])

    def test_the_same_eb_in_both_forms_is_marked_once(self):
        ok, result = self.run_action(eb_uids=[eb_uid(0), "uid___A002_Xc7111c_X1000"])
        self.assertTrue(ok, result)
        self.assertEqual(len(result["marked"]), 1)

    def test_only_alma_rows_are_touched(self):
        before = {key: value for key, value in self.metadata_rows().items()
                  if value[0] != "ALMA"}
        add_metadata_row(self.metadata_engine, eb_uid(40), "2019.1.00001.S", telescope="VLA")
        ok, result = self.run_action(eb_uids=[eb_uid(0), eb_uid(40)])
        self.assertFalse(ok)
        self.assertEqual(result["unknown_uids"], [eb_uid(40)])
        rows = self.metadata_rows()
        self.assertEqual(rows["uid___A002_Xc7111c_X1028"], ("VLA", "Ready"))
        self.assertEqual({key: value for key, value in rows.items()
                          if value[0] != "ALMA" and key in before}, before)
        ok, result = self.run_action(eb_uid=eb_uid(0))
        self.assertTrue(ok, result)
        self.assertEqual({key: value for key, value in self.metadata_rows().items()
                          if value[0] != "ALMA"},
                         dict(before, uid___A002_Xc7111c_X1028=("VLA", "Ready")))

    def test_integer_uid_column_is_refused_naming_it(self):
        """ost_exec_block_id is an INTEGER VLA id: it never meets a uid, on any database."""
        ok, result = self.run_action(
            config=self.archive_config(execution_blocks_uid_column="ost_exec_block_id"),
            eb_uid=eb_uid(0))
        self.assertFalse(ok)
        self.assertIn("execution_blocks.ost_exec_block_id", result["error"])
        self.assertIn("execution_blocks_uid_column", result["error"])
        self.assertIn("wrong type", result["error"])
        self.assertNotIn("operator does not exist", result["error"])
        self.assertEqual(set(self.calibration_statuses().values()), {"Ready"})

    def test_missing_uid_column_or_table_is_named(self):
        for config, named in [({"execution_blocks_uid_column": "alma_uid"},
                               "execution_blocks.alma_uid"),
                              ({"execution_blocks_table": "exec_blocks"}, "exec_blocks"),
                              ({"execution_blocks_columns": {"telescope": "instrument"}},
                               "execution_blocks_columns.telescope")]:
            ok, result = self.run_action(config=self.archive_config(**config), eb_uid=eb_uid(0))
            self.assertFalse(ok, config)
            self.assertIn(named, result["error"])
            self.assertIn("missing", result["error"])
        self.assertEqual(set(self.calibration_statuses().values()), {"Ready"})

    def test_malformed_uids_fail_naming_the_parameter(self):
        for parameters, name in [({"eb_uid": "uid__A002_Xc7111c_X3979"}, "eb_uid"),
                                 ({"eb_uid": "29155786"}, "eb_uid"),
                                 ({"eb_uids": ["uid://A002/Xc7111c/X3979' OR '1'='1"]},
                                  "eb_uids"),
                                 ({"eb_uids": "uid://A002/Xc7111c/X3979"}, "eb_uids"),
                                 ({}, "eb_uid")]:
            ok, result = self.run_action(**parameters)
            self.assertFalse(ok, parameters)
            self.assertIn("parameter '%s" % name, result["error"])
            shown = parameters.get("eb_uid") or parameters.get("eb_uids")
            if isinstance(shown, str):
                self.assertIn(shown, result["error"])
        self.assertEqual(set(self.calibration_statuses().values()), {"Ready"})

    def test_status_text_is_data_not_sql(self):
        status = "x'; DROP TABLE execution_blocks; --"
        ok, result = self.run_action(eb_uid=eb_uid(4), status=status)
        self.assertTrue(ok, result)
        statuses = self.calibration_statuses()
        self.assertEqual(statuses[eb_uid(4)], status)
        self.assertEqual(len(statuses), len(self.sample["execution_blocks"]))
        self.assertEqual(len(self.metadata_rows()), len(statuses) + 2, "VLA rows are still there")

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
