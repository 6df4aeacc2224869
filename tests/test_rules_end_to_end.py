"""Every shipped rule, end to end: trigger payload -> rendered parameters -> what Workspaces gets.

The payloads are realistic and valid against their trigger type's payload_schema (StackStorm drops
invalid ones). Parameters are rendered with StackStorm's semantics (``runner.render``), the action
runs as StackStorm's python runner runs it (``ActionExecutor``: final parameters, a subprocess,
parameters as JSON), and the Workspaces emulator records the request body it received: its values
must keep their JSON types (numbers stay numbers, a missing MOUS is null, never "None").
"""

import os

import pytest
import sqlalchemy as sa

from conftest import NEEDS_NATIVE_THREADS
from workspaces_devkit import archive_fixtures
from workspaces_devkit.content import load_pack
from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.runner.executor import ActionExecutor
from workspaces_devkit.runner.local import load_config
from workspaces_devkit.runner.rules import RuleEngine
from workspaces_devkit.st2meta import payload_errors

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EB = "uid://A002/Xc7111c/X3979"
MOUS = "uid://A001/X1284/X265f"
SHIPPED_RULES = {"workspaces.alma_asdm_reingest", "workspaces.alma_calibration_ingest",
                 "workspaces.alma_mark_not_calibrateable",
                 "workspaces.file_detected_create_and_run", "workspaces.vlba_data_ingest",
                 "workspaces.sensor_problem_notify"}


def _declared(payload, trigger_name):
    """``payload`` without the fields the trigger's payload_schema does not declare (the schemas
    grow with the sensors' work; a test payload carries the fields of every version)."""
    spec = load_pack(PACK_DIR).trigger_types()["workspaces." + trigger_name]
    return {key: value for key, value in payload.items()
            if key in spec["payload_schema"]["properties"]}


def _calibration_payload(calibrateable, eb_uids):
    """A workspaces.alma_calibration payload (only the fields its payload_schema declares)."""
    payload = {"mous_uid": MOUS, "project_code": "2017.1.00886.L",
               "calibrateable": calibrateable, "eb_uids": eb_uids, "eb_count": len(eb_uids),
               "delivery_id": "2017.1.00886.L_2026_002",
               "delivery_name": "2017.1.00886.L_uid___A001_X1284_X265f",
               "delivered_at": "2026-11-25T09:00:00Z"}
    return _declared(payload, "alma_calibration")


@pytest.fixture(scope="module")
def emulator():
    """The Workspaces emulator, an in-process server (skipped in an eventlet-patched process)."""
    if NEEDS_NATIVE_THREADS["condition"]:
        pytest.skip(NEEDS_NATIVE_THREADS["reason"])
    server = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.1)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def run_rule(emulator, tmp_path):
    """Return ``run(rule_ref, payload, **config) -> (parameters, execution)``; the rule enabled."""
    emulator.reset()
    pack = load_pack(PACK_DIR)
    pack.rules = [rule._replace(enabled=True) for rule in pack.rules]

    def run(rule_ref, payload, **config):
        [rule] = [r for r in pack.rules if r.ref == rule_ref]
        trigger_type = rule.raw["trigger"]["type"]
        assert payload_errors(trigger_type, pack.trigger_types()[trigger_type], payload) == []
        overrides = {"capability_service_url": emulator.url, "workflow_service_url": emulator.url,
                     "retry_backoff_seconds": 0.01}
        overrides.update(config)
        resolved = load_config(pack, overrides=overrides)
        engine = RuleEngine(pack, config=resolved)
        matches = {m.rule_ref: m for m in engine.match(
            trigger_type, payload, rule.raw["trigger"].get("parameters"))}
        match = matches[rule_ref]
        assert match.matched and match.error is None, match
        executor = ActionExecutor(pack, resolved, str(tmp_path / "datastore.json"))
        execution = executor.execute(match.action_ref, match.parameters,
                                     action_context=engine.action_context(rule_ref))
        assert execution.status == "succeeded", execution.result
        return match.parameters, execution

    return run


def test_every_shipped_rule_is_covered_here():
    assert {rule.ref for rule in load_pack(PACK_DIR).rules} == SHIPPED_RULES


def _asdm_payloads(mous_uid):
    """The alma_asdm payloads for an EB whose MOUS is ``mous_uid`` (None: the archive has none)
    that the trigger type's payload_schema accepts: the MOUS absent, null or empty, with or
    without ``mous_found``, from the hourly poll or from the reconciliation."""
    base = {"eb_uid": EB, "project_code": "2017.1.00886.L", "qa0_status": "Pass",
            "end_time": "2026-11-25T10:00:00Z"}
    if mous_uid is None:
        mous_shapes = [{}, {"mous_uid": None}, {"mous_uid": ""},
                       {"mous_uid": "", "mous_found": False},
                       {"mous_uid": None, "mous_found": False}]
    else:
        mous_shapes = [{"mous_uid": mous_uid}, {"mous_uid": mous_uid, "mous_found": True}]
    shapes = [dict(shape, source=source) for shape in mous_shapes
              for source in ("new", "reconcile")]
    spec = load_pack(PACK_DIR).trigger_types()["workspaces.alma_asdm"]
    payloads = [dict(base, **shape) for shape in shapes]
    return [p for p in payloads if not payload_errors("workspaces.alma_asdm", spec, p)]


@pytest.mark.parametrize("mous_uid", [None, MOUS])
def test_alma_asdm_reingest_sends_typed_parameters(run_rule, emulator, mous_uid):
    payloads = _asdm_payloads(mous_uid)
    assert payloads, "no payload shape for this MOUS is valid against the payload_schema"
    expected = {"telescope": "ALMA", "product_locator": EB, "project_code": "2017.1.00886.L",
                "mous_uid": mous_uid}
    for payload in payloads:
        emulator.reset()
        parameters, _ = run_rule("workspaces.alma_asdm_reingest", payload)
        assert parameters["parameters"] == expected, payload
        [request] = emulator.requests("capability")
        assert request["capability_name"] == "ingest_obs"
        assert request["parameters"] == expected, payload
        assert request["parameters"]["mous_uid"] not in ("None", "")


def test_alma_calibration_ingest_sends_the_mous(run_rule, emulator):
    run_rule("workspaces.alma_calibration_ingest", _calibration_payload(True, [EB]))
    [request] = emulator.requests("capability")
    assert request["capability_name"] == "ingest_cal"
    assert request["parameters"] == {"telescope": "ALMA", "mous_uid": MOUS,
                                     "project_code": "2017.1.00886.L"}


def test_file_rule_sends_the_size_as_a_number(run_rule, emulator):
    payload = {"path": "/data/workspaces/incoming/uid___A002_Xc7111c_X3979.tar",
               "directory": "/data/workspaces/incoming", "name": "uid___A002_Xc7111c_X3979.tar",
               "size": 1000, "mtime": 1764064800.25, "pattern": "*.tar"}
    parameters, _ = run_rule("workspaces.file_detected_create_and_run", payload)
    assert parameters["parameters"] == {"path": payload["path"], "size": 1000}
    [request] = emulator.requests("capability")
    assert request["capability_name"] == "null"
    assert request["parameters"] == {"path": payload["path"], "size": 1000}
    assert type(request["parameters"]["size"]) is int


def test_file_rule_survives_quotes_in_a_file_name(run_rule, emulator):
    path = '/data/workspaces/incoming/odd "name" \\ x.tar'
    payload = {"path": path, "directory": "/data/workspaces/incoming", "name": 'odd "name" x.tar',
               "size": 5, "mtime": 1.0, "pattern": "*.tar"}
    run_rule("workspaces.file_detected_create_and_run", payload)
    [request] = emulator.requests("capability")
    assert request["parameters"] == {"path": path, "size": 5}


def test_vlba_rule_sends_project_directory_and_files(run_rule, emulator):
    files = ["VLBA_TL015A_tl015arecor_BIN0_SRC0_1_201020T164655.idifits",
             "VLBA_TL015A_tl015arecor_BIN0_SRC0_2_201020T164655.idifits"]
    payload = {"project_code": "TL015A", "directory": "/data/vlba/correlator/TL015A",
               "directories": ["/data/vlba/correlator/TL015A"], "files": files, "file_count": 2,
               "total_bytes": 8640}
    parameters, _ = run_rule("workspaces.vlba_data_ingest", _declared(payload, "vlba_data"))
    [request] = emulator.requests("workflow")
    assert request["workflow_name"] == "ingest_obs"
    assert request["parameters"] == {"telescope": "VLBA", "project_code": "TL015A",
                                     "directory": "/data/vlba/correlator/TL015A",
                                     "files": ",".join(files)}
    assert parameters["arguments"] == request["parameters"]


def test_mark_not_calibrateable_marks_every_eb_of_the_mous(run_rule, tmp_path):
    url = "sqlite:///" + str(tmp_path / "metadata.sqlite")
    engine = sa.create_engine(url)
    archive_fixtures.create_metadata_schema(engine)
    ebs = [archive_fixtures.eb_uid(n) for n in range(3)]
    for uid in ebs:
        archive_fixtures.add_metadata_row(engine, uid, "2017.1.00886.L")
    parameters, execution = run_rule("workspaces.alma_mark_not_calibrateable",
                                     _calibration_payload(False, ebs[:2]),
                                     archive_metadata_db_url=url)
    assert parameters == {"eb_uids": ebs[:2]}
    marked = execution.result["result"]["marked"]
    assert sorted(item["eb_uid"] for item in marked if item["changed"]) == ebs[:2]
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.text(
            "SELECT calibration_status, COUNT(*) FROM execution_blocks "
            "GROUP BY calibration_status")).fetchall())
    engine.dispose()
    assert statuses == {"Do Not Calibrate": 2, "Ready": 1}


def test_sensor_problem_notify_renders_the_mail_of_core_sendmail():
    """core.sendmail is StackStorm's own action (contrib/core/actions/sendmail.yaml: to, subject
    and body required), not run here; the rule's parameters render from a real payload."""
    pack = load_pack(PACK_DIR)
    pack.rules = [rule._replace(enabled=True) for rule in pack.rules]
    payload = {"sensor": "AlmaAsdmSensor", "trigger_ref": "workspaces.1f2e",
               "trigger_parameters": {"qa0_statuses": ["Pass"]}, "kind": "database_unreachable",
               "message": "ALMA database error (OperationalError: connection refused)",
               "since": "2026-12-04T15:04:05Z", "consecutive_failures": 3, "state": "problem"}
    spec = pack.trigger_types()["workspaces.sensor_problem"]
    assert payload_errors("workspaces.sensor_problem", spec, payload) == []
    matches = {m.rule_ref: m for m in RuleEngine(pack, config=load_config(pack)).match(
        "workspaces.sensor_problem", payload, None)}
    match = matches["workspaces.sensor_problem_notify"]
    assert match.matched and match.error is None, match
    assert match.action_ref == "core.sendmail"
    parameters = match.parameters
    assert parameters["to"] == "OPERATOR_EMAIL"
    assert parameters["subject"] == \
        "[workspaces] problem: database_unreachable in AlmaAsdmSensor"
    assert "connection refused" in parameters["body"]
    assert "after 3 failed poll(s)" in parameters["body"]
