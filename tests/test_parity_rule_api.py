"""Parity table: which rules the local st2 API's rule store accepts (POST /rules), and the words of
its 400s, against StackStorm's rule API (st2api/controllers/v1/rules.py ``post``: the body as
``RuleAPI`` validated against its schema, then st2common/models/api/rule.py ``to_model``: trigger
parameters against the trigger type's ``parameters_schema``, the criteria through
st2common/validators/api/reactor.py ``validate_criteria``).

StackStorm reads the trigger type from MongoDB; in the real tier its own validation function is
called with this pack's trigger type (``util_schema.validate`` as ``validate_trigger_parameters``
calls it) instead, and an unknown trigger type is refused with the controller's words.

``WARNED`` lists rules StackStorm stores although its rules engine cannot carry them out as
written (an action the pack does not have, an action parameter the action does not have, a
criterion on a field the payload does not have): the local API stores them too and names each
problem in one warning (what StackStorm does with such a rule at enforcement is held to
StackStorm's enforcer in tests/test_parity_rule_enforcement.py). ``STRICTER`` lists what the
local API still refuses on purpose although StackStorm stores it (the pack's content checks); the
real tier checks StackStorm does accept those, so the difference stays known.
"""

import copy
import os

import pytest

from parity_support import Raised, check, outcome, real_tier
from workspaces_devkit.content import load_pack
from workspaces_devkit.st2api.rule_store import RuleStore

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = "workspaces.capability_create_and_run"
TRIGGER = "workspaces.alma_calibration"
ACCEPTED = "accepted"


def _body():
    return {"name": "parity_rule", "pack": "workspaces", "enabled": True,
            "description": "A rule written in the web UI.",
            "trigger": {"type": TRIGGER, "parameters": {}},
            "criteria": {"trigger.project_code": {"type": "equals", "pattern": "2099.A.1.S"}},
            "action": {"ref": ACTION, "parameters": {"capability_name": "null"}}}


def _changed(change):
    body = _body()
    change(body)
    return body


def _set(path, value):
    def change(body):
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _drop(path):
    def change(body):
        node = body
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


NESTED = {"path": "{{ trigger.path }}", "size": "{{ trigger.size }}"}
FILE_TRIGGER = {"type": "workspaces.file_detected", "parameters": {"directory": "/data/in"}}

CASES = [
    ("the pack's kind of rule", _body(), ACCEPTED),
    # issue 20: nested Jinja in an object parameter is stored (and later sent as text)
    ("nested Jinja in an object parameter",
     _changed(lambda b: b.update(trigger=FILE_TRIGGER, criteria={}, action={
         "ref": ACTION, "parameters": {"capability_name": "null", "parameters": NESTED}})),
     ACCEPTED),
    ("a site rule in pack default", _changed(_set(["pack"], "default")), ACCEPTED),
    ("no description", _changed(_drop(["description"])), ACCEPTED),
    ("no criteria", _changed(_drop(["criteria"])), ACCEPTED),
    ("disabled", _changed(_set(["enabled"], False)), ACCEPTED),
    ("tags", _changed(_set(["tags"], [{"name": "site", "value": "vla"}])), ACCEPTED),
    ("no name", _changed(_drop(["name"])), Raised("Exception", "'name' is a required property")),
    ("no action", _changed(_drop(["action"])),
     Raised("Exception", "'action' is a required property")),
    ("no trigger type", _changed(_set(["trigger"], {"parameters": {}})),
     Raised("Exception", "'type' is a required property")),
    ("an unknown top-level field", _changed(_set(["unknown"], 1)),
     Raised("Exception", "Additional properties are not allowed ('unknown' was unexpected)")),
    ("an unknown action field", _changed(_set(["action", "extra"], 1)),
     Raised("Exception", "Additional properties are not allowed ('extra' was unexpected)")),
    ("enabled as text", _changed(_set(["enabled"], "yes")),
     Raised("Exception", "'yes' is not of type 'boolean'")),
    ("criteria not a mapping", _changed(_set(["criteria"], ["x"])),
     Raised("Exception", "['x'] is not of type 'object'")),
    ("an unknown trigger type",
     _changed(_set(["trigger"], {"type": "workspaces.no_such_trigger"})),
     Raised("Exception", 'Trigger "workspaces.no_such_trigger" defined in the rule does not '
                         'exist in system or it\'s missing required "parameters" attribute')),
    ("a trigger parameter outside its enum",
     _changed(_set(["trigger"], {"type": "workspaces.alma_asdm",
                                 "parameters": {"qa0_statuses": ["Great"]}})),
     Raised("Exception", "'Great' is not one of")),
    ("a criterion without operator", _changed(_drop(["criteria", "trigger.project_code", "type"])),
     Raised("Exception", "Operator not specified for field: trigger.project_code")),
    ("an unknown operator", _changed(_set(["criteria", "trigger.project_code", "type"], "like")),
     Raised("Exception", "For field: trigger.project_code, operator like not in list of allowed "
                         "operators: ")),
    ("a criterion without pattern",
     _changed(_drop(["criteria", "trigger.project_code", "pattern"])),
     Raised("Exception", "For field: trigger.project_code, no pattern specified for operator "
                         "equals")),
]

#: Stored by both; the local API names each problem in one warning (field, part of the words).
WARNED = [
    ("an action this pack does not have", _changed(_set(["action", "ref"], "workspaces.nope")),
     "action.ref", "'workspaces.nope' is not an action of this pack: StackStorm stores the rule, "
                   "but every enforcement of it fails (Action \"workspaces.nope\" doesn't exist)"),
    ("an action parameter the action does not have",
     _changed(_set(["action", "parameters", "nope"], 1)), "action.parameters.nope",
     "has no parameter 'nope': StackStorm stores the rule, but every enforcement of it fails "
     "(Additional properties are not allowed ('nope' was unexpected))"),
    ("a criterion on a field the payload does not have",
     _changed(_set(["criteria", "trigger.not_in_payload"], {"type": "exists", "pattern": "x"})),
     "criteria.trigger.not_in_payload",
     "trigger.not_in_payload is not in the payload_schema of workspaces.alma_calibration: "
     "StackStorm stores the rule, but the criterion sees no value (None) on every trigger"),
]
CASES += [(name, body, ACCEPTED) for name, body, _, _ in WARNED]

#: Refused by the local API (the pack's content checks), stored by StackStorm.
STRICTER = [
    ("a required action parameter not given", _changed(_drop(["action", "parameters",
                                                              "capability_name"])),
     "action.parameters.capability_name: required by workspaces.capability_create_and_run and "
     "not given"),
    ("an action parameter reading a field the payload does not have",
     _changed(_set(["action", "parameters", "capability_name"], "{{ trigger.not_in_payload }}")),
     "{{ trigger.not_in_payload }} is not in the payload_schema of workspaces.alma_calibration"),
]


def _devkit_validates(body, tmp_path, warnings=None):
    store = RuleStore(load_pack(PACK_DIR), rules_dir=str(tmp_path / "overlay"))
    store._validated(copy.deepcopy(body), warnings)
    return ACCEPTED


def _stackstorm_validates(body):
    from st2common.constants.triggers import SYSTEM_TRIGGER_TYPES
    from st2common.models.api.rule import RuleAPI
    from st2common.util import schema as util_schema
    from st2common.validators.api.reactor import validate_criteria

    rule = RuleAPI(**copy.deepcopy(body)).validate()  # what st2api's router does with the body
    trigger = getattr(rule, "trigger", {})
    types = load_pack(PACK_DIR).trigger_types()
    if trigger["type"] not in types and trigger["type"] not in SYSTEM_TRIGGER_TYPES:
        # TriggerService.create_trigger_db_from_rule finds no type; rules.py post's words
        raise ValueError('Trigger "%s" defined in the rule does not exist in system or it\'s '
                         'missing required "parameters" attribute' % trigger["type"])
    schema = (types.get(trigger["type"]) or {}).get("parameters_schema")
    if schema:  # reactor.py validate_trigger_parameters, with the type read from the pack
        util_schema.validate(instance=trigger.get("parameters", {}), schema=schema,
                             cls=util_schema.CustomValidator, use_default=True,
                             allow_default_none=True)
    validate_criteria(dict(getattr(rule, "criteria", {})))
    return ACCEPTED


@pytest.mark.parametrize("name,body,expected", CASES, ids=[c[0] for c in CASES])
def test_the_local_api_accepts_and_refuses_the_table(name, body, expected, tmp_path):
    check(expected, outcome(_devkit_validates, body, tmp_path))


@real_tier
@pytest.mark.parametrize("name,body,expected", CASES, ids=[c[0] for c in CASES])
def test_stackstorms_rule_api_accepts_and_refuses_the_table_the_same(name, body, expected):
    check(expected, outcome(_stackstorm_validates, body))


@pytest.mark.parametrize("name,body,field,says", WARNED, ids=[c[0] for c in WARNED])
def test_the_local_api_stores_with_one_warning_naming_the_problem(name, body, field, says,
                                                                  tmp_path):
    warnings = []
    check(ACCEPTED, outcome(_devkit_validates, body, tmp_path, warnings))
    assert [w.field for w in warnings] == [field]
    assert says in warnings[0].message


def test_the_pack_kind_of_rule_is_stored_without_warnings(tmp_path):
    warnings = []
    check(ACCEPTED, outcome(_devkit_validates, _body(), tmp_path, warnings))
    assert warnings == []


@pytest.mark.parametrize("name,body,says", STRICTER, ids=[c[0] for c in STRICTER])
def test_the_local_api_refuses_what_the_pack_checks_forbid(name, body, says, tmp_path):
    check(Raised("ApiError", says), outcome(_devkit_validates, body, tmp_path))


@real_tier
@pytest.mark.parametrize("name,body,says", STRICTER, ids=[c[0] for c in STRICTER])
def test_stackstorm_stores_what_the_local_api_refuses_on_purpose(name, body, says):
    check(ACCEPTED, outcome(_stackstorm_validates, body))
