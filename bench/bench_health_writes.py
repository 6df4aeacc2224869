"""Benchmark: datastore writes per poll with and without the sensors' health records (issue 19).

A FileMonitorSensor with 5 triggers polls every 30 s for 2 simulated hours (240 polls, an injected
clock), in two settings: quiet (nothing arrives: the steady state) and busy (one new file in one
folder every poll). Each runs twice: with health records, and with the health writes switched
off. Expected: the same writes per poll, plus one heartbeat per ``health_heartbeat_minutes``
(default 10) of 1 + 5 records.
"""

import os
import shutil
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    sys.path.insert(0, BENCH_DIR)
    from run_all import setup_path
    setup_path()

TRIGGERS = 5
POLL_SECONDS = 30
HOURS = 2


def _writes(busy, with_health):
    """Return ``(state writes, health writes, polls, polls that wrote health)`` of one run."""
    from file_monitor_sensor import FileMonitorSensor
    from pack_test_support import make_trigger
    from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper

    root = tempfile.mkdtemp(prefix="bench-health-")
    try:
        service = MockSensorService(MockSensorWrapper(pack="workspaces",
                                                      class_name="FileMonitorSensor"))
        sensor = FileMonitorSensor(sensor_service=service, config={}, poll_interval=POLL_SECONDS)
        offset = [0.0]
        sensor.clock = lambda: time.time() + offset[0]
        if not with_health:
            sensor._health.poll_ended = lambda: None
        folders = []
        for index in range(TRIGGERS):
            folder = os.path.join(root, "in%d" % index)
            os.makedirs(folder)
            folders.append(folder)
            sensor.add_trigger(make_trigger("file_detected", {"directory": folder,
                                                              "settle_seconds": 0}))
        sensor.poll()  # baselines
        counts = {"state": 0, "health": 0}
        original = service.set_value

        def counted(name, value, *args, **kwargs):
            counts["health" if name.startswith("health") else "state"] += 1
            return original(name, value, *args, **kwargs)
        service.set_value = counted
        polls = HOURS * 3600 // POLL_SECONDS
        health_polls = 0
        for number in range(polls):
            before = counts["health"]
            offset[0] += POLL_SECONDS
            if busy:
                path = os.path.join(folders[number % TRIGGERS], "f%05d.dat" % number)
                with open(path, "wb") as handle:
                    handle.write(b"x")
                future = time.time() + offset[0] - 1
                os.utime(path, (future, future))
            sensor.poll()
            health_polls += counts["health"] > before
        return counts["state"], counts["health"], polls, health_polls
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(quick=False):
    """Return the benchmark rows."""
    rows = []
    for busy in (False, True):
        label = "busy (a file per poll)" if busy else "quiet (steady state)"
        state_off, health_off, polls, _ = _writes(busy, with_health=False)
        state_on, health_on, _, health_polls = _writes(busy, with_health=True)
        without = (state_off + health_off) / float(polls)
        with_health = (state_on + health_on) / float(polls)
        rows += [
            {"benchmark": "health writes", "figure": "writes per poll without health, %s" % label,
             "value": round(without, 3), "unit": "writes", "baseline": None, "ratio": None},
            {"benchmark": "health writes", "figure": "writes per poll with health, %s" % label,
             "value": round(with_health, 3), "unit": "writes", "baseline": round(without, 3),
             "ratio": None},
            {"benchmark": "health writes",
             "figure": "health writes per 10 min, %s (%d triggers + 1 sensor record)"
                       % (label, TRIGGERS),
             "value": round(health_on / (HOURS * 6.0), 2), "unit": "writes", "baseline": None,
             "ratio": None},
            {"benchmark": "health writes",
             "figure": "polls that wrote health, of %d (%s)" % (polls, label),
             "value": health_polls, "unit": "polls", "baseline": None, "ratio": None},
        ]
    return rows


if __name__ == "__main__":
    for row in run():
        print("%-70s %8s %s" % (row["figure"], row["value"], row["unit"]))
