"""The Workspaces emulator behaves like the service: state machine, errors, faults, controls."""

import io
import json
import unittest
from unittest import mock

import requests

from workspaces_devkit.emulator import WorkspacesEmulator


class EmulatorTest(unittest.TestCase):
    """Plain HTTP against the emulator."""

    def setUp(self):
        self.now = 1000.0  # the emulator's clock: requests change state as a test moves it
        self.emulator = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.1,
                                           clock=lambda: self.now)
        self.url = self.emulator.start()
        self.addCleanup(self.emulator.stop)

    def test_capability_request_walks_the_state_machine(self):
        created = requests.post(self.url + "/capability/null/request/create", json={"a": 1})
        self.assertEqual(created.status_code, 201)
        request_id = created.json()["id"]
        self.assertEqual(created.json()["state"], "Created")
        submitted = requests.post(self.url + "/capability/request/%d/submit" % request_id)
        self.assertEqual(submitted.json()["state"], "Submitted")
        states = []
        for seconds in (0.04, 0.02, 0.09, 0.02):  # Submitted 0.05 s, then Executing 0.1 s
            self.now += seconds
            states.append(requests.get(
                self.url + "/capability/request/%d" % request_id).json()["state"])
        self.assertEqual(states, ["Submitted", "Executing", "Executing", "Complete"])
        again = requests.post(self.url + "/capability/request/%d/submit" % request_id)
        self.assertEqual(again.status_code, 409)

    def test_unknown_names_and_ids_are_404_with_a_message(self):
        answer = requests.post(self.url + "/capability/nope/request/create", json={})
        self.assertEqual(answer.status_code, 404)
        self.assertIn("capability nope does not exist", answer.json()["message"])
        self.assertEqual(requests.get(self.url + "/capability/request/999").status_code, 404)
        self.assertEqual(requests.get(self.url + "/workflows/x/requests/1").status_code, 404)

    def test_injected_faults(self):
        self.emulator.inject("status", count=2, status=502)
        self.assertEqual(requests.get(self.url + "/workflows").status_code, 502)
        self.assertEqual(requests.get(self.url + "/workflows").status_code, 502)
        self.assertEqual(requests.get(self.url + "/workflows").status_code, 200)
        self.emulator.inject("garbage")
        with self.assertRaises(ValueError):
            requests.get(self.url + "/workflows").json()
        self.emulator.inject("drop")
        with self.assertRaises(requests.exceptions.ConnectionError):
            requests.get(self.url + "/workflows")
        self.emulator.inject("slow", seconds=0.3)
        with self.assertRaises(requests.exceptions.ReadTimeout):
            requests.get(self.url + "/workflows", timeout=0.1)

    def test_http_controls_and_connection_count(self):
        session = requests.Session()
        for _ in range(5):
            session.get(self.url + "/workflows")
        self.assertEqual(self.emulator.connections, 1)
        answer = session.post(self.url + "/_emulator/faults",
                              data=json.dumps({"kind": "status", "count": 1, "status": 504}))
        self.assertEqual(answer.json()["pending_faults"], 1)
        self.assertEqual(session.get(self.url + "/workflows").status_code, 504)
        log = session.get(self.url + "/_emulator/log").json()["log"]
        self.assertEqual([entry["status"] for entry in log], [200] * 5 + [504])
        session.post(self.url + "/workflows/null/requests/create", json={})
        self.assertEqual(len(session.get(self.url + "/_emulator/requests").json()["requests"]), 1)

    def test_a_client_that_went_away_is_no_error(self):
        """The fault tests' read timeouts close connections before a slow answer is written:
        a service takes that in its stride, without a traceback on stderr."""
        server = self.emulator._server
        with mock.patch("sys.stderr", new_callable=io.StringIO) as stderr:
            for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
                try:
                    raise gone
                except OSError:
                    server.handle_error(None, ("127.0.0.1", 1))
            self.assertEqual(stderr.getvalue(), "")
            try:
                raise ValueError("a bug in a handler")
            except ValueError:
                server.handle_error(None, ("127.0.0.1", 1))
            self.assertIn("ValueError: a bug in a handler", stderr.getvalue())
