"""Benchmark: 200 sequential capability create-and-run calls against the Workspaces emulator.

Prints the time per call, the TCP connections opened (connection reuse keeps it far below the
number of calls), and the client's overhead per call over the emulator's own handling time, next
to the same calls made with a new connection each time.
"""

import logging
import os
import sys
import time

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run_all import setup_path
    setup_path()

from workspaces_pack.core.config import PackConfig  # noqa: E402
from workspaces_pack.flows.create_and_run import RequestFlow, RunOptions  # noqa: E402
from workspaces_pack.workspaces_service.client import WorkspacesClient  # noqa: E402

from workspaces_devkit.emulator import WorkspacesEmulator  # noqa: E402

LOG = logging.getLogger("bench")


def _measure(calls, reuse):
    emulator = WorkspacesEmulator(latency=0.0)
    url = emulator.start()
    config = PackConfig({"capability_service_url": url, "workflow_service_url": url})
    options = RunOptions(submit=True, wait=False)
    client = WorkspacesClient(config)
    started = time.perf_counter()
    for index in range(calls):
        if not reuse:
            client.close()
            client = WorkspacesClient(config)
        succeeded, _ = RequestFlow(client, "capability", "null", options, LOG).run({"n": index})
        assert succeeded
    elapsed = time.perf_counter() - started
    client.close()
    stats = emulator.stats()
    emulator.stop()
    return elapsed, stats


def run(quick=False):
    """Return the benchmark rows."""
    calls = 50 if quick else 200
    reused, reused_stats = _measure(calls, reuse=True)
    fresh, fresh_stats = _measure(calls, reuse=False)
    per_call = reused / calls
    handler = reused_stats["handler_seconds"] / calls
    return [
        {"benchmark": "workspaces client", "figure": "time per create-and-run (%d calls)" % calls,
         "value": round(per_call * 1000, 3), "unit": "ms",
         "baseline": round(fresh / calls * 1000, 3),
         "ratio": round(per_call / (fresh / calls), 3)},
        {"benchmark": "workspaces client", "figure": "TCP connections opened",
         "value": reused_stats["connections"], "unit": "connections",
         "baseline": fresh_stats["connections"],
         "ratio": round(reused_stats["connections"] / float(fresh_stats["connections"]), 4)},
        {"benchmark": "workspaces client", "figure": "client overhead per call over emulator",
         "value": round((per_call - handler) * 1000, 3), "unit": "ms",
         "baseline": round(handler * 1000, 3), "ratio": round(per_call / handler, 2)},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print("%-45s %10s %-12s baseline %-10s ratio %s" % (
            row["figure"], row["value"], row["unit"], row["baseline"], row["ratio"]))
