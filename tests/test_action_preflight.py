"""workspaces.preflight and `workspaces-local preflight` on real databases, emulator, folders.

Each case builds the archive tables from the schema map (on PostgreSQL in schema ``alma``, with the
execution block view a real view) with at most one deliberate mistake, then checks that the report
names it, fails, and never shows a URL, a user or a password.
"""

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

import pytest
from st2tests.base import BaseActionTestCase

from pack_test_support import closed_port_url
from preflight import PreflightAction
from preflight_test_support import SchemaDatabases
from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.runner import cli
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.scrub import Scrubber


class PreflightCases(SchemaDatabases):
    """The cases, run once per database."""

    action_cls = PreflightAction

    def setUp(self):
        super(PreflightCases, self).setUp()
        self.emulator = WorkspacesEmulator()
        url = self.emulator.start()
        self.addCleanup(self.emulator.stop)
        self.folder = tempfile.mkdtemp(prefix="preflight-dirs-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.config.update({"capability_service_url": url, "workflow_service_url": url,
                            "vlba_data_directory": self.folder})

    def run_action(self, **parameters):
        """Run the action; return ``(ok, result)`` and check no secret shows in the result."""
        action = self.get_action_instance(config=self.config)
        ok, result = action.run(**parameters)
        self.assert_no_secrets(json.dumps(result))
        return ok, result

    def assert_no_secrets(self, text):
        """No configured URL (nor its host, user, password, database) in ``text``."""
        for key in ("alma_archive_db_url", "archive_metadata_db_url", "capability_service_url"):
            if not self.config[key]:
                continue
            self.assertNotIn(self.config[key], text)
            self.assertNotIn(self.config[key].split("://", 1)[1], text)
        self.assertNotIn("127.0.0.1", text)
        if self.database == "postgres":
            self.assertNotIn(self.pg.url.split("//", 1)[1].split("@")[0], text)

    def failed_items(self, result):
        """``{item: (status, detail)}`` of the failed items."""
        return {entry["item"]: (entry["status"], entry["detail"]) for entry in result["failed"]}

    def test_everything_as_configured_passes(self):
        self.build()
        ok, result = self.run_action()
        self.assertTrue(ok, result["failed"])
        items = {entry["item"]: entry["status"] for entry in result["items"]}
        prefix = "alma." if self.prefix else ""
        self.assertEqual(items[prefix + "aqua_v_execblock.qa0status"], "ok")
        self.assertEqual(items["execution_blocks.ngas_fileset_id"], "ok")
        self.assertEqual(items["capability service"], "ok")
        self.assertEqual(items["vlba_data_directory %s" % self.folder], "ok")

    def test_a_missing_table_is_named_with_its_config_key(self):
        self.build(omit_table="sched_block_status")
        ok, result = self.run_action()
        self.assertFalse(ok)
        failed = self.failed_items(result)
        name = ("alma." if self.prefix else "") + "sched_block_status"
        self.assertEqual(list(failed), [name])
        self.assertEqual(failed[name][0], "missing")
        self.assertIn("alma_sched_block_status_table.table", failed[name][1])

    def test_a_missing_column_is_named(self):
        self.build(omit_column=("delivery", "delivered_at"))
        ok, result = self.run_action()
        self.assertFalse(ok)
        failed = self.failed_items(result)
        name = ("alma." if self.prefix else "") + "asa_delivery_status.release_date"
        self.assertEqual(list(failed), [name])
        self.assertEqual(failed[name][0], "missing")
        self.assertIn("alma_delivery_time_column", failed[name][1])

    def test_a_uid_column_that_is_not_text_is_wrong_type(self):
        self.build(integer_column=("execution_blocks", "eb_uid"))
        ok, result = self.run_action()
        self.assertFalse(ok)
        failed = self.failed_items(result)
        self.assertEqual(list(failed), ["execution_blocks.ngas_fileset_id"])
        self.assertEqual(failed["execution_blocks.ngas_fileset_id"][0], "wrong type")
        self.assertIn("execution_blocks_uid_column", failed["execution_blocks.ngas_fileset_id"][1])

    def test_unreachable_database_and_workspaces_down_fail_without_secrets(self):
        """Guarantee G8: the report names what failed, never a URL, user or password."""
        self.build()
        port = closed_port_url().rsplit(":", 1)[1]
        self.config["archive_metadata_db_url"] = (
            "postgresql+psycopg://archive_user:%s@127.0.0.1:%s/metadata_db" % ("s3cret-pw", port))
        self.config["capability_service_url"] = closed_port_url()
        self.config["workflow_service_url"] = self.config["capability_service_url"]
        ok, result = self.run_action()
        self.assertFalse(ok)
        failed = self.failed_items(result)
        self.assertEqual(failed["database"][0], "unreachable")
        self.assertEqual(failed["capability service"][0], "unreachable")
        self.assertEqual(failed["workflow service"][0], "unreachable")
        text = json.dumps(result)
        for secret in ("s3cret-pw", "archive_user", "metadata_db", port):
            self.assertNotIn(secret, text)

    def test_refused_credentials_are_reported(self):
        self.build()
        self.emulator.auth = ("bearer", "right-token")
        self.config.update({"auth_mode": "bearer", "auth_token": "wrong-token"})
        ok, result = self.run_action()
        self.assertFalse(ok)
        self.assertEqual(self.failed_items(result)["workflow service"][0], "refused")
        self.assertNotIn("wrong-token", json.dumps(result))

    def test_missing_and_unreadable_directories(self):
        self.build()
        missing = os.path.join(self.folder, "not-there")
        locked = os.path.join(self.folder, "locked")
        os.mkdir(locked)
        os.chmod(locked, 0)
        self.addCleanup(os.chmod, locked, 0o755)
        real_scandir = os.scandir

        def scandir(path="."):
            if os.path.abspath(path) == locked:  # root reads anything: deny as the OS would
                raise PermissionError(13, "Permission denied", path)
            return real_scandir(path)
        with mock.patch("os.scandir", scandir):
            ok, result = self.run_action(directories=[missing, locked])
        self.assertFalse(ok)
        failed = self.failed_items(result)
        self.assertEqual(failed["directory %s" % missing], ("missing", "does not exist"))
        self.assertEqual(failed["directory %s" % locked], ("unreadable", "Permission denied"))

    def test_unset_database_is_reported_but_does_not_fail(self):
        self.build()
        self.config["alma_archive_db_url"] = ""
        ok, result = self.run_action()
        self.assertTrue(ok, result["failed"])
        statuses = [entry["status"] for entry in result["items"]
                    if entry["area"] == "alma archive"]
        self.assertEqual(statuses, ["not configured"])

    def test_workspaces_local_preflight_exit_code_and_output(self):
        self.build(omit_column=("execblock", "qa0_status"))
        config_path = os.path.join(self.folder, "config.yaml")
        with open(config_path, "w") as handle:
            json.dump(self.config, handle)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["preflight", "--config", config_path])
        self.assertEqual(code, 1)
        text = out.getvalue()
        self.assertIn("aqua_v_execblock.qa0status", text)
        self.assertIn("preflight FAILED", text)
        self.assert_no_secrets(text)
        self.build_fixed()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["preflight", "--config", config_path, "--json",
                             "--state-dir", self.folder])
        report = json.loads(out.getvalue())
        self.assertEqual(report["failed"], [])
        self.assertEqual(code, 0)

    def test_unknown_config_keys_fail_with_a_did_you_mean_in_the_action_and_locally(self):
        self.build()
        self.config["capabilty_service_url"] = "http://elsewhere.example.edu:3457"
        self.config["colour"] = "blue"
        ok, result = self.run_action()
        self.assertFalse(ok)
        expected = {"capabilty_service_url": ("unknown key", "not in config.schema.yaml, so "
                                              "nothing reads it; did you mean "
                                              "capability_service_url?"),
                    "colour": ("unknown key", "not in config.schema.yaml, so nothing reads it")}
        self.assertEqual(expected, self.failed_items(result))
        config_path = os.path.join(self.folder, "config.yaml")
        with open(config_path, "w") as handle:
            json.dump(self.config, handle)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["preflight", "--config", config_path, "--json",
                             "--state-dir", self.folder])
        self.assertEqual(1, code)
        self.assertEqual(expected, self.failed_items(json.loads(out.getvalue())))

    def build_fixed(self):
        """Replace the databases by correct ones."""
        self.alma_url, self.metadata_url = self._fresh_urls()
        self.config.update({"alma_archive_db_url": self.alma_url,
                            "archive_metadata_db_url": self.metadata_url})
        config_path = os.path.join(self.folder, "config.yaml")
        with open(config_path, "w") as handle:
            json.dump(self.config, handle)
        self.build()

    def _fresh_urls(self):
        if self.database == "postgres":
            from archive_test_support import new_postgres_database
            return new_postgres_database(self.pg), new_postgres_database(self.pg)
        base = tempfile.mkdtemp(prefix="preflight-fixed-")
        self.addCleanup(shutil.rmtree, base, True)
        return ("sqlite:///" + os.path.join(base, "alma.sqlite"),
                "sqlite:///" + os.path.join(base, "metadata.sqlite"))


class PreflightSqliteTest(PreflightCases, BaseActionTestCase):
    """On SQLite."""

    database = "sqlite"


@pytest.mark.postgres
class PreflightPostgresTest(PreflightCases, BaseActionTestCase):
    """On a real PostgreSQL server, ALMA tables in schema ``alma``, the EB view a view."""

    database = "postgres"


class RuleDirectoriesTest(unittest.TestCase):
    """`workspaces-local preflight` also checks the directories of enabled file rules."""

    def test_enabled_file_rule_directory_is_checked(self):
        import yaml

        from pack_test_support import PACK_DIR
        work = tempfile.mkdtemp(prefix="preflight-pack-")
        self.addCleanup(shutil.rmtree, work, True)
        pack = os.path.join(work, "pack")
        shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns(
            ".git", ".venv*", ".local", "__pycache__", "*.pyc", "bench", "tests", "docs"))
        rule_path = os.path.join(pack, "rules", "file_detected_create_and_run.yaml")
        with open(rule_path) as handle:
            rule = yaml.safe_load(handle)
        missing = os.path.join(work, "incoming")
        rule["enabled"] = True
        rule["trigger"]["parameters"]["directory"] = missing
        with open(rule_path, "w") as handle:
            handle.write("---\n" + yaml.safe_dump(rule, sort_keys=False))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["preflight", "--pack-dir", pack, "--json"])
        report = json.loads(out.getvalue())
        self.assertEqual(code, 1)
        self.assertIn({"area": "directories", "status": "missing", "detail": "does not exist",
                       "item": "rule workspaces.file_detected_create_and_run %s" % missing},
                      report["failed"])


class ScrubberTest(unittest.TestCase):
    """Details from drivers and services never carry URL parts or secrets."""

    def test_hides_url_parts_and_secrets(self):
        scrubber = Scrubber(PackConfig({
            "alma_archive_db_url": "oracle+oracledb://alma_reader:pa55word@almadb.example:1521/"
                                   "?service_name=ALMA",
            "archive_metadata_db_url": "postgresql+psycopg://meta:pw2@metahost/metadata",
            "capability_service_url": "http://ws.example:3457", "auth_mode": "basic",
            "auth_username": "wsuser", "auth_password": "wspass"}))
        text = scrubber.scrub('FATAL: password authentication failed for user "alma_reader" at '
                              'almadb.example; connection to "metahost" db metadata; wsuser/'
                              'wspass http://ws.example:3457/x')
        for secret in ("alma_reader", "pa55word", "almadb.example", "metahost", "wsuser",
                       "wspass", "ws.example"):
            self.assertNotIn(secret, text)
        self.assertIn("password authentication failed", text)
