"""Benchmark: the file sensors' polls on large trees, next to bare baselines from the same run.

Scenarios, each in its own process (so that its memory is its own):
- flat: one folder of N files (FileMonitorSensor, one trigger). A poll finding 10 new files
  against one bare ``os.scandir`` pass (the mean of one just before and one just after the poll;
  medians of 7 rounds; target 1.5x); peak memory growth from just before the
  baseline poll, per file (target 100 bytes); the first poll after add_trigger (the baseline)
  against a bare ``os.scandir`` pass (target 2x; a folder unchanged since well before the
  trigger was added is listed without a stat per file); the first poll after a restart against
  a bare scandir-and-stat pass (target 1.3x), with no file replayed.
- tree: a VLBA correlation area ``<mmmyy>/<project>/`` of N files, 100 per folder
  (VlbaDataSensor). A poll where 10 files arrived in 2 folders against a bare scandir walk
  (target 1.5x), with the folders listed; memory and restart as above.
- watchdog: watchdog's polling snapshot diff (``DirectorySnapshot`` twice plus
  ``DirectorySnapshotDiff``) on the same trees, the peer a user would pick to poll a directory.
- burst: 10,000 new files dispatched in one poll; datastore calls per poll; the sensor's cost per
  100 files over a bare scandir-and-stat pass plus a bare loop calling the same mock dispatch.

N is 100,000 (10,000 with ``--quick``; 1,000,000 with ``run_all.py --million`` or
``WORKSPACES_BENCH_FILES``). Trees live in /tmp/bench-trees (``big_trees``), built once. Memory
per file is only meaningful at the large sizes: with 10,000 files a process's fixed growth of
about a megabyte (allocator arenas, the state) reads as a hundred bytes per file.
"""

import gc
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    sys.path.insert(0, BENCH_DIR)
    from run_all import setup_path
    setup_path()

import big_trees  # noqa: E402
from file_monitor_sensor import FileMonitorSensor  # noqa: E402
from pack_test_support import CountingDatastore, make_trigger  # noqa: E402
from st2tests.mocks.sensor import MockSensorService, MockSensorWrapper  # noqa: E402
from vlba_data_sensor import VlbaDataSensor  # noqa: E402

ROUNDS = 7
RESTARTS = 3
BURST = 10000


def _memory_kib():
    """Current and peak resident memory of this process, KiB (Linux /proc)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split()[:2]
                values[key[:-1]] = int(value)
    return values


def _reset_peak():
    """Make VmHWM start again from the current RSS (Linux 4.0+); ignored where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _timed(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def _walk(root, with_stat=False):
    """A bare pass over a tree with os.scandir (and lstat of every file)."""
    count = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                count += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif with_stat:
                    entry.stat(follow_symlinks=False)
    return count


def _bare_scandir(directory):
    count = 0
    with os.scandir(directory) as entries:
        for _ in entries:
            count += 1
    return count


def _new_file(folder, obs_code, number):
    path = os.path.join(folder, "VLBA_%s_new_BIN0_SRC0_%d_201020T164655.idifits"
                        % (obs_code, number))
    with open(path, "wb") as handle:
        handle.write(b"x" * 100)
    return path


def _service(class_name):
    return MockSensorService(MockSensorWrapper(pack="workspaces", class_name=class_name))


def _scenario(kind, count):
    """Run the flat or tree scenario in this process; return its figures."""
    if kind == "flat":
        root = big_trees.flat_tree(count)
        folders = [(root, "TL015A")]
        bare, bare_stat = _bare_scandir, _walk
    else:
        root = big_trees.vlba_tree(count)
        folders = big_trees.vlba_folders(root, count)
        folders = [folders[len(folders) // 3], folders[2 * len(folders) // 3]]
        bare, bare_stat = _walk, _walk
    for leftover in glob.glob(os.path.join(root, "**", "VLBA_*_new_BIN0_*"), recursive=True):
        os.remove(leftover)

    def new_sensor():
        if kind == "flat":
            sensor = FileMonitorSensor(sensor_service=service, config={})
            sensor.add_trigger(trigger)
        else:
            sensor = VlbaDataSensor(sensor_service=service, config={
                "vlba_data_directory": root, "vlba_settle_seconds": 0})
        return sensor

    service = _service("FileMonitorSensor" if kind == "flat" else "VlbaDataSensor")
    trigger = make_trigger("file_detected", {"directory": root, "pattern": "*.idifits",
                                             "settle_seconds": 0})
    sensor = new_sensor()
    gc.collect()
    _reset_peak()
    before = _memory_kib()["VmRSS"]
    baseline_bare = _timed(bare, root)
    baseline = _timed(sensor.poll)  # the first poll after add_trigger: the baseline
    baseline_bare = (baseline_bare + _timed(bare, root)) / 2
    polls, bares, listed, created = [], [], [], []
    watch = next(iter(sensor._watches.items()))[1]
    try:
        for round_index in range(ROUNDS):
            for index in range(10):
                folder, obs_code = folders[index % len(folders)]
                created.append(_new_file(folder, obs_code, round_index * 10 + index))
            dispatched = len(service.dispatched_triggers)
            bare_before = _timed(bare, root)
            listed_before = watch.stats["listed"]
            polls.append(_timed(sensor.poll))
            listed.append(watch.stats["listed"] - listed_before)
            bares.append((bare_before + _timed(bare, root)) / 2)  # the machine is shared
            assert len(service.dispatched_triggers) > dispatched, "poll missed new files"
        peak = _memory_kib()["VmHWM"] - before
        steady = _memory_kib()["VmRSS"] - before
        dispatched = len(service.dispatched_triggers)
        del sensor, watch
        gc.collect()
        cold, cold_bare = [], []
        for _ in range(RESTARTS):
            restarted = new_sensor()
            cold_bare.append(_timed(bare_stat, root, True))
            cold.append(_timed(restarted.poll))
            del restarted
        replayed = len(service.dispatched_triggers) - dispatched
    finally:
        for path in created:
            os.remove(path)
    return {"poll": statistics.median(polls), "bare": statistics.median(bares),
            "listed": max(listed), "peak_bytes_per_file": peak * 1024.0 / count,
            "steady_bytes_per_file": steady * 1024.0 / count,
            "cold": statistics.median(cold), "cold_bare": statistics.median(cold_bare),
            "replayed": replayed, "baseline": baseline, "baseline_bare": baseline_bare}


def _watchdog(kind, count):
    """watchdog's polling snapshot diff on the same tree: one baseline and one diffing poll."""
    from watchdog.utils.dirsnapshot import DirectorySnapshot, DirectorySnapshotDiff

    root = big_trees.flat_tree(count) if kind == "flat" else big_trees.vlba_tree(count)
    if kind == "flat":
        folder, obs_code = root, "TL015A"
    else:
        folder, obs_code = big_trees.vlba_folders(root, count)[0]
    recursive = kind != "flat"
    previous = DirectorySnapshot(root, recursive=recursive)
    created = [_new_file(folder, obs_code, index) for index in range(10)]
    try:
        started = time.perf_counter()
        current = DirectorySnapshot(root, recursive=recursive)
        diff = DirectorySnapshotDiff(previous, current)
        elapsed = time.perf_counter() - started
    finally:
        for path in created:
            os.remove(path)
    assert len(diff.files_created) == 10, "watchdog missed files"
    return {"poll": elapsed}


def _burst():
    """10,000 new files in one poll: datastore calls and cost over bare scan and dispatch."""
    directory = tempfile.mkdtemp(prefix="bench-burst-")
    try:
        service = _service("FileMonitorSensor")
        trigger = make_trigger("file_detected", {"directory": directory, "settle_seconds": 0})
        sensor = FileMonitorSensor(sensor_service=service, config={})
        sensor.add_trigger(trigger)
        sensor.poll()
        for index in range(BURST):
            _new_file(directory, "TL015A", index)
        counter = CountingDatastore(service)
        bare_scan = _timed(_walk, directory, True)
        watch = sensor._watches.items()[0][1]
        scan = []
        watch_poll = watch.poll

        def timed_watch_poll():
            started = time.perf_counter()
            try:
                return watch_poll()
            finally:
                scan.append(time.perf_counter() - started)
        watch.poll = timed_watch_poll
        poll = _timed(sensor.poll)
        assert len(service.dispatched_triggers) == BURST, "the burst took more than one poll"
        calls = counter.total()
        sent = [(item["trigger"], item["payload"], item["trace_context"].trace_tag)
                for item in service.dispatched_triggers]
        state = service.get_value("state:" + trigger["ref"], local=True) or ""
        bare_service = _service("FileMonitorSensor")
        started = time.perf_counter()
        for ref, payload, tag in sent:
            bare_service.dispatch(trigger=ref, payload=payload, trace_tag=tag)
        bare_dispatch = time.perf_counter() - started
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {"poll": poll, "bare": bare_scan + bare_dispatch, "calls": calls, "state": len(state),
            "loop": poll - sum(scan), "bare_dispatch": bare_dispatch}


def _in_child(*args):
    """Run ``main --child args`` in a fresh process; return its JSON result."""
    command = [sys.executable, os.path.abspath(__file__), "--child"]
    command.extend(str(arg) for arg in args)
    output = subprocess.check_output(command, universal_newlines=True)
    return json.loads(output.strip().splitlines()[-1])


def _row(figure, value, unit, baseline=None, digits=1):
    ratio = round(value / baseline, 2) if baseline else None
    baseline = round(baseline, digits) if baseline is not None else None
    return {"benchmark": "file scan", "figure": figure, "value": round(value, digits),
            "unit": unit, "baseline": baseline, "ratio": ratio}


def file_count(quick=False):
    """Files per tree: ``WORKSPACES_BENCH_FILES`` or 100,000 (10,000 when quick)."""
    return int(os.environ.get("WORKSPACES_BENCH_FILES") or (10000 if quick else 100000))


def run(quick=False):
    """Return the benchmark rows."""
    count = file_count(quick)
    label = "%dk" % (count // 1000)
    rows = []
    for kind, shape in (("flat", "1 folder"), ("tree", "%d folders" % (count // 100))):
        found = _in_child("scenario", kind, count)
        peer = _in_child("watchdog", kind, count)
        where = "%s files in %s" % (label, shape)
        news = "10 new" if kind == "flat" else "10 new in 2 folders"
        rows += [
            _row("poll, %s, %s" % (news, where), found["poll"] * 1000, "ms", found["bare"] * 1000),
            _row("watchdog snapshot diff, same poll, %s" % where, peer["poll"] * 1000, "ms",
                 found["poll"] * 1000),
            _row("memory growth per file (peak), %s" % where, found["peak_bytes_per_file"],
                 "bytes"),
            _row("memory kept per file between polls, %s" % where,
                 found["steady_bytes_per_file"], "bytes"),
            _row("first poll after add_trigger (baseline) vs bare scandir, %s" % where,
                 found["baseline"] * 1000, "ms", found["baseline_bare"] * 1000),
            _row("first poll after restart vs bare scandir-and-stat, %s" % where,
                 found["cold"] * 1000, "ms", found["cold_bare"] * 1000),
            _row("files replayed after restart, %s" % where, found["replayed"], "files", None, 0),
        ]
        if kind == "tree":
            rows.append(_row("folders listed per poll, %s" % where, found["listed"], "folders",
                             count // 100, 0))
    bursts = [_in_child("burst") for _ in range(RESTARTS)]
    burst = {key: statistics.median(run[key] for run in bursts) for key in bursts[0]}
    rows += [
        _row("burst of %d files, one poll" % BURST, burst["poll"] * 1000, "ms",
             burst["bare"] * 1000),
        _row("burst: dispatch loop per 100 files (bare loop, same mock dispatch)",
             burst["loop"] * 1000 * 100 / BURST, "ms", burst["bare_dispatch"] * 1000 * 100 / BURST,
             2),
        _row("burst: dispatch loop cost per 100 files over the bare loop",
             (burst["loop"] - burst["bare_dispatch"]) * 1000 * 100 / BURST, "ms", None, 2),
        _row("burst: whole poll cost per 100 files over bare scan-and-stat + dispatch",
             (burst["poll"] - burst["bare"]) * 1000 * 100 / BURST, "ms", None, 2),
        _row("datastore calls per poll (burst of %d)" % BURST, burst["calls"], "calls", None, 0),
        _row("state size per trigger after the burst", burst["state"], "bytes", None, 0),
    ]
    return rows


def main():
    """``--child scenario|watchdog KIND COUNT`` or ``--child burst``: print one JSON result."""
    if sys.argv[1:2] == ["--child"]:
        what = sys.argv[2]
        if what == "burst":
            result = _burst()
        else:
            function = _scenario if what == "scenario" else _watchdog
            result = function(sys.argv[3], int(sys.argv[4]))
        print(json.dumps(result))
        return
    for row in run(quick="--quick" in sys.argv):
        print("%-62s %10s %-7s baseline %-10s ratio %s" % (
            row["figure"], row["value"], row["unit"], row["baseline"], row["ratio"]))


if __name__ == "__main__":
    main()
