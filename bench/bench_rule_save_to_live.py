"""Benchmark: a rule saved through the st2 API (as st2web saves it) until it is live and fires.

The runner (no sensors) and the API over it on loopback, rules in an overlay directory. For each
round: ``POST /api/v1/rules`` over HTTP, then the time until the runner's rule engine lists the
rule (the API handler replaces the runner's rule list itself, so this is the request's own time),
then a matching trigger dispatched through the runner until ``st2.execution__create`` of that rule
arrives on ``/stream``. Baseline: the issue's target of 2 s from save to live.
"""

import http.client
import io
import json
import statistics
import tempfile
import threading
import time

if __name__ == "__main__":
    from run_all import setup_path
    setup_path()

import requests  # noqa: E402

from run_all import PACK_DIR  # noqa: E402
from workspaces_devkit.runner.local import LocalRunner  # noqa: E402
from workspaces_devkit.st2api.htpasswd import add_user  # noqa: E402
from workspaces_devkit.st2api.live import runner_action  # noqa: E402
from workspaces_devkit.st2api.service import build_api  # noqa: E402

TARGET_SECONDS = 2.0


def _rule(index):
    code = "2099.B.%05d.S" % index
    return code, {
        "name": "bench_rule_%d" % index, "pack": "workspaces", "enabled": True,
        "description": "Benchmark rule %d." % index,
        "trigger": {"type": "workspaces.alma_calibration"},
        "criteria": {"trigger.project_code": {"type": "equals", "pattern": code}},
        "action": {"ref": "workspaces.capability_create_and_run",
                   "parameters": {"capability_name": "null"}}}


def _payload(code):
    return {"mous_uid": "uid://A001/X1/X1", "project_code": code, "calibrateable": False,
            "eb_uids": [], "eb_count": 0, "delivery_id": "d", "delivery_name": "d",
            "delivered_at": "2026-01-01T00:00:00Z"}


class _Stream(object):
    """Reads /stream and notes when each rule's first execution__create arrives."""

    def __init__(self, port, token):
        self.seen = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.request("GET", "/stream/v1/stream", headers={"X-Auth-Token": token})
        self.response = self.connection.getresponse()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        pending = b""
        try:
            while True:
                data = self.response.read1(65536)
                if not data:
                    return
                pending += data
                while b"\n\n" in pending:
                    frame, pending = pending.split(b"\n\n", 1)
                    lines = dict(line.split(": ", 1) for line in frame.decode().split("\n")
                                 if ": " in line)
                    if lines.get("event") == "st2.execution__create":
                        rule = (json.loads(lines["data"]).get("rule") or {}).get("name")
                        self.seen.setdefault(rule, time.perf_counter())
        except (OSError, ValueError):
            return


def run(quick=False):
    """Return the benchmark rows."""
    rounds = 5 if quick else 20
    workdir = tempfile.mkdtemp(prefix="bench-rules-")
    add_user(workdir + "/htpasswd", "bench", "bench", rounds=4)
    runner = LocalRunner(PACK_DIR, state_dir=workdir + "/state", sensors=[], out=io.StringIO(),
                         rules_dir=workdir + "/rules")
    runner.executor.execute = lambda ref, parameters, **context: runner.executor.canceled(
        ref, parameters, "benchmark: not run")  # the action itself is not what is measured
    server = build_api(runner.pack, runner_action(runner), runner.store,
                       workdir + "/htpasswd", port=0, auth_port=None,
                       rules_dir=runner.rules_dir, runner=runner).start()
    base = "http://127.0.0.1:%d" % server.port
    session = requests.Session()
    token = session.post(base + "/auth/v1/tokens", auth=("bench", "bench"), json={}).json()
    headers = {"X-Auth-Token": token["token"]}
    stream = _Stream(server.port, token["token"])
    to_live, to_stream = [], []
    try:
        for index in range(rounds):
            code, body = _rule(index)
            started = time.perf_counter()
            answer = session.post(base + "/api/v1/rules", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            while "workspaces." + body["name"] not in [
                    r.ref for r in runner.engine.rules_for("workspaces.alma_calibration")]:
                time.sleep(0.001)
            to_live.append(time.perf_counter() - started)
            runner._on_dispatch("workspaces.alma_calibration", _payload(code), None, "bench")
            deadline = time.time() + 30
            while body["name"] not in stream.seen and time.time() < deadline:
                time.sleep(0.001)
            to_stream.append(stream.seen[body["name"]] - started)
    finally:
        server.stop()
        runner.stop()
    live = statistics.median(to_live)
    shown = statistics.median(to_stream)
    return [
        {"benchmark": "rule save to live", "figure": "POST /rules until live in the runner "
         "(median of %d)" % rounds, "value": round(live * 1000, 2), "unit": "ms",
         "baseline": TARGET_SECONDS * 1000, "ratio": round(TARGET_SECONDS / live, 1)},
        {"benchmark": "rule save to live", "figure": "POST /rules, trigger, execution on "
         "/stream (median of %d)" % rounds, "value": round(shown * 1000, 2), "unit": "ms",
         "baseline": TARGET_SECONDS * 1000, "ratio": round(TARGET_SECONDS / shown, 1)},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in __import__("sys").argv):
        print(row)
