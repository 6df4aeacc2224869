"""The st2 API routes the web UI (st2web) uses, against StackStorm's API contract.

One service per module: ``workspaces-local run``'s arrangement in-process (a ``LocalRunner`` of
this pack with no sensors, its config pointed at a Workspaces emulator, its rules in an overlay
directory of the test, and the st2 API over it on a free loopback port). Responses are checked
against schemas written here from StackStorm's OpenAPI definition (st2common/openapi.yaml) and API
models: required fields, types and status codes. Triggers are dispatched through the runner, which
validates each payload against its trigger type's payload_schema (an invalid one is dropped, and
the tests check nothing was).
"""

import http.client
import io
import json
import os
import queue
import threading
import time

import jsonschema
import pytest
import requests
import yaml
from pack_test_support import stackstorm_trigger_parameters_refusal, workspaces_config

from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.runner.local import LocalRunner
from workspaces_devkit.st2api.htpasswd import add_user
from workspaces_devkit.st2api.live import runner_action
from workspaces_devkit.st2api.service import build_api

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "author"
PASSWORD = "rules are code"
ACTION = "workspaces.capability_create_and_run"
TIMEOUT = 60

pytestmark = pytest.mark.slow

# --- StackStorm's shapes (read from openapi.yaml and st2common/models/api, written out here) ----
STRING = {"type": "string"}
ERROR = {"type": "object", "required": ["faultstring"],
         "properties": {"faultstring": STRING}}
ACTION_DOC = {"type": "object", "required": ["id", "ref", "name", "pack", "runner_type",
                                             "parameters", "enabled"],
              "properties": {"id": STRING, "ref": STRING, "uid": STRING, "name": STRING,
                             "pack": STRING, "description": STRING, "enabled": {"type": "boolean"},
                             "runner_type": STRING, "entry_point": STRING,
                             "parameters": {"type": "object"}, "tags": {"type": "array"},
                             "notify": {"type": "object"}}}
RULE_DOC = {"type": "object",
            "required": ["id", "ref", "uid", "name", "pack", "trigger", "action", "enabled",
                         "criteria"],
            "properties": {"id": STRING, "ref": STRING, "uid": STRING, "name": STRING,
                           "pack": STRING, "description": STRING, "enabled": {"type": "boolean"},
                           "criteria": {"type": "object"},
                           "trigger": {"type": "object", "required": ["type", "ref", "parameters"],
                                       "properties": {"type": STRING, "ref": STRING,
                                                      "parameters": {"type": "object"}}},
                           "action": {"type": "object", "required": ["ref", "parameters"],
                                      "properties": {"ref": STRING,
                                                     "parameters": {"type": "object"}}},
                           "tags": {"type": "array"}}}
RULE_VIEW_DOC = dict(RULE_DOC, properties=dict(RULE_DOC["properties"], **{
    "trigger": {"type": "object", "required": ["type", "ref", "description"],
                "properties": {"description": STRING}},
    "action": {"type": "object", "required": ["ref", "description"],
               "properties": {"description": STRING}}}))
PACK_DOC = {"type": "object", "required": ["ref", "name", "description", "version", "author"],
            "properties": {"ref": STRING, "name": STRING, "description": STRING,
                           "version": STRING, "author": STRING, "email": STRING,
                           "keywords": {"type": "array", "items": STRING}}}
EXECUTION_DOC = {"type": "object", "required": ["id", "action", "runner", "liveaction", "status",
                                                "start_timestamp", "parameters", "context",
                                                "log"],
                 "properties": {"id": STRING, "status": STRING, "start_timestamp": STRING,
                                "end_timestamp": STRING, "elapsed_seconds": {"type": "number"},
                                "parameters": {"type": "object"}, "context": {"type": "object"},
                                "result": {"type": "object"}, "log": {"type": "array"},
                                "children": {"type": "array"}, "action": ACTION_DOC,
                                "rule": RULE_DOC,
                                "trigger": {"type": "object", "required": ["type", "ref"]},
                                "trigger_type": {"type": "object", "required": ["ref", "name"]},
                                "trigger_instance": {"type": "object",
                                                     "required": ["id", "trigger", "payload",
                                                                  "occurrence_time"]}}}
ENFORCEMENT_DOC = {"type": "object",
                   "required": ["id", "rule", "trigger_instance_id", "enforced_at", "status"],
                   "properties": {"rule": {"type": "object", "required": ["ref", "uid"]},
                                  "trigger_instance_id": STRING, "execution_id": STRING,
                                  "enforced_at": STRING, "failure_reason": STRING,
                                  "status": {"enum": ["succeeded", "failed"]}}}
ENFORCEMENT_VIEW_DOC = dict(ENFORCEMENT_DOC, required=ENFORCEMENT_DOC["required"] + [
    "trigger_instance", "execution"])
FILTERS_DOC = {"type": "object", "additionalProperties": {"type": "array"},
               "required": ["action", "status", "rule", "runner", "trigger", "trigger_type",
                            "user"]}


def array_of(item):
    """A JSON schema of a list of ``item``."""
    return {"type": "array", "items": item}


def check(doc, schema):
    """Validate an answer against one of the schemas above."""
    jsonschema.Draft4Validator(schema).validate(doc)
    return doc


class Api(object):
    """A logged-in HTTP client of the local API (header auth, as st2web sends it)."""

    def __init__(self, server):
        self.base = "http://127.0.0.1:%d" % server.port
        self.http = requests.Session()
        answer = self.http.post(self.base + "/auth/v1/tokens", auth=(USER, PASSWORD), json={})
        assert answer.status_code == 201, answer.text
        self.token = answer.json()["token"]
        self.http.cookies.clear()  # header auth unless a test sends the cookie itself

    def __call__(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {"X-Auth-Token": self.token})
        url = self.base + ("/api/v1" + path if path.startswith("/") else path)
        return self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)

    def ok(self, path, status=200, **kwargs):
        """GET ``path`` and return the JSON answer, checking the status."""
        answer = self("GET", path, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json()


class EventReader(object):
    """Reads ``/stream`` in a thread as a browser's EventSource does: each event as it arrives.

    ``events`` gets ``(name, data)`` pairs; ``status`` and ``headers`` are the answer's.
    """

    def __init__(self, service, query="", headers=None):
        self.events = queue.Queue()
        self.connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=TIMEOUT)
        self.connection.request("GET", "/stream/v1/stream" + query, headers=headers or {})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        pending = b""
        try:
            while True:
                data = self.response.read1(65536)
                if not data:
                    return
                pending += data
                while b"\n\n" in pending:
                    frame, pending = pending.split(b"\n\n", 1)
                    self._frame(frame.decode("utf-8"))
        except (OSError, ValueError):
            return

    def _frame(self, text):
        fields = dict(line.split(": ", 1) for line in text.strip("\n").split("\n")
                      if ": " in line)
        if "event" in fields and "data" in fields:
            self.events.put((fields["event"], json.loads(fields["data"])))

    def wait_for(self, accept, timeout=TIMEOUT):
        """Return the first ``(name, data)`` for which ``accept`` is true."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                name, data = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if accept(name, data):
                return name, data
        raise AssertionError("no such event on /stream within %s s" % timeout)

    def close(self):
        """Drop the connection."""
        self.connection.close()


@pytest.fixture(scope="module")
def emulator():
    """A Workspaces emulator whose requests end within a second."""
    emulator = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.2)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory, emulator):
    """The runner (no sensors) and the API over it; rules in an overlay of the test."""
    workdir = tmp_path_factory.mktemp("webui")
    htpasswd = str(workdir / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    runner = LocalRunner(PACK_DIR, config_overrides=workspaces_config(emulator.url),
                         state_dir=str(workdir / "state"), sensors=[], out=io.StringIO(),
                         rules_dir=str(workdir / "rules"))
    server = build_api(runner.pack, runner_action(runner), runner.store, htpasswd, port=0,
                       auth_port=None, rules_dir=runner.rules_dir, runner=runner).start()
    server.runner = runner
    yield server
    server.stop()
    runner.stop()


@pytest.fixture(scope="module")
def api(service):
    """A logged-in client."""
    return Api(service)


def calibration_rule(name, project_code, enabled=True):
    """A rule body on ``workspaces.alma_calibration`` for one project code."""
    return {"name": name, "pack": "workspaces", "enabled": enabled,
            "description": "Test rule: ingest calibrations of project %s." % project_code,
            "trigger": {"type": "workspaces.alma_calibration", "parameters": {}},
            "criteria": {"trigger.project_code": {"type": "equals", "pattern": project_code}},
            "action": {"ref": ACTION, "parameters": {
                "capability_name": "null", "wait": True, "poll_interval": 0.05,
                "parameters": {"mous_uid": "{{ trigger.mous_uid }}"}}}}


def calibration_payload(project_code):
    """A payload of ``workspaces.alma_calibration`` (valid against its payload_schema)."""
    return {"mous_uid": "uid://A001/X1/X99", "project_code": project_code,
            "calibrateable": True, "eb_uids": ["uid://A002/X1/X1"], "eb_count": 1,
            "delivery_id": "delivery-%s" % project_code,
            "delivery_name": "%s_delivery" % project_code, "delivered_at": "2026-01-01T00:00:00Z"}


def dispatch(service, payload):
    """Dispatch ``workspaces.alma_calibration`` through the runner as a sensor would."""
    runner = service.runner
    dropped = len(runner.dropped)
    runner._on_dispatch("workspaces.alma_calibration", payload, None, "test")
    assert len(runner.dropped) == dropped, runner.dropped[-1]


# --- actions ---------------------------------------------------------------------------------

def test_action_overview_merges_the_runner_parameters(api):
    docs = check(api.ok("/actions/views/overview"), array_of(ACTION_DOC))
    overview = {doc["ref"]: doc for doc in docs}
    assert ACTION in overview
    parameters = overview[ACTION]["parameters"]
    assert parameters["capability_name"]["required"] is True
    assert parameters["timeout"]["type"] == "integer"  # the python runner's own parameter
    one = check(api.ok("/actions/views/overview/" + ACTION), ACTION_DOC)
    assert one["parameters"] == parameters
    by_id = api.ok("/actions/views/overview/" + one["id"])
    assert by_id["ref"] == ACTION


def test_action_overview_honours_include_attributes_as_the_rule_editor_asks(api):
    answer = api("GET", "/actions/views/overview",
                 params={"include_attributes": "ref,description,parameters"})
    assert answer.status_code == 200
    assert int(answer.headers["X-Total-Count"]) == len(answer.json())
    for doc in answer.json():  # what was asked, and what StackStorm always sends along
        assert set(doc) == {"id", "ref", "description", "parameters", "pack", "name",
                            "runner_type"}


def test_action_entry_point_is_the_code(api):
    answer = api("GET", "/actions/views/entry_point/" + ACTION)
    assert answer.status_code == 200
    assert "python" in answer.headers["Content-Type"]
    assert "class " in answer.text and "def run(" in answer.text


def test_unknown_action_is_a_404_error_document(api):
    for path in ("/actions/views/overview/workspaces.nope", "/actions/views/entry_point/x.y"):
        answer = api("GET", path)
        assert answer.status_code == 404
        check(answer.json(), ERROR)


# --- rules -----------------------------------------------------------------------------------

def test_rule_views_carry_the_action_and_trigger_descriptions(api):
    docs = check(api.ok("/rules/views"), array_of(RULE_VIEW_DOC))
    asdm = next(doc for doc in docs if doc["ref"] == "workspaces.alma_asdm_reingest")
    assert asdm["action"]["description"]
    assert asdm["trigger"]["description"]
    one = check(api.ok("/rules/views/workspaces.alma_asdm_reingest"), RULE_VIEW_DOC)
    assert one["trigger"]["parameters"] == asdm["trigger"]["parameters"]
    check(api.ok("/rules/views/workspaces.nope", status=404), ERROR)


def test_a_rule_is_created_written_to_the_overlay_and_live_at_once(service, api):
    answer = api("POST", "/rules", json=calibration_rule("test_created", "2099.A.00001.S"))
    assert answer.status_code == 201, answer.text
    rule = check(answer.json(), RULE_DOC)
    assert rule["ref"] == "workspaces.test_created"
    path = os.path.join(service.runner.rules_dir, "test_created.yaml")
    with open(path) as handle:
        written = yaml.safe_load(handle)
    assert written["criteria"] == {"trigger.project_code": {"type": "equals",
                                                            "pattern": "2099.A.00001.S"}}
    assert not os.path.exists(os.path.join(PACK_DIR, "rules", "test_created.yaml"))
    # the overlay holds every rule from its first write on
    assert os.path.exists(os.path.join(service.runner.rules_dir, "alma_asdm_reingest.yaml"))
    live = [r.ref for r in service.runner.engine.rules_for("workspaces.alma_calibration")]
    assert "workspaces.test_created" in live
    assert ("rule     workspaces.test_created created through the st2 API (enabled): "
            "rules/test_created.yaml") in service.runner.out.getvalue()
    assert api.ok("/rules/workspaces.test_created")["id"] == rule["id"]


def test_a_rule_without_a_description_is_accepted_as_stackstorm_accepts_it(service, api):
    # StackStorm's RuleAPI has no required description, and st2web's editor lets it be empty.
    body = calibration_rule("test_no_description", "2099.A.00009.S")
    del body["description"]
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 201, answer.text
    live = [r.ref for r in service.runner.engine.rules_for("workspaces.alma_calibration")]
    assert "workspaces.test_no_description" in live


def test_a_duplicate_rule_is_a_409_naming_the_existing_one(api):
    body = calibration_rule("test_duplicate", "2099.A.00002.S")
    assert api("POST", "/rules", json=body).status_code == 201
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 409
    error = check(answer.json(), ERROR)
    assert error["conflict-id"] == api.ok("/rules/workspaces.test_duplicate")["id"]


@pytest.mark.parametrize("change, message", [
    (lambda b: b.pop("name"), "'name' is a required property"),
    (lambda b: b.pop("action"), "'action' is a required property"),
    (lambda b: b.update(unknown=1), "Additional properties are not allowed"),
    (lambda b: b["trigger"].update(type="workspaces.no_such_trigger"),
     'Trigger "workspaces.no_such_trigger" defined in the rule does not exist'),
    (lambda b: b["criteria"]["trigger.project_code"].pop("type"),
     "Operator not specified for field: trigger.project_code"),
    (lambda b: b["criteria"]["trigger.project_code"].update(type="resembles"),
     "operator resembles not in list of allowed operators"),
    (lambda b: b["criteria"]["trigger.project_code"].pop("pattern"),
     "For field: trigger.project_code, no pattern specified for operator equals"),
    (lambda b: b["action"]["parameters"].pop("capability_name"),
     "action.parameters.capability_name: required by workspaces.capability_create_and_run"),
    (lambda b: b.update(enabled="yes"), "'yes' is not of type 'boolean'"),
    (lambda b: b.update(name="../escape"), 'Rule name "../escape" is not allowed'),
    (lambda b: b.update(pack="Site/Rules"), 'Pack "Site/Rules" is not served here'),
])
def test_a_bad_rule_is_refused_with_400_naming_the_problem_and_nothing_is_written(
        service, api, change, message):
    body = calibration_rule("test_bad", "2099.A.00003.S")
    change(body)
    before = sorted(os.listdir(service.runner.rules_dir))
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 400, answer.text
    assert message in check(answer.json(), ERROR)["faultstring"]
    assert sorted(os.listdir(service.runner.rules_dir)) == before
    assert not os.path.exists(os.path.join(os.path.dirname(service.runner.rules_dir), "escape"
                                           ".yaml"))


@pytest.mark.parametrize("change, field, says", [
    (lambda b: b["action"].update(ref="workspaces.no_such_action"), "action.ref",
     "'workspaces.no_such_action' is not an action of this pack: StackStorm stores the rule, but "
     "every enforcement of it fails"),
    (lambda b: b["action"]["parameters"].update(nope=1), "action.parameters.nope",
     "workspaces.capability_create_and_run has no parameter 'nope': StackStorm stores the rule"),
    (lambda b: b["criteria"].update({"trigger.not_in_payload": {"type": "exists",
                                                                "pattern": "x"}}),
     "criteria.trigger.not_in_payload",
     "trigger.not_in_payload is not in the payload_schema of workspaces.alma_calibration"),
])
def test_a_rule_stackstorm_stores_but_cannot_carry_out_is_saved_with_a_warning_line(
        service, api, change, field, says):
    # StackStorm 3.9's rule API checks neither the action nor the payload: 201 / 200 with the
    # rule; the runner's output names each problem when the rule is saved
    body = calibration_rule("test_warned", "2099.A.00013.S")
    change(body)
    out = service.runner.out
    start = len(out.getvalue())
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 201, answer.text
    assert check(answer.json(), RULE_DOC)["ref"] == "workspaces.test_warned"
    warnings = [line for line in out.getvalue()[start:].splitlines() if " warning  " in line]
    assert len(warnings) == 1, warnings
    assert "warning  rule workspaces.test_warned: %s: %s" % (field, says) in warnings[0]
    body["description"] = "saved again"
    start = len(out.getvalue())
    answer = api("PUT", "/rules/workspaces.test_warned", json=body)
    assert answer.status_code == 200, answer.text
    assert check(answer.json(), RULE_DOC)["description"] == "saved again"
    assert len([line for line in out.getvalue()[start:].splitlines()
                if " warning  rule workspaces.test_warned: %s: " % field in line]) == 1
    assert api("DELETE", "/rules/workspaces.test_warned").status_code == 204


def test_a_rule_with_payload_fields_nested_in_an_object_is_accepted_as_stackstorm_does(
        service, api):
    # StackStorm 3.9's rule API stores it; its rules engine then sends size as text ("1000")
    body = {"name": "test_nested", "pack": "workspaces", "enabled": False,
            "trigger": {"type": "workspaces.file_detected",
                        "parameters": {"directory": "/data/incoming"}},
            "action": {"ref": ACTION, "parameters": {
                "capability_name": "null",
                "parameters": {"path": "{{ trigger.path }}", "size": "{{ trigger.size }}"}}}}
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 201, answer.text
    with open(os.path.join(service.runner.rules_dir, "test_nested.yaml")) as handle:
        assert yaml.safe_load(handle)["action"]["parameters"]["parameters"] == {
            "path": "{{ trigger.path }}", "size": "{{ trigger.size }}"}


def test_a_rule_of_pack_default_is_served_live_and_persisted(service, api, tmp_path):
    # StackStorm's home for site rules; st2 rule create of a file with pack: default
    body = dict(calibration_rule("site_calibration", "2099.A.00012.S"), pack="default")
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 201, answer.text
    rule = check(answer.json(), RULE_DOC)
    assert (rule["ref"], rule["pack"]) == ("default.site_calibration", "default")
    assert check(api.ok("/rules/default.site_calibration"), RULE_DOC)["id"] == rule["id"]
    path = os.path.join(service.runner.rules_dir, "default.site_calibration.yaml")
    with open(path) as handle:
        assert yaml.safe_load(handle)["pack"] == "default"
    dispatch(service, calibration_payload("2099.A.00012.S"))
    service.runner.wait_for_actions(timeout=TIMEOUT)
    fired = api.ok("/executions", params={"rule": "site_calibration"})
    assert [e["rule"]["ref"] for e in fired] == ["default.site_calibration"]
    # a runner started later on the same overlay serves it too
    later = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[],
                        out=io.StringIO(), rules_dir=service.runner.rules_dir)
    assert "default.site_calibration" in [r.ref for r in later.pack.rules]
    clash = api("POST", "/rules", json=body)
    assert clash.status_code == 409
    assert api("DELETE", "/rules/default.site_calibration").status_code == 204
    assert not os.path.exists(path)


def test_trigger_parameters_are_checked_against_the_parameters_schema(api):
    body = calibration_rule("test_params", "2099.A.00004.S")
    body["trigger"] = {"type": "workspaces.alma_asdm", "parameters": {"qa0_statuses": ["Great"]}}
    body["criteria"] = {}
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 400
    assert "'Great' is not one of" in answer.json()["faultstring"]


def test_a_rule_is_edited_disabled_and_deleted_through_put_and_delete(service, api):
    body = calibration_rule("test_edited", "2099.A.00005.S")
    rule = api("POST", "/rules", json=body).json()
    view = api.ok("/rules/views/" + rule["ref"])
    view["enabled"] = False  # what st2web's enable switch sends: the whole view, toggled
    answer = api("PUT", "/rules/" + rule["id"], json=view)
    assert answer.status_code == 200, answer.text
    assert check(answer.json(), RULE_DOC)["enabled"] is False
    with open(os.path.join(service.runner.rules_dir, "test_edited.yaml")) as handle:
        assert yaml.safe_load(handle)["enabled"] is False
    assert "workspaces.test_edited" not in [
        r.ref for r in service.runner.engine.rules_for("workspaces.alma_calibration")]
    renamed = api("PUT", "/rules/" + rule["ref"], json=dict(view, name="test_renamed"))
    assert renamed.status_code == 200, renamed.text
    assert not os.path.exists(os.path.join(service.runner.rules_dir, "test_edited.yaml"))
    assert os.path.exists(os.path.join(service.runner.rules_dir, "test_renamed.yaml"))
    assert api("GET", "/rules/" + rule["ref"]).status_code == 404
    clash = api("PUT", "/rules/workspaces.test_renamed",
                json=dict(view, name="alma_asdm_reingest"))
    assert clash.status_code == 409
    back = api("PUT", "/rules/workspaces.test_renamed", json=view)
    assert back.status_code == 200 and back.json()["ref"] == rule["ref"]
    bad = dict(view, criteria={"trigger.project_code": {"type": "equals"}})
    assert api("PUT", "/rules/" + rule["ref"], json=bad).status_code == 400
    assert api("PUT", "/rules/workspaces.nope", json=view).status_code == 404
    assert api("DELETE", "/rules/" + rule["ref"]).status_code == 204
    assert not os.path.exists(os.path.join(service.runner.rules_dir, "test_edited.yaml"))
    check(api.ok("/rules/" + rule["ref"], status=404), ERROR)
    assert api("DELETE", "/rules/" + rule["ref"]).status_code == 404


def test_rule_routes_need_a_token(service):
    base = "http://127.0.0.1:%d/api/v1" % service.port
    for method, path in (("GET", "/rules/views"), ("POST", "/rules"),
                         ("PUT", "/rules/workspaces.alma_asdm_reingest"),
                         ("DELETE", "/rules/workspaces.alma_asdm_reingest"),
                         ("GET", "/actions/views/overview"), ("GET", "/packs"),
                         ("GET", "/ruleenforcements/views"), ("GET", "/executions/views/filters"),
                         ("GET", "/configs"), ("GET", "/config_schemas"),
                         ("GET", "/sensortypes"), ("GET", "/triggerinstances"),
                         ("POST", "/executions/%s/re_run" % ("0" * 24)), ("GET", "/stream")):
        answer = requests.request(method, base + path, json={}, timeout=TIMEOUT)
        assert answer.status_code == 401, (method, path)
        check(answer.json(), ERROR)


# --- packs -----------------------------------------------------------------------------------

def test_packs_lists_this_pack(api):
    docs = check(api.ok("/packs", params={"include_attributes": "name,description"}),
                 array_of({"type": "object", "required": ["name", "description"]}))
    assert [doc["name"] for doc in docs] == ["workspaces"]
    check(api.ok("/packs")[0], PACK_DOC)


def test_pack_files_are_served_read_only_and_never_outside_the_pack(api):
    answer = api("GET", "/packs/views/file/workspaces/rules/alma_asdm_reingest.yaml")
    assert answer.status_code == 200
    assert yaml.safe_load(answer.text)["name"] == "alma_asdm_reingest"
    for path in ("../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "no/such/file"):
        answer = api("GET", "/packs/views/file/workspaces/" + path)
        assert answer.status_code == 404, path
    assert api("PUT", "/packs/views/file/workspaces/pack.yaml", json={}).status_code == 405


# --- a rule fires: executions, enforcements, history, stream ---------------------------------

def test_a_rule_saved_through_the_api_fires_and_shows_in_history_and_on_the_stream(service, api):
    stream = EventReader(service, headers={"X-Auth-Token": api.token})
    try:
        body = calibration_rule("test_fires", "2099.A.00010.S")
        assert api("POST", "/rules", json=body).status_code == 201
        dispatch(service, calibration_payload("2099.A.00010.S"))
        wanted = ("st2.execution__create", "workspaces.test_fires")
        name, created = stream.wait_for(
            lambda n, d: (n, (d.get("rule") or {}).get("ref")) == wanted)
        check(created, EXECUTION_DOC)
        wanted = ("st2.execution__update", created["id"], "succeeded")
        _, done = stream.wait_for(lambda n, d: (n, d["id"], d["status"]) == wanted)
        assert [entry["status"] for entry in done["log"]] == [
            "requested", "scheduled", "running", "succeeded"]
    finally:
        stream.close()
    execution = check(api.ok("/executions/" + created["id"]), EXECUTION_DOC)
    assert execution["rule"]["ref"] == "workspaces.test_fires"
    assert execution["trigger"]["type"] == "workspaces.alma_calibration"
    assert execution["trigger_type"]["ref"] == "workspaces.alma_calibration"
    assert execution["trigger_instance"]["payload"]["project_code"] == "2099.A.00010.S"
    assert execution["context"]["user"] == "stanley"
    assert execution["context"]["rule"]["name"] == "test_fires"
    assert execution["context"]["trigger_instance"]["id"] == execution["trigger_instance"]["id"]
    assert execution["parameters"]["parameters"] == {"mous_uid": "uid://A001/X1/X99"}
    # History: what st2web's History panel asks
    answer = api("GET", "/executions", params={
        "parent": "null", "limit": 50, "offset": 0,
        "include_attributes": "id,status,start_timestamp,action.ref,action.name,"
                              "action.runner_type,action.parameters,parameters,rule.ref,"
                              "trigger.type,context.user"})
    assert answer.status_code == 200
    assert answer.headers["X-Limit"] == "50" and int(answer.headers["X-Total-Count"]) >= 1
    row = next(doc for doc in answer.json() if doc["id"] == created["id"])
    assert row["rule"] == {"ref": "workspaces.test_fires"}
    assert row["trigger"] == {"type": "workspaces.alma_calibration"}
    assert set(row) == {"id", "status", "start_timestamp", "action", "parameters", "rule",
                        "trigger", "context", "runner"}
    assert set(row["action"]) == {"ref", "name", "runner_type", "parameters", "output_schema",
                                  "pack", "uid"}
    by_rule = api.ok("/executions", params={"rule": "test_fires"})
    assert [doc["id"] for doc in by_rule] == [created["id"]]
    assert api.ok("/executions", params={"parent": created["id"]}) == []
    filters = check(api.ok("/executions/views/filters"), FILTERS_DOC)
    assert "test_fires" in filters["rule"] and ACTION in filters["action"]
    assert "stanley" in filters["user"]
    # rule enforcements, as the rule's Enforcements tab asks
    views = check(api.ok("/ruleenforcements/views", params={
        "rule_ref": "workspaces.test_fires", "limit": 10}), array_of(ENFORCEMENT_VIEW_DOC))
    assert [view["execution_id"] for view in views] == [created["id"]]
    assert views[0]["status"] == "succeeded"
    assert views[0]["execution"]["status"] == "succeeded"
    assert views[0]["trigger_instance"]["payload"]["project_code"] == "2099.A.00010.S"
    plain = check(api.ok("/ruleenforcements", params={"execution": created["id"]}),
                  array_of(ENFORCEMENT_DOC))
    assert len(plain) == 1
    instance_id = execution["trigger_instance"]["id"]
    assert api.ok("/triggerinstances/" + instance_id)["trigger"] == "workspaces.alma_calibration"
    instances = api.ok("/triggerinstances", params={"trigger_type": "workspaces.alma_calibration",
                                                    "limit": 10})
    assert instance_id in [doc["id"] for doc in instances]
    assert api.ok("/triggerinstances", params={"trigger_type": "workspaces.vlba_data"}) == []
    by_instance = api.ok("/ruleenforcements/", params={"trigger_instance": instance_id})
    assert "workspaces.test_fires" in [doc["rule"]["ref"] for doc in by_instance]
    output = api("GET", "/executions/%s/output" % created["id"])
    assert output.status_code == 200 and output.headers["Content-Type"] == "text/plain"


def test_a_disabled_rule_does_not_fire(service, api):
    body = calibration_rule("test_disabled", "2099.A.00011.S", enabled=False)
    assert api("POST", "/rules", json=body).status_code == 201
    dispatch(service, calibration_payload("2099.A.00011.S"))
    service.runner.wait_for_actions(timeout=TIMEOUT)
    assert api.ok("/executions", params={"rule": "test_disabled"}) == []
    assert api.ok("/ruleenforcements", params={"rule_ref": "workspaces.test_disabled"}) == []


def test_executions_started_through_the_api_appear_on_the_stream(service, api):
    stream = EventReader(service, "?x-auth-token=" + api.token)
    try:
        answer = api("POST", "/executions", json={"action": ACTION, "parameters": {
            "capability_name": "null", "wait": True, "poll_interval": 0.05}})
        assert answer.status_code == 201
        execution_id = answer.json()["id"]
        _, live = stream.wait_for(lambda n, d: (
            (n, d["context"]["execution_id"]) == ("st2.liveaction__create", execution_id)))
        assert live["action"] == ACTION
        _, done = stream.wait_for(lambda n, d: (
            (n, d["id"], d["status"]) == ("st2.execution__update", execution_id, "succeeded")))
        assert done["context"]["user"] == USER and "rule" not in done
    finally:
        stream.close()


def test_the_stream_authenticates_by_the_cookie_the_login_sets(service):
    base = "http://127.0.0.1:%d" % service.port
    browser = requests.Session()  # a fresh browser: no header on EventSource, only cookies
    login = browser.post(base + "/auth/v1/tokens", auth=(USER, PASSWORD), json={})
    assert login.status_code == 201
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("auth-token=%s;" % login.json()["token"])
    assert "HttpOnly" in cookie and "Path=/" in cookie
    stream = EventReader(service, headers={
        "Cookie": "auth-token=%s" % browser.cookies["auth-token"], "Accept": "text/event-stream"})
    try:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
    finally:
        stream.close()
    refused = requests.get(base + "/stream/v1/stream", cookies={"auth-token": "made-up"},
                           timeout=TIMEOUT)
    assert refused.status_code == 401


def test_rule_changes_are_streamed_when_asked_for(service, api):
    stream = EventReader(service, "?events=st2.rule__*", headers={"X-Auth-Token": api.token})
    try:
        api("POST", "/rules", json=calibration_rule("test_streamed", "2099.A.00012.S"))
        name, rule = stream.wait_for(lambda n, d: d.get("name") == "test_streamed")
        assert name == "st2.rule__create"
        api("DELETE", "/rules/workspaces.test_streamed")
        name, _ = stream.wait_for(lambda n, d: d.get("name") == "test_streamed")
        assert name == "st2.rule__delete"
    finally:
        stream.close()


# --- concurrency policy ----------------------------------------------------------------------

def test_the_concurrency_policy_delays_the_eleventh_run_until_a_slot_frees(tmp_path):
    """policies/capability_create_and_run_concurrency.yaml: threshold 10, action delay."""
    htpasswd = str(tmp_path / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[],
                         out=io.StringIO(), rules_dir=str(tmp_path / "rules"))
    release = threading.Event()
    real_execute = runner.executor.execute

    def held_execute(action_ref, parameters, **context):  # the action stands still until released
        release.wait(TIMEOUT)
        return real_execute("workspaces.no_such_action_so_it_fails_fast", parameters)

    runner.executor.execute = held_execute
    server = build_api(runner.pack, runner_action(runner), runner.store, htpasswd, port=0,
                       auth_port=None, rules_dir=runner.rules_dir, runner=runner).start()
    try:
        client = Api(server)
        ids = []
        for number in range(11):
            answer = client("POST", "/executions", json={
                "action": ACTION, "parameters": {"capability_name": "run%d" % number}})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
            deadline = time.time() + TIMEOUT  # one at a time, so the eleventh is the one held
            settled = ("running", "delayed")  # where a run stands while the action is held
            while client.ok("/executions/" + ids[-1])["status"] not in settled:
                assert time.time() < deadline, client.ok("/executions/" + ids[-1])["log"]
                time.sleep(0.02)
        statuses = [client.ok("/executions/" + execution_id)["status"] for execution_id in ids]
        assert statuses == ["running"] * 10 + ["delayed"]
        assert client.ok("/executions", params={"status": "delayed"})[0]["id"] == ids[10]
        release.set()
        for execution_id in ids:
            server.backend.executions.wait(execution_id, timeout=TIMEOUT)
        log = [entry["status"] for entry in client.ok("/executions/" + ids[10])["log"]]
        assert log == ["requested", "delayed", "requested", "scheduled", "running", "failed"]
        first = [entry["status"] for entry in client.ok("/executions/" + ids[0])["log"]]
        assert first == ["requested", "scheduled", "running", "failed"]
    finally:
        release.set()
        server.stop()
        runner.stop()


# --- the rest of what st2web calls -----------------------------------------------------------

def test_rerun_starts_the_same_action_with_merged_parameters(service, api):
    first = api("POST", "/executions", json={"action": ACTION, "parameters": {
        "capability_name": "null", "wait": True, "poll_interval": 0.05}}).json()
    service.backend.executions.wait(first["id"], timeout=TIMEOUT)
    answer = api("POST", "/executions/%s/re_run" % first["id"],
                 json={"parameters": {"poll_interval": 0.1}})
    assert answer.status_code == 201, answer.text
    again = check(answer.json(), EXECUTION_DOC)
    assert again["parameters"] == {"capability_name": "null", "wait": True, "poll_interval": 0.1}
    assert again["context"]["re-run"] == {"ref": first["id"]}
    only = api("POST", "/executions/%s/re_run?no_merge=true" % first["id"],
               json={"parameters": {"capability_name": "null"}}).json()
    assert only["parameters"] == {"capability_name": "null"}
    assert [doc["id"] for doc in api.ok("/executions", params={"id": only["id"]})] == [only["id"]]
    assert api("POST", "/executions/%s/re_run" % ("0" * 24), json={}).status_code == 404
    for execution_id in (again["id"], only["id"]):
        service.backend.executions.wait(execution_id, timeout=TIMEOUT)


def test_sensor_types_list_the_pack_sensors_and_their_trigger_types(api):
    docs = api.ok("/sensortypes")
    by_name = {doc["name"]: doc for doc in docs}
    assert "workspaces.alma_calibration" in by_name["AlmaCalibrationSensor"]["trigger_types"]
    one = api.ok("/sensortypes/workspaces.AlmaCalibrationSensor")
    assert one["class_name"] == "AlmaCalibrationSensor" and one["pack"] == "workspaces"


def test_an_invalid_rule_in_the_overlay_stops_the_runner_at_start(tmp_path):
    from workspaces_devkit.runner.local import ConfigInvalid

    overlay = tmp_path / "rules"
    overlay.mkdir()
    (overlay / "broken.yaml").write_text(yaml.safe_dump(dict(
        calibration_rule("broken", "2099.A.00020.S"), criteria={"trigger.x": {"type": "eq"}})))
    with pytest.raises(ConfigInvalid) as raised:
        LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[], out=io.StringIO(),
                    rules_dir=str(overlay))
    assert "broken.yaml" in str(raised.value) and "criteria.trigger.x" in str(raised.value)


def test_live_output_comes_from_the_stream_service_as_st2stream_sends_it(service, api):
    answer = api("POST", "/executions", json={"action": ACTION, "parameters": {
        "capability_name": "null"}})
    execution_id = answer.json()["id"]
    reader = EventReader.__new__(EventReader)  # the output stream, read the same way
    reader.events = queue.Queue()
    reader.connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=TIMEOUT)
    reader.connection.request("GET", "/stream/executions/%s/output" % execution_id,
                              headers={"X-Auth-Token": api.token})
    reader.response = reader.connection.getresponse()
    try:
        assert reader.response.headers["Content-Type"].startswith("text/event-stream")
        reader._read()  # returns when the server ends the stream after EOF
        name, output = reader.events.get_nowait()
        assert name == "st2.execution.output__create"
        assert output["execution_id"] == execution_id and output["output_type"] == "stderr"
        assert "created capability request" in output["data"]
    finally:
        reader.close()


# --- the command line ------------------------------------------------------------------------

def test_workspaces_local_run_serves_rules_into_its_rules_dir(tmp_path):
    """``workspaces-local run --rules-dir D --api-htpasswd H``: the wiring a developer types."""
    import re
    import signal
    import subprocess
    import sys

    htpasswd = str(tmp_path / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    process = subprocess.Popen(
        [sys.executable, os.path.join(PACK_DIR, "devkit", "bin", "workspaces-local"), "run",
         "--state-dir", str(tmp_path / "state"), "--rules-dir", str(tmp_path / "rules"),
         "--api-htpasswd", htpasswd, "--api-port", "0", "--api-auth-port", "none",
         "--duration", str(TIMEOUT)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, bufsize=1)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "ST2_API_URL=" in line:
                break
        port = int(re.search(r"ST2_API_URL=http://127\.0\.0\.1:(\d+)/api/v1", "".join(lines))
                   .group(1))
        base = "http://127.0.0.1:%d" % port
        token = requests.post(base + "/auth/v1/tokens", auth=(USER, PASSWORD), json={},
                              timeout=TIMEOUT).json()["token"]
        answer = requests.post(base + "/api/v1/rules", headers={"X-Auth-Token": token},
                               json=calibration_rule("from_the_cli", "2099.A.00030.S"),
                               timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
        assert os.path.exists(str(tmp_path / "rules" / "from_the_cli.yaml"))
        for line in process.stdout:
            lines.append(line)
            if "from_the_cli created through the st2 API" in line:
                break
    finally:
        process.send_signal(signal.SIGINT)
        # read what is left: a runner blocked writing to a full pipe would never see the signal
        lines.extend(process.communicate(timeout=TIMEOUT)[0].splitlines(True))
    assert not os.path.exists(os.path.join(PACK_DIR, "rules", "from_the_cli.yaml"))
    assert any("workspaces.from_the_cli created through the st2 API (enabled)" in line
               for line in lines), "".join(lines)


def test_the_packs_page_gets_the_index_schema_and_config_with_secrets_masked(tmp_path, emulator):
    htpasswd = str(tmp_path / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    config = workspaces_config(emulator.url, auth_mode="bearer", auth_token="s3cr3t-token")
    runner = LocalRunner(PACK_DIR, config_overrides=config, state_dir=str(tmp_path / "state"),
                         sensors=[], out=io.StringIO(), rules_dir=str(tmp_path / "rules"))
    server = build_api(runner.pack, runner_action(runner), runner.store, htpasswd, port=0,
                       auth_port=None, rules_dir=runner.rules_dir, runner=runner).start()
    try:
        client = Api(server)
        assert client.ok("/packs/index") == {"status": [], "index": {}}
        [schema] = client.ok("/config_schemas")
        assert schema["pack"] == "workspaces"
        assert schema["attributes"]["auth_token"]["secret"] is True
        for answer in (client("GET", "/configs", params={"show_secrets": "true"}),
                       client("GET", "/configs/workspaces", params={"show_secrets": "true"})):
            assert answer.status_code == 200
            assert "s3cr3t-token" not in answer.text
        [values] = [doc["values"] for doc in client.ok("/configs")]
        assert values["auth_token"] == "********"
        assert values["capability_service_url"] == emulator.url
    finally:
        server.stop()
        runner.stop()


def test_a_rule_with_new_trigger_parameters_gives_the_running_sensor_its_trigger(tmp_path):
    """As StackStorm's trigger watcher: add_trigger for the new rule's trigger, no restart."""
    htpasswd = str(tmp_path / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    incoming = tmp_path / "new_incoming"
    incoming.mkdir()
    out = io.StringIO()
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), out=out,
                         sensors=["FileMonitorSensor"], poll_interval=0.2, run_actions=False,
                         rules_dir=str(tmp_path / "rules"))
    server = build_api(runner.pack, runner_action(runner), runner.store, htpasswd, port=0,
                       auth_port=None, rules_dir=runner.rules_dir, runner=runner).start()
    runner.start()

    def wait_for(condition):
        deadline = time.time() + TIMEOUT
        while not condition() and time.time() < deadline:
            time.sleep(0.05)
        assert condition(), out.getvalue()

    try:
        [host] = runner.hosts
        wait_for(lambda: host.instance is not None)
        client = Api(server)
        body = {"name": "fits_files", "pack": "workspaces", "enabled": True,
                "description": "FITS files of a second staging directory.",
                "trigger": {"type": "workspaces.file_detected", "parameters": {
                    "directory": str(incoming), "pattern": "*.fits", "settle_seconds": 0}},
                "action": {"ref": ACTION, "parameters": {"capability_name": "null"}}}
        assert client("POST", "/rules", json=body).status_code == 201
        wait_for(lambda: any(t["parameters"].get("directory") == str(incoming)
                             for t in host.triggers))
        assert "FileMonitorSensor: trigger workspaces." in out.getvalue()
        polls = host.polls  # files there at a trigger's first poll are its baseline: wait it out
        wait_for(lambda: host.polls > polls)
        (incoming / "image.fits").write_bytes(b"SIMPLE")
        wait_for(lambda: "rule     workspaces.fits_files matched" in out.getvalue())
        [dispatch] = [d for d in runner.dispatches if d["payload"].get("name") == "image.fits"]
        assert dispatch["type"] == "workspaces.file_detected"
        assert client("DELETE", "/rules/workspaces.fits_files").status_code == 204
        wait_for(lambda: not any(t["parameters"].get("directory") == str(incoming)
                                 for t in host.triggers))
        assert "(no rule uses" in out.getvalue()
    finally:
        server.stop()
        runner.stop()


def test_a_file_rule_with_a_relative_directory_is_refused_in_stackstorms_words(service, api):
    body = calibration_rule("test_relative", "2099.A.00005.S")
    body["trigger"] = {"type": "workspaces.file_detected",
                       "parameters": {"directory": "incoming", "pattern": "*.tar"}}
    body["criteria"] = {}
    before = sorted(os.listdir(service.runner.rules_dir))
    answer = api("POST", "/rules", json=body)
    assert answer.status_code == 400, answer.text
    fault = check(answer.json(), ERROR)["faultstring"]
    assert fault == stackstorm_trigger_parameters_refusal(
        "workspaces.file_detected", {"directory": "incoming", "pattern": "*.tar"})
    assert fault.startswith("'incoming' does not match "), fault
    assert "Failed validating 'pattern' in schema['properties']['directory']" in fault
    assert sorted(os.listdir(service.runner.rules_dir)) == before
    body["trigger"]["parameters"]["directory"] = "/data/../etc"
    assert api("POST", "/rules", json=body).status_code == 400
