"""workspaces.status: every sensor and trigger from the health records, rules from the st2 API.

The records are written into the action's datastore as the sensors write them (HEALTH_SPEC format
1, tests/status_test_support.py); rules come from a stand-in st2client that serves pages as the
st2 API does. Each case asserts what an operator would see: the verdict, the table on stdout, the
structured result, and whether the execution fails.
"""

import contextlib
import io
import json
import sys
import types
from unittest import mock

from st2tests.base import BaseActionTestCase

import status_test_support as records
from status import StatusAction
from status_test_support import (ASDM_TYPE, FILE_REF, FILE_TYPE, MISSING_REF, NOW, healthy_pack,
                                 problem, rule_doc, sensor_record, trigger_record, write_records)

API_ENV = {"ST2_API_URL": "http://127.0.0.1:9101", "ST2_AUTH_TOKEN": "execution-token"}


class FakeRules(object):
    """``client.rules`` of st2client: ``get_all(limit, offset)`` pages, or raises ``error``."""

    def __init__(self, docs, error=None):
        self.docs = docs
        self.error = error
        self.calls = []

    def get_all(self, limit=None, offset=0):
        """One page of rule objects (attributes like st2client's ``Rule``)."""
        self.calls.append((limit, offset))
        if self.error is not None:
            raise self.error
        return [types.SimpleNamespace(**doc) for doc in self.docs[offset:offset + limit]]


def client_factory(rules):
    """A ``make_client`` that records how it was built and serves ``rules``."""
    made = []

    def make_client(api_url=None, token=None):
        made.append((api_url, token))
        return types.SimpleNamespace(rules=rules)
    make_client.made = made
    return make_client


SHIPPED_RULES = [
    rule_doc("file_detected_create_and_run", FILE_TYPE, FILE_REF,
             {"directory": "/data/incoming", "pattern": "*.tar"}),
    rule_doc("alma_asdm_reingest", ASDM_TYPE, ASDM_TYPE),
    rule_doc("alma_asdm_audit", ASDM_TYPE, ASDM_TYPE, enabled=False),
]


class StatusActionTest(BaseActionTestCase):
    """The action over records in the mock datastore."""

    action_cls = StatusAction

    def run_status(self, stored, rules=None, env=API_ENV, config=None, **parameters):
        """Store ``stored`` records, run the action at NOW; return (ok, result, stdout)."""
        action = self.get_action_instance(config=config or {})
        write_records(action.action_service.set_value, stored)
        action.make_client = client_factory(rules if rules is not None
                                            else FakeRules(SHIPPED_RULES))
        out = io.StringIO()
        with mock.patch.dict("os.environ", env, clear=True), \
                mock.patch("workspaces_pack.flows.status.time.time", return_value=NOW), \
                contextlib.redirect_stdout(out):
            ok, result = action.run(**parameters)
        json.dumps(result)  # the result must be JSON for StackStorm
        return ok, result, out.getvalue()

    def test_a_healthy_pack_succeeds_and_names_each_triggers_rules(self):
        ok, result, table = self.run_status(healthy_pack())
        self.assertTrue(ok)
        self.assertEqual([], result["problems"])
        self.assertEqual(["AlmaAsdmSensor", "FileMonitorSensor"],
                         [sensor["sensor"] for sensor in result["sensors"]])
        file_trigger = result["sensors"][1]["triggers"][0]
        self.assertEqual(["workspaces.file_detected_create_and_run"], file_trigger["rule_refs"])
        self.assertEqual("directory=/data/incoming pattern=*.tar",
                         file_trigger["parameters_summary"])
        self.assertEqual(4, file_trigger["dispatched_total"])
        asdm_trigger = result["sensors"][0]["triggers"][0]
        self.assertEqual("workspaces.alma_asdm_audit (disabled), workspaces.alma_asdm_reingest",
                         asdm_trigger["rules"])
        lines = table.splitlines()
        self.assertTrue(lines[0].startswith("SENSOR / TRIGGER"), table)
        row = [line for line in lines if FILE_REF in line][0]
        for text in ("workspaces.file_detected_create_and_run", "directory=/data/incoming",
                     "5s ago", "2m ago (4)"):
            self.assertIn(text, row)
        self.assertEqual("status ok: 2 sensor(s), 2 trigger(s), 0 problem(s)", lines[-1])

    def test_a_fresh_install_is_idle_and_names_the_settings_still_to_make(self):
        # the example config: the ALMA database in an unset st2 key, the VLBA tree at its
        # default; the file rule ships disabled, yet StackStorm hands its trigger to the sensor
        vlba = "workspaces.vlba_data"
        stored = [
            records.sensor_record("AlmaAsdmSensor", ASDM_TYPE, 60, 20, [ASDM_TYPE]),
            trigger_record("AlmaAsdmSensor", ASDM_TYPE, ASDM_TYPE, {}, failures=3, problem=problem(
                "poll_failing", "alma_archive_db_url is not set in the pack config")),
            records.sensor_record("FileMonitorSensor", FILE_TYPE, 30, 10, [FILE_REF]),
            trigger_record("FileMonitorSensor", FILE_REF, FILE_TYPE,
                           {"directory": "/data/incoming"}, failures=3, problem=problem(
                               "directory_missing", "cannot read directory /data/incoming")),
            records.sensor_record("VlbaDataSensor", vlba, 60, 10, [vlba]),
            trigger_record("VlbaDataSensor", vlba, vlba, {}, failures=3, problem=problem(
                "directory_missing", "cannot read directory /data/vlba/correlator"))]
        for record in stored[1::2]:
            record["last_success"] = None  # none of them ever worked
        rules = FakeRules([
            rule_doc("file_detected_create_and_run", FILE_TYPE, FILE_REF,
                     {"directory": "/data/incoming"}, enabled=False),
            rule_doc("alma_asdm_reingest", ASDM_TYPE, ASDM_TYPE),
            rule_doc("vlba_data_ingest", vlba, vlba)])
        config = {"alma_archive_db_url": "", "vlba_data_directory": "/data/vlba/correlator"}
        ok, result, table = self.run_status(stored, rules=rules, config=config)
        self.assertTrue(ok, result["problems"])
        self.assertEqual([], result["problems"])
        self.assertEqual(["alma_archive_db_url", "vlba_data_directory"],
                         result["settings_to_make"])
        rows = {line.split()[0]: line for line in table.splitlines()[1:-1]}
        self.assertIn("idle: not configured: set alma_archive_db_url", rows[ASDM_TYPE])
        self.assertIn("idle: every rule using it is disabled", rows[FILE_REF])
        self.assertIn("idle: not configured: set vlba_data_directory", rows[vlba])
        self.assertEqual("status ok: 3 sensor(s), 3 trigger(s), 0 problem(s); settings to make: "
                         "alma_archive_db_url, vlba_data_directory", table.splitlines()[-1])

        # the site's own choices, or a default folder that worked once: real problems again
        stored[-1]["last_success"] = records.iso(3600)
        config = {"alma_archive_db_url": "postgresql://archive/alma"}
        ok, result, table = self.run_status(stored, rules=rules, config=config)
        self.assertFalse(ok)
        self.assertEqual([ASDM_TYPE, vlba], [p["trigger_ref"] for p in result["problems"]])
        self.assertEqual([], result["settings_to_make"])

    def test_a_trigger_problem_fails_the_execution_and_says_what_and_since_when(self):
        stored = healthy_pack() + [
            trigger_record("FileMonitorSensor", MISSING_REF, FILE_TYPE,
                           {"directory": "/data/gone"}, failures=12,
                           last_error="/data/gone is not a directory",
                           problem=problem("directory_missing", "/data/gone does not exist"))]
        stored[0]["triggers"].append(MISSING_REF)
        ok, result, table = self.run_status(stored)
        self.assertFalse(ok)
        self.assertEqual([{"sensor": "FileMonitorSensor", "trigger_ref": MISSING_REF,
                           "kind": "directory_missing", "message": "/data/gone does not exist",
                           "since": records.iso(300)}], result["problems"])
        row = [line for line in table.splitlines() if MISSING_REF in line][0]
        self.assertIn("no rule", row)
        self.assertIn("12", row.split())
        self.assertTrue(row.endswith("directory_missing: /data/gone does not exist"), row)
        self.assertTrue(table.splitlines()[-1].startswith("status FAILED:"), table)

    def test_a_sensor_that_missed_three_polls_after_its_heartbeat_is_stalled(self):
        # a live sensor rewrites a quiet record once per heartbeat (default 10 minutes)
        stored = healthy_pack()
        stored[0] = sensor_record("FileMonitorSensor", FILE_TYPE, 30, 600 + 91, [FILE_REF])
        ok, result, table = self.run_status(stored)
        self.assertFalse(ok)
        [found] = result["problems"]
        self.assertEqual(("FileMonitorSensor", "stalled"), (found["sensor"], found["kind"]))
        self.assertIn("stalled or not running", found["message"])
        self.assertIn("11m ago", [line for line in table.splitlines()
                                  if line.startswith("FileMonitorSensor")][0])

    def test_a_quiet_record_within_its_heartbeat_and_three_polls_is_not_stalled(self):
        stored = healthy_pack()
        stored[0] = sensor_record("FileMonitorSensor", FILE_TYPE, 30, 600 + 90, [FILE_REF])
        ok, result, _ = self.run_status(stored)
        self.assertTrue(ok, result["problems"])

    def test_the_configured_heartbeat_sets_when_a_sensor_counts_as_stalled(self):
        stored = healthy_pack()
        stored[0] = sensor_record("FileMonitorSensor", FILE_TYPE, 30, 120 + 91, [FILE_REF])
        action = self.get_action_instance(config={"health_heartbeat_minutes": 2})
        write_records(action.action_service.set_value, stored)
        with mock.patch.dict("os.environ", {}, clear=True), \
                mock.patch("workspaces_pack.flows.status.time.time", return_value=NOW), \
                contextlib.redirect_stdout(io.StringIO()):
            ok, result = action.run()
        self.assertEqual(["stalled"], [p["kind"] for p in result["problems"]])
        ok, result, _ = self.run_status(stored)  # default heartbeat: 10 minutes
        self.assertTrue(ok)

    def test_a_sensor_wide_problem_fails_the_execution(self):
        stored = healthy_pack()
        stored[2]["problem"] = problem("database_unreachable", "connection refused")
        ok, result, table = self.run_status(stored)
        self.assertFalse(ok)
        self.assertEqual([("AlmaAsdmSensor", None, "database_unreachable")],
                         [(p["sensor"], p["trigger_ref"], p["kind"]) for p in result["problems"]])
        self.assertIn("database_unreachable: connection refused", table)

    def test_problems_only_shows_only_what_is_wrong(self):
        stored = healthy_pack()
        stored[2]["problem"] = problem("database_unreachable", "connection refused")
        ok, result, table = self.run_status(stored, problems_only=True)
        self.assertFalse(ok)
        self.assertEqual(["AlmaAsdmSensor"], [s["sensor"] for s in result["sensors"]])
        self.assertEqual([], result["sensors"][0]["triggers"])
        self.assertNotIn("FileMonitorSensor", table)
        ok, result, table = self.run_status(healthy_pack(), problems_only=True)
        self.assertTrue(ok)
        self.assertEqual([], result["sensors"])

    def test_the_sensor_filter_takes_a_class_name_or_a_trigger_type(self):
        for wanted in ("FileMonitorSensor", "filemonitorsensor", FILE_TYPE, "file_detected"):
            ok, result, table = self.run_status(healthy_pack(), sensor=wanted)
            self.assertTrue(ok)
            self.assertEqual(["FileMonitorSensor"], [s["sensor"] for s in result["sensors"]])
            self.assertNotIn("AlmaAsdmSensor", table)

    def test_a_filter_that_matches_no_sensor_fails_and_says_so(self):
        ok, result, table = self.run_status(healthy_pack(), sensor="FileMonitor")
        self.assertFalse(ok)
        self.assertEqual("status FAILED: no sensor matches 'FileMonitor'", table.strip())

    def test_no_records_at_all_fail_and_point_at_the_sensor_container(self):
        ok, result, table = self.run_status([])
        self.assertFalse(ok)
        self.assertIn("no health records", result["verdict"])
        self.assertIn("st2sensorcontainer", table)

    def test_rules_are_listed_with_the_runners_api_url_and_token_page_by_page(self):
        many = [rule_doc("r%03d" % number, FILE_TYPE, "workspaces.other-%d" % number,
                         {"directory": "/x"}) for number in range(230)] + SHIPPED_RULES
        rules = FakeRules(many)
        action_rules = client_factory(rules)
        action = self.get_action_instance(config={})
        write_records(action.action_service.set_value, healthy_pack())
        action.make_client = action_rules
        with mock.patch.dict("os.environ", API_ENV, clear=True), \
                contextlib.redirect_stdout(io.StringIO()):
            ok, result = action.run()
        self.assertEqual([("http://127.0.0.1:9101", "execution-token")], action_rules.made)
        self.assertEqual([(100, 0), (100, 100), (100, 200)], rules.calls)
        self.assertEqual(["workspaces.file_detected_create_and_run"],
                         result["sensors"][1]["triggers"][0]["rule_refs"])

    def test_when_the_api_fails_rules_are_unknown_with_the_reason_and_the_rest_is_reported(self):
        error = RuntimeError("401 Client Error: Unauthorized for url: http://127.0.0.1:9101/x")
        ok, result, table = self.run_status(healthy_pack(), rules=FakeRules([], error=error))
        self.assertTrue(ok)
        reason = result["sensors"][1]["triggers"][0]["rules"]
        self.assertTrue(reason.startswith("rules unknown: 401 Client Error"), reason)
        self.assertIn("rules unknown: 401 Client Error", table)
        self.assertEqual(2, len(result["sensors"]))

    def test_outside_the_python_runner_or_without_st2client_rules_are_unknown(self):
        ok, result, table = self.run_status(healthy_pack(), env={})
        self.assertTrue(ok)
        self.assertIn("rules unknown: ST2_API_URL is not set", table)
        action = self.get_action_instance(config={})
        write_records(action.action_service.set_value, healthy_pack())
        with mock.patch.dict("os.environ", API_ENV, clear=True), \
                mock.patch.dict(sys.modules, {"st2client": None, "st2client.client": None}), \
                contextlib.redirect_stdout(io.StringIO()):
            ok, result = action.run()
        self.assertEqual("rules unknown: st2client is not installed",
                         result["sensors"][0]["triggers"][0]["rules"])

    def test_a_datastore_outage_fails_the_execution_naming_the_datastore(self):
        action = self.get_action_instance(config={})
        with mock.patch.object(action.action_service, "list_values",
                               side_effect=RuntimeError("Connection refused")):
            ok, result = action.run()
        self.assertFalse(ok)
        self.assertEqual("cannot read the health records from the datastore: Connection refused",
                         result["error"])

    def test_records_of_removed_triggers_are_not_shown_and_unreadable_ones_are_named(self):
        stored = healthy_pack() + [
            trigger_record("FileMonitorSensor", MISSING_REF, FILE_TYPE, {"directory": "/old"},
                           problem=problem("directory_missing", "/old does not exist"))]
        action = self.get_action_instance(config={})
        action.action_service.set_value("workspaces.VlbaDataSensor:health", "{not json",
                                        local=False)
        action.action_service.set_value("workspaces.FileMonitorSensor:state:x", "{}",
                                        local=False)
        write_records(action.action_service.set_value, stored)
        out = io.StringIO()
        with mock.patch.dict("os.environ", {}, clear=True), \
                mock.patch("workspaces_pack.flows.status.time.time", return_value=NOW), \
                contextlib.redirect_stdout(out):
            ok, result = action.run()
        self.assertTrue(ok, result["problems"])
        self.assertNotIn(MISSING_REF, out.getvalue())
        self.assertEqual(["workspaces.VlbaDataSensor:health"], result["unreadable_records"])
        self.assertIn("unreadable health records: workspaces.VlbaDataSensor:health",
                      out.getvalue())


def test_records_are_read_page_by_page_as_the_st2_api_serves_them():
    """StackStorm's list_values answers at most api.max_page_size keys per call."""
    from workspaces_devkit.kvstore import KeyValuePair
    from workspaces_pack.flows.status import read_health_records

    stored = {}
    refs = ["workspaces.t-%03d" % number for number in range(250)]
    write_records(lambda name, value, local: stored.__setitem__(name, value),
                  [sensor_record("FileMonitorSensor", FILE_TYPE, 30, 10, refs)] +
                  [trigger_record("FileMonitorSensor", ref, FILE_TYPE, {}) for ref in refs])
    calls = []

    def list_values(local=True, prefix=None, limit=None, offset=0):
        calls.append((local, prefix, limit, offset))
        names = sorted(name for name in stored if name.startswith(prefix))
        return [KeyValuePair(name, stored[name]) for name in names[offset:offset + limit]]
    found = read_health_records(list_values)
    assert sorted(refs) == sorted(record["trigger_ref"] for record in found.triggers)
    assert ["FileMonitorSensor"] == list(found.sensors)
    assert [(False, "workspaces.", 100, 0), (False, "workspaces.", 100, 100),
            (False, "workspaces.", 100, 200)] == calls
