"""Parity table: which content files registration accepts, through the devkit's content validator
(workspaces_devkit.content ``validate_pack``) and, in the real tier, through the validation
StackStorm's registrars run on each file (st2common/bootstrap/*registrar.py: the file as its API
model, ``ActionAPI`` / ``SensorTypeAPI`` and ``TriggerTypeAPI`` / ``RuleAPI`` / ``PolicyAPI`` /
``PackAPI``, validated against the model's schema in StackStorm's dialect).

The registrars then look runners and trigger types up in MongoDB; those checks are the devkit's
alone here (policy types are read from StackStorm's own files instead, see below). The devkit
words its refusals by file and field, so the table compares acceptance; the refusals the pack's
docs quote are checked word for word in test_content.py and test_config_registration.py.
``STRICTER`` lists what the content validator refuses on purpose (the pack's house rules) while
StackStorm registers it; the real tier checks that StackStorm does, so the difference stays known.
"""

import contextlib
import os
import shutil
from unittest import mock

import pytest
import yaml

from parity_support import real_tier
from workspaces_devkit.content import validate_pack

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = "actions/capability_create_and_run.yaml"
SENSOR = "sensors/file_monitor_sensor.yaml"
RULE = "rules/alma_asdm_reingest.yaml"
POLICY = "policies/capability_create_and_run_concurrency.yaml"
PACK = "pack.yaml"


def _param(name, **spec):
    return lambda meta: meta["parameters"].update({name: spec})


def _set(key, value):
    return lambda meta: meta.update({key: value})


def _trigger_type(**changes):
    return lambda meta: meta["trigger_types"][0].update(changes)


def _drop(key):
    return lambda meta: meta.pop(key)


#: (name, file, change to its YAML, accepted)
CASES = [
    ("the shipped action", ACTION, None, True),
    ("action without runner_type", ACTION, _drop("runner_type"), False),
    ("action with an unknown field", ACTION, _set("widget", 1), False),
    ("action enabled as text", ACTION, _set("enabled", "yes"), False),
    ("action parameter with an unknown attribute", ACTION, _param("p", type="string", shown=True),
     False),
    ("action parameter name with a dash", ACTION, _param("a-b", type="string"), False),
    ("action parameter of an unknown type", ACTION, _param("p", type="text"), False),
    ("action parameter with secret and immutable", ACTION,
     _param("p", type="string", secret=True, immutable=True, default="x", description="P."),
     True),
    ("action parameter with an object-level required list", ACTION,
     _param("p", type="object", required=["a"]), False),
    ("the shipped sensor", SENSOR, None, True),
    ("sensor without class_name", SENSOR, _drop("class_name"), False),
    ("sensor with an unknown field", SENSOR, _set("widget", 1), False),
    ("trigger type with an unknown field", SENSOR, _trigger_type(widget=1), False),
    ("the shipped rule", RULE, None, True),
    ("rule with an unknown field", RULE, _set("widget", 1), False),
    ("rule criterion with no pattern", RULE,
     _set("criteria", {"trigger.mous_uid": {"type": "exists"}}), False),
    ("rule criterion with an unknown operator", RULE,
     _set("criteria", {"trigger.mous_uid": {"type": "like", "pattern": "x"}}), False),
    ("the shipped policy", POLICY, None, True),
    ("policy with an unknown field", POLICY, _set("widget", 1), False),
    ("policy without resource_ref", POLICY, _drop("resource_ref"), False),
    ("policy of an unknown type", POLICY, _set("policy_type", "action.throttle"), False),
    ("concurrency policy with an unknown action", POLICY,
     _set("parameters", {"threshold": 1, "action": "drop"}), False),
    ("concurrency policy without threshold", POLICY, _set("parameters", {"action": "delay"}),
     False),
    ("retry policy", POLICY, lambda meta: meta.update(
        policy_type="action.retry", parameters={"retry_on": "failure", "max_retry_count": 3}),
     True),
    ("retry policy retrying too often", POLICY, lambda meta: meta.update(
        policy_type="action.retry", parameters={"retry_on": "failure", "max_retry_count": 6}),
     False),
    ("retry policy waiting too long", POLICY, lambda meta: meta.update(
        policy_type="action.retry", parameters={"retry_on": "timeout", "delay": 121}), False),
    ("the shipped pack.yaml", PACK, None, True),
    ("pack ref with capitals", PACK, _set("ref", "WorkSpaces"), False),
    ("pack version not semver", PACK, _set("version", "1.0"), False),
    ("pack without author", PACK, _drop("author"), False),
]


def _changed_meta(relpath, change):
    with open(os.path.join(PACK_DIR, relpath)) as handle:
        meta = yaml.safe_load(handle)
    if change is not None:
        change(meta)
    return meta


def _devkit_accepts(relpath, meta, tmp_path):
    target = str(tmp_path / "workspaces")
    shutil.copytree(PACK_DIR, target, ignore=shutil.ignore_patterns(
        "__pycache__", ".git", ".venv*", ".local", "tests", "devkit", "bench", "docs"))
    with open(os.path.join(target, relpath), "w") as handle:
        yaml.safe_dump(meta, handle)
    return [e for e in validate_pack(target) if e.path == relpath] == []


def _stackstorm_accepts(relpath, meta):
    meta = dict(meta)
    with _policy_types_from_stackstorm():
        return _validates(relpath, meta)


@contextlib.contextmanager
def _policy_types_from_stackstorm():
    """``PolicyAPI.validate`` reads the policy type from MongoDB; here it reads StackStorm's own
    policy type files (st2common/policies/meta/*.yaml), which its registrar loads there."""
    from st2common.models.api.policy import PolicyTypeAPI
    from st2common.persistence.policy import PolicyType
    from st2common import policies

    folder = os.path.join(os.path.dirname(policies.__file__), "meta")
    types = {}
    for name in os.listdir(folder):
        if name.endswith(".yaml"):
            with open(os.path.join(folder, name)) as handle:
                meta = yaml.safe_load(handle)
            api = PolicyTypeAPI(**meta)
            types["%s.%s" % (meta["resource_type"], meta["name"])] = api
    with mock.patch.object(PolicyType, "get_by_ref", side_effect=types.get):
        yield


def _validates(relpath, meta):
    import jsonschema
    from st2common.exceptions.apivalidation import ValueValidationException
    from st2common.models.api.action import ActionAPI
    from st2common.models.api.pack import PackAPI
    from st2common.models.api.policy import PolicyAPI
    from st2common.models.api.rule import RuleAPI
    from st2common.models.api.sensor import SensorTypeAPI
    from st2common.models.api.trigger import TriggerTypeAPI
    from st2common.validators.api.reactor import validate_criteria

    try:
        if relpath.startswith("actions/"):
            ActionAPI(**dict(meta, pack="workspaces")).validate()
        elif relpath.startswith("sensors/"):
            SensorTypeAPI(**dict(meta, pack="workspaces")).validate()
            for trigger_type in meta.get("trigger_types") or []:
                TriggerTypeAPI(**dict(trigger_type, pack="workspaces")).validate()
        elif relpath.startswith("rules/"):
            rule = RuleAPI(**meta).validate()
            validate_criteria(dict(getattr(rule, "criteria", {})))
        elif relpath.startswith("policies/"):
            PolicyAPI(**meta).validate()
        else:
            PackAPI(**meta).validate()
    except (jsonschema.ValidationError, jsonschema.SchemaError, ValueValidationException,
            ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize("name,relpath,change,accepted", CASES, ids=[c[0] for c in CASES])
def test_the_content_validator_accepts_and_refuses_the_table(name, relpath, change, accepted,
                                                             tmp_path):
    assert _devkit_accepts(relpath, _changed_meta(relpath, change), tmp_path) is accepted


@real_tier
@pytest.mark.parametrize("name,relpath,change,accepted", CASES, ids=[c[0] for c in CASES])
def test_stackstorms_registration_accepts_and_refuses_the_table_the_same(name, relpath, change,
                                                                         accepted):
    assert _stackstorm_accepts(relpath, _changed_meta(relpath, change)) is accepted


#: Refused by the content validator on purpose (the pack's own rules), registered by StackStorm.
STRICTER = [
    # StackStorm registers it, then every payload fails validation against it and is dropped
    ("trigger type whose payload_schema is not a schema", SENSOR,
     _trigger_type(payload_schema={"type": "thing"})),
    # house rule: the web UI and st2 run -h show the description
    ("action parameter without description", ACTION, _param("p", type="string")),
    ("rule without description", RULE, _drop("description")),
    # StackStorm registers a rule without "enabled" as disabled, silently
    ("rule without enabled", RULE, _drop("enabled")),
]


@pytest.mark.parametrize("name,relpath,change", STRICTER, ids=[c[0] for c in STRICTER])
def test_the_content_validator_refuses_what_the_house_rules_forbid(name, relpath, change,
                                                                  tmp_path):
    assert _devkit_accepts(relpath, _changed_meta(relpath, change), tmp_path) is False


@real_tier
@pytest.mark.parametrize("name,relpath,change", STRICTER, ids=[c[0] for c in STRICTER])
def test_stackstorm_registers_what_the_content_validator_refuses_on_purpose(name, relpath,
                                                                          change):
    assert _stackstorm_accepts(relpath, _changed_meta(relpath, change)) is True
