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
