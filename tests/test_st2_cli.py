"""The real ``st2`` CLI (st2client from PyPI, unmodified) against the local st2 API.

Each test runs ``st2`` as a subprocess, with its own HOME and ``~/.st2/config`` (so ``~/.st2`` of
the person running the tests is never touched), against ``workspaces-local api`` served in this
process over loopback, with actions run by the local runner against the Workspaces emulator. The
tests assert what the CLI prints and its exit code.

The ``st2`` executable is found through ``$ST2_CLI``, then ``.venv/st2cli/bin/st2`` (made by
``devkit/bin/setup``), then the PATH. Without it (or without st2-auth-backend-flat-file, or the
local runner) the tests skip, except under CI (``CI=true``) where they fail.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import unittest

import pytest

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "operator"
PASSWORD = "correct horse battery staple"
TOKEN_TTL = 3600
CLI_TIMEOUT = 300

pytestmark = pytest.mark.slow


def _unavailable(reason):
    """Skip, or fail under CI where the CLI tests must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("st2 CLI tests cannot run under CI: %s" % reason)
    pytest.skip(reason)


def find_st2():
    """Return the path of the ``st2`` executable, or None."""
    candidates = [os.environ.get("ST2_CLI"),
                  os.path.join(PACK_DIR, ".venv", "st2cli", "bin", "st2"),
                  shutil.which("st2")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


class Clock(object):
    """Real time plus an offset the tests can move forward (to expire tokens)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


class Cli(object):
    """Runs the real ``st2`` CLI with its own HOME and config file."""

    def __init__(self, st2, home, api_url, auth_url):
        self.st2 = st2
        self.home = home
        os.makedirs(os.path.join(home, ".st2"), exist_ok=True)
        self.config = os.path.join(home, ".st2", "config")
        with open(self.config, "w") as handle:
            handle.write("[api]\nurl = %s\n\n[auth]\nurl = %s\n" % (api_url, auth_url))

    def __call__(self, *args, **env):
        """Run ``st2 <args>``; return the CompletedProcess (text output)."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ST2_")}
        environ.update({"HOME": self.home, "TERM": "dumb", "LANG": "C.UTF-8",
                        "LC_ALL": "C.UTF-8", "PYTHONWARNINGS": "ignore"})
        environ.update(env)
        return subprocess.run([self.st2] + list(args), env=environ, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT, cwd=self.home)

    def json(self, *args):
        """Run ``st2 <args> -j``, check it exited 0 and return the parsed JSON output."""
        done = self(*(list(args) + ["-j"]))
        assert done.returncode == 0, done.stdout + done.stderr
        if done.stdout.strip() == "No matching items found":  # how st2 prints an empty list
            return []
        return json.loads(done.stdout)

    def login(self):
        """``st2 login`` with the right password; check it worked."""
        done = self("login", USER, "--password", PASSWORD)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Logged in as %s" % USER in done.stdout
        return done


@pytest.fixture(scope="module")
def st2_executable():
    """The path of the real ``st2`` CLI."""
    st2 = find_st2()
    if st2 is None:
        _unavailable("the st2 CLI is not installed: run devkit/bin/setup (it makes .venv/st2cli) "
                     "or set ST2_CLI to the st2 executable of a venv with st2client==3.9.0")
    return st2


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The local st2 API on a free loopback port, over the local runner and the emulator."""
    if importlib.util.find_spec("st2auth_flat_file_backend") is None:
        _unavailable("st2-auth-backend-flat-file is not installed (pip install "
                     "st2-auth-backend-flat-file)")
    from workspaces_devkit.st2api import runtime
    from workspaces_devkit.st2api.htpasswd import add_user
    from workspaces_devkit.st2api.service import build_api

    workdir = tmp_path_factory.mktemp("st2api")
    htpasswd = str(workdir / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    with open(htpasswd, "a") as handle:
        handle.write("# a comment line, as htpasswd files may have\n")
    try:
        context = runtime.emulated_runtime(PACK_DIR, str(workdir))
    except runtime.RuntimeUnavailable as error:
        _unavailable(str(error))
    clock = Clock()
    with context as (run_action, kv_store):
        server = build_api(PACK_DIR, run_action, kv_store, htpasswd, port=0, auth_port=None,
                           token_ttl=TOKEN_TTL, clock=clock).start()
        server.clock = clock
        server.kv_store = kv_store
        try:
            yield server
        finally:
            server.stop()


class St2CliTestCase(unittest.TestCase):
    """Base: a logged-out CLI with a fresh HOME for every test."""

    @pytest.fixture(autouse=True)
    def _cli(self, api, st2_executable, tmp_path):
        self.api = api
        self.cli = Cli(st2_executable, str(tmp_path / "home"), api.api_url, api.auth_url)


class TestAuthentication(St2CliTestCase):
    """st2 login / st2 auth with htpasswd users; tokens required and expiring."""

    def test_login_caches_a_token_and_commands_then_work(self):
        self.cli.login()
        cached = os.path.join(self.cli.home, ".st2", "token-%s" % USER)
        with open(cached) as handle:
            token = json.load(handle)
        self.assertEqual(32, len(token["token"]))
        self.assertGreater(token["expire_timestamp"], time.time() + TOKEN_TTL - 60)
        done = self.cli("whoami")
        self.assertEqual(0, done.returncode, done.stdout)
        self.assertIn('Currently logged in as "%s"' % USER, done.stdout)

    def test_st2_auth_prints_a_token_usable_through_the_environment(self):
        done = self.cli("auth", USER, "-p", PASSWORD, "-t")
        self.assertEqual(0, done.returncode, done.stdout)
        token = done.stdout.strip()
        self.assertRegex(token, r"^[0-9a-f]{32}$")
        done = self.cli("action", "list", ST2_AUTH_TOKEN=token)
        self.assertEqual(0, done.returncode, done.stdout)
        self.assertIn("workspaces.", done.stdout)

    def test_wrong_password_is_refused(self):
        done = self.cli("login", USER, "--password", "not the password")
        self.assertEqual(1, done.returncode)
        self.assertIn("ERROR: Failed to log in as %s: 401 Client Error: Unauthorized" % USER,
                      done.stdout)
        self.assertIn("MESSAGE: Invalid or missing credentials", done.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.cli.home, ".st2", "token-" + USER)))

    def test_unknown_user_is_refused_like_a_wrong_password(self):
        done = self.cli("auth", "nobody", "-p", PASSWORD)
        self.assertEqual(1, done.returncode)
        self.assertIn("401 Client Error: Unauthorized", done.stdout)
        self.assertIn("MESSAGE: Invalid or missing credentials", done.stdout)

    def test_commands_without_a_token_are_refused(self):
        for command in (["action", "list"], ["execution", "list"], ["key", "list"],
                        ["run", "workspaces.capability_create_and_run", "capability_name=null"]):
            done = self.cli(*command)
            self.assertEqual(1, done.returncode, command)
            self.assertIn("ERROR: 401 Client Error: Unauthorized", done.stdout, command)
            self.assertIn("MESSAGE: Unauthorized - One of Token or API key required.",
                          done.stdout, command)

    def test_a_made_up_token_is_refused(self):
        done = self.cli("action", "list", ST2_AUTH_TOKEN="0" * 32)
        self.assertEqual(1, done.returncode)
        self.assertIn("ERROR: 401 Client Error: Unauthorized", done.stdout)

    def test_an_expired_token_is_refused(self):
        self.cli.login()
        self.api.clock.offset = TOKEN_TTL + 1
        try:
            done = self.cli("action", "list")
        finally:
            self.api.clock.offset = 0.0
        self.assertEqual(1, done.returncode)
        self.assertIn("MESSAGE: Unauthorized - Token has expired.", done.stdout)

    def test_a_ttl_above_the_maximum_is_refused(self):
        done = self.cli("auth", USER, "-p", PASSWORD, "--ttl", str(TOKEN_TTL + 1))
        self.assertEqual(1, done.returncode)
        self.assertIn("TTL specified %d is greater than max allowed %d."
                      % (TOKEN_TTL + 1, TOKEN_TTL), done.stdout)


class TestContent(St2CliTestCase):
    """st2 action list/get, st2 trigger list, st2 rule list show the pack's content."""

    def setUp(self):
        self.cli.login()
        from workspaces_devkit.content import load_pack
        self.pack = load_pack(PACK_DIR)

    def test_action_list_shows_every_action_of_the_pack(self):
        listed = self.cli.json("action", "list", "--pack", "workspaces")
        self.assertEqual(sorted(a.ref for a in self.pack.actions),
                         sorted(item["ref"] for item in listed))
        self.assertIn("workspaces.capability_create_and_run", [item["ref"] for item in listed])
        done = self.cli("action", "list")
        self.assertEqual(0, done.returncode)
        self.assertIn("workspaces.capability_create_and_run", done.stdout)

    def test_action_get_shows_the_parameters(self):
        action = self.cli.json("action", "get", "workspaces.capability_create_and_run")
        self.assertEqual("python-script", action["runner_type"])
        self.assertTrue(action["parameters"]["capability_name"]["required"])
        done = self.cli("action", "get", "workspaces.nope")
        self.assertEqual(1, done.returncode)
        self.assertIn('Action "workspaces.nope" is not found.', done.stdout)

    def test_trigger_list_shows_the_sensors_trigger_types(self):
        listed = self.cli.json("trigger", "list", "--pack", "workspaces")
        self.assertEqual(sorted(self.pack.trigger_types()), sorted(t["ref"] for t in listed))

    def test_rule_list_shows_the_rules_with_their_trigger_and_action(self):
        listed = self.cli.json("rule", "list", "--pack", "workspaces", "--iftt")
        self.assertEqual(sorted(r.ref for r in self.pack.rules), sorted(r["ref"] for r in listed))
        for rule in listed:
            self.assertTrue(rule["action"]["ref"].startswith("workspaces."), rule)


class TestRun(St2CliTestCase):
    """st2 run / st2 execution against the emulator, and the refusals."""

    def setUp(self):
        self.cli.login()

    def test_run_creates_a_capability_request_and_shows_the_result(self):
        done = self.cli("run", "workspaces.capability_create_and_run", "capability_name=null",
                        'parameters={"arg": "--seconds 1"}', "submit=false", "-j")
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        execution = json.loads(done.stdout)
        self.assertEqual("succeeded", execution["status"])
        self.assertEqual(USER, execution["context"]["user"])
        self.assertEqual({"capability_name": "null", "parameters": {"arg": "--seconds 1"},
                          "submit": False}, execution["parameters"])
        result = execution["result"]
        self.assertEqual(0, result["exit_code"], result)
        self.assertEqual({"exit_code", "result", "stderr", "stdout"}, set(result))
        self.assertEqual("null", result["result"]["capability_name"])

    def test_run_prints_the_result_as_st2_run_does(self):
        done = self.cli("run", "workspaces.capability_create_and_run", "capability_name=null",
                        "submit=false")
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        self.assertRegex(done.stdout, r"(?m)^id: [0-9a-f]{24}$")
        self.assertIn("action.ref: workspaces.capability_create_and_run", done.stdout)
        self.assertIn("status: succeeded", done.stdout)
        self.assertIn("exit_code: 0", done.stdout)

    def test_async_run_then_execution_get_and_list(self):
        done = self.cli("run", "workspaces.capability_create_and_run", "capability_name=null",
                        "submit=false", "--async")
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        match = re.search(r"st2 execution get ([0-9a-f]{24})", done.stdout)
        self.assertIsNotNone(match, done.stdout)
        execution_id = match.group(1)
        self.api.backend.executions.wait(execution_id, timeout=CLI_TIMEOUT)
        execution = self.cli.json("execution", "get", execution_id)
        self.assertEqual(execution_id, execution["id"])
        self.assertEqual("succeeded", execution["status"])
        self.assertEqual(0, execution["result"]["exit_code"])
        done = self.cli("execution", "get", execution_id)
        self.assertEqual(0, done.returncode)
        self.assertIn("status: succeeded", done.stdout)
        listed = self.cli.json("execution", "list", "-n", "100")
        self.assertIn(execution_id, [item["id"] for item in listed])
        done = self.cli("execution", "list")
        self.assertIn(execution_id, done.stdout)

    def test_a_failed_execution_makes_st2_run_exit_1(self):
        done = self.cli("run", "workspaces.capability_create_and_run",
                        "capability_name=no_such_capability", "submit=false")
        self.assertEqual(1, done.returncode, done.stdout + done.stderr)
        self.assertIn("status: failed", done.stdout)

    def test_unknown_execution_is_not_found(self):
        done = self.cli("execution", "get", "0123456789abcdef01234567")
        self.assertEqual(1, done.returncode)
        self.assertIn('Action Execution "0123456789abcdef01234567" is not found.', done.stdout)

    def test_unknown_action_is_refused(self):
        done = self.cli("run", "workspaces.no_such_action", "capability_name=null")
        self.assertEqual(1, done.returncode)
        self.assertIn('ERROR: Resource with id or reference "workspaces.no_such_action" '
                      'doesn\'t exist.', done.stdout)

    def test_unknown_parameter_is_refused_and_named(self):
        done = self.cli("run", "workspaces.capability_create_and_run", "capability_name=null",
                        "bogus=1")
        self.assertEqual(1, done.returncode)
        self.assertIn("ERROR: 400 Client Error: Bad Request", done.stdout)
        self.assertIn("MESSAGE: Additional properties are not allowed ('bogus' was unexpected)",
                      done.stdout)

    def test_missing_required_parameter_is_refused_and_named(self):
        done = self.cli("run", "workspaces.capability_create_and_run", "submit=false")
        self.assertEqual(1, done.returncode)
        self.assertIn("ERROR: 400 Client Error: Bad Request", done.stdout)
        self.assertIn("MESSAGE: 'capability_name' is a required property", done.stdout)


class TestKeys(St2CliTestCase):
    """st2 key set/get/list/delete over the runner's datastore (what the sensors read)."""

    def setUp(self):
        self.cli.login()

    def test_set_get_list_and_delete(self):
        done = self.cli("key", "set", "cli_test_key", "some value")
        self.assertEqual(0, done.returncode, done.stdout)
        self.assertIn("some value", done.stdout)
        key = self.cli.json("key", "get", "cli_test_key")
        self.assertEqual({"name": "cli_test_key", "value": "some value", "scope": "st2kv.system"},
                         {k: key[k] for k in ("name", "value", "scope")})
        self.assertEqual("some value", self.api.kv_store.get("cli_test_key"))
        listed = self.cli.json("key", "list")
        self.assertIn(("cli_test_key", "some value"),
                      [(item["name"], item["value"]) for item in listed])
        done = self.cli("key", "delete", "cli_test_key")
        self.assertEqual(0, done.returncode, done.stdout)
        self.assertIsNone(self.api.kv_store.get("cli_test_key"))
        done = self.cli("key", "get", "cli_test_key")
        self.assertEqual(1, done.returncode)
        self.assertIn('Key Value Pair "cli_test_key" is not found.', done.stdout)

    def test_key_with_ttl_shows_its_expiry(self):
        key = self.cli.json("key", "set", "cli_ttl_key", "v", "--ttl", "600")
        self.assertRegex(key["expire_timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_keys_written_by_sensors_are_listed_with_their_full_name(self):
        self.api.kv_store.set("workspaces.FileMonitorSensor:state", '{"seen": []}')
        listed = self.cli.json("key", "list", "--prefix", "workspaces.FileMonitorSensor:")
        self.assertEqual([("workspaces.FileMonitorSensor:state", '{"seen": []}')],
                         [(item["name"], item["value"]) for item in listed])

    def test_encrypted_values_are_refused_clearly(self):
        done = self.cli("key", "set", "secret_key", "v", "--encrypt")
        self.assertEqual(1, done.returncode)
        self.assertIn("Encrypted values are not supported", done.stdout)
