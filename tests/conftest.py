"""Test set-up shared by every test module.

Inside StackStorm (``st2-run-pack-tests``) the real ``st2common``/``st2reactor``/``st2tests`` are
importable and used. Elsewhere the stand-ins in ``devkit/stand_ins`` take their place. The pack's
own folders are put on ``sys.path`` the way st2-run-pack-tests does (sensors/, actions/,
actions/lib), and ``devkit/`` for the emulator, the runner and the metadata helpers.
"""

import os
import sys

import pytest

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVKIT_DIR = os.path.join(PACK_DIR, "devkit")
STAND_INS_DIR = os.path.join(DEVKIT_DIR, "stand_ins")

# `workspaces-local run` and `demo` run on StackStorm's own services where .venv-st2 has them; the
# tests of the emulated runner ask for it (tests/stackstorm_support.py starts the real engine).
os.environ["WORKSPACES_LOCAL_ENGINE"] = "emulated"

for _path in (os.path.join(PACK_DIR, "actions", "lib"), os.path.join(PACK_DIR, "actions"),
              os.path.join(PACK_DIR, "sensors"), DEVKIT_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

try:  # the real StackStorm test harness
    import st2tests.base  # noqa: F401
    USING_STAND_INS = False
except ModuleNotFoundError as error:
    if (error.name or "").split(".")[0] not in ("st2tests", "st2common", "st2reactor"):
        raise  # StackStorm is there but broken (e.g. a dependency of its own): say so, loudly
    sys.path.insert(0, STAND_INS_DIR)
    USING_STAND_INS = True


def _eventlet_patched():
    """True when this process is monkey-patched by eventlet (st2tests does it on import)."""
    try:
        from eventlet import patcher
    except ImportError:
        return False
    return patcher.is_monkey_patched("thread") or patcher.is_monkey_patched("socket")


def _cooperate_with_eventlet():
    """Let the development tools the tests start in-process run under eventlet's green threads.

    st2tests.base patches os, select, socket, thread and time (st2common/util/monkey_patch.py),
    so the devkit's threads are green threads in one OS thread: a call that blocks without
    yielding stops them all, and a test waiting on an action's subprocess while that action calls
    the in-process Workspaces emulator or st2 API would wait for ever. ``subprocess`` is not
    patched (its ``communicate`` polls with the original ``select.poll``); eventlet's green
    ``subprocess`` yields while it waits. (The runner's folder watcher polls under eventlet by
    itself, ``runner/watch.py``.) Nothing of this touches the pack's own code or StackStorm's.
    """
    import eventlet

    eventlet.monkey_patch(subprocess=True)


EVENTLET_PATCHED = _eventlet_patched()
if EVENTLET_PATCHED:
    _cooperate_with_eventlet()


@pytest.fixture(autouse=True)
def _close_archive_connections():
    """After each test, close the pack's pooled archive connections (each test has fresh
    databases; left open, they reach PostgreSQL's connection limit in a long run)."""
    yield
    from workspaces_pack.archive.engines import dispose_engines
    dispose_engines()


def pytest_configure(config):
    """Register the markers used by the suites."""
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (started by the tests)")
    config.addinivalue_line("markers", "fault: fault-injection suite (kills, outages, bursts)")
    config.addinivalue_line("markers", "slow: slower tests that CI still runs")
    config.addinivalue_line("markers", "standins: tests of the StackStorm stand-ins themselves")
