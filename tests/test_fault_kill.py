"""Fault suite: the file monitor's process killed with SIGKILL in the middle of a poll.

The sensor runs in the local runner (`workspaces-local sensor`), in its own process, with its
datastore in a file; it is killed while it dispatches a burst, then started again on the same
datastore. Guarantee G1 (nothing lost) and Guarantee G2 (only the interrupted poll repeats).
"""

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from runner_test_support import pack_copy_watching

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(PACK_DIR, "devkit", "bin", "workspaces-local")
TRIGGER_LINE = re.compile(r"trigger\s+workspaces\.file_detected path=(\S+)")
POLL_DONE = re.compile(r"FileMonitorSensor: poll (\d+) done")


class SensorProcess(object):
    """``workspaces-local sensor FileMonitorSensor`` in a subprocess, its lines collected."""

    def __init__(self, pack, state_dir):
        self.lines = []
        self.process = subprocess.Popen(  # -v: the runner logs each finished poll
            [sys.executable, LOCAL, "-v", "sensor", "FileMonitorSensor", "--pack-dir", pack,
             "--state-dir", state_dir, "--poll-interval", "0.2", "--no-reload"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def reported(self):
        """File paths this process dispatched, in order."""
        return [m.group(1) for m in (TRIGGER_LINE.search(line) for line in list(self.lines)) if m]

    def polls(self):
        """How many polls this process has finished."""
        done = [int(m.group(1)) for m in (POLL_DONE.search(line) for line in list(self.lines))
                if m]
        return max(done) if done else 0

    def wait_for(self, condition, timeout):
        """Wait until ``condition()`` holds; fail with the process output otherwise."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError("condition not met; sensor output:\n" + "\n".join(self.lines[-30:]))

    def kill(self):
        """SIGKILL: no cleanup, no state flush."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._reader.join(5)

    def stop(self):
        """Ask the runner to stop (Ctrl-C) and wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.mark.fault
@pytest.mark.slow
def test_sigkill_mid_poll_then_restart_loses_nothing(tmp_path):
    pack, incoming = pack_copy_watching(tmp_path, pattern="*.dat")
    state_dir = str(tmp_path / "state")
    first = SensorProcess(pack, state_dir)
    try:
        # The first poll takes the (empty) folder as the baseline; files made before it ends
        # would be the baseline, never reported.
        first.wait_for(lambda: first.polls() >= 1, timeout=60)
        created = []
        for index in range(3000):
            path = incoming / ("burst%05d.dat" % index)
            path.write_bytes(b"x")
            created.append(str(path))
        first.wait_for(lambda: len(first.reported()) >= 50, timeout=60)
        first.kill()
    finally:
        first.stop()
    before_kill = first.reported()
    assert 0 < len(before_kill) < len(created), "the kill did not land in the middle of the poll"
    second = SensorProcess(pack, state_dir)
    try:
        second.wait_for(lambda: set(second.reported()) >= set(created) - set(before_kill),
                        timeout=180)
        settled = second.polls()
        second.wait_for(lambda: second.polls() >= settled + 2, timeout=60)  # nothing more comes
    finally:
        second.stop()
    after = second.reported()
    assert set(before_kill) | set(after) == set(created), "a file was lost"
    counts = collections.Counter(before_kill + after)
    repeated = [path for path, count in counts.items() if count > 1]
    assert all(counts[path] == 2 for path in repeated)
    assert set(repeated) <= set(before_kill), "a file outside the interrupted poll was repeated"
