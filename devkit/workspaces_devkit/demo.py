"""The README's first command: the whole pack, end to end, on one machine, then a summary.

``run_demo`` starts the Workspaces emulator, makes SQLite archive databases with a sample day of
ALMA data, copies the pack into a temporary folder (the file rule enabled and pointed at a demo
staging folder, a second file rule on a directory that appears late) and runs it on either engine;
sample VLBA and staged files are dropped once the sensors have taken their baseline. Once every
expected request is complete, the ALMA database goes away (its folder renamed, the pooled
connections dropped) and comes back, and the late directory is created, so each fault's
``workspaces.sensor_problem`` goes once into and once out of its problem; the status table is
printed while both stand and at the end. docs/LOCAL_RUNNER.md tells the whole story.
"""

import datetime
import os
import shutil
import sys
import tempfile
import time
from collections import Counter

import sqlalchemy as sa
import yaml

from workspaces_devkit import archive_fixtures
from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.st2meta import load_yaml
from workspaces_pack.core.uids import canonical_uid

__all__ = ["run_demo", "prepare_demo", "expected_outcome"]

PACK_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv*", ".local", "__pycache__", "*.pyc",
                                     ".pytest_cache")
VLBA_SAMPLE = {"TL015A": 3, "BD179I0": 2}
PROBLEM_TRIGGER = "workspaces.sensor_problem"
LATE_FOLDER_RULE = "file_detected_late_folder"
ALMA_TRIGGER_TYPES = ("workspaces.alma_asdm", "workspaces.alma_calibration")
"""The trigger types whose sensors read the ALMA database: one ``database_unreachable`` problem
and one recovery each in the outage."""


def prepare_demo(workdir, emulator_url):
    """Create the demo's pack copy, databases, folders and config; return (pack_dir, config)."""
    pack_dir = os.path.join(workdir, "pack")
    shutil.copytree(PACK_DIR, pack_dir, ignore=COPY_IGNORE)
    staging = os.path.join(workdir, "incoming")
    vlba = os.path.join(workdir, "vlba")
    os.makedirs(staging)
    os.makedirs(vlba)
    rule = load_yaml(os.path.join(pack_dir, "rules", "file_detected_create_and_run.yaml"))
    rule["enabled"] = True  # shipped disabled (site placeholders); the demo's copy enables it
    for name, directory, description in (  # the second: the demo's broken watch
            (rule["name"], staging, rule["description"]),
            (LATE_FOLDER_RULE, os.path.join(workdir, "late"),
             "The demo's broken watch: its directory appears late in the run.")):
        trigger = dict(rule["trigger"], parameters=dict(
            rule["trigger"]["parameters"], directory=directory, settle_seconds=1))
        with open(os.path.join(pack_dir, "rules", name + ".yaml"), "w") as handle:
            handle.write("---\n" + yaml.safe_dump(dict(
                rule, name=name, description=description, trigger=trigger), sort_keys=False))
    os.makedirs(os.path.join(workdir, "alma"))  # its own folder: the outage renames it away
    alma_url = "sqlite:///" + os.path.join(workdir, "alma", "alma.sqlite")
    metadata_url = "sqlite:///" + os.path.join(workdir, "metadata.sqlite")
    sample = archive_fixtures.load_sample(sa.create_engine(alma_url),
                                          sa.create_engine(metadata_url))
    sample["reconciled"] = [_add_late_pass(sa.create_engine(alma_url))]
    config = {"capability_service_url": emulator_url, "workflow_service_url": emulator_url,
              "retry_backoff_seconds": 0.1, "alma_archive_db_url": alma_url,
              "archive_metadata_db_url": metadata_url, "vlba_data_directory": vlba,
              "vlba_settle_seconds": 1, "problem_after_failures": 2}
    return pack_dir, config, sample, staging, vlba


def expected_outcome(sample):
    """What the demo must produce: capability and workflow requests, and EBs marked."""
    asdms = [eb for eb in sample["execution_blocks"]
             if eb["qa0_status"] in ("Pass", "SemiPass") and eb["hours_ago"] < 12]
    asdms += sample.get("reconciled", [])  # found by the ASDM sensor's reconciliation
    manual = [d for d in sample["deliveries"] if d["manual_calibration"]]
    marked = sorted(uid for delivery in manual for uid in delivery["eb_uids"])
    calibrateable = len(sample["deliveries"]) - len(manual)
    return {"capability": {"ingest_obs": len(asdms), "ingest_cal": calibrateable, "null": 1},
            "workflow": {"ingest_obs": len(VLBA_SAMPLE)}, "marked": marked,
            "reconciled": list(sample.get("reconciled", [])),
            "problems": {"directory_missing": 1, "database_unreachable": len(ALMA_TRIGGER_TYPES)}}


def _add_late_pass(alma_engine):
    """An EB that ended 5 days ago and was set to Pass only today: outside the hourly look-back,
    missing from execution_blocks, so only the reconciliation finds it. Returns its uid."""
    uid = archive_fixtures.eb_uid(40)
    end = archive_fixtures.utc_now() - datetime.timedelta(days=5)
    archive_fixtures.add_execution_block(alma_engine, uid, "2019.1.01184.S",
                                         archive_fixtures.mous_uid(40), end, "Pass")
    alma_engine.dispose()
    return uid


def _reconciled(runner):
    """EB uids the ASDM sensor dispatched with ``source: reconcile``."""
    asdm = [item["payload"] for item in runner.dispatches
            if item["type"] == "workspaces.alma_asdm"]
    return [payload["eb_uid"] for payload in asdm if payload.get("source") == "reconcile"]


def _wait_until(condition, deadline, step=0.1):
    """Check ``condition()`` every ``step`` seconds until it holds (True) or ``deadline``."""
    while True:
        if condition():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(step)


def _observed(emulator, config):
    """What the demo counts: the Workspaces requests made and the EBs marked."""
    return dict(_counts(emulator), marked=_marked(config["archive_metadata_db_url"],
                                                  "Do Not Calibrate"))


def _all_done(runner, emulator, config, expected):
    """Every expected request made and complete, every EB marked, no action still running."""
    observed = _observed(emulator, config)
    return (all(observed[key] == expected[key] for key in observed) and
            not runner.pending_actions() and
            all(r["state"] == "Complete" for r in emulator.requests()))


def _problem_transitions(runner):
    """``(kind, trigger ref, state)`` of every ``workspaces.sensor_problem`` dispatch."""
    return [(item["payload"]["kind"], item["payload"]["trigger_ref"], item["payload"]["state"])
            for item in list(runner.dispatches) if item["type"] == PROBLEM_TRIGGER]


def _problems_as_expected(runner, expected):
    """True when ``expected`` (``{kind: triggers}``) is exactly what was dispatched: that many
    triggers per kind, each once into and once out of its problem, no other kind."""
    per_trigger = {}
    for kind, ref, state in _problem_transitions(runner):
        per_trigger.setdefault((kind, ref), []).append(state)
    if any(sorted(states) != ["problem", "recovered"] for states in per_trigger.values()):
        return False
    return Counter(kind for kind, _ref in per_trigger) == expected


def _standing(runner):
    """``{kind: count}`` of the problems in the status report (the health records)."""
    return Counter(problem["kind"] for problem in runner.status_report().problems())


def _print_status(out, runner, title):
    """Print ``workspaces-local status``'s table of the demo's datastore under ``title``."""
    report = runner.status_report()
    out.write("demo: %s (workspaces-local status):\n%s\n" % (title, "\n".join(
        "  " + line for line in report.lines())))


def _show_faults(out, runner, workdir, expected, deadline):
    """The ALMA database outage and the late folder: both problems, then both recoveries, the
    status table at each point. Returns True when both were seen in the health records."""
    alma = os.path.join(workdir, "alma")
    away = alma + ".away"
    out.write("demo: the ALMA database goes away (its folder renamed, connections dropped); "
              "the file rule %s watches a missing directory\n" % LATE_FOLDER_RULE)
    os.rename(alma, away)
    engines = sys.modules.get("workspaces_pack.archive.engines")  # the sensors' (in this process)
    if engines is not None:  # pooled connections close, as a database server's restart closes them
        engines.dispose_engines()
    try:
        both = _wait_until(lambda: _standing(runner) == expected["problems"], deadline)
        _print_status(out, runner, "both problems standing" if both else
                      "the problems did NOT both stand in time")
    finally:
        os.rename(away, alma)
    out.write("demo: the ALMA database is back; the missing directory is created\n")
    os.makedirs(os.path.join(workdir, "late"))
    recovered = _wait_until(lambda: not _standing(runner), deadline)
    _print_status(out, runner, "at the end" if recovered else
                  "problems still standing at the deadline")
    return both and recovered


def _drop_samples(staging, vlba):
    for project, count in VLBA_SAMPLE.items():
        folder = os.path.join(vlba, project)
        os.makedirs(folder)
        for number in range(1, count + 1):
            name = "VLBA_%s_%srecor_BIN0_SRC0_%d_201020T164655.idifits" % (
                project, project.lower(), number)
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(b"\0" * 2880 * (number + 1))
    with open(os.path.join(staging, "uid___A002_Xc7111c_X3979.tar"), "wb") as handle:
        handle.write(b"\0" * 10240)


def _counts(emulator):
    return {kind: Counter(request.get("capability_name") or request.get("workflow_name")
                          for request in emulator.requests(kind))
            for kind in ("capability", "workflow")}


def _marked(metadata_url, status):
    engine = sa.create_engine(metadata_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT ngas_fileset_id FROM execution_blocks WHERE calibration_status = :s "
                "AND telescope = 'ALMA'"), {"s": status})
            return sorted(canonical_uid(row[0]) for row in rows)
    finally:
        engine.dispose()


def _start(engine, pack_dir, config, state_dir, out):
    """Start the pack on ``engine`` ("stackstorm": StackStorm's own services in this process,
    "emulated": the local runner); return what the demo watches (dispatches, executions ...)."""
    if engine == "stackstorm":
        from workspaces_devkit.st2_in_process.activity import Activity
        from workspaces_devkit.st2_in_process.engine import StackStormInProcess

        # StackStorm's polling sensors take their interval from the pack config (4 s at least)
        fast = dict((key, 4) for key in ("alma_asdm_poll_interval_seconds",
                                         "alma_calibration_poll_interval_seconds",
                                         "vlba_poll_interval_seconds"))
        stackstorm = StackStormInProcess(pack_dir, state_dir, port=0, config=dict(config, **fast),
                                         poll_interval=1, out=out)
        stackstorm.start()
        run = Activity(stackstorm)
        stackstorm.spawn(lambda: run.follow(out))
        run.stop = stackstorm.stop
        return run
    from workspaces_devkit.runner.local import LocalRunner

    runner = LocalRunner(pack_dir, config_overrides=config, state_dir=state_dir, out=out,
                         poll_interval=1)
    runner.start()
    return runner


def _engine_name(engine):
    if engine == "emulated":
        return "the emulated runner (devkit/workspaces_devkit/runner)"
    import st2common

    return "StackStorm %s's own services in one process" % st2common.__version__


def run_demo(duration=60.0, keep=False, out=None, workdir=None, engine="emulated"):
    """Run the demo on ``engine`` (see ``_start``); print progress and a summary to ``out``;
    return the exit code (0 when all went as expected, 1 when something did not in time)."""
    out = out or sys.stdout
    own_workdir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="workspaces-demo-")
    emulator = WorkspacesEmulator(submitted_seconds=0.3, executing_seconds=1.0)
    url = emulator.start()
    started = time.time()
    try:
        pack_dir, config, sample, staging, vlba = prepare_demo(workdir, url)
        expected = expected_outcome(sample)
        out.write("demo: Workspaces emulator at %s; sample archive databases and folders in %s\n"
                  "demo: engine: %s\n" % (url, workdir, _engine_name(engine)))
        runner = _start(engine, pack_dir, config, os.path.join(workdir, "state"), out)
        time.sleep(1.5)  # the sensors take their baseline of the (empty) folders first
        out.write("demo: dropping sample VLBA correlator files and a staged file\n")
        _drop_samples(staging, vlba)
        deadline = started + duration
        done = _wait_until(lambda: _all_done(runner, emulator, config, expected), deadline,
                           step=0.5)
        faults_shown = done and _show_faults(out, runner, workdir, expected, deadline)
        runner.stop()
        observed = _observed(emulator, config)
        ok = all([all(observed[key] == expected[key] for key in observed),
                  _reconciled(runner) == expected["reconciled"], faults_shown,
                  _problems_as_expected(runner, expected["problems"])])
        _summary(out, runner, emulator, observed, expected, ok, time.time() - started,
                 _engine_name(engine))
        return 0 if ok else 1
    finally:
        emulator.stop()
        if own_workdir and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif keep:
            out.write("demo: files kept in %s\n" % workdir)


def _summary(out, runner, emulator, observed, expected, ok, seconds, engine):
    """Print the demo's summary, the verdict last."""
    by_type = Counter(item["type"] for item in runner.dispatches)
    statuses = Counter(execution.status for execution in runner.executions)
    states = Counter(request["state"] for request in emulator.requests())
    lines = ["", "demo summary (%.1f s, %s)" % (seconds, datetime.datetime.now().strftime("%H:%M")),
             "  engine:              " + engine,
             "  triggers dispatched: " + (", ".join("%s x%d" % item for item in
                                                    sorted(by_type.items())) or "none"),
             "  actions run:         " + (", ".join("%s %d" % item for item in
                                                    sorted(statuses.items())) or "none"),
             "  Workspaces capability requests: %s (expected %s)" % (
                 _fmt(observed["capability"]), _fmt(expected["capability"])),
             "  Workspaces workflow requests:   %s (expected %s)" % (
                 _fmt(observed["workflow"]), _fmt(expected["workflow"])),
             "  request states in the emulator: %s" % _fmt(states),
             "  ASDMs marked not calibrateable: %s" % (", ".join(observed["marked"]) or "none"),
             "  EBs reconciled (late Pass):     %s (expected %s)" % (
                 ", ".join(_reconciled(runner)) or "none",
                 ", ".join(expected["reconciled"]) or "none"),
             "  sensor problems (%s): %s (expected %s, each trigger once into and once "
             "out of its problem)" % (
                 PROBLEM_TRIGGER, _fmt_problems((kind, state) for kind, _ref, state in
                                                _problem_transitions(runner)),
                 _fmt_problems((kind, state) for kind, n in expected["problems"].items()
                               for state in ("problem", "recovered") for _ in range(n))),
             "  payloads dropped as invalid:    %d" % len(runner.dropped),
             "  result: %s" % ("everything expected happened" if ok else
                               "SOMETHING EXPECTED DID NOT HAPPEN (see the lines above)")]
    out.write("\n".join(lines) + "\n")


def _fmt_problems(transitions):
    """``kind problem xN recovered xM, ...`` of ``(kind, state)`` pairs."""
    counts = Counter(transitions)
    return ", ".join("%s problem x%d recovered x%d" % (
        kind, counts[kind, "problem"], counts[kind, "recovered"])
        for kind in sorted(set(kind for kind, _state in counts))) or "none"


def _fmt(mapping):
    return ", ".join("%s=%s" % item for item in sorted(mapping.items())) or "none"
