"""The local runner's concurrency policies, as StackStorm's scheduler applies them."""

import threading
from collections import namedtuple

import pytest

from workspaces_devkit.runner.policies import ConcurrencyPolicies, PolicyCanceled

Policy = namedtuple("Policy", "ref meta resource_ref policy_type parameters")


class FakePack(object):
    """A pack with only policies."""

    def __init__(self, *policies):
        self.policies = list(policies)


def concurrency(action, threshold, on_limit="delay", enabled=True):
    """An ``action.concurrency`` policy on ``action``."""
    return Policy("workspaces.%s_limit" % action, {"enabled": enabled}, action,
                  "action.concurrency", {"threshold": threshold, "action": on_limit})


def test_below_the_threshold_runs_go_on_without_a_delay():
    policies = ConcurrencyPolicies(FakePack(concurrency("p.a", 2)))
    heard = []
    with policies.admit("p.a", heard.append):
        with policies.admit("p.a", heard.append):
            assert policies.active("p.a") == 2
    assert heard == [] and policies.active("p.a") == 0


def test_at_the_threshold_a_delay_policy_holds_the_run_until_a_slot_frees():
    policies = ConcurrencyPolicies(FakePack(concurrency("p.a", 1)))
    heard = []
    entered = threading.Event()
    held = threading.Event()

    def hear(status):
        heard.append(status)
        if status == "delayed":
            held.set()

    def second():
        with policies.admit("p.a", hear):
            entered.set()

    with policies.admit("p.a"):
        thread = threading.Thread(target=second)
        thread.start()
        assert held.wait(10), "the second run was neither delayed nor let in"
        assert not entered.is_set() and heard == ["delayed"]
        assert policies.active("p.a") == 1
    thread.join(10)
    assert entered.is_set() and heard == ["delayed", "requested"]


def test_a_cancel_policy_cancels_the_run_over_the_threshold():
    policies = ConcurrencyPolicies(FakePack(concurrency("p.a", 1, on_limit="cancel")))
    heard = []
    with policies.admit("p.a"):
        with pytest.raises(PolicyCanceled) as raised:
            with policies.admit("p.a", heard.append):
                pass
    assert heard == ["canceling"]
    assert "workspaces.p.a_limit" in str(raised.value)


def test_other_actions_and_disabled_policies_are_not_limited():
    policies = ConcurrencyPolicies(FakePack(concurrency("p.a", 0, enabled=False),
                                            concurrency("p.b", 0)))
    with policies.admit("p.a"), policies.admit("p.c"):
        assert policies.active("p.a") == 1


def test_the_pack_policies_are_read():
    import os
    from workspaces_devkit.content import load_pack

    pack = load_pack(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    policies = ConcurrencyPolicies(pack)
    assert policies.policy_for("workspaces.capability_create_and_run")[1:] == (10, "delay")
    assert policies.policy_for("workspaces.workflow_create_and_run")[1:] == (10, "delay")
