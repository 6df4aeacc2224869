"""The runner's rules directory: an overlay (``--rules-dir``), and rule files edited as it runs."""

import io
import os
import shutil
import time

import yaml

from workspaces_devkit.runner.local import LocalRunner

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIGGER = "workspaces.alma_calibration"


def _wait(condition, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met within %s s" % timeout)


def _rule(name, enabled=True):
    return {"name": name, "pack": "workspaces", "enabled": enabled,
            "description": "Written by another process.",
            "trigger": {"type": TRIGGER},
            "criteria": {"trigger.project_code": {"type": "equals", "pattern": "2099.C.1.S"}},
            "action": {"ref": "workspaces.capability_create_and_run",
                       "parameters": {"capability_name": "null"}}}


def _live(runner):
    return [rule.ref for rule in runner.engine.rules_for(TRIGGER)]


def test_an_empty_overlay_stands_for_the_pack_rules(tmp_path):
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[],
                         out=io.StringIO(), rules_dir=str(tmp_path / "overlay"))
    pack_rules = sorted(f for f in os.listdir(os.path.join(PACK_DIR, "rules"))
                        if f.endswith(".yaml"))
    assert sorted(os.path.basename(rule.path) for rule in runner.pack.rules) == pack_rules


def test_rule_files_changed_while_the_runner_runs_are_reloaded(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    for name in os.listdir(os.path.join(PACK_DIR, "rules")):
        shutil.copy(os.path.join(PACK_DIR, "rules", name), str(overlay / name))
    out = io.StringIO()
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[], out=out,
                         rules_dir=str(overlay))
    runner.start(watch=True)
    try:
        (overlay / "edited.yaml").write_text(yaml.safe_dump(_rule("edited")))
        _wait(lambda: "workspaces.edited" in _live(runner))
        broken = dict(_rule("edited"), criteria={"trigger.project_code": {"type": "equals"}})
        (overlay / "edited.yaml").write_text(yaml.safe_dump(broken))
        _wait(lambda: "invalid rule files keep their last good version" in out.getvalue())
        assert "workspaces.edited" in _live(runner)
        (overlay / "edited.yaml").write_text(yaml.safe_dump(_rule("edited", enabled=False)))
        _wait(lambda: "workspaces.edited" not in _live(runner))
        os.remove(str(overlay / "edited.yaml"))
        _wait(lambda: "workspaces.edited" not in [rule.ref for rule in runner.pack.rules])
    finally:
        runner.stop()


def test_a_rule_file_that_does_not_parse_is_named_and_later_files_are_still_served(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "first.yaml").write_text(yaml.safe_dump(_rule("first")))
    out = io.StringIO()
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[], out=out,
                         rules_dir=str(overlay))
    runner.start(watch=True)
    try:
        (overlay / "first.yaml").write_text("name: first\n  enabled: : true\n")
        (overlay / "broken.yaml").write_text("name: [broken\n")
        _wait(lambda: "broken.yaml:2:1: " in out.getvalue() and
              "first.yaml:2:10: mapping values are not allowed here" in out.getvalue())
        assert _live(runner) == ["workspaces.first"]  # its last good version
        (overlay / "later.yaml").write_text(yaml.safe_dump(_rule("later")))
        _wait(lambda: "workspaces.later" in _live(runner))
        (overlay / "broken.yaml").write_text(yaml.safe_dump(_rule("broken")))
        _wait(lambda: "workspaces.broken" in _live(runner))
        assert "Traceback" not in out.getvalue()
    finally:
        runner.stop()


def test_the_folder_watch_outlives_a_failing_handler(tmp_path):
    from workspaces_devkit.runner.watch import FolderWatch

    seen, lines = [], []

    def on_change(path):
        seen.append(os.path.basename(path))
        if path.endswith("bad.txt"):
            raise RuntimeError("cannot handle\nthis one")

    watch = FolderWatch(on_change, lambda kind, text: lines.append((kind, text)))
    watch.watch(str(tmp_path))
    watch.start()
    try:
        (tmp_path / "bad.txt").write_text("x")
        _wait(lambda: lines)
        (tmp_path / "good.txt").write_text("y")
        _wait(lambda: "good.txt" in seen)
    finally:
        watch.stop()
    assert lines[0] == ("watch", "%s: RuntimeError: cannot handle this one (still watching)"
                        % (tmp_path / "bad.txt"))


def test_the_runner_warns_of_rules_stackstorm_stores_but_cannot_carry_out(tmp_path):
    # at start for the rules in use, on a reload for the rules that changed
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "odd.yaml").write_text(yaml.safe_dump(dict(_rule("odd"), action={
        "ref": "workspaces.nope", "parameters": {}})))
    out = io.StringIO()
    urls = {"capability_service_url": "http://localhost:1", "workflow_service_url":
            "http://localhost:2"}  # no warning of its own
    runner = LocalRunner(PACK_DIR, state_dir=str(tmp_path / "state"), sensors=[], out=out,
                         rules_dir=str(overlay), config_overrides=urls)
    runner.start(watch=True)
    try:
        started = [line for line in out.getvalue().splitlines() if " warning  " in line]
        assert len(started) == 1, started
        assert "odd.yaml: action.ref: 'workspaces.nope' is not an action of this pack" in \
            started[0]
        body = _rule("edited")
        body["action"]["parameters"]["nope"] = 1
        (overlay / "edited.yaml").write_text(yaml.safe_dump(body))
        _wait(lambda: "workspaces.edited" in _live(runner))
        _wait(lambda: "edited.yaml: action.parameters.nope: " in out.getvalue())
        warned = [line for line in out.getvalue().splitlines() if " warning  " in line]
        assert len(warned) == 2, warned  # the unchanged odd.yaml is not warned of again
    finally:
        runner.stop()
