"""A real sensor writes its health, then workspaces.status reads it (issue 19, end to end).

The file monitor watches two directories, one of which does not exist; it polls on a clock the
test moves, dispatches a file, and writes its health records into its datastore. The status
action then reads that same datastore (StackStorm's is one for sensors and actions; here the
sensor's test datastore is handed to the action) and reports what an operator would see.
"""

import contextlib
import io
import os
import shutil
import tempfile
import time
from unittest import mock

from file_monitor_sensor import FileMonitorSensor
from workspaces_devkit.kvstore import KeyValuePair
from pack_test_support import SchemaCheckedSensorTestCase
from status import StatusAction
from status_test_support import rule_doc
from test_action_status import FakeRules, client_factory

API_ENV = {"ST2_API_URL": "http://127.0.0.1:9101", "ST2_AUTH_TOKEN": "execution-token"}
FAILING_POLLS = 10


class SharedDatastore(object):
    """The action's view of the sensor's datastore: ``list_values`` as StackStorm pages it.

    st2tests runs a sensor as one of pack ``tests``, so its local keys are
    ``tests.<Sensor>:<name>``; installed, the same keys are ``workspaces.<Sensor>:<name>``
    (st2common/services/datastore.py ``_get_full_key_prefix``), which is what the action sees.
    """

    def __init__(self, sensor_service):
        self.sensor_service = sensor_service

    def list_values(self, local=True, prefix=None, limit=None, offset=0):
        """One page of the keys under ``prefix``, named as in the installed pack."""
        items = []
        for item in self.sensor_service.list_values(local=False) or []:
            name = item.name
            if name.startswith("tests."):
                name = "workspaces." + name[len("tests."):]
            if not prefix or name.startswith(prefix):
                items.append(KeyValuePair(name, item.value))
        items.sort(key=lambda item: item.name)
        return items[offset:offset + limit] if limit else items[offset:]


class StatusEndToEndTest(SchemaCheckedSensorTestCase):
    """FileMonitorSensor, then workspaces.status over its records."""

    sensor_cls = FileMonitorSensor

    def setUp(self):
        super(StatusEndToEndTest, self).setUp()
        self.root = tempfile.mkdtemp(prefix="status-e2e-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.incoming = os.path.join(self.root, "incoming")
        self.missing = os.path.join(self.root, "mount", "gone")
        os.makedirs(self.incoming)
        self.offset = 0.0

    def now(self):
        """The time of the test's clock (sensor and status)."""
        return time.time() + self.offset

    def status(self, rules, **parameters):
        """Run workspaces.status at the test's time; return (ok, result, table)."""
        action = StatusAction(config={}, action_service=SharedDatastore(self.sensor_service))
        action.make_client = client_factory(FakeRules(rules))
        out = io.StringIO()
        with mock.patch.dict("os.environ", API_ENV), \
                mock.patch("workspaces_pack.flows.status.time.time", return_value=self.now()), \
                contextlib.redirect_stdout(out):
            ok, result = action.run(**parameters)
        return ok, result, out.getvalue()

    def test_a_missing_directory_shows_in_status_until_it_is_mounted_and_a_stop_shows_stalled(
            self):
        sensor = self.get_sensor_instance()
        sensor.clock = self.now
        interval = sensor.get_poll_interval()
        good = self.add_trigger(sensor, "workspaces.file_detected",
                                {"directory": self.incoming, "settle_seconds": 0})
        bad = self.add_trigger(sensor, "workspaces.file_detected",
                               {"directory": self.missing, "pattern": "*.tar"})
        rules = [rule_doc("incoming_ingest", "workspaces.file_detected", good["ref"],
                          good["parameters"]),
                 rule_doc("mount_ingest", "workspaces.file_detected", bad["ref"],
                          bad["parameters"])]
        sensor.setup()
        sensor.poll()
        with open(os.path.join(self.incoming, "a.tar"), "wb") as handle:
            handle.write(b"data")
        for _ in range(FAILING_POLLS):
            self.offset += interval
            sensor.poll()
        self.offset += 600  # the heartbeat is due: quiet records are rewritten at this poll
        sensor.poll()
        self.assert_dispatches_valid()
        files = [d for d in self.get_dispatched_triggers() if d["trigger"] == good["ref"]]
        self.assertEqual(1, len(files))

        ok, result, table = self.status(rules)
        self.assertFalse(ok)
        self.assertEqual([("FileMonitorSensor", bad["ref"], "directory_missing")],
                         [(p["sensor"], p["trigger_ref"], p["kind"])
                          for p in result["problems"]])
        rows = {line.split()[0]: line for line in table.splitlines()[1:-1]}
        self.assertIn("workspaces.mount_ingest", rows[bad["ref"]])
        self.assertIn("directory_missing", rows[bad["ref"]])
        self.assertIn("workspaces.incoming_ingest", rows[good["ref"]])
        self.assertIn("ago (1)", rows[good["ref"]])
        self.assertTrue(table.splitlines()[-1].startswith("status FAILED: 1 sensor(s), "
                                                          "2 trigger(s), 1 problem(s)"), table)

        # its only rule disabled (StackStorm still hands the trigger to the sensor): idle
        ok, result, table = self.status([rules[0], dict(rules[1], enabled=False)])
        self.assertTrue(ok, result["problems"])
        rows = {line.split()[0]: line for line in table.splitlines()[1:-1]}
        self.assertIn("workspaces.mount_ingest (disabled)", rows[bad["ref"]])
        self.assertIn("idle: every rule using it is disabled", rows[bad["ref"]])
        self.assertEqual("status ok: 1 sensor(s), 2 trigger(s), 0 problem(s)",
                         table.splitlines()[-1])

        os.makedirs(self.missing)
        self.offset += interval
        sensor.poll()
        ok, result, table = self.status(rules)
        self.assertTrue(ok, result["problems"])
        self.assertEqual("status ok: 1 sensor(s), 2 trigger(s), 0 problem(s)",
                         table.splitlines()[-1])

        self.offset += 600 + 3 * interval + 1  # the sensor stops: heartbeat and 3 polls pass
        ok, result, table = self.status(rules, problems_only=True)
        self.assertFalse(ok)
        self.assertEqual([("FileMonitorSensor", None, "stalled")],
                         [(p["sensor"], p["trigger_ref"], p["kind"])
                          for p in result["problems"]])
        self.assertIn("stalled or not running", table)
