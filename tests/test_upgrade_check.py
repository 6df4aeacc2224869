"""``workspaces-local upgrade-check``: which of a site's rules would a new pack version break?

Rules come from rule folders and from a StackStorm API: here ``workspaces-local api`` (the local
st2 API), with rules created through its rule API as the web UI creates them, and read back by
st2client (the real ``st2`` CLI's library, in .venv-st2cli) with the CLI's own settings: ST2_*
variables and a CLI config file with credentials. The new version is a copy of the pack with a
payload field renamed.
"""

import os

import pytest
import requests
from contract_test_support import (
    NEXT_MAJOR, PACK_DIR, RELEASED, edit_yaml, pack_copy, rename_payload_field, set_version)
from pack_test_support import closed_port_url
from stackstorm_support import PASSWORD, USER, StackStormApi

from workspaces_devkit.contract.snapshot import build_contract, pack_version
from workspaces_devkit.runner.cli import main
from workspaces_devkit.upgrade.rule_check import RuleChecker

ASDM = "workspaces.alma_asdm"
ACTION = "workspaces.capability_create_and_run"


def _shipped_rules():
    """The rule files the pack ships (rules/*.yaml)."""
    folder = os.path.join(PACK_DIR, "rules")
    return sorted(name for name in os.listdir(folder) if name.endswith((".yaml", ".yml")))


def asdm_rule(name, pack, field):
    """A rule on workspaces.alma_asdm whose action reads ``trigger.<field>``."""
    return {"name": name, "pack": pack, "enabled": True, "description": "site rule",
            "trigger": {"type": ASDM, "parameters": {"qa0_statuses": ["Pass"]}},
            "criteria": {"trigger.project_code": {"type": "startswith", "pattern": "2099."}},
            "action": {"ref": ACTION, "parameters": {
                "capability_name": "ingest_obs",
                "parameters": "{{ {'id': trigger.%s} | tojson }}" % field}}}


def write_rules(folder, *rules):
    """Write each rule as ``<pack>.<name>.yaml`` into ``folder``."""
    import yaml

    os.makedirs(str(folder), exist_ok=True)
    for rule in rules:
        with open(os.path.join(str(folder), "%s.%s.yaml" % (rule["pack"], rule["name"])),
                  "w") as handle:
            yaml.safe_dump(rule, handle)
    return str(folder)


@pytest.fixture
def renamed(tmp_path):
    """The next major version of the pack: alma_asdm's payload field mous_uid is now mous."""
    pack = pack_copy(tmp_path, "new")
    rename_payload_field(pack, "mous_uid", "mous")
    set_version(pack, NEXT_MAJOR)
    return pack


def _run(capsys, *argv):
    status = main(["upgrade-check"] + list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_a_rule_folder_against_the_new_version_names_the_rule_and_the_field(
        tmp_path, renamed, capsys):
    folder = write_rules(tmp_path / "site-rules", asdm_rule("uses_mous", "site", "mous_uid"),
                         asdm_rule("uses_eb", "ops", "eb_uid"))
    status, out, err = _run(capsys, "--pack-dir", renamed, "--no-api", "--rules-dir", folder)
    assert status == 1 and err == ""
    broken = [line for line in out.splitlines() if line.startswith("BROKEN")]
    assert broken == [
        "BROKEN site.uses_mous (%s): action.parameters.parameters: trigger.mous_uid is not in "
        "the payload of workspaces.alma_asdm (removed (renamed to mous?), contract %s -> %s)"
        % (os.path.join(folder, "site.uses_mous.yaml"), RELEASED, NEXT_MAJOR)]
    assert out.splitlines()[-1] == ("2 rule(s) using workspaces.* checked against workspaces "
                                    "%s (changes since %s): 1 would break"
                                    % (NEXT_MAJOR, RELEASED))
    status, out, _ = _run(capsys, "--no-api", "--rules-dir", folder,
                          "--rules-dir", os.path.join(PACK_DIR, "rules"))
    assert status == 0 and "BROKEN" not in out
    assert "%d rule(s) using workspaces.* checked against workspaces %s" % (
        2 + len(_shipped_rules()), pack_version(PACK_DIR)) in out


def test_a_removed_trigger_type_or_action_breaks_every_rule_on_it(tmp_path, capsys):
    pack = pack_copy(tmp_path, "new")
    edit_yaml(pack, "sensors/vlba_data_sensor.yaml", lambda d: d.update(trigger_types=[]))
    os.remove(os.path.join(pack, "actions", "preflight.yaml"))
    set_version(pack, NEXT_MAJOR)
    folder = write_rules(tmp_path / "rules", {
        "name": "vlba", "pack": "site", "trigger": {"type": "workspaces.vlba_data"},
        "criteria": {}, "action": {"ref": "workspaces.preflight", "parameters": {}}})
    status, out, _ = _run(capsys, "--pack-dir", pack, "--no-api", "--rules-dir", folder)
    assert status == 1
    assert ("BROKEN site.vlba (%s): trigger.type: workspaces.vlba_data is not a trigger type of "
            "this pack (trigger removed, contract %s -> %s); action.ref: "
            "workspaces.preflight is not an action of this pack (action removed, contract "
            "%s -> %s)" % (os.path.join(folder, "site.vlba.yaml"), RELEASED, NEXT_MAJOR,
                           RELEASED, NEXT_MAJOR)) in out


def test_trigger_and_action_parameters_are_checked_like_stackstorm_does():
    def change(contract):
        spec = contract["trigger_types"]["workspaces.file_detected"]["parameters_schema"]
        spec["properties"]["directory"]["pattern"] = "^/[^.]*$"
        return contract
    checker = RuleChecker(change(build_contract(PACK_DIR)))
    rule = {"name": "r", "pack": "site",
            "trigger": {"type": "workspaces.file_detected",
                        "parameters": {"directory": "data/../x", "depth": 2}},
            "criteria": {"trigger.size": {"type": "greaterthan", "pattern": 0},
                         "trigger.owner": {"type": "equals", "pattern": "{{ trigger.group }}"}},
            "action": {"ref": ACTION, "parameters": {
                "timeout": "soon", "wait": "true", "poll_interval": "{{ trigger.size }}",
                "unknown": 1}}}
    problems = checker.check(rule)
    assert problems == [
        ("trigger.parameters.directory", "'data/../x' has a '..' component and is a relative "
                                         "path (give an absolute one, starting with /)"),
        ("trigger.parameters.depth", "workspaces.file_detected has no parameter depth"),
        ("criteria.trigger.owner", "trigger.owner is not in the payload of "
                                   "workspaces.file_detected"),
        ("criteria.trigger.owner.pattern", "trigger.group is not in the payload of "
                                           "workspaces.file_detected"),
        ("action.parameters.timeout", "invalid literal for int() with base 10: 'soon'"),
        ("action.parameters.unknown",
         "workspaces.capability_create_and_run has no parameter unknown"),
        ("action.parameters.capability_name", "required and not given"),
    ]


def test_bad_rule_files_get_one_line_each_and_the_rest_is_still_checked(tmp_path, capsys):
    folder = write_rules(tmp_path / "rules", asdm_rule("fine", "site", "eb_uid"))
    with open(os.path.join(folder, "broken.yaml"), "w") as handle:
        handle.write("name: [unclosed\ntrigger: {type: workspaces.alma_asdm}\n")
    with open(os.path.join(folder, "list.yaml"), "w") as handle:
        handle.write("- just\n- a list\n")
    status, out, err = _run(capsys, "--no-api", "--rules-dir", folder,
                            "--rules-dir", str(tmp_path / "missing"))
    assert status == 2
    assert err.splitlines() == [
        "upgrade-check: %s:2:8: expected ',' or ']', but got ':' (while parsing a flow sequence "
        "at 1:7)"
        % os.path.join(folder, "broken.yaml"),
        "upgrade-check: %s: not a rule (a YAML mapping with trigger and action)"
        % os.path.join(folder, "list.yaml"),
        "upgrade-check: %s: not a directory" % (tmp_path / "missing")]
    assert "1 rule(s) using workspaces.* checked" in out and "BROKEN" not in out


# --- against a StackStorm API, through st2client ------------------------------------------------

def _st2client_python():
    path = os.environ.get("ST2CLIENT_PYTHON") or os.path.join(PACK_DIR, ".venv-st2cli", "bin",
                                                              "python")
    return path if os.path.exists(path) else None


@pytest.fixture(scope="module")
def st2api(tmp_path_factory):
    """StackStorm's own API over the released pack (the real tier), with two rules created
    through its rule API (as the web UI creates them) in two packs."""
    if _st2client_python() is None:
        message = "st2client is not installed: run devkit/bin/setup (it makes .venv-st2cli)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("CI=true and " + message, pytrace=False)
        pytest.skip(message)
    server = StackStormApi(tmp_path_factory.mktemp("upgrade-api"))
    try:
        token = server.token()
        for rule in (asdm_rule("uses_mous", "site", "mous_uid"),
                     asdm_rule("uses_eb", "ops", "eb_uid")):
            answer = requests.post(server.api_url + "/api/v1/rules", json=rule, timeout=30,
                                   headers={"X-Auth-Token": token})
            assert answer.status_code == 201, answer.text
        yield server
    finally:
        server.stop()


@pytest.fixture
def st2_settings(st2api, tmp_path, monkeypatch):
    """The st2 CLI's settings for the local API: URLs in ST2_* variables, credentials in a CLI
    config file (HOME is a temporary folder: nobody's ~/.st2 is read or written)."""
    for name in list(os.environ):
        if name.startswith("ST2_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ST2_API_URL", st2api.api_url)
    monkeypatch.setenv("ST2_AUTH_URL", st2api.auth_url)
    config = tmp_path / "st2.conf"
    config.write_text("[credentials]\nusername = %s\npassword = %s\n" % (USER, PASSWORD))
    return str(config)


@pytest.mark.slow
def test_rules_in_stackstorm_against_the_new_version_name_exactly_the_broken_rule(
        st2api, st2_settings, renamed, capsys):
    status, out, err = _run(capsys, "--pack-dir", renamed, "--config-file", st2_settings)
    assert status == 1, out + err
    assert err == ""
    broken = [line for line in out.splitlines() if line.startswith("BROKEN")]
    assert broken == [
        "BROKEN site.uses_mous (st2 API %s): action.parameters.parameters: trigger.mous_uid is "
        "not in the payload of workspaces.alma_asdm (removed (renamed to mous?), contract "
        "%s -> %s)" % (st2api.api_url, RELEASED, NEXT_MAJOR)]
    # the two site rules; the pack's own are replaced by the new version's rules/
    assert out.splitlines()[-2:] == [
        "2 rule(s) using workspaces.* checked against workspaces %s (changes since %s): "
        "1 would break" % (NEXT_MAJOR, RELEASED),
        "%d rule(s) of the StackStorm API not checked: the new version's rules/ ships them "
        "(validated with the pack)" % len(_shipped_rules())]

    status, out, err = _run(capsys, "--config-file", st2_settings)  # the unmodified pack
    assert (status, err) == (0, "") and "BROKEN" not in out
    assert "2 rule(s) using workspaces.* checked against workspaces %s" % pack_version(
        PACK_DIR) in out


@pytest.mark.slow
def test_wrong_credentials_and_an_unreachable_api_are_one_line_without_secrets(
        st2api, st2_settings, tmp_path, monkeypatch, capsys):
    wrong = tmp_path / "wrong.conf"
    wrong.write_text("[credentials]\nusername = %s\npassword = not-the-password-42\n" % USER)
    status, out, err = _run(capsys, "--config-file", str(wrong), "--from", "0.3.0")
    assert status == 2
    assert err == ("upgrade-check: the StackStorm API at %s refused the credentials (401 "
                   "Unauthorized): log in with `st2 login`, or set ST2_AUTH_TOKEN or "
                   "ST2_API_KEY, or fix [credentials] in the st2 CLI config\n" % st2api.api_url)
    assert "not-the-password-42" not in out + err

    monkeypatch.setenv("ST2_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    status, out, err = _run(capsys, "--config-file", st2_settings)
    assert status == 2 and "refused the credentials (401 Unauthorized)" in err
    assert "0123456789abcdef" not in out + err
    monkeypatch.delenv("ST2_AUTH_TOKEN")

    nowhere = closed_port_url()
    status, out, err = _run(capsys, "--config-file", st2_settings,
                            "--api-url", nowhere + "/api/v1", "--auth-url", nowhere + "/auth/v1")
    assert status == 2
    assert err == ("upgrade-check: cannot reach the StackStorm API at %s/api/v1 (connection "
                   "failed)\n" % nowhere)
    assert PASSWORD not in out + err

    missing = str(tmp_path / "no-such.conf")
    status, out, err = _run(capsys, "--config-file", missing)
    assert status == 2 and err == 'upgrade-check: st2 CLI config: Config "%s" not found\n' \
        % missing


@pytest.mark.slow
def test_after_st2_login_upgrade_check_uses_the_cli_s_cached_token(
        st2api, st2_settings, tmp_path, renamed, monkeypatch, capsys):
    import subprocess

    st2 = os.path.join(os.path.dirname(_st2client_python()), "st2")
    if not os.path.exists(st2):
        pytest.skip("no st2 executable beside %s" % _st2client_python())
    config = str(tmp_path / "login.conf")
    open(config, "w").close()
    monkeypatch.setenv("ST2_CONFIG_FILE", config)  # the CLI's config, as `st2 login` writes it
    done = subprocess.run([st2, "login", USER, "--password", PASSWORD], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert done.returncode == 0, done.stdout
    with open(config) as handle:
        assert PASSWORD not in handle.read()  # st2 login keeps the user name and a cached token
    status, out, err = _run(capsys, "--pack-dir", renamed)
    assert (status, err) == (1, "")
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("BROKEN")] == [
        "BROKEN site.uses_mous"]


@pytest.mark.slow
def test_the_web_ui_rehearsal_reports_each_rule_against_the_new_version(tmp_path, renamed):
    """``workspaces-local api --upgrade-check NEW``: a line at start for each stored rule, then
    one for each rule created through the rule API (as the web UI saves one)."""
    server = StackStormApi(tmp_path, extra_args=["--upgrade-check", renamed], rules={
        "uses_mous.yaml": asdm_rule("uses_mous", "workspaces", "mous_uid")})
    try:
        assert server.wait_for_line("upgrade-check: BROKEN workspaces.uses_mous") == (
            "upgrade-check: BROKEN workspaces.uses_mous (against workspaces %s in %s): "
            "action.parameters.parameters: trigger.mous_uid is not in the payload of "
            "workspaces.alma_asdm (removed (renamed to mous?), contract %s -> %s)"
            % (NEXT_MAJOR, renamed, RELEASED, NEXT_MAJOR))
        token = server.token()
        for rule in (asdm_rule("uses_eb", "ops", "eb_uid"),
                     asdm_rule("uses_mous", "site", "mous_uid")):
            answer = requests.post(server.api_url + "/api/v1/rules", json=rule, timeout=30,
                                   headers={"X-Auth-Token": token})
            assert answer.status_code == 201, answer.text
        first = server.wait_for_line("upgrade-check: ")
        second = server.wait_for_line("upgrade-check: ")
    finally:
        server.stop()
    assert first == "upgrade-check: ok ops.uses_eb (fits workspaces %s in %s)" % (
        NEXT_MAJOR, renamed)
    assert second.startswith("upgrade-check: BROKEN site.uses_mous (against workspaces %s in "
                             % NEXT_MAJOR)
