"""Every content file is valid the way StackStorm's registration checks it, and breakage is named.

A broken file must fail the suite with a message naming the file and the field; the mutation tests
below break copies of the pack's real files and check exactly that.
"""

import os
import shutil

import pytest
import yaml

from workspaces_devkit.content import load_pack, validate_pack

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTENT_FOLDERS = ("sensors", "triggers", "actions", "rules", "policies")


def _describe(errors):
    return "\n".join("%s: %s: %s" % error for error in errors)


def test_pack_content_is_valid():
    warnings = []
    errors = validate_pack(PACK_DIR, warnings)
    assert not errors, "invalid pack content:\n" + _describe(errors)
    # what StackStorm stores but cannot carry out is a warning; the pack ships none
    assert not warnings, "pack content StackStorm would not carry out:\n" + _describe(warnings)


def test_pack_ref_is_workspaces():
    assert load_pack(PACK_DIR).ref == "workspaces"


@pytest.fixture
def pack_copy(tmp_path):
    """A copy of the pack's content files that a test may break."""
    target = tmp_path / "workspaces"
    target.mkdir()
    for name in ("pack.yaml", "config.schema.yaml", "workspaces.yaml.example"):
        shutil.copy(os.path.join(PACK_DIR, name), str(target / name))
    for folder in CONTENT_FOLDERS:
        source = os.path.join(PACK_DIR, folder)
        if os.path.isdir(source):
            shutil.copytree(source, str(target / folder),
                            ignore=shutil.ignore_patterns("__pycache__", "lib"))
    return target


def _edit(path, change):
    with open(path) as handle:
        data = yaml.safe_load(handle)
    change(data)
    with open(path, "w") as handle:
        yaml.safe_dump(data, handle)


def _errors_for(pack_dir, relpath):
    return [e for e in validate_pack(str(pack_dir)) if e.path == relpath]


REQUIRED_TOP_LEVEL = {
    "pack.yaml": ["ref", "name", "description", "version", "author", "email"],
}
REQUIRED_BY_FOLDER = {
    "sensors": ["class_name", "entry_point", "description", "trigger_types"],
    "triggers": ["name", "description", "payload_schema"],
    "actions": ["name", "runner_type", "description", "entry_point"],
    "rules": ["name", "pack", "description", "trigger", "action"],
    "policies": ["name", "pack", "resource_ref", "policy_type"],
}


def _required_cases():
    cases = [(path, field) for path, fields in REQUIRED_TOP_LEVEL.items() for field in fields]
    for folder, fields in REQUIRED_BY_FOLDER.items():
        directory = os.path.join(PACK_DIR, folder)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith(".yaml"):
                cases.extend((folder + "/" + name, field) for field in fields)
    return cases


@pytest.mark.parametrize("relpath,field", _required_cases())
def test_deleting_a_required_field_is_reported_with_file_and_field(pack_copy, relpath, field):
    _edit(str(pack_copy / relpath), lambda data: data.pop(field, None))
    errors = _errors_for(pack_copy, relpath)
    assert any(e.field == field for e in errors), \
        "deleting %s from %s was not reported; got:\n%s" % (field, relpath, _describe(errors))


def test_config_schema_keys_need_type_and_description(pack_copy):
    _edit(str(pack_copy / "config.schema.yaml"), lambda d: d["auth_mode"].pop("description"))
    errors = _errors_for(pack_copy, "config.schema.yaml")
    assert [e.field for e in errors] == ["auth_mode.description"]


def test_example_config_is_checked_against_the_schema(pack_copy):
    _edit(str(pack_copy / "workspaces.yaml.example"),
          lambda d: d.update(retry_count="three", no_such_key=1))
    fields = {e.field for e in _errors_for(pack_copy, "workspaces.yaml.example")}
    assert fields == {"retry_count", "no_such_key"}


def test_bad_pack_version_and_ref_are_reported(pack_copy):
    _edit(str(pack_copy / "pack.yaml"), lambda d: d.update(version=1.0, ref="Work-Spaces"))
    fields = {e.field for e in _errors_for(pack_copy, "pack.yaml")}
    assert {"version", "ref"} <= fields


def _first(folder):
    directory = os.path.join(PACK_DIR, folder)
    names = sorted(n for n in os.listdir(directory) if n.endswith(".yaml")) \
        if os.path.isdir(directory) else []
    assert names, "the pack has no %s/*.yaml to break a copy of" % folder
    return folder + "/" + names[0]


def test_object_level_required_list_in_a_payload_schema_is_reported(pack_copy):
    relpath = _first("sensors")

    def change(data):
        schema = data["trigger_types"][0]["payload_schema"]
        schema["required"] = list(schema["properties"])[:1]
    _edit(str(pack_copy / relpath), change)
    errors = _errors_for(pack_copy, relpath)
    assert any("payload_schema.required" in e.field for e in errors), _describe(errors)


def test_poll_interval_below_four_seconds_is_reported(pack_copy):
    relpath = _first("sensors")
    _edit(str(pack_copy / relpath), lambda d: d.update(poll_interval=2))
    assert [e.field for e in _errors_for(pack_copy, relpath)] == ["poll_interval"]


def test_unknown_runner_type_and_duplicate_positions_are_reported(pack_copy):
    relpath = _first("actions")

    def change(data):
        data["runner_type"] = "python-scrpit"
        for prop in data["parameters"].values():
            prop["position"] = 0
    _edit(str(pack_copy / relpath), change)
    fields = [e.field for e in _errors_for(pack_copy, relpath)]
    assert "runner_type" in fields
    assert any(f.endswith(".position") for f in fields)


def test_position_on_an_optional_parameter_is_refused_with_the_reason(pack_copy):
    """st2client 3.9: `st2 run <action> -h` fails when optional parameters mix positions, names."""
    relpath = os.path.join("actions", "capability_create_and_run.yaml")
    _edit(str(pack_copy / relpath), lambda d: d["parameters"]["wait"].update(position=1))
    errors = _errors_for(pack_copy, relpath)
    assert [e.field for e in errors] == ["parameters.wait.position"]
    assert "only on required parameters" in errors[0].message
    assert "'<' not supported between instances of 'str' and 'int'" in errors[0].message

    def require_wait(data):
        data["parameters"]["wait"].update(required=True)
        del data["parameters"]["wait"]["default"]
    _edit(str(pack_copy / relpath), require_wait)
    assert _errors_for(pack_copy, relpath) == []


def test_required_parameters_all_with_a_position_or_none(pack_copy):
    relpath = os.path.join("actions", "capability_create_and_run.yaml")

    def require_wait(data):
        data["parameters"]["wait"].update(required=True)
        del data["parameters"]["wait"]["default"]
    _edit(str(pack_copy / relpath), require_wait)
    messages = _describe(_errors_for(pack_copy, relpath))
    assert "give every required parameter a position or none (wait)" in messages


def test_rule_with_unknown_trigger_or_payload_field_in_a_parameter_is_reported(pack_copy):
    relpath = _first("rules")
    _edit(str(pack_copy / relpath), lambda d: d["action"]["parameters"].update(
        capability_name="{{ trigger.no_such_field }}"))
    assert "trigger.no_such_field" in _describe(_errors_for(pack_copy, relpath))
    _edit(str(pack_copy / relpath), lambda d: d["trigger"].update(type="workspaces.nothing"))
    assert "trigger.type" in {e.field for e in _errors_for(pack_copy, relpath)}


def test_rule_stackstorm_stores_but_cannot_carry_out_is_a_warning(pack_copy):
    # StackStorm 3.9's rule registration and API check neither the action nor the payload
    relpath = "rules/alma_calibration_ingest.yaml"

    def change(data):
        data["action"]["parameters"]["no_such_parameter"] = 1
        data["criteria"]["trigger.no_such_field"] = {"type": "exists", "pattern": "x"}
    _edit(str(pack_copy / relpath), change)
    warnings = []
    assert [e for e in validate_pack(str(pack_copy), warnings) if e.path == relpath] == []
    assert sorted(w.field for w in warnings if w.path == relpath) == [
        "action.parameters.no_such_parameter", "criteria.trigger.no_such_field"]
    _edit(str(pack_copy / relpath), lambda d: d["action"].update(ref="workspaces.nothing"))
    warnings = []
    assert [e for e in validate_pack(str(pack_copy), warnings) if e.path == relpath] == []
    assert sorted(w.field for w in warnings if w.path == relpath) == [
        "action.ref", "criteria.trigger.no_such_field"]


@pytest.mark.parametrize("relpath,nested,field,says", [
    # the file rule as it once shipped: size is an integer in the payload
    ("rules/file_detected_create_and_run.yaml",
     {"path": "{{ trigger.path }}", "size": "{{ trigger.size }}"}, "parameters.size",
     "its integer value becomes a string"),
    # the ASDM rule as it once shipped, with mous_uid optional (it may be null)
    ("rules/alma_asdm_reingest.yaml",
     {"telescope": "ALMA", "mous_uid": "{{ trigger.mous_uid }}"}, "parameters.mous_uid",
     'a missing value becomes "None"'),
])
def test_payload_field_that_stackstorm_would_send_as_text_is_a_warning(pack_copy, relpath,
                                                                       nested, field, says):
    # StackStorm 3.9 registers such a rule (it is no error), but the value arrives as text
    def optional_mous(data):
        data["trigger_types"][0]["payload_schema"]["properties"]["mous_uid"].pop("required", None)
    _edit(str(pack_copy / "sensors" / "alma_asdm_sensor.yaml"), optional_mous)
    _edit(str(pack_copy / relpath), lambda d: d["action"]["parameters"].update(parameters=nested))
    warnings = []
    assert [e for e in validate_pack(str(pack_copy), warnings) if e.path == relpath] == []
    found = [w for w in warnings if w.path == relpath]
    assert [w.field for w in found] == ["action.parameters." + field]
    assert says in found[0].message and "tojson" in found[0].message
    assert "nested in parameter parameters as text" in found[0].message


def test_nested_string_payload_fields_are_accepted(pack_copy):
    relpath = "rules/file_detected_create_and_run.yaml"
    _edit(str(pack_copy / relpath), lambda d: d["action"]["parameters"].update(
        parameters={"path": "{{ trigger.path }}", "name": "{{ trigger.name }}"}))
    assert _errors_for(pack_copy, relpath) == []


def test_rule_criteria_with_unknown_operator_is_reported(pack_copy):
    relpath = _first("rules")
    _edit(str(pack_copy / relpath),
          lambda d: d.update(criteria={"trigger.anything": {"type": "equalz", "pattern": 1}}))
    fields = {e.field for e in _errors_for(pack_copy, relpath)}
    assert "criteria.trigger.anything.type" in fields


def test_policy_with_bad_parameters_is_reported(pack_copy):
    relpath = _first("policies")
    _edit(str(pack_copy / relpath), lambda d: d.update(policy_type="action.retry",
                                                       parameters={"max_retry_count": 9}))
    fields = {e.field for e in _errors_for(pack_copy, relpath)}
    assert {"parameters.retry_on", "parameters.max_retry_count"} <= fields


def test_policy_enabled_that_is_not_true_or_false_is_reported(pack_copy):
    """StackStorm's PolicyAPI schema types ``enabled`` as a boolean: "yes" is refused."""
    relpath = _first("policies")
    _edit(str(pack_copy / relpath), lambda d: d.update(enabled="yes"))
    errors = [e for e in _errors_for(pack_copy, relpath) if e.field == "enabled"]
    assert [e.message for e in errors] == ["must be true or false"]


PROBLEM_PAYLOAD = {"sensor": "FileMonitorSensor", "trigger_ref": "workspaces.abc",
                   "trigger_parameters": {"directory": "/data/in"}, "kind": "directory_missing",
                   "message": "cannot read directory /data/in", "since": "2026-12-04T15:04:05Z",
                   "consecutive_failures": 1, "state": "problem"}


def test_the_triggers_folder_registers_the_problem_trigger_for_every_sensor():
    """StackStorm's TriggersRegistrar reads triggers/ (st2common/bootstrap/triggersregistrar.py);
    the devkit's loader, the local runner and the stand-ins know it the same way."""
    from workspaces_devkit.st2meta import payload_errors, trigger_types_for_sensor_class
    from file_monitor_sensor import FileMonitorSensor

    spec = load_pack(PACK_DIR).trigger_types()["workspaces.sensor_problem"]
    assert not spec.get("parameters_schema"), "dispatched by its type ref: no parameters"
    assert payload_errors("workspaces.sensor_problem", spec, PROBLEM_PAYLOAD) == []
    bad = dict(PROBLEM_PAYLOAD, kind="on_fire")
    assert payload_errors("workspaces.sensor_problem", spec, bad)
    assert "workspaces.sensor_problem" in trigger_types_for_sensor_class(FileMonitorSensor)


def test_a_trigger_file_of_another_pack_or_with_a_required_list_is_reported(pack_copy):
    relpath = "triggers/sensor_problem.yaml"

    def change(data):
        data["pack"] = "core"
        data["payload_schema"]["required"] = ["sensor"]
    _edit(str(pack_copy / relpath), change)
    fields = [e.field for e in _errors_for(pack_copy, relpath)]
    assert "pack" in fields and "payload_schema.required" in fields, fields


def test_the_example_problem_rule_is_disabled_and_mails_through_core_sendmail(tmp_path):
    """core.sendmail (st2 contrib/core/actions/sendmail.yaml) needs to, subject and body."""
    from workspaces_devkit.runner.local import LocalRunner
    import io

    pack = load_pack(PACK_DIR)
    rule = next(r for r in pack.rules if r.name == "sensor_problem_notify")
    assert rule.enabled is False
    action = rule.meta["action"]
    assert action["ref"] == "core.sendmail"
    assert set(action["parameters"]) >= {"to", "subject", "body"}
    assert action["parameters"]["to"] == "OPERATOR_EMAIL"
    overlay = tmp_path / "rules"
    overlay.mkdir()
    enabled = dict(rule.meta, enabled=True)
    (overlay / "notify.yaml").write_text(yaml.safe_dump(enabled))
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[],
                         out=io.StringIO(), rules_dir=str(overlay), run_actions=False)
    matches = runner.engine.match("workspaces.sensor_problem", PROBLEM_PAYLOAD, {})
    assert [(m.rule_ref, m.matched, m.error) for m in matches] == \
        [("workspaces.sensor_problem_notify", True, None)]
    assert "directory_missing" in matches[0].parameters["subject"]


def test_readme_and_reference_tables_match_the_metadata():
    from workspaces_devkit.readme_tables import GENERATED_FILES, regenerated

    for relpath in GENERATED_FILES:
        with open(os.path.join(PACK_DIR, relpath)) as handle:
            text = handle.read()
        assert text == regenerated(PACK_DIR, relpath, text), (
            "%s's generated tables are stale: run "
            "`python devkit/workspaces_devkit/readme_tables.py`" % relpath)


def test_validate_warns_naming_the_parameter_stackstorm_sends_as_text(tmp_path, capsys):
    # issue 20: StackStorm 3.9 accepts the rule, so validate passes, and says what will happen
    from workspaces_devkit.runner.cli import main as workspaces_local

    overlay = tmp_path / "rules"
    overlay.mkdir()
    with open(os.path.join(PACK_DIR, "rules", "file_detected_create_and_run.yaml")) as handle:
        rule = yaml.safe_load(handle)
    rule["name"] = "nested_site_rule"
    rule["action"]["parameters"]["parameters"] = {"path": "{{ trigger.path }}",
                                                  "size": "{{ trigger.size }}"}
    (overlay / "nested_site_rule.yaml").write_text(yaml.safe_dump(rule))
    assert workspaces_local(["validate", "--rules-dir", str(overlay)]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, out
    assert "nested_site_rule.yaml: action.parameters.parameters.size: " in warnings[0]
    assert "will send {{ trigger.size }} nested in parameter parameters as text" in warnings[0]
    assert out.splitlines()[-1] == "0 problem(s), 1 warning(s)"


def test_validate_warns_of_each_rule_stackstorm_stores_but_cannot_carry_out(tmp_path, capsys):
    # issue 20: the rules the local st2 API stores with a warning, as StackStorm stores them
    from workspaces_devkit.runner.cli import main as workspaces_local

    overlay = tmp_path / "rules"
    overlay.mkdir()
    with open(os.path.join(PACK_DIR, "rules", "alma_calibration_ingest.yaml")) as handle:
        rule = yaml.safe_load(handle)
    unknown_action = dict(rule, name="site_unknown_action",
                          action=dict(rule["action"], ref="workspaces.nope"))
    odd = dict(rule, name="site_odd", criteria=dict(rule["criteria"], **{
        "trigger.not_in_payload": {"type": "exists", "pattern": "x"}}),
        action=dict(rule["action"], parameters=dict(rule["action"]["parameters"], nope=1)))
    for body in (unknown_action, odd):
        (overlay / ("%s.yaml" % body["name"])).write_text(yaml.safe_dump(body))
    assert workspaces_local(["validate", "--rules-dir", str(overlay)]) == 0
    out = capsys.readouterr().out
    warnings = sorted(line for line in out.splitlines() if line.startswith("warning: "))
    assert len(warnings) == 3, out
    assert "site_odd.yaml: action.parameters.nope: workspaces.capability_create_and_run has " \
           "no parameter 'nope': StackStorm stores the rule" in warnings[0]
    assert "site_odd.yaml: criteria.trigger.not_in_payload: trigger.not_in_payload is not in " \
           "the payload_schema of workspaces.alma_calibration" in warnings[1]
    assert "site_unknown_action.yaml: action.ref: 'workspaces.nope' is not an action of this " \
           "pack: StackStorm stores the rule, but every enforcement of it fails" in warnings[2]
    assert out.splitlines()[-1] == "0 problem(s), 3 warning(s)"
