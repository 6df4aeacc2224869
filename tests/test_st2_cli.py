"""The real ``st2`` CLI (st2client 3.9 from PyPI, unmodified) against ``workspaces-local api``.

One service per module: StackStorm's own API, auth, stream, rules engine and python runner in one
process (``stackstorm_support.StackStormApi``) on a free loopback port, the pack config pointed at
a Workspaces emulator, its state in a temporary directory. These tests belong to the real tier
(devkit/bin/test-st2); elsewhere they skip saying so. Each test
runs ``st2`` as a subprocess with a temporary HOME and ``ST2_CONFIG_FILE`` (no ``~/.st2`` of the
person running the tests is read or written) and asserts on what the CLI prints and its exit code.

The ``st2`` executable comes from ``$ST2_CLI`` or the virtualenv ``devkit/bin/setup`` made for it
beside the tests' own (``.venv-st2cli``; ``.venv-py313-st2cli`` for ``.venv-py313``).
Without it the tests skip, except under CI (``CI=true``) where they fail saying how to get it.
"""

import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import time

import pytest
from pack_test_support import stackstorm_trigger_parameters_refusal, workspaces_config
from stackstorm_support import PASSWORD, USER, StackStormApi, needs_stackstorm

from workspaces_devkit.content import load_pack
from workspaces_devkit.emulator import WorkspacesEmulator

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ST2_VENV = os.path.join(PACK_DIR, ".venv-st2cli")
TOKEN_TTL = 3600
CLI_TIMEOUT = 120
ACTION = "workspaces.capability_create_and_run"
ACTION_FILES = sorted(glob.glob(os.path.join(PACK_DIR, "actions", "*.yaml")))
PACK = load_pack(PACK_DIR)

pytestmark = pytest.mark.slow


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_st2():
    """Return the path of the ``st2`` executable to test with, or None.

    ``$ST2_CLI`` first, then the CLI virtualenv setup made beside this Python's virtualenv
    (``.venv-py313`` has ``.venv-py313-st2cli``), then ``.venv-st2cli``.
    """
    for candidate in (os.environ.get("ST2_CLI"),
                      os.path.join(os.path.abspath(sys.prefix) + "-st2cli", "bin", "st2"),
                      os.path.join(ST2_VENV, "bin", "st2")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class Cli(object):
    """Runs the real ``st2`` CLI with its own HOME, config file and service URLs."""

    def __init__(self, st2, home, service):
        self.st2 = st2
        self.home = str(home)
        os.makedirs(self.home, exist_ok=True)
        self.config = os.path.join(self.home, "st2.conf")
        with open(self.config, "w") as handle:
            handle.write("[general]\nsilence_ssl_warnings = True\n")
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("ST2_")}
        self.env.update({
            # COLUMNS: st2client sizes its tables to the terminal, else to 150 columns (its
            # default); a parallel test worker may or may not have a terminal.
            "HOME": self.home, "ST2_CONFIG_FILE": self.config, "TERM": "dumb", "COLUMNS": "150",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONWARNINGS": "ignore",
            "ST2_BASE_URL": "http://127.0.0.1", "ST2_API_URL": service.api_url,
            "ST2_AUTH_URL": service.auth_url, "ST2_STREAM_URL": service.stream_url})

    def __call__(self, *args, **env):
        """Run ``st2 <args>`` (``env`` adds variables); return the CompletedProcess."""
        environ = dict(self.env, **env)
        return subprocess.run([self.st2] + list(args), env=environ, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=CLI_TIMEOUT, cwd=self.home)

    def ok(self, *args, **env):
        """Run ``st2 <args>``, check it exited 0 and return its stdout."""
        done = self(*args, **env)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def json(self, *args):
        """Run ``st2 <args> -j``, check it exited 0 and return the parsed output."""
        out = self.ok(*(list(args) + ["-j"]))
        if out.strip() == "No matching items found":  # how st2 prints an empty list
            return []
        return json.loads(out)


def failed(done):
    """Return stdout + stderr of a run that must have exited 1."""
    text = done.stdout + done.stderr
    assert done.returncode == 1, (done.returncode, text)
    return text


@pytest.fixture(scope="module")
def st2():
    """The path of the real ``st2`` CLI."""
    needs_stackstorm()
    path = find_st2()
    if path is None:
        message = ("the st2 CLI is not installed: run devkit/bin/setup (it makes .venv-st2cli with "
                   "st2client==3.9.*), or set ST2_CLI to an st2 executable of st2client 3.9")
        if _in_ci():
            pytest.fail("CI=true and " + message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def emulator():
    """A Workspaces emulator whose requests end within a second."""
    emulator = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.3)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory, emulator):
    """``workspaces-local api`` on a free loopback port, its config on the emulator."""
    service = StackStormApi(tmp_path_factory.mktemp("st2api"),
                            config=workspaces_config(emulator.url),
                            extra_args=["--token-ttl", str(TOKEN_TTL)])
    yield service
    service.stop()


@pytest.fixture(scope="module")
def anonymous(st2, service, tmp_path_factory):
    """A CLI that never logged in."""
    return Cli(st2, tmp_path_factory.mktemp("anonymous"), service)


@pytest.fixture(scope="module")
def login(st2, service, tmp_path_factory):
    """``(cli, completed st2 login)``: a CLI logged in once for the whole module."""
    cli = Cli(st2, tmp_path_factory.mktemp("operator"), service)
    return cli, cli("login", USER, "--password", PASSWORD)


@pytest.fixture
def cli(login):
    """The logged-in CLI."""
    cli, done = login
    assert done.returncode == 0, done.stdout + done.stderr
    return cli


# --- authentication --------------------------------------------------------------------------

def test_login_caches_a_token_and_whoami_names_the_user(login):
    cli, done = login
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Logged in as %s\n" % USER)
    with open(os.path.join(cli.home, ".st2", "token-%s" % USER)) as handle:
        cached = json.load(handle)
    assert re.match(r"^[0-9a-f]{32}$", cached["token"])
    assert abs(cached["expire_timestamp"] - (time.time() + TOKEN_TTL)) < 120
    out = cli.ok("whoami")
    assert 'Currently logged in as "%s".' % USER in out
    assert "Authentication method: authentication token" in out


def test_st2_auth_prints_a_token_usable_through_the_environment(anonymous):
    token = anonymous.ok("auth", USER, "-p", PASSWORD, "-t").strip()
    assert re.match(r"^[0-9a-f]{32}$", token), token
    out = anonymous.ok("action", "list", ST2_AUTH_TOKEN=token)
    assert ACTION in out


def test_wrong_password_and_unknown_user_are_refused_with_401(anonymous):
    text = failed(anonymous("login", USER, "--password", "not the password"))
    assert "ERROR: Failed to log in as %s: 401 Client Error: Unauthorized" % USER in text
    assert "MESSAGE: Invalid or missing credentials for url: " in text
    assert not os.path.exists(os.path.join(anonymous.home, ".st2", "token-" + USER))
    text = failed(anonymous("auth", "nobody", "-p", PASSWORD))
    assert "ERROR: 401 Client Error: Unauthorized" in text
    assert "MESSAGE: Invalid or missing credentials for url: " in text


def test_every_command_without_a_token_is_refused_with_401(anonymous):
    commands = [("action", "list"), ("action", "get", ACTION), ("execution", "list"),
                ("trigger", "list"), ("rule", "list"), ("key", "list"),
                ("run", ACTION, "capability_name=null")]
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda command: anonymous(*command), commands))
    for command, done in zip(commands, results):
        text = done.stdout + done.stderr
        assert done.returncode == 1, (command, text)
        assert "401 Client Error: Unauthorized" in text, (command, text)
        assert "Unauthorized - One of Token or API key required." in text, (command, text)


def test_a_made_up_token_is_refused(anonymous):
    text = failed(anonymous("action", "list", ST2_AUTH_TOKEN="0" * 32))
    assert "ERROR: 401 Client Error: Unauthorized\nMESSAGE: Unauthorized for url: " in text


def test_a_ttl_above_the_maximum_is_refused(anonymous):
    text = failed(anonymous("auth", USER, "-p", PASSWORD, "--ttl", str(TOKEN_TTL + 1)))
    assert "ERROR: 400 Client Error: Bad Request" in text
    assert "TTL specified %d is greater than max allowed %d." % (TOKEN_TTL + 1, TOKEN_TTL) in text


# --- content ---------------------------------------------------------------------------------

def test_action_list_shows_every_action_of_the_pack(cli):
    listed = cli.json("action", "list", "--pack", "workspaces")
    expected = sorted(action.ref for action in PACK.actions)
    assert sorted(item["ref"] for item in listed) == expected
    out = cli.ok("action", "list")
    assert re.search(r"\| %s\s+\| workspaces\s+\| Create and submit a Workspaces" % ACTION,
                     out), out


def test_action_get_shows_the_action_and_its_parameters(cli):
    out = cli.ok("action", "get", ACTION)
    assert re.search(r"\| ref\s+\| %s\s+\|" % ACTION, out), out
    assert re.search(r"\| runner_type\s+\| python-script\s+\|", out), out
    action = cli.json("action", "get", ACTION)
    assert action["parameters"]["capability_name"] == {
        "type": "string", "required": True, "position": 0,
        "description": "Capability to run, e.g. std_calibration, ingest_obs, null."}
    assert action["enabled"] is True


def _help_sections(out):
    """``{"Required": [names], "Optional": [names]}`` as ``st2 run <action> -h`` lists them."""
    sections, current = {}, None
    for line in out.splitlines():
        header = re.match(r"^(Required|Optional) Parameters:$", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None and re.match(r"^    \w+$", line):
            current.append(line.strip())
    return sections


@pytest.mark.parametrize("action_file", ACTION_FILES, ids=os.path.basename)
def test_run_help_prints_every_parameter_of_the_action(cli, action_file):
    """`st2 run <action> -h` of st2client 3.9 (it failed when optional parameters had positions)."""
    name = os.path.splitext(os.path.basename(action_file))[0]
    action = next(a for a in PACK.actions if a.name == name)
    out = cli.ok("run", action.ref, "-h")
    assert "Unable to print help" not in out, out
    assert " ".join(out.split()).startswith(" ".join(action.meta["description"].split())), out
    runner = cli.json("runner", "get", action.runner_type)["runner_parameters"]
    parameters = dict(runner, **action.parameters)
    shown = {n: p for n, p in parameters.items() if not p.get("immutable")}
    required = sorted(n for n, p in shown.items() if p.get("required"))
    optional = sorted(n for n, p in shown.items() if not p.get("required"))
    sections = _help_sections(out)
    assert sorted(sections.get("Required", [])) == required, out
    assert sections.get("Optional") == optional, out  # no positions: sorted by name


def test_action_get_of_an_unknown_action_says_it_is_not_found(cli):
    text = failed(cli("action", "get", "workspaces.no_such_action"))
    assert 'Action "workspaces.no_such_action" is not found.' in text


def test_trigger_list_shows_the_sensors_trigger_types(cli):
    listed = cli.json("trigger", "list", "--pack", "workspaces")
    assert sorted(t["ref"] for t in listed) == sorted(PACK.trigger_types())
    assert "workspaces.file_detected" in cli.ok("trigger", "list")


def test_rule_list_shows_the_rules_with_their_trigger_and_action(cli):
    listed = cli.json("rule", "list", "--pack", "workspaces")
    assert sorted(r["ref"] for r in listed) == sorted(r.ref for r in PACK.rules)
    out = cli.ok("rule", "list", "--iftt")
    assert re.search(r"\| workspaces\.alma_calibration_ingest\s+\| workspaces\.alma_calibration"
                     r"\s+\| workspaces\.capability_create_and_run\s+\| True\s+\|", out), out


def test_rule_create_disable_and_delete_write_the_rules_directory(cli, service, tmp_path):
    rule_file = tmp_path / "cli_rule.yaml"
    rule_file.write_text(
        "name: cli_rule\npack: workspaces\ndescription: Made with st2 rule create.\n"
        "enabled: true\ntrigger:\n  type: workspaces.alma_calibration\n"
        "criteria:\n  trigger.project_code:\n    type: equals\n    pattern: 2099.D.1.S\n"
        "action:\n  ref: workspaces.capability_create_and_run\n"
        "  parameters:\n    capability_name: null_capability\n")
    created = cli.json("rule", "create", str(rule_file))
    assert created["ref"] == "workspaces.cli_rule" and created["enabled"] is True
    written = os.path.join(service.rules_dir, "cli_rule.yaml")
    assert os.path.exists(written)
    again = cli("rule", "create", str(rule_file))
    assert again.returncode != 0 and "409 Client Error: Conflict" in again.stdout, again.stdout
    cli.ok("rule", "disable", "workspaces.cli_rule")
    assert cli.json("rule", "get", "workspaces.cli_rule")["enabled"] is False
    with open(written) as handle:
        assert "enabled: false" in handle.read()
    cli.ok("rule", "delete", "workspaces.cli_rule")
    assert not os.path.exists(written)


def test_rule_create_refuses_a_relative_directory_with_stackstorms_400(cli, service, tmp_path):
    rule_file = tmp_path / "relative_rule.yaml"
    rule_file.write_text(
        "name: relative_rule\npack: workspaces\ndescription: A file rule.\nenabled: true\n"
        "trigger:\n  type: workspaces.file_detected\n  parameters:\n    directory: incoming\n"
        "action:\n  ref: workspaces.capability_create_and_run\n"
        "  parameters:\n    capability_name: null_capability\n")
    done = cli("rule", "create", str(rule_file))
    text = done.stdout + done.stderr
    assert done.returncode == 2, (done.returncode, text)  # st2's exit status for an API error
    message = stackstorm_trigger_parameters_refusal("workspaces.file_detected",
                                                    {"directory": "incoming"})
    assert "ERROR: 400 Client Error: Bad Request\nMESSAGE: %s for url: " % message in text, text
    assert "'incoming' does not match" in text
    assert not os.path.exists(os.path.join(service.rules_dir, "relative_rule.yaml"))


def test_rules_stackstorm_stores_are_stored_here_too(service):
    """StackStorm 3.9 stores a rule that lacks a required action parameter and one whose
    parameter reads a field the trigger's payload lacks (both fail only when they fire)."""
    import requests

    headers = {"X-Auth-Token": service.token()}
    for name, parameters in (("lacks_capability", {}),
                             ("reads_no_field", {"capability_name":
                                                 "{{ trigger.not_in_payload }}"})):
        rule = {"name": name, "pack": "workspaces", "enabled": True,
                "trigger": {"type": "workspaces.alma_calibration"},
                "action": {"ref": ACTION, "parameters": parameters}}
        answer = requests.post(service.api_url + "/v1/rules", json=rule, headers=headers,
                               timeout=CLI_TIMEOUT)
        assert answer.status_code == 201, answer.text
        assert os.path.exists(os.path.join(service.rules_dir, name + ".yaml"))


def test_st2_run_of_status_ends_with_the_python_runners_result(cli):
    done = cli("run", "workspaces.status", "-j")  # exit 1: no sensor has run (`api` runs none)
    status = json.loads(done.stdout)
    assert status["status"] in ("succeeded", "failed"), status
    result = status["result"]["result"]
    assert result["rules_unknown"] is None  # the action got the API's address and a token
    assert result["verdict"].startswith(("status ok", "status FAILED")), result


# --- executions ------------------------------------------------------------------------------

def test_run_creates_the_request_in_workspaces_and_prints_the_result(cli, emulator):
    before = len(emulator.requests("capability"))
    done = cli("run", ACTION, "capability_name=null", 'parameters={"arg": "--seconds 1"}')
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert re.search(r"(?m)^id: [0-9a-f]{24}$", out), out
    assert "\naction.ref: %s\n" % ACTION in out
    assert "\ncontext.user: %s\n" % USER in out
    assert "\nstatus: succeeded" in out
    assert "\n  exit_code: 0\n" in out
    assert "\n    state: Submitted\n" in out or "\n    state: Executing\n" in out, out
    requests = emulator.requests("capability")
    assert len(requests) == before + 1
    assert requests[-1]["parameters"] == {"arg": "--seconds 1"}
    assert "\n    request_id: %s\n" % requests[-1]["id"] in out


def test_a_failing_action_makes_st2_run_exit_1_with_its_error(cli):
    text = failed(cli("run", ACTION, "capability_name=no_such_capability", "submit=false"))
    assert "\nstatus: failed\n" in text
    assert "\n    submitted: false\n" in text, text  # the action's result (exit code 0)
    assert "capability no_such_capability does not exist" in text


def test_async_run_then_execution_get_and_list(cli):
    out = cli.ok("run", ACTION, "capability_name=null", "wait=true", "poll_interval=0.05",
                 "--async")
    match = re.search(r"To get the results, execute:\n st2 execution get ([0-9a-f]{24})\n", out)
    assert match, out
    execution_id = match.group(1)
    _wait_until_done(cli, execution_id)
    out = cli.ok("execution", "get", execution_id)
    assert out.startswith("id: %s\n" % execution_id), out
    assert re.search(r"\nstatus: succeeded \(\d+s elapsed\)\n", out), out
    assert "\n    state: Complete\n" in out
    assert "\n    waited: true\n" in out
    execution = cli.json("execution", "get", execution_id)
    assert execution["parameters"] == {"capability_name": "null", "wait": True,
                                       "poll_interval": 0.05}
    assert [entry["status"] for entry in execution["log"]] == [
        "requested", "scheduled", "running", "succeeded"]
    assert execution["result"]["result"]["state"] == "Complete"
    listed = cli.json("execution", "list", "-n", "100")
    assert execution_id in [item["id"] for item in listed]
    out = cli.ok("execution", "list", "--action", ACTION)
    assert re.search(r"\| %s \| workspaces\.capabilit\s*\| %s" % (execution_id, USER), out), out


def test_execution_tail_follows_the_stream_until_the_execution_ends(cli):
    # the output starts after the CLI had time to attach, on a busy machine too
    out = cli.ok("run", "core.local", "cmd=sleep 8; echo first; sleep 2; echo second", "--async")
    execution_id = re.search(r"st2 execution get ([0-9a-f]{24})", out).group(1)
    out = cli.ok("execution", "tail", execution_id)
    assert "first\n" in out, out  # streamed while it ran (the last line may race the end event)
    assert "Execution %s has completed (status=succeeded)." % execution_id in out, out


def _wait_until_done(cli, execution_id, timeout=CLI_TIMEOUT):
    deadline = time.time() + timeout
    while cli.json("execution", "get", execution_id)["status"] not in (
            "succeeded", "failed", "timeout", "canceled"):
        assert time.time() < deadline, "execution %s did not end" % execution_id
        time.sleep(0.5)


def test_execution_get_of_an_unknown_id_says_it_is_not_found(cli):
    text = failed(cli("execution", "get", "0123456789abcdef01234567"))
    assert 'Action Execution "0123456789abcdef01234567" is not found.' in text


def test_unknown_action_is_refused(cli):
    text = failed(cli("run", "workspaces.no_such_action", "capability_name=null"))
    assert ('ERROR: Resource with id or reference "workspaces.no_such_action" doesn\'t exist.'
            in text)


def test_invalid_parameters_are_refused_with_400_and_named(cli):
    cases = [(("bogus=1",), "Additional properties are not allowed ('bogus' was unexpected)"),
             ((), "'capability_name' is a required property"),
             (("wait_timeout=0",), "0.0 is less than the minimum of 1")]
    for words, message in cases:
        args = ["run", ACTION] + (["capability_name=null"] if words else ["submit=false"])
        text = failed(cli(*(args + list(words))))
        assert "ERROR: 400 Client Error: Bad Request\nMESSAGE: %s for url: " % message in text, text


# --- datastore -------------------------------------------------------------------------------

def test_key_set_get_list_and_delete(cli):
    out = cli.ok("key", "set", "cli_test_key", "some value")
    assert re.search(r"\| value\s+\| some value\s+\|", out), out
    key = cli.json("key", "get", "cli_test_key")
    assert {k: key[k] for k in ("name", "value", "scope")} == {
        "name": "cli_test_key", "value": "some value", "scope": "st2kv.system"}
    out = cli.ok("key", "list")
    assert re.search(r"\| cli_test_key\s+\| some value\s+\| False\s+\| False\s+\| st2kv.system",
                     out), out
    assert "successfully deleted" in cli.ok("key", "delete", "cli_test_key")
    assert 'Key Value Pair "cli_test_key" is not found.' in failed(cli("key", "get",
                                                                       "cli_test_key"))


def test_key_with_ttl_shows_its_expiry(cli):
    key = cli.json("key", "set", "cli_ttl_key", "v", "--ttl", "600")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", key["expire_timestamp"]), key


def test_encrypted_values_are_stored_encrypted_and_read_back_with_decrypt(cli):
    cli.ok("key", "set", "secret_key", "s3cret", "--encrypt")
    assert cli.json("key", "get", "secret_key")["value"] != "s3cret"
    assert cli.json("key", "get", "secret_key", "--decrypt")["value"] == "s3cret"
