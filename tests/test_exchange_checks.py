"""The checks of ``devkit/bin/exchange-checks`` catch what the StackStorm Exchange CI refuses.

The checks themselves run over the pack in their own step (``devkit/bin/exchange-checks``, which
``.ci/run`` runs before ``make test``), not inside the suite: flake8 and pylint over the whole
pack took a quarter of the suite's time. These tests break small copies and check that each check
names the problem, and that no step of the Exchange's list is missing.
"""

import configparser
import os

from workspaces_devkit import exchange_checks

PACK_DIR = exchange_checks.PACK_DIR


def test_the_steps_are_the_exchange_cis():
    """The Exchange CI's ``make all-ci`` steps that need no StackStorm install, in its order,
    then the project's dead code finder."""
    assert [name for name, _check in exchange_checks.CHECKS] == [
        "compile", "license", "flake8", "pylint -E", "YAML/JSON parse", "example config",
        "registration (content validator)", "dead code (vulture)"]
    assert exchange_checks.PYLINT_FOLDERS == ("actions", "sensors", "etc")


def test_flake8_config_is_stackstorms():
    """setup.cfg holds the Exchange's settings: its ignore list replaces flake8's defaults."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(PACK_DIR, "setup.cfg"))
    flake8 = parser["flake8"]
    assert flake8["max-line-length"] == "100"
    assert flake8["ignore"].split(",") == ["E128", "E402", "E722", "W504"]
    assert "extend-ignore" not in flake8, "extend-ignore would keep flake8's default ignores"


def test_flake8_reports_a_line_break_before_an_operator(tmp_path):
    """W503 is in flake8's default ignore list; with StackStorm's settings it fails the Exchange."""
    (tmp_path / "setup.cfg").write_text(
        open(os.path.join(PACK_DIR, "setup.cfg"), encoding="utf-8").read())
    (tmp_path / "module.py").write_text("TOTAL = (1\n         + 2)\n")
    problems = exchange_checks.flake8_problems(str(tmp_path))
    assert any("module.py:2:10: W503" in p for p in problems), problems


def test_dead_code_is_named_and_stackstorms_entry_points_are_not(tmp_path):
    """vulture reports a function nobody calls, not the action class StackStorm runs."""
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "status.py").write_text(
        "class StatusAction(object):\n    def run(self):\n        return _helper()\n\n\n"
        "def _helper():\n    return True\n\n\ndef forgotten():\n    return False\n")
    problems = exchange_checks.dead_code_problems(str(tmp_path))
    assert len(problems) == 1, problems
    assert "forgotten" in problems[0] and "status.py:10" in problems[0]


def test_a_file_that_does_not_parse_is_named(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "broken.yaml").write_text("name: [unclosed\n")
    (tmp_path / "data.json").write_text("{\"a\": }")
    problems = exchange_checks.parse_problems(str(tmp_path))
    assert len(problems) == 2
    assert problems[0].startswith("data.json: does not parse")
    assert problems[1].startswith(os.path.join("rules", "broken.yaml") + ":2:1: expected")


def test_a_license_other_than_apache_is_refused(tmp_path):
    (tmp_path / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge")
    problems = exchange_checks.license_problems(str(tmp_path))
    assert "LICENSE does not contain 'Apache License'" in problems[0]


def test_pylint_reports_a_member_a_class_does_not_declare(tmp_path):
    """What failed create_and_run.py before _Flow declared the calls its subclasses implement."""
    (tmp_path / ".pylintrc").write_text(
        open(os.path.join(PACK_DIR, ".pylintrc"), encoding="utf-8").read())
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "flow_action.py").write_text(
        "class Flow(object):\n"
        "    def run(self):\n"
        "        return self.create()\n")
    problems = exchange_checks.pylint_problems(str(tmp_path), folders=["actions"])
    assert any("E1101" in p and "'create'" in p for p in problems), problems
