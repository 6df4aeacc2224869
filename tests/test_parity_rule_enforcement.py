"""Parity table: what becomes of a rule when a trigger instance arrives, in the local runner and in
StackStorm's rules engine (st2reactor/rules/filter.py ``RuleFilter.filter``, then
st2reactor/rules/enforcer.py ``RuleEnforcer.enforce``, which requests the execution through
st2common/services/action.py ``create_request``).

The outcomes: the rule does not match (nothing is recorded), its execution is requested, or the
enforcement fails with a ``failure_reason`` on the rule enforcement and no execution. For a
schema error StackStorm's reason is the jsonschema error's text, whose first line is the message
and the rest its schema; the first line is compared.

In the real tier StackStorm's filter and enforcer run with their database reads and writes
replaced: the action and runner are read from this pack's metadata and python_runner's
runner.yaml, the enforcement is kept in a list instead of MongoDB, the trace update is skipped,
and writing the requested execution to the database stands for "requested".
"""

import copy
import os

import pytest

from parity_support import check, real_tier
from workspaces_devkit.content import RuleSpec, load_pack
from workspaces_devkit.runner.rules import RuleEngine

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = "workspaces.capability_create_and_run"
TRIGGER = "workspaces.alma_calibration"
NOT_MATCHED = "not matched"
REQUESTED = "execution requested"
PAYLOAD = {"mous_uid": "uid://A001/X1/X99", "project_code": "2099.A.1.S", "calibrateable": True,
           "eb_uids": ["uid://A002/X1/X1"], "eb_count": 1, "delivery_id": "d-1",
           "delivery_name": "2099.A.1.S_delivery", "delivered_at": "2026-01-01T00:00:00Z"}


class Failed(object):
    """A failed enforcement and its failure_reason (first line)."""

    def __init__(self, reason):
        self.reason = reason

    def __eq__(self, other):
        return isinstance(other, Failed) and other.reason == self.reason

    def __repr__(self):
        return "Failed(%r)" % self.reason


def _rule(**changes):
    meta = {"name": "parity_rule", "pack": "workspaces", "enabled": True,
            "trigger": {"type": TRIGGER, "parameters": {}},
            "criteria": {"trigger.project_code": {"type": "equals", "pattern": "2099.A.1.S"}},
            "action": {"ref": ACTION, "parameters": {
                "capability_name": "null", "parameters": {"mous": "{{ trigger.mous_uid }}"}}}}
    for path, value in changes.items():
        node = meta
        keys = path.split("/")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return meta


CASES = [
    ("the pack's kind of rule", _rule(), REQUESTED),
    ("criteria that do not hold", _rule(**{"criteria/trigger.project_code/pattern": "x"}),
     NOT_MATCHED),
    # issue 20: stored by both rule APIs (with a warning from the local one)
    ("an action the pack does not have", _rule(**{"action/ref": "workspaces.nope"}),
     Failed('Action "workspaces.nope" doesn\'t exist')),
    ("an action parameter the action does not have",
     _rule(**{"action/parameters/nope": 1}),
     Failed("Additional properties are not allowed ('nope' was unexpected)")),
    ("a criterion on a field the payload does not have",
     _rule(**{"criteria/trigger.not_in_payload": {"type": "exists", "pattern": "x"}}),
     NOT_MATCHED),
    ("nexists on a field the payload does not have",
     _rule(**{"criteria/trigger.not_in_payload": {"type": "nexists", "pattern": "x"}}),
     REQUESTED),
    # refused by the local API (STRICTER in test_parity_rule_api.py), stored by StackStorm's
    ("a required action parameter not given",
     _rule(**{"action/parameters/capability_name": None}),
     Failed("'capability_name' is a required property")),
]


def _spec(meta):
    return RuleSpec("rules/parity_rule.yaml", meta, "workspaces.parity_rule", "parity_rule",
                    meta, True)


def _devkit_enforces(meta, payload):
    engine = RuleEngine(load_pack(PACK_DIR))
    match = engine._check(_spec(copy.deepcopy(meta)), payload)
    if not match.matched:
        return NOT_MATCHED
    return Failed(match.error.splitlines()[0]) if match.error else REQUESTED


class _Requested(Exception):
    """Raised where StackStorm writes the requested execution to its database."""


def _stackstorm_enforces(meta, payload):
    from unittest import mock

    import bson
    import yaml
    from st2common.models.api.action import ActionAPI, RunnerTypeAPI
    from st2common.models.db.rule import ActionExecutionSpecDB, RuleDB
    from st2common.models.db.trigger import TriggerInstanceDB
    from st2common.persistence.liveaction import LiveAction
    from st2common.persistence.rule_enforcement import RuleEnforcement
    from st2common.runners.base import get_metadata
    from st2common.util import action_db as action_utils
    from st2common.util import date as date_utils
    from st2reactor.rules.enforcer import RuleEnforcer
    from st2reactor.rules.filter import RuleFilter
    from st2tests import config as tests_config

    tests_config.parse_args()  # the system user and the datastore lookups read the config
    runner = RunnerTypeAPI.to_model(RunnerTypeAPI(**get_metadata("python_runner")[0]))
    actions = {}
    for spec in load_pack(PACK_DIR).actions:
        with open(spec.path) as handle:
            actions[spec.ref] = ActionAPI.to_model(ActionAPI(**dict(
                yaml.safe_load(handle), pack="workspaces")))
    meta = copy.deepcopy(meta)
    rule = RuleDB(id=bson.ObjectId(), name=meta["name"], pack=meta["pack"],
                  enabled=meta["enabled"], criteria=meta["criteria"], trigger=TRIGGER,
                  action=ActionExecutionSpecDB(**meta["action"]))
    instance = TriggerInstanceDB(id=bson.ObjectId(), trigger=TRIGGER, payload=payload,
                                 occurrence_time=date_utils.get_datetime_utc_now(),
                                 status="processed")
    trigger = {"type": TRIGGER, "ref": TRIGGER, "name": "alma_calibration",
               "pack": "workspaces"}
    recorded = []
    with mock.patch.object(action_utils, "get_action_by_ref", side_effect=actions.get), \
            mock.patch.object(action_utils, "get_runnertype_by_name", return_value=runner), \
            mock.patch.object(RuleEnforcement, "add_or_update", side_effect=recorded.append), \
            mock.patch.object(RuleEnforcer, "_update_trace", return_value=None), \
            mock.patch.object(LiveAction, "add_or_update", side_effect=_Requested("requested")):
        if not RuleFilter(instance, trigger, rule).filter():
            assert recorded == []
            return NOT_MATCHED
        RuleEnforcer(instance, rule).enforce()
    (enforcement,) = recorded
    assert enforcement.status == "failed" and not enforcement.execution_id
    if enforcement.failure_reason == "requested":  # validation passed: the request is written
        return REQUESTED
    return Failed(enforcement.failure_reason.splitlines()[0])


@pytest.mark.parametrize("name,meta,expected", CASES, ids=[c[0] for c in CASES])
def test_the_local_runner_enforces_the_table(name, meta, expected):
    check(expected, _devkit_enforces(meta, PAYLOAD))


@real_tier
@pytest.mark.parametrize("name,meta,expected", CASES, ids=[c[0] for c in CASES])
def test_stackstorms_rules_engine_enforces_the_table_the_same(name, meta, expected):
    check(expected, _stackstorm_enforces(meta, PAYLOAD))
