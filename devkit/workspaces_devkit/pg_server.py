"""A throwaway PostgreSQL server for tests and benchmarks (Debian's server binaries, loopback).

``PostgresServer().start()`` runs ``initdb`` into a temporary folder (as the ``postgres`` user when
root) and ``pg_ctl start`` on a free port with trust authentication; ``stop()``/``start()`` again
are an outage and a restart; ``destroy()`` removes it all. ``shared_server()``: one per process.
"""

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile

__all__ = ["PostgresServer", "PostgresUnavailable", "shared_server", "find_bin_dir"]


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing or the server would not start."""


def find_bin_dir():
    """Return the folder holding ``initdb`` and ``pg_ctl`` (newest version), or None."""
    versions = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    found = max(versions, key=lambda path: [int(n) for n in re.findall(r"[0-9]+", path)],
                default=None) or shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer(object):
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1:``port``."""

    def __init__(self, database="archive"):
        self.bin_dir = find_bin_dir()
        if self.bin_dir is None:
            raise PostgresUnavailable("PostgreSQL server binaries not found; run devkit/bin/setup"
                                      " (installs Debian's postgresql package)")
        self.database = database
        self.port = _free_port()
        self.root = tempfile.mkdtemp(prefix="workspaces-pg-")
        self.data_dir = os.path.join(self.root, "data")
        self.log_file = os.path.join(self.root, "server.log")
        self._user = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root but there is no 'postgres' user")
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self._initialised = False
        self.running = False

    @property
    def url(self):
        """SQLAlchemy URL of the test database (psycopg 3 driver)."""
        return "postgresql+psycopg://postgres@127.0.0.1:%d/%s" % (self.port, self.database)

    def _run(self, *args):
        command = [os.path.join(self.bin_dir, args[0])] + list(args[1:])
        kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT,
                  "universal_newlines": True, "cwd": self.root}
        if self._user is not None:
            user = self._user
            kwargs["preexec_fn"] = lambda: (os.setgid(user.pw_gid), os.setuid(user.pw_uid))
            kwargs["env"] = dict(os.environ, HOME=self.root, USER="postgres")
        result = subprocess.run(command, **kwargs)
        if result.returncode != 0:
            raise PostgresUnavailable("%s failed: %s" % (args[0], result.stdout[-2000:]))
        return result.stdout

    def start(self):
        """Create the cluster on first use and start the server; return self."""
        first = not self._initialised
        if first:
            self._run("initdb", "-D", self.data_dir, "-U", "postgres", "-A", "trust",
                      "--no-sync", "-E", "UTF8")
            self._initialised = True
        for attempt in range(3):
            options = "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off " \
                      "-c synchronous_commit=off -c full_page_writes=off" % (self.port, self.root)
            try:
                self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60",
                          "-o", options, "start")
                break
            except PostgresUnavailable:
                # Another process (a parallel test worker) took the free port first: a new one.
                if attempt == 2 or not first or not self._port_was_taken():
                    raise
                self.port = _free_port()
        self.running = True
        if first:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                      self.database)
        return self

    def _port_was_taken(self):
        try:
            with open(self.log_file, errors="replace") as log:
                return "could not bind" in log.read()
        except OSError:
            return False

    def stop(self):
        """Stop the server (fast shutdown: open connections are cut, as in an outage)."""
        if self.running:
            self._run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop")
            self.running = False

    def destroy(self):
        """Stop the server and delete its files."""
        try:
            self.stop()
        except PostgresUnavailable:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


_SHARED = {}


def shared_server():
    """Return this process's PostgreSQL server, started on first call and removed at exit."""
    if "server" not in _SHARED:
        server = PostgresServer()
        atexit.register(server.destroy)
        _SHARED["server"] = server.start()
    server = _SHARED["server"]
    if not server.running:
        server.start()
    return server
