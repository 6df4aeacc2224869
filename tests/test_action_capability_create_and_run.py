"""workspaces.capability_create_and_run against the Workspaces emulator over real HTTP."""

from pack_test_support import closed_port_url, workspaces_config
from st2tests.base import BaseActionTestCase

from capability_create_and_run import CapabilityCreateAndRunAction
from workspaces_devkit.emulator import WorkspacesEmulator


class CapabilityCreateAndRunTest(BaseActionTestCase):
    """What an operator sees from the action in each situation."""

    action_cls = CapabilityCreateAndRunAction

    def setUp(self):
        super(CapabilityCreateAndRunTest, self).setUp()
        self.emulator = WorkspacesEmulator(submitted_seconds=0.02, executing_seconds=0.1)
        self.url = self.emulator.start()
        self.addCleanup(self.emulator.stop)

    def action(self, **extra):
        return self.get_action_instance(config=workspaces_config(self.url, **extra))

    def test_creates_and_submits_without_waiting(self):
        ok, result = self.action().run(capability_name="std_calibration",
                                   parameters={"product_locator": "uid://A002/Xc7111c/X3979"})
        self.assertTrue(ok, result)
        self.assertIsInstance(result, dict)
        self.assertTrue(result["submitted"])
        self.assertFalse(result["waited"])
        self.assertEqual(result["version"], 1)
        self.assertIn(result["state"], ("Submitted", "Executing"))
        self.assertEqual(result["url"],
                         "%s/capability/request/%s" % (self.url, result["request_id"]))
        [request] = self.emulator.requests("capability")
        self.assertEqual(request["id"], result["request_id"])
        self.assertEqual(request["parameters"], {"product_locator": "uid://A002/Xc7111c/X3979"})
        self.assertIsNotNone(result["execution_id"])

    def test_waits_until_complete(self):
        ok, result = self.action().run(capability_name="null", wait=True, poll_interval=0.02,
                                   wait_timeout=30)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Complete")
        self.assertTrue(result["waited"])
        self.assertIn("ended Complete", result["message"])

    def test_submit_false_only_creates(self):
        ok, result = self.action().run(capability_name="null", submit=False)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Created")
        self.assertFalse(result["submitted"])
        self.assertNotIn("submit", " ".join(e["path"] for e in self.emulator.log))

    def test_failed_state_fails_the_action_with_the_request_id(self):
        status, result = self.action().run(capability_name="null", wait=True, poll_interval=0.02,
                                           parameters={"emulator_outcome": "Failed"})
        self.assertFalse(status)
        self.assertEqual(result["state"], "Failed")
        self.assertIn("request %s ended Failed" % result["request_id"], result["error"])

    def test_wait_timeout_fails_and_says_the_request_keeps_running(self):
        status, result = self.action().run(capability_name="null", wait=True, wait_timeout=0.3,
                                           poll_interval=0.05,
                                           parameters={"emulator_executing_seconds": 60})
        self.assertFalse(status)
        self.assertEqual(result["state"], "Executing")
        self.assertIn("wait_timeout of 0.3s passed", result["error"])
        self.assertIn("keeps running in Workspaces", result["error"])

    def test_service_down_fails_clearly_and_creates_nothing(self):
        action = self.get_action_instance(config=workspaces_config(closed_port_url(),
                                                                   retry_count=1))
        status, result = action.run(capability_name="null")
        self.assertFalse(status)
        self.assertIsNone(result["request_id"])
        self.assertIn("create capability request", result["error"])
        self.assertIn("unreachable", result["error"])
        self.assertIn("safe to run the action again", result["message"])

    def test_unknown_capability_is_a_404_naming_it(self):
        status, result = self.action().run(capability_name="no_such_capability")
        self.assertFalse(status)
        self.assertEqual(result["status"], 404)
        self.assertIn("no_such_capability does not exist", result["error"])

    def test_503_on_create_is_not_retried_so_nothing_is_created_twice(self):
        self.emulator.inject("status", count=1, status=503)
        status, result = self.action().run(capability_name="null")
        self.assertFalse(status)
        self.assertEqual(result["status"], 503)
        self.assertEqual(self.emulator.requests(), [])
        self.assertEqual(len(self.emulator.log), 1)

    def test_503_on_submit_reports_the_created_request_for_resubmission(self):
        action = self.action()
        original = self.emulator.handle

        def fail_submit(method, path, body):
            if path.endswith("/submit"):
                from workspaces_devkit.emulator import ApiError
                raise ApiError(503, "capability queue paused")
            return original(method, path, body)
        self.emulator.handle = fail_submit
        status, result = action.run(capability_name="null")
        self.assertFalse(status)
        self.assertIsNotNone(result["request_id"])
        self.assertIn("request %s exists; submit it again" % result["request_id"], result["hint"])
        self.assertEqual(len(self.emulator.requests()), 1)

    def test_503_while_waiting_is_retried_and_recovers(self):
        action = self.action()
        original = self.emulator.handle
        calls = {"get": 0}

        def flaky_get(method, path, body):
            if method == "GET":
                calls["get"] += 1
                if calls["get"] <= 2:
                    from workspaces_devkit.emulator import ApiError
                    raise ApiError(503, "restarting")
            return original(method, path, body)
        self.emulator.handle = flaky_get
        ok, result = action.run(capability_name="null", wait=True, poll_interval=0.02)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Complete")
        statuses = [e["status"] for e in self.emulator.log if e["method"] == "GET"]
        self.assertEqual(statuses[:3], [503, 503, 200])

    def test_malformed_json_answer_is_reported(self):
        self.emulator.inject("garbage", count=1)
        status, result = self.action().run(capability_name="null")
        self.assertFalse(status)
        self.assertIn("not JSON", result["error"])

    def test_invalid_parameters_name_the_parameter_and_call_nothing(self):
        for kwargs, name in (({"capability_name": "../etc"}, "capability_name"),
                             ({"capability_name": ""}, "capability_name"),
                             ({"capability_name": "null", "parameters": [1]}, "parameters"),
                             ({"capability_name": "null", "wait_timeout": -1}, "wait_timeout"),
                             ({"capability_name": "null", "wait": "yes"}, "wait")):
            status, result = self.action().run(**kwargs)
            self.assertFalse(status)
            self.assertEqual(result["parameter"], name)
            self.assertIn(repr(name), result["error"])
        self.assertEqual(self.emulator.log, [])

    def test_bearer_and_basic_auth(self):
        self.emulator.auth = ("bearer", "s3cret-token")
        status, result = self.action().run(capability_name="null")
        self.assertFalse(status)
        self.assertEqual(result["status"], 401)
        ok, result = self.action(auth_mode="bearer", auth_token="s3cret-token").run(
            capability_name="null")
        self.assertTrue(ok, result)
        self.assertTrue(result["submitted"])
        self.emulator.auth = ("basic", "operator", "pw")
        ok, result = self.action(auth_mode="basic", auth_username="operator",
                             auth_password="pw").run(capability_name="null")
        self.assertTrue(ok, result)
        self.assertTrue(result["submitted"])

    def test_missing_secret_for_auth_mode_is_a_config_error(self):
        status, result = self.action(auth_mode="bearer").run(capability_name="null")
        self.assertFalse(status)
        self.assertIn("'auth_token' is not set", result["error"])
