"""Benchmark: StackStorm's own services in one process beside the emulated runner.

For each engine: start-up time, memory (RSS), a rule saved until it is live and fires, a file
dropped in a watched folder until its Workspaces request exists (the emulator), and 40 concurrent
action runs. The real engine is ``workspaces-local api`` / ``run`` in the pack's StackStorm
virtualenv (a process of its own: its RSS is read from /proc); a rule is saved through the st2
API and fired by a webhook. The emulated runner runs in this process; a rule is saved as a file
in its rules folder. Without StackStorm's virtualenv the real engine's rows say so.
"""

import concurrent.futures
import io
import os
import queue
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

if __name__ == "__main__":
    from run_all import setup_path
    setup_path()

import requests  # noqa: E402
import yaml  # noqa: E402

from run_all import PACK_DIR  # noqa: E402
from workspaces_devkit.emulator import WorkspacesEmulator  # noqa: E402

CONCURRENT = 40
ACTION = "workspaces.capability_create_and_run"


def _rule(index):
    code = "2099.B.%05d.S" % index
    return code, {"name": "bench_rule_%d" % index, "pack": "workspaces", "enabled": True,
                  "trigger": {"type": "workspaces.alma_calibration"},
                  "criteria": {"trigger.project_code": {"type": "equals", "pattern": code}},
                  "action": {"ref": ACTION, "parameters": {"capability_name": "null"}}}


def _payload(code):
    return {"mous_uid": "uid://A001/X1/X1", "project_code": code, "calibrateable": False,
            "eb_uids": [], "eb_count": 0, "delivery_id": "d", "delivery_name": "d",
            "delivered_at": "2026-01-01T00:00:00Z"}


def _file_rule(staging):
    path = os.path.join(PACK_DIR, "rules", "file_detected_create_and_run.yaml")
    with open(path) as handle:
        rule = yaml.safe_load(handle)
    rule["enabled"] = True
    rule["trigger"]["parameters"].update({"directory": staging, "settle_seconds": 1})
    return rule


def _wait(condition, timeout=120, step=0.01):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise RuntimeError("benchmark: timed out")
        time.sleep(step)


def _row(engine, figure, value, unit):
    return {"benchmark": "engines", "figure": "%s: %s" % (engine, figure), "value": value,
            "unit": unit, "baseline": None, "ratio": None}


# --- StackStorm's own services ------------------------------------------------------------------

class _Process(object):
    """``workspaces-local ARGS`` in StackStorm's virtualenv; its printed lines in a queue."""

    def __init__(self, python, args):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(PACK_DIR, "devkit"), os.path.join(PACK_DIR, "actions", "lib")]))
        self.started = time.perf_counter()
        self.process = subprocess.Popen([python, "-m", "workspaces_devkit.st2_in_process"] + args,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        universal_newlines=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            line = self.lines.get(timeout=180)
            if line is None:
                raise RuntimeError("benchmark: workspaces-local %s exited" % args[0])
            if line.strip().startswith("export ST2_API_URL="):
                self.url = line.split()[1].split("=", 1)[1]
                break
            if line.startswith("engine:") and args[0] == "run":
                self.url = None
                break
        self.startup = time.perf_counter() - self.started

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def rss_mib(self):
        with open("/proc/%d/status" % self.process.pid) as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def _stackstorm(python, workdir, emulator, rounds):
    from workspaces_devkit.st2_in_process.htpasswd import add_user

    config = os.path.join(workdir, "workspaces.yaml")
    with open(config, "w") as handle:
        yaml.safe_dump({"capability_service_url": emulator.url,
                        "workflow_service_url": emulator.url}, handle)
    add_user(os.path.join(workdir, "htpasswd"), "bench", "bench", rounds=4)
    api = _Process(python, ["api", "--htpasswd", os.path.join(workdir, "htpasswd"), "--port",
                            "0", "--config", config, "--state-dir", workdir + "/state",
                            "--rules-dir", workdir + "/rules"])
    rows = [_row("StackStorm", "start until the API answers", round(api.startup, 2), "s"),
            _row("StackStorm", "RSS after start", api.rss_mib(), "MiB")]
    try:
        session = requests.Session()
        token = session.post(api.url + "/auth/tokens", auth=("bench", "bench"),
                             json={}).json()["token"]
        headers = {"X-Auth-Token": token}
        to_fire = []
        for index in range(rounds):
            code, body = _rule(index)
            started = time.perf_counter()
            assert session.post(api.url + "/v1/rules", json=body, headers=headers).ok
            assert session.post(api.url + "/v1/webhooks/st2", headers=headers, json={
                "trigger": "workspaces.alma_calibration", "payload": _payload(code)}).ok
            _wait(lambda: session.get(api.url + "/v1/executions", headers=headers, params={
                "rule": body["name"], "limit": 1}).json())
            to_fire.append(time.perf_counter() - started)
        rows.append(_row("StackStorm", "rule POSTed, webhook, its execution (median of %d)"
                         % rounds, round(statistics.median(to_fire) * 1000), "ms"))
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
            ids = list(pool.map(lambda _: session.post(
                api.url + "/v1/executions", headers=headers, json={
                    "action": ACTION, "parameters": {"capability_name": "null"}}).json()["id"],
                range(CONCURRENT)))
        _wait(lambda: all(session.get(api.url + "/v1/executions/" + ident, headers=headers)
                          .json()["status"] in ("succeeded", "failed") for ident in ids),
              step=0.2)
        rows += [_row("StackStorm", "%d concurrent action runs" % CONCURRENT,
                      round(time.perf_counter() - started, 1), "s"),
                 _row("StackStorm", "RSS after them", api.rss_mib(), "MiB")]
    finally:
        api.stop()
    rows.append(_row("StackStorm", "file dropped until its Workspaces request",
                     _stackstorm_file(python, workdir, emulator), "s"))
    return rows


def _file_rule_folders(workdir, name):
    """A staging folder and a rules folder holding the file rule on it: ``(staging, rules)``."""
    staging = os.path.join(workdir, name + "-incoming")
    rules = os.path.join(workdir, name + "-rules")
    os.makedirs(staging)
    os.makedirs(rules)
    with open(os.path.join(rules, "file.yaml"), "w") as handle:
        yaml.safe_dump(_file_rule(staging), handle)
    return staging, rules


def _stackstorm_file(python, workdir, emulator):
    staging, rules = _file_rule_folders(workdir, "stackstorm")
    run = _Process(python, ["run", "--config", workdir + "/workspaces.yaml", "--poll-interval",
                            "1", "--state-dir", workdir + "/run-state", "--rules-dir", rules])
    try:
        time.sleep(3)  # the file sensor's baseline
        return _drop_and_wait(staging, emulator)
    finally:
        run.stop()


def _drop_and_wait(staging, emulator):
    before = len(emulator.requests("capability"))
    started = time.perf_counter()
    with open(os.path.join(staging, "uid___A002_Xc7111c_X3979.tar"), "wb") as handle:
        handle.write(b"\0" * 10240)
    _wait(lambda: len(emulator.requests("capability")) > before)
    return round(time.perf_counter() - started, 2)


# --- the emulated runner --------------------------------------------------------------------------

def _emulated(workdir, emulator, rounds):
    from workspaces_devkit.runner.local import LocalRunner

    staging, rules = _file_rule_folders(workdir, "emulated")
    config = {"capability_service_url": emulator.url, "workflow_service_url": emulator.url}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    runner = LocalRunner(PACK_DIR, config_overrides=config, state_dir=workdir + "/emulated",
                         out=io.StringIO(), poll_interval=1, rules_dir=rules,
                         sensors=["FileMonitorSensor"])
    runner.start(watch=True)
    rows = [_row("emulated", "start (runner built, sensors started)",
                 round(time.perf_counter() - started, 2), "s")]
    try:
        to_live = []
        for index in range(rounds):
            _code, body = _rule(index)
            started = time.perf_counter()
            with open(os.path.join(rules, body["name"] + ".yaml"), "w") as handle:
                yaml.safe_dump(body, handle)
            _wait(lambda: "workspaces." + body["name"] in [
                r.ref for r in runner.engine.rules_for("workspaces.alma_calibration")])
            to_live.append(time.perf_counter() - started)
        rows.append(_row("emulated", "rule file written until live (median of %d)" % rounds,
                         round(statistics.median(to_live) * 1000), "ms"))
        time.sleep(2)  # the file sensor's baseline
        rows.append(_row("emulated", "file dropped until its Workspaces request",
                         _drop_and_wait(staging, emulator), "s"))
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
            list(pool.map(lambda _: runner.executor.execute(ACTION, {"capability_name": "null"}),
                          range(CONCURRENT)))
        rows.append(_row("emulated", "%d concurrent action runs" % CONCURRENT,
                         round(time.perf_counter() - started, 1), "s"))
    finally:
        runner.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows.append(_row("emulated", "peak RSS of the process (was %.0f MiB before the runner)"
                     % (rss_before / 1024.0), round(peak / 1024.0, 1), "MiB"))
    return rows


def run(quick=False):
    """Return the benchmark rows."""
    from workspaces_devkit.st2_in_process import stackstorm_python

    rounds = 3 if quick else 10
    workdir = tempfile.mkdtemp(prefix="bench-engines-")
    emulator = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.3)
    emulator.start()
    try:
        rows = _emulated(workdir, emulator, rounds)
        python = stackstorm_python(PACK_DIR)
        if python is None:
            rows.append(_row("StackStorm", "not measured: no StackStorm virtualenv "
                             "(devkit/bin/setup makes .venv-st2)", None, "-"))
        else:
            rows += _stackstorm(python, workdir, emulator, rounds)
        return rows
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    for row in run(quick="--quick" in __import__("sys").argv):
        print(row)
