"""The local runner end to end: the demo on sample data, a live sensor reload, `action` by hand."""

import io
import os
import re
import subprocess
import sys
import time
import types

import pytest

from runner_test_support import pack_copy_watching
from workspaces_devkit.demo import _problems_as_expected, run_demo
from workspaces_devkit.runner.local import LocalRunner

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_demo_creates_the_workspaces_requests_and_marks_the_ebs():
    out = io.StringIO()
    code = run_demo(duration=90, out=out)
    text = out.getvalue()
    assert code == 0, text
    # 5 new EBs and 1 reconciled (set to Pass days after it ended)
    assert "Workspaces capability requests: ingest_cal=1, ingest_obs=6, null=1" in text, text
    assert "EBs reconciled (late Pass):     uid://A002/Xc7111c/X1028 (expected" in text, text
    assert "Workspaces workflow requests:   ingest_obs=2" in text, text
    assert ("ASDMs marked not calibrateable: uid://A002/Xc7111c/X1002, "
            "uid://A002/Xc7111c/X1003") in text, text
    assert "payloads dropped as invalid:    0" in text
    assert re.search(r"request states in the emulator: Complete=10\b", text), text
    assert "rule     workspaces.alma_mark_not_calibrateable matched" in text
    # the broken watch and the ALMA outage: once into and once out of each problem per trigger
    assert ("sensor problems (workspaces.sensor_problem): database_unreachable problem x2 "
            "recovered x2, directory_missing problem x1 recovered x1 (expected database_unreachable"
            " problem x2 recovered x2, directory_missing problem x1 recovered x1") in text, text
    standing = text.split("demo: both problems standing (workspaces-local status):")[1]
    standing, end = standing.split("demo: at the end (workspaces-local status):")
    assert "status FAILED: 4 sensor(s), 5 trigger(s), 3 problem(s)" in standing, text
    assert standing.count("database_unreachable: ALMA database error") == 2, text
    assert re.search(r"workspaces\.file_detected_late_folder .* directory_missing: ",
                     standing), text
    assert "status ok: 4 sensor(s), 5 trigger(s), 0 problem(s)" in end, text


def test_the_demo_verdict_wants_each_problem_exactly_once_in_and_out():
    def runner(*transitions):
        return types.SimpleNamespace(dispatches=[
            {"type": "workspaces.sensor_problem",
             "payload": {"kind": kind, "trigger_ref": ref, "state": state}}
            for kind, ref, state in transitions])
    expected = {"directory_missing": 1, "database_unreachable": 2}
    ok = [("directory_missing", "t1", "problem"), ("database_unreachable", "a", "problem"),
          ("database_unreachable", "c", "problem"), ("directory_missing", "t1", "recovered"),
          ("database_unreachable", "a", "recovered"), ("database_unreachable", "c", "recovered")]
    assert _problems_as_expected(runner(*ok), expected)
    assert not _problems_as_expected(runner(*ok[:-1]), expected)  # c never recovered
    assert not _problems_as_expected(runner(*(ok + [ok[0]])), expected)  # t1 in twice
    assert not _problems_as_expected(runner(*(ok + [("poll_failing", "v", "problem"),
                                                    ("poll_failing", "v", "recovered")])),
                                     expected)  # a kind nobody expected


def test_editing_a_sensor_file_reloads_it(tmp_path):
    pack, incoming = pack_copy_watching(tmp_path)
    saved_modules = {name: module for name, module in sys.modules.items()
                     if name.startswith("workspaces_pack")}
    saved_path = list(sys.path)
    out = io.StringIO()
    runner = LocalRunner(pack, state_dir=str(tmp_path / "state"), out=out, poll_interval=0.2,
                         sensors=["FileMonitorSensor"], run_actions=False)
    runner.start(watch=True)
    try:
        [host] = runner.hosts
        _wait(lambda: host.instance is not None)
        sensor_file = os.path.join(pack, "sensors", "file_monitor_sensor.py")
        with open(sensor_file, "a") as handle:
            handle.write("\nRELOAD_PROBE = 'edited while running'\n")
        _wait(lambda: type(host.instance)._poll_watches.__globals__.get("RELOAD_PROBE"),
              timeout=10)
        (incoming / "after-reload.tar").write_bytes(b"x")
        _wait(lambda: runner.dispatches, timeout=10)
        shared = os.path.join(pack, "actions", "lib", "workspaces_pack", "sensing", "scanner.py")
        with open(shared, "a") as handle:
            handle.write("\nLIB_PROBE = 'shared code edited'\n")
        scanner_module = "workspaces_pack.sensing.scanner"
        _wait(lambda: getattr(sys.modules.get(scanner_module), "LIB_PROBE", None), timeout=10,
              output=out)
        _wait(lambda: "FileMonitorSensor reloaded" in out.getvalue().split("reloading every")[-1],
              timeout=10)
    finally:
        runner.stop()
        for name in [name for name in sys.modules if name.startswith("workspaces_pack")]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path
    assert "file_monitor_sensor.py changed; reloading FileMonitorSensor" in out.getvalue()
    assert "FileMonitorSensor reloaded" in out.getvalue()
    assert runner.dispatches[0]["payload"]["name"] == "after-reload.tar"


def test_action_subcommand_is_the_local_twin_of_st2_run(tmp_path):
    from workspaces_devkit.emulator import WorkspacesEmulator

    emulator = WorkspacesEmulator(submitted_seconds=0.01, executing_seconds=0.05)
    url = emulator.start()
    try:
        config = tmp_path / "workspaces.yaml"
        config.write_text("capability_service_url: %s\nworkflow_service_url: %s\n" % (url, url))
        command = [sys.executable, os.path.join(PACK_DIR, "devkit", "bin", "workspaces-local"),
                   "action", "--config", str(config), "--state-dir", str(tmp_path / "state"),
                   "workspaces.capability_create_and_run", "capability_name=null", "wait=true",
                   "poll_interval=0.05"]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "status: succeeded" in done.stdout
        assert '"state": "Complete"' in done.stdout
        assert [r["state"] for r in emulator.requests("capability")] == ["Complete"]
        bad = subprocess.run(command[:-3] + ["capability_name=no such thing"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60)
        assert bad.returncode == 1
        assert "capability_name" in bad.stdout
    finally:
        emulator.stop()


def _wait(condition, timeout=5.0, output=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met within %.0f s%s" % (
        timeout, "; output:\n" + output.getvalue() if output is not None else ""))
