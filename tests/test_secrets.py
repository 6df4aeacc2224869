"""Guarantee G8: no configured secret (token, password, database URL) appears in logs or results.

The pack config gets distinctive secret values; the actions run against the Workspaces emulator
(success, wrong credentials, service down, 5xx, garbage, dropped connections) and the database
parts run with their URLs pointing at a server that is down or refuses the password. Every log
record (root logger at DEBUG via caplog and a recorder, plus the action's own logger and the
sensor service's loggers) and every action result is scanned for each secret and for the forms a
secret takes on the wire (the basic-auth header value, a URL-encoded password).
"""

import base64
import json
import logging
import unittest
from urllib.parse import quote

import pytest
from pack_test_support import closed_port_url, workspaces_config
from robustness_support import (LogRecorder, action_class, action_specs, attach_recorder,
                                sensor_class, sensor_specs, use_real_logger)
from st2tests.base import BaseActionTestCase, BaseSensorTestCase

from workspaces_devkit.emulator import WorkspacesEmulator

TOKEN = "tok-S3CRET-9f8e7d6c5b"
USERNAME = "archive-bot"
PASSWORD = "pw-S3CRET-1a2b3c/4d@5e"
DB_PASSWORD = "db-S3CRET-77x#9"


def db_url(user, port, database):
    """A PostgreSQL URL holding the secret database password."""
    return "postgresql+psycopg://%s:%s@127.0.0.1:%d/%s" % (user, quote(DB_PASSWORD, safe=""),
                                                           port, database)


def secret_forms():
    """Every string that must never be seen: the secrets and their encoded forms."""
    basic = base64.b64encode(("%s:%s" % (USERNAME, PASSWORD)).encode()).decode()
    forms = {TOKEN, PASSWORD, DB_PASSWORD, basic, quote(PASSWORD, safe=""),
             quote(DB_PASSWORD, safe="")}
    return sorted(forms)


def leaks(texts):
    """Return ``[(secret, text)]`` for every text holding a secret form."""
    found = []
    for text in texts:
        for secret in secret_forms():
            if secret in text:
                found.append((secret, text[:300]))
    return found


def _closed_port():
    return int(closed_port_url().rsplit(":", 1)[1])


class _ScanMixin(object):
    """Collects log records and results and fails on any secret in them."""

    @pytest.fixture(autouse=True)
    def _debug_caplog(self, caplog):
        caplog.set_level(logging.DEBUG)
        self.caplog = caplog

    def start_recording(self):
        """Install a root recorder at DEBUG (in addition to caplog)."""
        self.recorder = LogRecorder().install()
        self.addCleanup(self.recorder.uninstall)
        self.results = []

    def texts(self):
        """Every captured log text and every result, as strings."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        texts = self.recorder.texts()
        texts.extend(formatter.format(record) for record in self.caplog.records)
        texts.extend(json.dumps(result, default=str) for result in self.results)
        texts.extend(repr(result) for result in self.results)
        return texts

    def assert_no_secret(self, min_records=1):
        """Fail when a secret form appears anywhere; make sure something was captured."""
        texts = self.texts()
        self.assertGreaterEqual(len(self.recorder.records), min_records,
                                "nothing was logged: the scan would prove nothing")
        found = leaks(texts)
        self.assertEqual(found, [], "secrets leaked:\n%s" % "\n".join(
            "%r in %s" % item for item in found))


class WorkspacesActionSecretsTest(_ScanMixin, BaseActionTestCase):
    """Both Workspaces actions, with bearer and basic auth, in success and failure."""

    action_cls = None

    def setUp(self):
        self.start_recording()

    def _emulator(self, auth):
        emulator = WorkspacesEmulator(submitted_seconds=0.01, executing_seconds=0.02, auth=auth)
        url = emulator.start()
        self.addCleanup(emulator.stop)
        return emulator, url

    def _run(self, action_name, config, **params):
        meta = dict(action_specs())[action_name]
        self.action_cls = action_class(meta)
        BaseActionTestCase.setUp(self)
        action = self.get_action_instance(config=config)
        attach_recorder(action.logger, self.recorder)
        try:
            output = action.run(**params)
        except Exception as error:  # a failed execution shows its traceback: scan it too
            output = {"exception": "%s: %s" % (type(error).__name__, error)}
        self.results.append(output)
        return output

    def _both_actions(self, config, **extra):
        self._run("capability_create_and_run", config, capability_name="null",
                  wait=True, poll_interval=0.01, **extra)
        self._run("workflow_create_and_run", config, workflow_name="null", wait=True,
                  poll_interval=0.01, **extra)

    def test_bearer_token_never_logged_on_success_or_refusal(self):
        emulator, url = self._emulator(("bearer", TOKEN))
        good = workspaces_config(url, auth_mode="bearer", auth_token=TOKEN)
        self._both_actions(good)
        self.assertEqual(len(emulator.requests()), 2)
        wrong = workspaces_config(url, auth_mode="bearer", auth_token=TOKEN + "-wrong")
        output = self._run("capability_create_and_run", wrong, capability_name="null")
        self.assertFalse(output[0])
        self.assertEqual(output[1]["status"], 401)
        self.assert_no_secret()

    def test_basic_password_never_logged_on_success_or_refusal(self):
        emulator, url = self._emulator(("basic", USERNAME, PASSWORD))
        good = workspaces_config(url, auth_mode="basic", auth_username=USERNAME,
                                 auth_password=PASSWORD)
        self._both_actions(good)
        self.assertEqual(len(emulator.requests()), 2)
        wrong = workspaces_config(url, auth_mode="basic", auth_username=USERNAME,
                                  auth_password=PASSWORD + "x")
        self._both_actions(wrong)
        self.assertEqual(len(emulator.requests()), 2)
        self.assert_no_secret()

    def test_secrets_never_logged_when_workspaces_fails(self):
        emulator, url = self._emulator(("bearer", TOKEN))
        config = workspaces_config(url, auth_mode="bearer", auth_token=TOKEN,
                                   read_timeout_seconds=0.3, retry_count=1)
        for kind, count in (("status", 10), ("garbage", 1), ("drop", 10), ("slow", 10)):
            emulator.clear_faults()
            emulator.inject(kind, count=count, status=503, seconds=0.6)
            self._both_actions(config)
        emulator.clear_faults()
        down = workspaces_config(closed_port_url(), auth_mode="basic", auth_username=USERNAME,
                                 auth_password=PASSWORD, retry_count=1)
        self._both_actions(down)
        self.assert_no_secret()

    def test_secrets_in_config_of_bad_auth_mode_are_not_echoed(self):
        config = workspaces_config(closed_port_url(), auth_mode="bearer")
        config["auth_password"] = PASSWORD
        config["archive_metadata_db_url"] = db_url("meta", _closed_port(), "meta")
        self._both_actions(config)
        self.assert_no_secret()

    def test_preflight_and_reconcile_never_show_secrets(self):
        emulator, url = self._emulator(("basic", USERNAME, PASSWORD))
        databases = {"alma_archive_db_url": db_url("alma", _closed_port(), "alma"),
                     "archive_metadata_db_url": db_url("meta", _closed_port(), "meta"),
                     "database_timeout_seconds": 1}
        for password in (PASSWORD, PASSWORD + "x"):
            config = workspaces_config(url, auth_mode="basic", auth_username=USERNAME,
                                       auth_password=password, **databases)
            ok, report = self._run("preflight", config)
            self.assertFalse(ok)
            self.assertNotIn(USERNAME, json.dumps(report))
            ok, result = self._run("alma_reconcile", config, dispatch=True)
            self.assertFalse(ok)
        self.assertEqual(emulator.requests(), [])
        self.assert_no_secret()


class StatusSecretsTest(_ScanMixin, BaseActionTestCase):
    """workspaces.status: its table, result and logs, even over records that carry secrets (a
    writer's mistake, an error text quoting a URL) and a rules API that fails quoting its URL."""

    action_cls = None

    def setUp(self):
        self.start_recording()

    def test_status_output_never_shows_a_secret(self):
        import contextlib
        import io
        from unittest import mock

        from status import StatusAction
        from status_test_support import (FILE_REF, FILE_TYPE, healthy_pack, problem,
                                         trigger_record, write_records)

        alma_url = db_url("alma", _closed_port(), "alma")
        service_url = "http://%s:%s@127.0.0.1:9/" % (USERNAME, quote(PASSWORD, safe=""))
        config = workspaces_config(service_url,
                                   auth_mode="basic", auth_username=USERNAME,
                                   auth_password=PASSWORD, auth_token=TOKEN,
                                   alma_archive_db_url=alma_url)
        self.action_cls = StatusAction
        BaseActionTestCase.setUp(self)
        stored = healthy_pack()
        stored[3]["last_error"] = "connection to %s failed: password %s" % (
            alma_url, DB_PASSWORD)
        stored[3]["problem"] = problem("database_unreachable", "cannot reach %s (token %s)"
                                       % (alma_url, TOKEN))
        stored[2]["problem"] = problem("state_unsaved", "refused by user %s, password %s" % (
            USERNAME, PASSWORD))
        stored.append(trigger_record("FileMonitorSensor", FILE_REF + "x", FILE_TYPE,
                                     {"directory": "/data/" + DB_PASSWORD,
                                      "db_password": DB_PASSWORD, "token": TOKEN}))
        stored[0]["triggers"].append(FILE_REF + "x")
        action = self.get_action_instance(config=config)
        attach_recorder(action.logger, self.recorder)
        write_records(action.action_service.set_value, stored)

        def failing_client(api_url=None, token=None):
            raise RuntimeError("401 for %s with token %s" % (alma_url, TOKEN))
        action.make_client = failing_client
        for parameters in ({}, {"problems_only": True}, {"sensor": "AlmaAsdmSensor"}):
            out = io.StringIO()
            with mock.patch.dict("os.environ", {"ST2_API_URL": "http://127.0.0.1:9101",
                                                "ST2_AUTH_TOKEN": TOKEN}), \
                    contextlib.redirect_stdout(out):
                ok, result = action.run(**parameters)
            self.assertFalse(ok)
            self.assertIn("database_unreachable", out.getvalue())
            action.logger.info("%s", out.getvalue())
            self.results.append(result)
        self.assert_no_secret()


class MarkActionSecretsTest(_ScanMixin, BaseActionTestCase):
    """The database action with its URL pointing at a server that is down."""

    action_cls = None

    def setUp(self):
        self.start_recording()

    def test_database_url_never_logged_when_the_database_is_down(self):
        specs = dict(action_specs())
        if "mark_asdm_not_calibrateable" not in specs:
            raise unittest.SkipTest("mark_asdm_not_calibrateable is not there yet")
        self.action_cls = action_class(specs["mark_asdm_not_calibrateable"])
        BaseActionTestCase.setUp(self)
        config = {"archive_metadata_db_url": db_url("meta", _closed_port(), "meta"),
                  "database_timeout_seconds": 1}
        action = self.get_action_instance(config=config)
        attach_recorder(action.logger, self.recorder)
        for params in ({"eb_uid": "uid://A002/Xc7111c/X3979"},
                       {"eb_uids": ["uid://A002/Xc7111c/X3979", "uid://A002/Xc7111c/X397a"]},
                       {"eb_uid": "not-a-uid"}):
            try:
                output = action.run(**params)
            except Exception as error:
                output = {"exception": "%s: %s" % (type(error).__name__, error)}
            self.results.append(output)
            self.assertFalse(isinstance(output, dict) and "exception" not in output,
                             "marking with the database down succeeded: %r" % (output,))
        self.assert_no_secret()


class SensorSecretsTest(_ScanMixin, BaseSensorTestCase):
    """The ALMA sensors with the archive URL pointing at a database that is down."""

    sensor_cls = None

    def setUp(self):
        self.start_recording()

    def test_database_url_never_logged_by_sensors_when_the_database_is_down(self):
        from pack_test_support import make_trigger

        ran = []
        config = {"alma_archive_db_url": db_url("alma", _closed_port(), "alma"),
                  "archive_metadata_db_url": db_url("meta", _closed_port(), "meta"),
                  "database_timeout_seconds": 1,
                  "auth_token": TOKEN, "auth_password": PASSWORD}
        for _path, meta in sensor_specs():
            if "alma" not in meta["class_name"].lower():
                continue
            self.sensor_cls = sensor_class(meta)
            BaseSensorTestCase.setUp(self)
            use_real_logger(self.sensor_service)
            sensor = self.get_sensor_instance(config=config, poll_interval=5)
            for trigger_type in meta.get("trigger_types") or []:
                sensor.add_trigger(make_trigger("workspaces." + trigger_type["name"], {}))
            sensor.setup()
            for _ in range(2):
                sensor.poll()
            sensor.cleanup()
            ran.append(meta["class_name"])
        if not ran:
            raise unittest.SkipTest("the ALMA sensors are not there yet")
        self.assert_no_secret()


class HealthSecretsTest(_ScanMixin, BaseSensorTestCase):
    """Health records and sensor_problem payloads of every sensor, with the databases down."""

    sensor_cls = None

    def setUp(self):
        self.start_recording()

    def test_no_secret_in_health_records_or_problem_payloads(self):
        from pack_test_support import make_trigger

        config = {"alma_archive_db_url": db_url(USERNAME, _closed_port(), "alma"),
                  "archive_metadata_db_url": db_url(USERNAME, _closed_port(), "meta"),
                  "database_timeout_seconds": 1, "problem_after_failures": 1,
                  "auth_token": TOKEN, "auth_username": USERNAME, "auth_password": PASSWORD,
                  "vlba_data_directory": "/nonexistent/vlba"}
        records = []
        problems = []
        for _path, meta in sensor_specs():
            self.sensor_cls = sensor_class(meta)
            BaseSensorTestCase.setUp(self)
            use_real_logger(self.sensor_service)
            sensor = self.get_sensor_instance(config=config, poll_interval=5)
            for trigger_type in meta.get("trigger_types") or []:
                parameters = {"directory": "/nonexistent/in"} \
                    if trigger_type["name"] == "file_detected" else {}
                sensor.add_trigger(make_trigger("workspaces." + trigger_type["name"],
                                                parameters))
            sensor.setup()
            for _ in range(2):
                sensor.poll()
            records.extend(item.value for item in self.sensor_service.list_values(local=False)
                           if ":health" in item.name)
            problems.extend(item["payload"] for item in self.sensor_service.dispatched_triggers
                            if item["trigger"] == "workspaces.sensor_problem")
        self.assertGreaterEqual(len(records), 8, "a sensor wrote no health record")
        self.assertTrue(any("database_unreachable" in text or "poll_failing" in text
                            for text in records), records)
        self.assertTrue(problems, "no sensor_problem was dispatched")
        self.results.extend(json.loads(text) for text in records)
        self.results.extend(problems)
        leaked = leaks(records + [json.dumps(p) for p in problems])
        self.assertEqual(leaked, [])
        self.assertNotIn(USERNAME, " ".join(records))
        self.assert_no_secret()
