"""StackStorm's own services for the tests: ``workspaces-local api`` in a process of its own.

``StackStormApi(workdir, ...)`` runs ``python -m workspaces_devkit.st2_in_process api`` on a free
loopback port with an htpasswd file of one user (``USER``/``PASSWORD``), its state, rules and
pack config in ``workdir``, and reads the URLs it prints. These tests belong to the real tier
(``devkit/bin/test-st2``, where StackStorm's modules are installed); ``needs_stackstorm()``
skips them elsewhere with the reason.
"""

import os
import queue
import subprocess
import sys
import threading

import pytest
import yaml

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVKIT = os.path.join(PACK_DIR, "devkit")
USER = "operator"
PASSWORD = "correct horse battery staple"
START_TIMEOUT = 180


def needs_stackstorm():
    """Skip the calling test unless StackStorm's services can run in this interpreter."""
    from workspaces_devkit.st2_in_process import missing

    why = missing()
    if why is not None:
        pytest.skip("real tier (devkit/bin/test-st2): %s" % why)


class StackStormApi(object):
    """``workspaces-local api`` over StackStorm's services; ``lines`` has what it prints."""

    def __init__(self, workdir, config=None, extra_args=(), rules=None):
        from workspaces_devkit.st2_in_process.htpasswd import add_user

        needs_stackstorm()
        workdir = str(workdir)
        self.htpasswd = os.path.join(workdir, "htpasswd")
        add_user(self.htpasswd, USER, PASSWORD, rounds=4)
        self.rules_dir = os.path.join(workdir, "rules")
        os.makedirs(self.rules_dir, exist_ok=True)
        for name, rule in (rules or {}).items():
            with open(os.path.join(self.rules_dir, name), "w") as handle:
                yaml.safe_dump(rule, handle)
        args = ["api", "--htpasswd", self.htpasswd, "--port", "0", "--state-dir",
                os.path.join(workdir, "state"), "--rules-dir", self.rules_dir]
        if config is not None:
            path = os.path.join(workdir, "workspaces.yaml")
            with open(path, "w") as handle:
                yaml.safe_dump(config, handle)
            args += ["--config", path]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [DEVKIT, os.path.join(PACK_DIR, "actions", "lib")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workspaces_devkit.st2_in_process"] + args + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
            cwd=workdir)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.api_url = self.auth_url = self.stream_url = None
        seen = []
        while self.api_url is None:
            try:
                line = self.lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                self.stop()
                raise AssertionError("workspaces-local api did not start:\n" + "".join(seen))
            seen.append(line)
            if line is None:
                raise AssertionError("workspaces-local api exited:\n" + "".join(seen))
            if line.strip().startswith("export ST2_API_URL="):
                urls = dict(word.split("=", 1) for word in line.split()[1:])
                self.api_url, self.auth_url, self.stream_url = (
                    urls["ST2_API_URL"], urls["ST2_AUTH_URL"], urls["ST2_STREAM_URL"])
        self.started_lines = seen

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_line(self, starts, timeout=60):
        """The next printed line that starts with ``starts`` (AssertionError after timeout)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("no line starting %r in %s s" % (starts, timeout))
            if line is None:
                raise AssertionError("the API exited before printing %r" % starts)
            if line.startswith(starts):
                return line.rstrip("\n")

    def token(self):
        """A fresh token of ``USER``."""
        import requests

        answer = requests.post(self.auth_url + "/tokens", auth=(USER, PASSWORD), json={},
                               timeout=60)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    def stop(self):
        """Stop the process (SIGTERM, then SIGKILL after 30 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
