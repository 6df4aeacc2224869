"""Fault suite (Guarantee G5): Workspaces down, slow, answering 5xx or garbage, for both actions.

What a user must be able to count on (docs/GUARANTEES.md):
- one action run never creates more than one Workspaces request, whatever fails;
- a failure says what failed; when a request may exist, the result names it (``request_id``) or
  says the outcome is unknown: it never claims "nothing was created" while a request exists;
- failed reads while waiting are retried until ``wait_timeout``; a blip does not fail the run.
"""

import threading
import time

import pytest
from pack_test_support import closed_port_url, workspaces_config
from st2tests.base import BaseActionTestCase

from capability_create_and_run import CapabilityCreateAndRunAction
from workflow_create_and_run import WorkflowCreateAndRunAction
from workspaces_devkit.emulator import WorkspacesEmulator

pytestmark = pytest.mark.fault

NOTHING_CREATED = "nothing was created"


def _failed(output):
    """Return the result dict of a failed run, or None when the run succeeded."""
    if isinstance(output, tuple) and len(output) == 2 and output[0] is False:
        return output[1]
    return None


class _FaultBase(BaseActionTestCase):
    """Emulator on loopback plus helpers that check the no-duplicate guarantee."""

    def setUp(self):
        BaseActionTestCase.setUp(self)
        self.emulator = WorkspacesEmulator(submitted_seconds=0.01, executing_seconds=0.05)
        self.url = self.emulator.start()
        self.addCleanup(self.emulator.stop)

    def action(self, **config):
        """An action instance against the emulator with short timeouts."""
        base = workspaces_config(self.url, read_timeout_seconds=0.5, retry_count=2,
                                 retry_backoff_seconds=0.01)
        base.update(config)
        return self.get_action_instance(config=base)

    def run_action(self, action, **params):
        """Run the action with its name parameter filled in."""
        raise NotImplementedError

    def assert_truthful(self, output):
        """At most one request exists; a failure never hides a request that exists."""
        requests = self.emulator.requests()
        self.assertLessEqual(len(requests), 1, "one run created %d requests" % len(requests))
        result = _failed(output)
        if result is None:
            self.assertEqual(len(requests), 1)
            self.assertEqual(output[1]["request_id"], requests[0]["id"])
            return
        self.assertTrue(result.get("error") or result.get("message"), result)
        if requests:
            said_nothing = NOTHING_CREATED in str(result.get("message", "")) or \
                NOTHING_CREATED in str(result.get("hint", ""))
            self.assertTrue(result.get("request_id") == requests[0]["id"] or not said_nothing,
                            "request %s exists in Workspaces but the result says: %s"
                            % (requests[0]["id"], result.get("message")))

    def wait_until_every_call_is_answered(self):
        """Wait until the emulator has finished every call it received (its log has them all)."""
        deadline = time.time() + 20
        while self.emulator.api_calls < self.calls_received["calls"]:
            self.assertLess(time.time(), deadline, "the emulator never finished a call")
            time.sleep(0.01)

    def _each_fault_on_call(self, call_number, kind, **inject):
        """Let ``call_number - 1`` calls through, then inject one fault, and run the action."""
        original = self.emulator.next_fault
        state = self.calls_received = {"calls": 0}

        def next_fault():
            state["calls"] += 1
            if state["calls"] == call_number:
                return dict({"kind": kind, "status": 503, "seconds": 1.0}, **inject)
            return original()

        self.emulator.next_fault = next_fault
        return self.run_action(self.action())

    def test_service_down_fails_clearly_and_creates_nothing(self):
        down = workspaces_config(closed_port_url(), retry_count=1, retry_backoff_seconds=0.01)
        output = self.run_action(self.get_action_instance(config=down))
        result = _failed(output)
        self.assertIsNotNone(result)
        self.assertIn("unreachable", result["error"])
        self.assertIsNone(result["request_id"])

    def test_5xx_on_each_call_never_duplicates_and_never_hides_a_request(self):
        for call_number in (1, 2, 3):
            for status in (500, 502, 503):
                self.emulator.reset()
                output = self._each_fault_on_call(call_number, "status", status=status)
                self.assert_truthful(output)

    def test_garbage_answer_on_each_call_never_hides_a_request(self):
        for call_number in (1, 2, 3):
            self.emulator.reset()
            output = self._each_fault_on_call(call_number, "garbage")
            self.assert_truthful(output)

    def test_dropped_connection_on_each_call_never_duplicates(self):
        for call_number in (1, 2, 3):
            self.emulator.reset()
            output = self._each_fault_on_call(call_number, "drop")
            self.assert_truthful(output)

    @pytest.mark.slow
    def test_slow_answer_past_the_read_timeout_never_hides_a_request(self):
        for call_number in (1, 2):
            self.emulator.reset()
            output = self._each_fault_on_call(call_number, "slow", seconds=0.8)
            self.wait_until_every_call_is_answered()  # the slow one may still create a request
            self.assert_truthful(output)

    def test_slow_answer_within_the_read_timeout_succeeds(self):
        self.emulator.latency = 0.1
        output = self.run_action(self.action(read_timeout_seconds=2))
        self.assertIsNone(_failed(output), output)
        self.assert_truthful(output)

    def test_outage_while_waiting_is_ridden_out(self):
        action = self.action()
        outputs = []
        thread = threading.Thread(target=lambda: outputs.append(self.run_action(
            action, wait=True, wait_timeout=60, poll_interval=0.05,
            **self.slow_payload())))
        thread.start()
        deadline = time.time() + 20
        while time.time() < deadline and not any(
                e["path"].endswith("/submit") for e in list(self.emulator.log)):
            time.sleep(0.01)
        self.emulator.inject("status", count=12, status=503)
        self.emulator.inject("drop", count=6)
        self.emulator.inject("garbage", count=2)
        thread.join(60)
        self.assertFalse(thread.is_alive())
        [output] = outputs
        self.assertIsNone(_failed(output), output)
        self.assertEqual(output[1]["state"], "Complete")
        self.assert_truthful(output)


class CapabilityFaultTest(_FaultBase):
    """capability_create_and_run under Workspaces faults."""

    action_cls = CapabilityCreateAndRunAction

    def slow_payload(self):
        """Parameters that keep the emulated request running for a while."""
        return {"parameters": {"emulator_executing_seconds": 1.0}}

    def run_action(self, action, **params):
        """Run ``null`` with ``params``."""
        return action.run(capability_name="null", **params)


class WorkflowFaultTest(_FaultBase):
    """workflow_create_and_run under Workspaces faults."""

    action_cls = WorkflowCreateAndRunAction

    def slow_payload(self):
        """Arguments that keep the emulated request running for a while."""
        return {"arguments": {"emulator_executing_seconds": 1.0}}

    def run_action(self, action, **params):
        """Run ``null`` with ``params``."""
        return action.run(workflow_name="null", **params)


del _FaultBase  # only the concrete classes are collected
