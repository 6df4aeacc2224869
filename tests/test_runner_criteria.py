"""The local runner's rule matching agrees with StackStorm's criteria operators (a table of cases).

Expected values follow st2common/operators.py and st2reactor's rule filter: the operator gets the
payload value and the (rendered) pattern; an error inside an operator means "no match"; the
payload of a trigger with no payload matches no criteria.
"""

import datetime
import os

import pytest

from parity_support import real_tier
from workspaces_devkit.content import load_pack
from workspaces_devkit.runner.operators import OPERATORS, evaluate
from workspaces_devkit.runner.rules import RuleEngine

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Ago(object):
    """A time ``seconds`` before the test runs (a fixed test id, so parallel workers agree)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __repr__(self):
        return "%ds_ago" % self.seconds

    def isoformat(self):
        """The moment, as the ISO text a payload carries."""
        return (datetime.datetime.utcnow() - datetime.timedelta(seconds=self.seconds)).isoformat()


RECENT = _Ago(30)
OLD = _Ago(3 * 3600)

CASES = [
    ("equals", "Pass", "Pass", True), ("equals", "Pass", "pass", False),
    ("equals", True, True, True), ("equals", 1, "1", False), ("equals", None, None, False),
    ("nequals", "a", "b", True), ("nequals", "a", "a", False),
    ("iequals", "SemiPass", "semipass", True), ("iequals", 5, "5", False),
    ("contains", "2017.1.00886.L", "00886", True), ("contains", ["a", "b"], "b", True),
    ("ncontains", "abc", "x", True), ("icontains", "ABC", "b", True),
    ("incontains", "ABC", "b", False),
    ("startswith", "VLBA_TL015A", "VLBA_", True), ("istartswith", "vlba_x", "VLBA", True),
    ("endswith", "file.tar", ".tar", True), ("iendswith", "FILE.TAR", ".tar", True),
    ("lessthan", 5, 10, True), ("lessthan", 10, 5, False), ("lessthan", "a", 5, False),
    ("greaterthan", 2.5, 1, True), ("gt", 2, 1, True), ("lt", 1, 2, True),
    ("matchwildcard", "VLBA_TL015A_1.idifits", "VLBA_*.idifits", True),
    ("matchwildcard", "notes.txt", "*.fits", False),
    ("matchregex", "uid://A002/Xc7111c/X3979", r"uid://A\d{3}/", True),
    ("matchregex", "x uid://A002", r"uid://", False),
    ("regex", "x uid://A002", r"uid://", True), ("iregex", "X UID://", r"uid://", True),
    ("timediff_lt", RECENT, 3600, True), ("timediff_lt", OLD, 3600, False),
    ("timediff_gt", OLD, 3600, True),
    ("exists", "x", None, True), ("exists", None, None, False), ("nexists", None, None, True),
    ("inside", "Pass", ["Pass", "SemiPass"], True), ("inside", "Fail", ["Pass"], False),
    ("ninside", "Fail", ["Pass"], True),
    ("eq", "a", "a", True), ("ieq", "A", "a", True), ("neq", "a", "b", True),
    # a None pattern, a None value, a wrong type: no match (an error in an operator is no match)
    ("equals", "a", None, False), ("nequals", "a", None, True), ("contains", None, "a", False),
    ("startswith", 5, "5", False), ("inside", "a", None, False), ("nexists", "x", None, False),
    ("lessthan", "10", "9", True), ("equals", 5, 5.0, True), ("Equals", "a", "a", True),
    ("in", "a", ["a"], True), ("nin", "a", ["b"], True), ("td_gt", OLD, 60, True),
]


@pytest.mark.parametrize("operator,value,pattern,expected", CASES)
def test_operator_table(operator, value, pattern, expected):
    if isinstance(value, _Ago):
        value = value.isoformat()
    assert evaluate({"type": operator, "pattern": pattern}, value, pattern) is expected


def _stackstorm_matches(operator, value, pattern):
    from st2common import operators

    if isinstance(value, _Ago):
        value = value.isoformat()
    try:  # st2reactor/rules/filter.py _check_criterion: an operator's error is no match
        return bool(operators.get_operator(operator)(value=value, criteria_pattern=pattern))
    except Exception:
        return False


@real_tier
@pytest.mark.parametrize("operator,value,pattern,expected", CASES)
def test_stackstorm_operators_give_the_table_the_same(operator, value, pattern, expected):
    # (search needs the rule filter's own check function: its cases are in FILTER_CASES)
    assert _stackstorm_matches(operator, value, pattern) is expected


@real_tier
def test_the_devkit_knows_exactly_stackstorms_operators():
    from st2common import operators

    assert set(operators.get_allowed_operators()) == set(OPERATORS)


PAYLOAD = {"n": 3, "code": "2099.A.00001.S",
           "files": [{"name": "a.fits", "size": 5}, {"name": "b.txt", "size": 1}],
           "none": None, "nested": {"level": "Pass"}, "codes": ["Pass", "SemiPass"], "empty": []}
SEARCH_ANY = {"item.name": {"type": "matchwildcard", "pattern": "*.fits"},
              "item.size": {"type": "gt", "pattern": 4}}
#: Whole criteria, as the rules engine checks them (st2reactor/rules/filter.py): key lookup,
#: pattern rendering (typed through to_complex when it can be), operators, search.
FILTER_CASES = [
    ("rendered number pattern", {"trigger.n": {"type": "equals", "pattern": "{{ 3 }}"}}, True),
    ("rendered arithmetic", {"trigger.n": {"type": "lessthan", "pattern": "{{ (2 * 2) }}"}},
     True),
    ("pattern from the payload", {"trigger.code": {"type": "equals",
                                                   "pattern": "{{ trigger.code }}"}}, True),
    ("text pattern stays text", {"trigger.code": {"type": "startswith", "pattern": "2099."}},
     True),
    ("nested key", {"trigger.nested.level": {"type": "equals", "pattern": "Pass"}}, True),
    ("missing key is None", {"trigger.nothing": {"type": "nexists", "pattern": "x"}}, True),
    ("null value exists not", {"trigger.none": {"type": "exists", "pattern": "x"}}, False),
    ("list pattern rendered", {"trigger.nested.level": {
        "type": "inside", "pattern": "{{ trigger.codes }}"}}, True),
    ("all criteria must hold", {"trigger.n": {"type": "equals", "pattern": 3},
                                "trigger.code": {"type": "equals", "pattern": "x"}}, False),
    ("search any", {"trigger.files": {"type": "search", "condition": "any",
                                      "pattern": SEARCH_ANY}}, True),
    ("search all", {"trigger.files": {"type": "search", "condition": "all",
                                      "pattern": SEARCH_ANY}}, False),
    ("search all2any", {"trigger.files": {"type": "search", "condition": "all2any",
                                          "pattern": SEARCH_ANY}}, False),
    ("search all2any: every item matches some criterion", {"trigger.files": {
        "type": "search", "condition": "all2any", "pattern": {
            "item.name": {"type": "equals", "pattern": "a.fits"},
            "item.size": {"type": "equals", "pattern": 7}}}}, False),
    ("search all over an empty list", {"trigger.empty": {"type": "search", "condition": "all",
                                                         "pattern": SEARCH_ANY}}, True),
    ("search any over an empty list", {"trigger.empty": {"type": "search", "condition": "any",
                                                         "pattern": SEARCH_ANY}}, False),
    ("search any2any", {"trigger.files": {"type": "search", "condition": "any2any", "pattern": {
        "item.name": {"type": "equals", "pattern": "zzz"},
        "item.size": {"type": "equals", "pattern": 1}}}}, True),
    # a child pattern is rendered for each item (typed through to_complex), with ``item`` in
    # the context and not ``trigger``; a child key outside ``item.`` finds no value
    ("search child pattern rendered", {"trigger.files": {"type": "search", "condition": "any",
                                                         "pattern": {"item.size": {
                                                             "type": "gt",
                                                             "pattern": "{{ (2 * 2) }}"}}}}, True),
    ("search child pattern from its item", {"trigger.files": {
        "type": "search", "condition": "all", "pattern": {
            "item.name": {"type": "equals", "pattern": "{{ item.name }}"}}}}, True),
    ("search child pattern cannot read the trigger", {"trigger.files": {
        "type": "search", "condition": "any", "pattern": {
            "item.name": {"type": "equals", "pattern": "{{ trigger.code }}"}}}}, False),
    ("search child key outside item.", {"trigger.files": {
        "type": "search", "condition": "any", "pattern": {
            "name": {"type": "equals", "pattern": "a.fits"}}}}, False),
]


def _rule(criteria):
    from workspaces_devkit.content import RuleSpec

    meta = {"name": "r", "pack": "p", "enabled": True, "criteria": criteria,
            "trigger": {"type": "x.y"}, "action": {"ref": "core.noop"}}
    return RuleSpec("r.yaml", meta, "p.r", "r", meta, True)


@pytest.mark.parametrize("name,criteria,expected", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_criteria_table(name, criteria, expected):
    engine = RuleEngine(load_pack(PACK_DIR))
    assert engine._check(_rule(criteria), PAYLOAD).matched is expected


@real_tier
@pytest.mark.parametrize("name,criteria,expected", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_stackstorm_rule_filter_gives_the_criteria_table_the_same(name, criteria, expected):
    from types import SimpleNamespace

    from st2reactor.rules.filter import RuleFilter
    from st2tests import config as tests_config

    tests_config.parse_args()  # the filter's datastore lookup reads system_user from the config
    rule = SimpleNamespace(ref="p.r", name="r", pack="p", id="r1", uid="rule:p:r", enabled=True,
                           criteria=criteria)
    instance = SimpleNamespace(id="t1", payload=PAYLOAD, trigger="x.y")
    trigger = {"type": "x.y", "name": "y", "pack": "x", "ref": "x.y"}
    assert RuleFilter(instance, trigger, rule).filter() is expected


def test_every_stackstorm_operator_is_known():
    stackstorm = {"equals", "nequals", "iequals", "contains", "icontains", "ncontains",
                  "incontains", "startswith", "istartswith", "endswith", "iendswith",
                  "lessthan", "greaterthan", "matchwildcard", "matchregex", "regex", "iregex",
                  "timediff_lt", "timediff_gt", "exists", "nexists", "inside", "ninside",
                  "search"}
    assert stackstorm <= set(OPERATORS)


def matches(payload):
    """{rule ref: matched} for a workspaces.alma_calibration payload with this pack's rules."""
    engine = RuleEngine(load_pack(PACK_DIR))
    return {m.rule_ref: m for m in engine.match("workspaces.alma_calibration", payload)}


def test_pack_rules_split_calibrateable_and_not():
    base = {"mous_uid": "uid://A001/X1284/X265f", "project_code": "2017.1.00886.L",
            "eb_uids": ["uid://A002/Xc7111c/X3979", "uid://A002/Xc7111c/X397a"], "eb_count": 2,
            "delivery_id": "d1", "delivery_name": "2017.1.00886.L_uid___A001_X1284_X265f",
            "delivered_at": "2026-11-25T00:00:00Z"}
    yes = matches(dict(base, calibrateable=True))
    assert yes["workspaces.alma_calibration_ingest"].matched
    assert not yes["workspaces.alma_mark_not_calibrateable"].matched
    no = matches(dict(base, calibrateable=False))
    mark = no["workspaces.alma_mark_not_calibrateable"]
    assert mark.matched and not no["workspaces.alma_calibration_ingest"].matched
    assert mark.parameters == {"eb_uids": base["eb_uids"]}, "the list must reach the action whole"
    without_ebs = matches(dict(base, calibrateable=False, eb_uids=[], eb_count=0))
    assert not without_ebs["workspaces.alma_mark_not_calibrateable"].matched, \
        "a delivery listing no EBs has nothing to mark"


def test_empty_payload_matches_no_criteria():
    assert not any(m.matched for m in matches({}).values())


def test_rendering_of_vlba_rule_parameters():
    engine = RuleEngine(load_pack(PACK_DIR))
    [match] = engine.match("workspaces.vlba_data", {
        "project_code": "TL015A", "directory": "/data/vlba/TL015A",
        "files": ["a.idifits", "b.idifits"], "file_count": 2, "total_bytes": 10})
    assert match.matched and match.error is None
    assert match.parameters["workflow_name"] == "ingest_obs"
    assert match.parameters["arguments"]["files"] == "a.idifits,b.idifits"
    assert match.parameters["arguments"]["project_code"] == "TL015A"
    # where the batch is, not the files themselves: nothing is uploaded from the action runner
    assert match.parameters["arguments"]["directory"] == "/data/vlba/TL015A"
    assert "files" not in match.parameters


def test_asdm_rule_for_an_eb_without_mous_never_sends_the_text_none():
    engine = RuleEngine(load_pack(PACK_DIR))
    [match] = engine.match("workspaces.alma_asdm", {
        "eb_uid": "uid://A002/Xc7111c/X3979", "project_code": "2017.1.00886.L", "mous_uid": "",
        "mous_found": False, "qa0_status": "Pass", "end_time": "2026-11-25T00:00:00Z"},
        trigger_parameters={"qa0_statuses": ["Pass", "SemiPass"]})
    assert match.matched and match.error is None
    assert "'None'" not in repr(match.parameters), "no text 'None' (null is fine)"
    assert match.parameters["parameters"]["mous_uid"] is None
    assert evaluate({"type": "equals", "pattern": False}, False, False), \
        "a rule can select EBs without MOUS with trigger.mous_found equals false"


def test_asdm_rule_reingests_reconciled_and_new_ebs_alike():
    engine = RuleEngine(load_pack(PACK_DIR))
    payload = {"eb_uid": "uid://A002/Xc7111c/X3979", "project_code": "2017.1.00886.L",
               "mous_uid": "uid://A001/X1284/X265f", "mous_found": True, "qa0_status": "Pass",
               "end_time": "2026-11-01T00:00:00Z"}
    for source in ("new", "reconcile"):
        [match] = engine.match("workspaces.alma_asdm", dict(payload, source=source),
                               trigger_parameters={"qa0_statuses": ["Pass", "SemiPass"]})
        assert match.matched and match.error is None, source
        assert match.parameters["parameters"]["product_locator"] == payload["eb_uid"]
    criterion = {"type": "equals", "pattern": "reconcile"}
    assert evaluate(criterion, "reconcile", "reconcile"), "a rule can select reconciled EBs"
    assert not evaluate(criterion, "new", "reconcile")
