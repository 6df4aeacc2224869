"""`workspaces-local status`: the status table from the local runner's datastore.

Records are written into the runner's datastore file as the sensors write them (HEALTH_SPEC),
under the trigger refs the runner gives its sensors; the pack's own rules give the rule names.
"""

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from status_test_support import NOW, problem, sensor_record, trigger_record, write_records

from workspaces_devkit.content import load_pack
from workspaces_devkit.kvstore import JsonFileKeyValueStore, LocalDatastoreService
from workspaces_devkit.runner import cli
from workspaces_devkit.runner.sensors import triggers_for_sensor

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LocalStatusTest(unittest.TestCase):
    """The subcommand over a datastore file in a temporary state directory."""

    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix="local-status-")
        self.addCleanup(shutil.rmtree, self.state_dir, True)
        self.store = JsonFileKeyValueStore(os.path.join(self.state_dir, "datastore.json"))
        self.pack = load_pack(PACK_DIR)
        self.refs = {}
        for sensor in self.pack.sensors:
            for trigger in triggers_for_sensor(self.pack, sensor, self.store):
                self.refs.setdefault(sensor.class_name, []).append(trigger)

    def write(self, records):
        """Store records as the sensors would (full key names)."""
        service = LocalDatastoreService(None, "workspaces", "Test", self.store)
        write_records(service.set_value, records)

    def pack_records(self):
        """Healthy records for every trigger the runner gives the ALMA sensors."""
        stored = []
        for sensor in ("AlmaAsdmSensor", "AlmaCalibrationSensor"):
            triggers = self.refs[sensor]
            stored.append(sensor_record(sensor, triggers[0]["type"], 60, 10,
                                        [t["ref"] for t in triggers]))
            stored += [trigger_record(sensor, t["ref"], t["type"], t["parameters"])
                       for t in triggers]
        return stored

    def status(self, *words):
        """Run the subcommand at NOW; return (exit status, stdout)."""
        out = io.StringIO()
        with mock.patch("workspaces_pack.flows.status.time.time", return_value=NOW), \
                contextlib.redirect_stdout(out):
            code = cli.main(["status", "--state-dir", self.state_dir] + list(words))
        return code, out.getvalue()

    def test_each_trigger_row_names_the_local_rules_that_use_it(self):
        self.write(self.pack_records())
        code, text = self.status()
        self.assertEqual(0, code, text)
        rows = text.splitlines()
        asdm_ref = self.refs["AlmaAsdmSensor"][0]["ref"]
        asdm_row = [row for row in rows if row.startswith("  " + asdm_ref)][0]
        self.assertIn("workspaces.alma_asdm_reingest", asdm_row)
        self.assertIn("qa0_statuses=", asdm_row)
        calibration_row = [row for row in rows if row.startswith("  workspaces.alma_calibration")]
        self.assertIn("workspaces.alma_calibration_ingest, workspaces.alma_mark_not_calibrateable",
                      calibration_row[0])
        self.assertEqual("status ok: 2 sensor(s), 2 trigger(s), 0 problem(s)", rows[-1])

    def test_a_problem_exits_1_and_json_gives_the_structured_result(self):
        stored = self.pack_records()
        stored[0]["problem"] = problem("database_unreachable", "connection refused")
        self.write(stored)
        code, text = self.status("--problems-only")
        self.assertEqual(1, code)
        self.assertIn("database_unreachable: connection refused", text)
        self.assertNotIn("AlmaCalibrationSensor", text)
        code, text = self.status("--json", "--sensor", "alma_asdm")
        self.assertEqual(1, code)
        result = json.loads(text)
        self.assertEqual(["database_unreachable"], [p["kind"] for p in result["problems"]])
        self.assertEqual(["AlmaAsdmSensor"], [s["sensor"] for s in result["sensors"]])

    def test_an_empty_datastore_says_no_sensor_has_run(self):
        code, text = self.status()
        self.assertEqual(1, code)
        self.assertIn("no health records", text)


def test_a_fresh_install_reads_ok_and_names_the_settings_still_to_make(tmp_path):
    """The shipped rules and the example config, nothing set in the datastore: the sensors
    record their problems (no ALMA database, no VLBA tree, the disabled example rule's
    placeholder folder), and status calls each trigger idle and names the settings to make."""
    import time

    from workspaces_devkit.runner.local import LocalRunner

    example = os.path.join(PACK_DIR, "workspaces.yaml.example")
    runner = LocalRunner(PACK_DIR, config_path=example, state_dir=str(tmp_path),
                         out=io.StringIO(), poll_interval=0.1, run_actions=False)
    deadline = time.time() + 30
    runner.start()
    try:
        while True:
            report = cli.local_status(runner.pack, runner.store, runner.config)
            triggers = [trigger for sensor in report.to_dict()["sensors"]
                        for trigger in sensor["triggers"]]
            if len(triggers) == 4 and all(trigger["idle"] for trigger in triggers) or \
                    time.time() > deadline:
                break
            time.sleep(0.1)
    finally:
        runner.stop()
    assert report.ok, report.lines()
    assert [] == report.problems()
    assert "alma_archive_db_url" in report.settings_to_make()
    file_row = [line for line in report.lines() if "file_detected_create_and_run" in line][0]
    assert "(disabled)" in file_row and "idle: every rule using it is disabled" in file_row
    assert report.lines()[-1].startswith("status ok: 4 sensor(s), 4 trigger(s), 0 problem(s); "
                                         "settings to make: alma_archive_db_url")
