"""A newcomer's mistakes on the devkit's command lines get one line that says what to do.

Each case runs the command as a user would (a subprocess) and checks its exit status and that it
printed one line, naming the thing to change, and no traceback.
"""

import os
import socket
import subprocess
import sys

import pytest

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(PACK_DIR, "devkit", "bin", "workspaces-local")
TIMEOUT = 60


def _run(*command, cwd=None):
    done = subprocess.run(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=TIMEOUT, cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _one_line(done):
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _local(*arguments):
    return _run(sys.executable, LOCAL, *arguments)


@pytest.fixture
def taken_port():
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def test_dispatch_without_a_payload_says_to_give_one_as_json():
    done = _local("dispatch", "workspaces.file_detected")
    assert done.returncode == 2
    line = _one_line(done)
    assert line.startswith("workspaces-local dispatch: ")
    assert "--payload" in line and "JSON" in line and "payload_schema" in line


def test_a_payload_that_is_not_json_says_how_to_quote_it():
    done = _local("dispatch", "workspaces.file_detected", "--payload", "{path: x}")
    assert done.returncode == 2
    line = _one_line(done)
    assert "--payload is not JSON" in line
    assert """--payload '{"name": "value"}'""" in line


def test_a_bad_flag_names_the_flag_and_the_subcommands_help():
    done = _local("run", "--poll-intervall", "1")
    assert done.returncode == 2
    assert _one_line(done) == ("workspaces-local run: unrecognized arguments: --poll-intervall 1 "
                               "(`workspaces-local run --help` lists what it takes)")


def test_no_subcommand_names_them():
    done = _local()
    assert done.returncode == 2
    line = _one_line(done)
    assert "workspaces-local demo" in line and "--help" in line


def test_a_missing_config_file_names_it_and_the_example(tmp_path):
    missing = str(tmp_path / "workspaces.yaml")
    for command in (["sensor", "FileMonitorSensor"], ["validate"]):
        done = _local(*(command + ["--config", missing, "--state-dir", str(tmp_path)]))
        assert done.returncode == 2, (command, done.stderr)
        line = _one_line(done)
        assert line.startswith("workspaces-local %s: no pack config at %s: " % (command[0],
                                                                                missing)), line
        assert "workspaces.yaml.example" in line


def test_the_st2_api_on_a_port_in_use_names_the_port_and_the_flag(tmp_path, taken_port):
    from stackstorm_support import needs_stackstorm

    from workspaces_devkit.st2_in_process.htpasswd import add_user

    needs_stackstorm()
    htpasswd = str(tmp_path / "htpasswd")
    add_user(htpasswd, "alice", "secret", rounds=4)
    for command in (["api", "--htpasswd", htpasswd, "--port"],
                    ["run", "--duration", "0", "--api-htpasswd", htpasswd, "--api-port"]):
        done = _run(sys.executable, "-m", "workspaces_devkit.st2_in_process",
                    *(command + [str(taken_port), "--state-dir", str(tmp_path / "state")]),
                    cwd=os.path.join(PACK_DIR, "devkit"))
        assert done.returncode == 1
        line = done.stderr.strip().splitlines()[-1]
        assert "port %d on 127.0.0.1 is already in use" % taken_port in line, done.stderr
        assert "%s PORT" % command[-1] in line


def test_the_st2_api_where_stackstorm_is_not_installed_is_one_line(tmp_path):
    done = _local("api", "--htpasswd", str(tmp_path / "htpasswd"))
    assert done.returncode == 1
    assert _one_line(done).startswith("workspaces-local: api needs StackStorm's own services: ")


def test_the_emulator_on_a_port_in_use_names_the_port_and_the_flag(taken_port):
    done = _run(sys.executable, "-m", "workspaces_devkit.emulator", "--port", str(taken_port),
                cwd=os.path.join(PACK_DIR, "devkit"))
    assert done.returncode == 1
    line = _one_line(done)
    assert "port %d on 127.0.0.1 is already in use" % taken_port in line
    assert "--port PORT" in line and "capability_service_url" in line


# --- bad files and values (issue 25) -------------------------------------------------------------

BAD_YAML = "capability_service_url: [http://a\nauth_mode: none\n"  # 2:10 ends the flow sequence


def _bad_yaml(tmp_path):
    path = tmp_path / "workspaces.yaml"
    path.write_text(BAD_YAML)
    return str(path)


@pytest.mark.parametrize("command", [
    ["validate"], ["status"], ["preflight"], ["run", "--duration", "1", "--no-reload"]])
def test_a_config_that_is_not_yaml_is_named_with_its_line_and_column(tmp_path, command):
    config = _bad_yaml(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    extra = ["--state-dir", str(state)] if command[0] != "validate" else []
    done = _local(*(command + ["--config", config] + extra))
    assert done.returncode in (1, 2), done
    text = done.stdout + done.stderr
    assert "%s:2:10: " % config in text, text


def test_validate_names_every_rule_file_that_is_not_yaml_and_the_folders_other_problems(
        tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text("name: a\n  pack: : x\n")
    (rules / "b.yaml").write_text("name: [b\n")
    done = _local("validate", "--rules-dir", str(rules))
    assert done.returncode == 1
    assert "%s:2:7: mapping values are not allowed here" % (rules / "a.yaml") in done.stdout
    assert "%s:2:1: expected ',' or ']'" % (rules / "b.yaml") in done.stdout
    assert done.stdout.splitlines()[-1] == "2 problem(s)"


def test_validate_says_in_words_what_is_wrong_with_a_rules_directory(tmp_path):
    import yaml

    rules = tmp_path / "rules"
    rules.mkdir()
    with open(os.path.join(PACK_DIR, "rules", "file_detected_create_and_run.yaml")) as handle:
        rule = yaml.safe_load(handle)
    for name, directory in (("relative", "data/in"), ("dots", "/data/../in")):
        rule["trigger"]["parameters"]["directory"] = directory
        (rules / (name + ".yaml")).write_text(yaml.safe_dump(dict(rule, name=name)))
    done = _local("validate", "--rules-dir", str(rules))
    assert done.returncode == 1
    assert "trigger.parameters.directory: 'data/in' is a relative path (give an absolute one" \
        in done.stdout
    assert "trigger.parameters.directory: '/data/../in' has a '..' component" in done.stdout
    assert "does not match" not in done.stdout


def test_validate_refuses_a_workspaces_url_naming_the_key_and_showing_the_value(tmp_path):
    config = tmp_path / "workspaces.yaml"
    config.write_text('capability_service_url: "http://user:pw@[::1"\n'
                      'workflow_service_url: ""\n')
    done = _local("validate", "--config", str(config))
    assert done.returncode == 1
    assert ("capability_service_url: pack config key 'capability_service_url' "
            "('http://user:***@[::1') is not a valid URL") in done.stdout
    assert "pack config key 'workflow_service_url' ('') is blank" in done.stdout
    assert "pw" not in done.stdout


def test_status_of_a_state_folder_that_does_not_exist_says_so(tmp_path):
    done = _local("status", "--state-dir", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "no state folder %s" % (tmp_path / "nowhere") in _one_line(done)


def test_status_into_a_closed_pipe_ends_quietly(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    reader = subprocess.Popen([sys.executable, LOCAL, "status", "--json", "--state-dir",
                               str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
    reader.stdout.close()  # like `| head` that has read enough, long before status prints
    _, err = reader.communicate(timeout=TIMEOUT)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert reader.returncode in (0, 1)
