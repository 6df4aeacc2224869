"""Benchmark: one FileMonitorSensor poll over a directory of 100,000 files with 10 new ones.

Figures, each next to a bare baseline measured in the same run on the same directory:
- a poll that finds 10 new files, against one bare ``os.scandir`` pass (target: within 2x);
- the first poll after a restart (every file stat'ed), against a bare scandir + stat pass;
- datastore calls per poll (target: constant per trigger, not per file) and the state size.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time

if __name__ == "__main__":
    from run_all import setup_path
    setup_path()

from file_monitor_sensor import FileMonitorSensor  # noqa: E402
from pack_test_support import CountingDatastore, make_trigger  # noqa: E402
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper  # noqa: E402

ROUNDS = 7


def _fill(directory, count):
    for index in range(count):
        with open(os.path.join(directory, "VLBA_TL015A_%07d.idifits" % index), "wb"):
            pass


def _bare_scandir(directory):
    count = 0
    with os.scandir(directory) as entries:
        for _ in entries:
            count += 1
    return count


def _bare_scandir_stat(directory):
    with os.scandir(directory) as entries:
        for entry in entries:
            entry.stat(follow_symlinks=False)


def _timed(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def _sensor(service, trigger):
    sensor = FileMonitorSensor(sensor_service=service, config={})
    sensor.add_trigger(trigger)
    return sensor


def run(quick=False):
    """Return the benchmark rows."""
    count = 10000 if quick else 100000
    root = tempfile.mkdtemp(prefix="bench-scan-")
    try:
        directory = os.path.join(root, "incoming")
        os.makedirs(directory)
        _fill(directory, count)
        service = MockSensorService(MockSensorWrapper(pack="workspaces",
                                                      class_name="FileMonitorSensor"))
        trigger = make_trigger("file_detected", {"directory": directory,
                                                 "pattern": "*.idifits", "settle_seconds": 0})
        sensor = _sensor(service, trigger)
        sensor.poll()  # baseline
        counter = CountingDatastore(service)
        polls, bares, calls = [], [], []
        for round_index in range(ROUNDS):
            for index in range(10):
                name = "VLBA_TL015A_new_%d_%d.idifits" % (round_index, index)
                with open(os.path.join(directory, name), "wb") as handle:
                    handle.write(b"x" * 100)
            before = len(service.dispatched_triggers)
            counter.reset()
            bares.append(_timed(_bare_scandir, directory))
            polls.append(_timed(sensor.poll))
            calls.append(counter.total())
            assert len(service.dispatched_triggers) - before == 10, "poll missed new files"
        cold, cold_bare = [], []
        for _ in range(3):
            restarted = _sensor(service, trigger)
            cold_bare.append(_timed(_bare_scandir_stat, directory))
            cold.append(_timed(restarted.poll))
        state = service.get_value("state:" + trigger["ref"], local=True) or ""
    finally:
        shutil.rmtree(root, ignore_errors=True)
    poll_ms = statistics.median(polls) * 1000
    bare_ms = statistics.median(bares) * 1000
    cold_ms = statistics.median(cold) * 1000
    cold_bare_ms = statistics.median(cold_bare) * 1000
    label = "%dk files" % (count // 1000)
    return [
        {"benchmark": "file scan", "figure": "poll finding 10 new among %s" % label,
         "value": round(poll_ms, 2), "unit": "ms", "baseline": round(bare_ms, 2),
         "ratio": round(poll_ms / bare_ms, 2)},
        {"benchmark": "file scan", "figure": "first poll after restart, %s" % label,
         "value": round(cold_ms, 2), "unit": "ms", "baseline": round(cold_bare_ms, 2),
         "ratio": round(cold_ms / cold_bare_ms, 2)},
        {"benchmark": "file scan", "figure": "datastore calls per poll (10 new files)",
         "value": max(calls), "unit": "calls", "baseline": 10,
         "ratio": round(max(calls) / 10.0, 2)},
        {"benchmark": "file scan", "figure": "state size per trigger",
         "value": len(state), "unit": "bytes", "baseline": None, "ratio": None},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print("%-45s %10s %-6s baseline %-10s ratio %s" % (
            row["figure"], row["value"], row["unit"], row["baseline"], row["ratio"]))
