"""Bad input to every action parameter and every trigger parameter of the pack.

Cases come from two places:

- generated from the metadata YAML (``actions/*.yaml`` parameters, ``sensors/*.yaml``
  ``parameters_schema``): every value the parameter's own schema refuses (wrong type, empty,
  huge, out of range, NaN), so a parameter added later is covered without touching this file;
- written by hand: path traversal, glob and SQL metacharacters, malformed uids, unicode names.

Expectations: an action given a bad value fails with a message naming the parameter and leaves
everything else alone (no Workspaces request, no database change); a sensor given a trigger with
a bad parameter logs an error naming the trigger ref and the parameter, never raises, and keeps
serving its other triggers. Values that are unusual but valid (unicode, metacharacters inside a
free-form object) must be passed on literally.
"""

import json
import os
import re
import shutil
import tempfile
import time

from pack_test_support import workspaces_config
from robustness_support import (RUNNER_PARAMETERS, action_class, action_specs, describe,
                                schema_violations)
from st2tests.base import BaseActionTestCase

from workspaces_devkit.emulator import WorkspacesEmulator

TRAVERSAL = "../../../../etc/passwd"
SQL = "x' OR '1'='1'; DROP TABLE execution_blocks; --"
UNICODE_NAME = "ингест_öbs_\u6570\u636e"

#: Hand-written cases per action: parameter -> [(label, value)], each must be refused.
ACTION_REJECT_CASES = {
    "capability_create_and_run": {
        "capability_name": [("empty", ""), ("path traversal", "../null"),
                            ("slash", "null/../download"), ("glob", "std_*"), ("SQL", SQL),
                            ("unicode", UNICODE_NAME), ("huge", "n" * 100000),
                            ("NUL byte", "null\x00"), ("newline", "null\n"),
                            ("leading space", " null")],
    },
    "workflow_create_and_run": {
        "workflow_name": [("empty", ""), ("path traversal", "../ingest_obs"),
                          ("slash", "ingest_obs/../null"), ("glob", "ingest_*"), ("SQL", SQL),
                          ("unicode", UNICODE_NAME), ("huge", "w" * 100000),
                          ("NUL byte", "null\x00")],
        "files": [("relative path traversal", [TRAVERSAL]), ("relative path", ["setup.cfg"]),
                  ("missing file", ["/no/such/dir/file.fits"]), ("directory", ["/tmp"]),
                  ("glob", ["/etc/*"]), ("empty path", [""]), ("huge path", ["/" + "p" * 5000]),
                  ("NUL byte", ["/etc/hostname\x00.fits"]), ("not a list", "/etc/hostname")],
    },
    "mark_asdm_not_calibrateable": {
        "eb_uid": [("empty", ""), ("SQL", "uid://A002/Xc7111c/X3979' OR '1'='1"),
                   ("SQL wildcard", "uid://A002/Xc7111c/%"), ("glob", "uid://A002/Xc7111c/*"),
                   ("path traversal", "uid://A002/Xc7111c/../X1"),
                   ("MOUS-shaped junk", "uid://A002/X/X"), ("no scheme", "A002/Xc7111c/X3979"),
                   ("cyrillic A", "uid://\u0410002/Xc7111c/X3979"),
                   ("trailing newline", "uid://A002/Xc7111c/X3979\n"),
                   ("huge", "uid://A002/Xc7111c/X" + "9" * 100000),
                   ("file-safe, one part short", "uid___A002_Xc7111c"),
                   ("file-safe with SQL", "uid___A002_Xc7111c_X3979' OR '1'='1"),
                   ("mixed forms", "uid___A002/Xc7111c/X3979"),
                   ("VLA integer id", "29155786")],
        "eb_uids": [("one bad among good", ["uid://A002/Xc7111c/X3979", "uid://A002/%"]),
                    ("SQL", ["uid://A002/Xc7111c/X3979') OR ('1'='1"]),
                    ("not a list", "uid://A002/Xc7111c/X3979"), ("list of int", [1]),
                    ("huge list", ["uid://A002/Xc7111c/X%x" % n for n in range(100000)])],
        "status": [("empty", ""), ("huge", "s" * 100000)],
    },
}


def _mentions(text, name):
    return re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), text) is not None


class ActionBadInputTest(BaseActionTestCase):
    """Every action parameter, given bad values, fails naming the parameter; nothing is created."""

    action_cls = None  # set per action below

    def setUp(self):
        self.emulator = WorkspacesEmulator(submitted_seconds=0.01, executing_seconds=0.02)
        self.url = self.emulator.start()
        self.addCleanup(self.emulator.stop)
        self.baselines = {
            "capability_create_and_run": ({"capability_name": "null"},
                                          workspaces_config(self.url)),
            "workflow_create_and_run": ({"workflow_name": "null"}, workspaces_config(self.url)),
            "alma_reconcile": ({}, workspaces_config(self.url)),
            "preflight": ({}, workspaces_config(self.url)),
            "status": ({}, workspaces_config(self.url)),
        }

    def _instance(self, meta, config):
        self.action_cls = action_class(meta)
        BaseActionTestCase.setUp(self)
        return self.get_action_instance(config=config)

    def _run_outcome(self, action, params):
        """Return (accepted, message) for one run of ``action`` with ``params``."""
        try:
            output = action.run(**params)
        except Exception as error:  # an exception fails the execution: also a refusal
            return False, "%s: %s" % (type(error).__name__, error)
        if isinstance(output, tuple) and len(output) == 2 and output[0] is False:
            result = output[1]
            if isinstance(result, dict) and result.get("parameter"):
                return False, "parameter %s: %s" % (result["parameter"], result.get("error"))
            return False, json.dumps(result, default=str)
        return True, json.dumps(output, default=str)[:200]

    def _check_cases(self, action_name, cases, problems):
        meta = dict(action_specs())[action_name]
        if action_name not in self.baselines:
            problems.append("%s: no baseline parameters in test_bad_input.py; add one so its "
                            "parameters are covered" % action_name)
            return
        baseline, config = self.baselines[action_name]
        action = self._instance(meta, config)
        for name, label, value in cases:
            self.emulator.reset()
            params = dict(baseline)
            params[name] = value
            accepted, message = self._run_outcome(action, params)
            if accepted:
                problems.append("%s: parameter %s = %s (%s) was accepted: %s"
                                % (action_name, name, describe(value), label, message))
            elif not _mentions(message, name):
                problems.append("%s: parameter %s = %s (%s) failed without naming the "
                                "parameter: %s" % (action_name, name, describe(value), label,
                                                   message[:300]))
            if self.emulator.requests():
                problems.append("%s: parameter %s = %s (%s) still created a Workspaces request"
                                % (action_name, name, describe(value), label))

    def _generated(self, action_name):
        meta = dict(action_specs())[action_name]
        cases = []
        for name, spec in sorted((meta.get("parameters") or {}).items()):
            if name in RUNNER_PARAMETERS:
                continue
            cases.extend((name, label, value) for label, value in schema_violations(name, spec))
        return cases

    def test_every_workspaces_action_parameter_refuses_values_its_schema_refuses(self):
        problems = []
        names = [name for name, _meta in action_specs() if name in self.baselines]
        self.assertTrue(names, "no Workspaces actions found")
        for action_name in names:
            cases = self._generated(action_name)
            self.assertTrue(cases, "%s: no generated cases" % action_name)
            self._check_cases(action_name, cases, problems)
        self.assertEqual(problems, [], "\n".join(problems))

    def test_every_action_has_a_bad_input_baseline(self):
        known = set(self.baselines) | {"mark_asdm_not_calibrateable"}
        missing = [name for name, _meta in action_specs() if name not in known]
        self.assertEqual(missing, [], "actions without bad-input coverage: %s" % missing)

    def test_workspaces_actions_refuse_nasty_names_and_paths(self):
        problems = []
        for action_name in ("capability_create_and_run", "workflow_create_and_run"):
            if action_name not in dict(action_specs()):
                continue
            cases = [(name, label, value)
                     for name, values in sorted(ACTION_REJECT_CASES[action_name].items())
                     for label, value in values]
            self._check_cases(action_name, cases, problems)
        self.assertEqual(problems, [], "\n".join(problems))

    def test_nasty_values_inside_free_form_objects_reach_workspaces_literally(self):
        nasty = {"name": UNICODE_NAME, "path": TRAVERSAL, "glob": "*[!a]?", "sql": SQL,
                 "nested": {"uid": "uid://A002/Xc7111c/X3979", "empty": "", "list": [SQL]}}
        meta = dict(action_specs())["capability_create_and_run"]
        action = self._instance(meta, workspaces_config(self.url))
        ok, result = action.run(capability_name="null", parameters=nasty)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Submitted")
        [request] = self.emulator.requests("capability")
        self.assertEqual(request["parameters"], nasty)

    def test_a_bad_parameter_does_not_disturb_the_next_run(self):
        meta = dict(action_specs())["capability_create_and_run"]
        action = self._instance(meta, workspaces_config(self.url))
        accepted, _message = self._run_outcome(
            action, {"capability_name": "../null", "wait_timeout": "soon"})
        self.assertFalse(accepted)
        ok, result = action.run(capability_name="null", wait=True, poll_interval=0.01)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Complete")
        self.assertEqual(len(self.emulator.requests()), 1)


# --- trigger parameters ---------------------------------------------------------------------

class _SensorScenario(object):
    """How to run one sensor class for the bad-input test: config, a good trigger, an event."""

    def __init__(self, test):
        self.test = test
        self.root = tempfile.mkdtemp(prefix="ws-bad-input-")
        test.addCleanup(shutil.rmtree, self.root, True)

    def config(self):
        """The pack config the sensor runs with."""
        return {}

    def good_parameters(self):
        """Parameters of a valid trigger of this scenario's trigger type."""
        raise NotImplementedError

    def make_event(self, serial):
        """Make the source produce one new item for a valid trigger."""
        raise NotImplementedError

    def extra_bad(self):
        """Hand-written ``[(parameter, label, value)]`` to refuse, on top of the generated ones."""
        return []


class _FileDetectedScenario(_SensorScenario):
    trigger_type = "file_detected"

    def __init__(self, test):
        _SensorScenario.__init__(self, test)
        self.directory = os.path.join(self.root, "incoming")
        os.makedirs(self.directory)

    def good_parameters(self):
        return {"directory": self.directory, "pattern": "*.fits", "settle_seconds": 0}

    def make_event(self, serial):
        path = os.path.join(self.directory, "good_%d.fits" % serial)
        with open(path, "w") as handle:
            handle.write("x")
        past = time.time() - 5
        os.utime(path, (past, past))

    def extra_bad(self):
        afile = os.path.join(self.root, "plain_file")
        with open(afile, "w") as handle:
            handle.write("x")
        return [("directory", "relative", "incoming"),
                ("directory", "relative traversal", "../" * 6 + "etc"),
                ("directory", "missing", os.path.join(self.root, "no", "such")),
                ("directory", "a file", afile),
                ("directory", "glob", os.path.join(self.root, "*")),
                ("directory", "NUL byte", self.directory + "\x00x"),
                ("directory", "huge", "/" + "d" * 100000),
                ("pattern", "path traversal", "../*"),
                ("pattern", "slash", "sub/*.fits"),
                ("ready_marker", "path traversal", "../READY"),
                ("ready_marker", "slash", "a/READY")]


class _VlbaDataScenario(_SensorScenario):
    trigger_type = "vlba_data"

    def __init__(self, test):
        _SensorScenario.__init__(self, test)
        self.tree = os.path.join(self.root, "vlba")
        os.makedirs(self.tree)

    def config(self):
        return {"vlba_data_directory": self.tree, "vlba_settle_seconds": 0}

    def good_parameters(self):
        return {}

    def make_event(self, serial):
        project = os.path.join(self.tree, "TL%03dA" % serial)
        os.makedirs(project)
        path = os.path.join(project, "VLBA_TL%03dA_tl%03dacor_BIN0_SRC0_1_201020T164655.idifits"
                            % (serial, serial))
        with open(path, "w") as handle:
            handle.write("x" * 10)
        past = time.time() - 5
        os.utime(path, (past, past))


SCENARIOS = {"file_detected": _FileDetectedScenario, "vlba_data": _VlbaDataScenario}
