"""The pack's public contract: snapshots, the classification of changes, the release rule.

The committed snapshot (contract/<version>.json) is the contract rules on a StackStorm rely on;
these tests change copies of the pack the way a careless release would and check each change is
classified as a rule author would feel it, and that a breaking one cannot ship without a major
version and a CHANGES.md note (docs/UPGRADING.md).
"""

import os

import pytest
from contract_test_support import (
    NEXT_MAJOR, NEXT_PATCH, PACK_DIR, RELEASED, add_changes_section, edit_yaml, pack_copy,
    rename_payload_field, set_version, trigger_type, unreleased_differences)

from workspaces_devkit.contract.compare import compare_contracts
from workspaces_devkit.contract.release import (
    breaking_notes, caret_major, check_release, is_major_bump, next_major)
from workspaces_devkit.contract.snapshot import (
    build_contract, load_snapshot, pack_version, snapshot_versions, write_snapshot)
from workspaces_devkit.runner.cli import main


def _keys(differences, breaking):
    return {d.key: d.change for d in differences if d.breaking == breaking}


def _edited(pack, edit):
    """The differences from the newest release's snapshot that ``edit(pack)`` adds to the copy
    (the working tree's own compatible additions since that release left out)."""
    before = unreleased_differences(pack)
    edit(pack)
    return [d for d in compare_contracts(load_snapshot(pack, RELEASED), build_contract(pack))
            if (d.key, d.change, d.breaking) not in before]


def test_the_working_tree_passes_the_release_rule_against_its_snapshot():
    check = check_release(PACK_DIR)
    assert check.baseline is not None, check.problems
    assert check.ok, "\n".join(check.problems + [d.line() for d in check.differences])


def test_every_released_version_has_a_snapshot_of_this_pack():
    versions = snapshot_versions(PACK_DIR)
    assert "0.3.0" in versions
    for version in versions:
        snapshot = load_snapshot(PACK_DIR, version)
        assert snapshot["pack"] == "workspaces" and snapshot["version"] == version


@pytest.fixture
def pack(tmp_path):
    """A copy of the pack at its released version."""
    return pack_copy(tmp_path)


def _breaking_copy(pack):
    """A renamed payload field, a parameter made required, a type changed, a trigger removed."""
    rename_payload_field(pack, "mous_uid", "mous")

    def file_trigger(document):
        parameters = trigger_type(document, "file_detected")["parameters_schema"]["properties"]
        del parameters["pattern"]["default"]
        parameters["pattern"]["required"] = True
        parameters["settle_seconds"]["type"] = "string"
        del parameters["settle_seconds"]["minimum"]
    edit_yaml(pack, "sensors/file_monitor_sensor.yaml", file_trigger)
    edit_yaml(pack, "sensors/vlba_data_sensor.yaml", lambda d: d.update(trigger_types=[]))


def test_breaking_changes_are_each_classified_breaking(pack):
    differences = _edited(pack, _breaking_copy)
    breaks = _keys(differences, True)
    assert breaks == {
        "trigger workspaces.alma_asdm payload.mous_uid": "removed (renamed to mous?)",
        "trigger workspaces.file_detected parameters.pattern": "made required without a default",
        "trigger workspaces.file_detected parameters.settle_seconds":
            "type changed from number to string",
        "trigger workspaces.vlba_data": "trigger removed",
    }
    assert _keys(differences, False) == {
        "trigger workspaces.alma_asdm payload.mous": "new field",
        "trigger workspaces.file_detected parameters.settle_seconds":
            "relaxed: minimum 0 removed",
    }


def test_a_breaking_change_needs_a_major_version_and_a_changes_note_for_each_break(pack):
    _breaking_copy(pack)
    frozen = check_release(pack)  # still the released version: its snapshot is frozen
    assert not frozen.ok and "contract of %s is released" % RELEASED in frozen.problems[0]
    assert "%s for a breaking difference" % NEXT_MAJOR in frozen.problems[0]

    set_version(pack, NEXT_PATCH)  # a patch release may not break
    check = check_release(pack)
    assert check.baseline == RELEASED
    assert "4 breaking difference(s) from %s need a major version: %s or higher, not %s" % (
        RELEASED, NEXT_MAJOR, NEXT_PATCH) in check.problems

    set_version(pack, NEXT_MAJOR)  # caret major, but CHANGES.md does not name the breaks yet
    check = check_release(pack)
    assert len(check.problems) == 4
    assert all("no '### Breaking' bullet" in p for p in check.problems)
    assert any("`trigger workspaces.alma_asdm payload.mous_uid`" in p for p in check.problems)

    add_changes_section(pack, NEXT_MAJOR, """
### Breaking
- `trigger workspaces.alma_asdm payload.mous_uid`: renamed to `mous`; rules read
  `trigger.mous` instead of `trigger.mous_uid`.
- `trigger workspaces.file_detected parameters.pattern`: now required; give `pattern: "*"`.
- `trigger workspaces.file_detected parameters.settle_seconds`: now a string.
""")
    check = check_release(pack)
    assert check.problems == [
        "CHANGES.md's ## %s section has no '### Breaking' bullet \"- `trigger "
        "workspaces.vlba_data`: <what a rule author must change>\" (trigger removed)" % NEXT_MAJOR]

    add_changes_section(pack, NEXT_MAJOR + "-unused", "")  # another section does not count
    with open(os.path.join(pack, "CHANGES.md")) as handle:
        text = handle.read().replace(
            "- `trigger workspaces.file_detected parameters.settle_seconds`",
            "- `trigger workspaces.vlba_data`: removed; use workspaces.file_detected.\n"
            "- `trigger workspaces.file_detected parameters.settle_seconds`")
    with open(os.path.join(pack, "CHANGES.md"), "w") as handle:
        handle.write(text)
    assert check_release(pack).ok

    # released: the new version's snapshot is committed, and the rule still holds over the history
    assert write_snapshot(pack) == (
        os.path.join(pack, "contract", NEXT_MAJOR + ".json"), "written")
    assert check_release(pack).ok
    with open(os.path.join(pack, "CHANGES.md"), "w") as handle:
        handle.write(text.replace("- `trigger workspaces.vlba_data`: removed; use "
                                  "workspaces.file_detected.\n", ""))
    assert check_release(pack).problems == [
        "contract/%s.json: CHANGES.md's ## %s section has no '### Breaking' bullet \"- "
        "`trigger workspaces.vlba_data`: <what a rule author must change>\" (trigger removed)"
        % (NEXT_MAJOR, NEXT_MAJOR)]


def test_narrowed_constraints_and_enums_on_given_values_are_breaking(pack):
    def edit(pack):
        edit_yaml(pack, "sensors/file_monitor_sensor.yaml", file_trigger)
        edit_yaml(pack, "config.schema.yaml",
                  lambda schema: schema["auth_mode"].update(enum=["none", "bearer"]))

    def file_trigger(document):
        parameters = trigger_type(document, "file_detected")["parameters_schema"]["properties"]
        parameters["directory"]["maxLength"] = 1024
        parameters["settle_seconds"]["minimum"] = 1
        parameters["recursive"]["enum"] = [False]
    differences = _edited(pack, edit)
    assert _keys(differences, True) == {
        "trigger workspaces.file_detected parameters.directory":
            "narrowed: maxLength changed from 4096 to 1024",
        "trigger workspaces.file_detected parameters.settle_seconds":
            "narrowed: minimum changed from 0 to 1",
        "trigger workspaces.file_detected parameters.recursive": "narrowed: enum [False] added",
        "config auth_mode": "narrowed enum: no longer accepts 'basic'",
    }
    assert _keys(differences, False) == {}


def test_a_removed_default_on_a_given_value_is_breaking(pack):
    """Who relied on the default (a config key left out, an action parameter not given) must now
    give the value: the 0.3.0 Workspaces URLs lost their localhost defaults this way."""
    def edit(pack):
        edit_yaml(pack, "config.schema.yaml",
                  lambda schema: schema["read_timeout_seconds"].pop("default"))
        edit_yaml(pack, "actions/capability_create_and_run.yaml",
                  lambda action: action["parameters"]["timeout"].pop("default"))
    differences = _edited(pack, edit)
    breaks = _keys(differences, True)
    assert set(breaks) == {"config read_timeout_seconds",
                           "action workspaces.capability_create_and_run parameters.timeout"}
    assert all("removed: give a value" in change for change in breaks.values()), breaks


def test_new_optional_items_and_relaxed_constraints_are_compatible(pack):
    def file_trigger(document):
        spec = trigger_type(document, "file_detected")
        spec["parameters_schema"]["properties"]["max_files"] = {"type": "integer", "minimum": 1}
        spec["parameters_schema"]["properties"]["settle_seconds"].pop("minimum")
        spec["parameters_schema"]["properties"]["ready_marker"]["default"] = ".ready"
        spec["payload_schema"]["properties"]["inode"] = {"type": "integer", "required": True}
        spec["description"] = "Reworded: descriptions are not contract."

    def edit(pack):
        edit_yaml(pack, "sensors/file_monitor_sensor.yaml", file_trigger)
        edit_yaml(pack, "actions/preflight.yaml", lambda action: action["parameters"].update(
            verbose={"type": "boolean", "default": False}))
        edit_yaml(pack, "config.schema.yaml", lambda schema: schema.update(
            health_interval_seconds={"type": "integer", "default": 60, "required": True}))
        with open(os.path.join(pack, "actions", "contract_probe.yaml"), "w") as handle:
            handle.write("name: contract_probe\nrunner_type: python-script\n"
                         "entry_point: contract_probe.py\nparameters: {}\n")
        os.makedirs(os.path.join(pack, "triggers"), exist_ok=True)
        with open(os.path.join(pack, "triggers", "contract_probe.yaml"), "w") as handle:
            handle.write("name: contract_probe\npayload_schema:\n  type: object\n"
                         "  properties:\n    sensor: {type: string, required: true}\n")
    differences = _edited(pack, edit)
    assert _keys(differences, True) == {}
    assert _keys(differences, False) == {
        "trigger workspaces.file_detected parameters.max_files": "new, optional",
        "trigger workspaces.file_detected parameters.settle_seconds": "relaxed: minimum 0 removed",
        "trigger workspaces.file_detected parameters.ready_marker": "default '.ready' added",
        "trigger workspaces.file_detected payload.inode": "new field",
        "action workspaces.preflight parameters.verbose": "new, optional",
        "config health_interval_seconds": "new, optional",
        "action workspaces.contract_probe": "new action",
        "trigger workspaces.contract_probe": "new trigger",
    }
    set_version(pack, NEXT_PATCH)  # compatible changes need no major version nor CHANGES note
    assert check_release(pack).ok


def test_payload_fields_break_the_other_way_round(pack):
    def asdm(document):
        payload = trigger_type(document, "alma_asdm")["payload_schema"]["properties"]
        payload["project_code"]["required"] = False      # may now be missing: breaking
        payload["eb_uid"]["type"] = ["string", "null"]   # wider output type: breaking
        payload["qa0_status"]["enum"] = ["Pass"]         # fewer values: compatible
    differences = _edited(pack, lambda pack: edit_yaml(pack, "sensors/alma_asdm_sensor.yaml",
                                                       asdm))
    before = load_snapshot(pack, RELEASED)["trigger_types"]["workspaces.alma_asdm"]
    assert before["payload_schema"]["properties"]["project_code"]["required"] is True
    assert _keys(differences, True) == {
        "trigger workspaces.alma_asdm payload.project_code":
            "no longer required: may now be missing",
        "trigger workspaces.alma_asdm payload.eb_uid": "type changed from string to null|string",
    }
    assert _keys(differences, False) == {
        "trigger workspaces.alma_asdm payload.qa0_status": "fewer possible values: 'Pass'"}


@pytest.mark.parametrize("old, new, major", [
    ("0.2.0", "0.3.0", True), ("0.2.0", "0.2.9", False), ("0.2.0", "1.0.0", True),
    ("1.4.2", "1.5.0", False), ("1.4.2", "2.0.0", True), ("0.0.3", "0.0.4", True),
    ("0.3.0", "0.2.0", False)])
def test_the_caret_rule_decides_what_a_major_bump_is(old, new, major):
    assert is_major_bump(old, new) is major


def test_caret_majors_and_the_next_major():
    assert [caret_major(v) for v in ("1.4.2", "0.2.5", "0.0.3")] == [(1,), (0, 2), (0, 0, 3)]
    assert [next_major(v) for v in ("1.4.2", "0.2.5", "0.0.3")] == ["2.0.0", "0.3.0", "0.0.4"]


def test_breaking_notes_read_only_the_versions_breaking_list():
    text = ("# Changelog\n\n## 0.3.0\n### Other\n- `config x`: not a break note\n"
            "### Breaking\n- `config y`: set y in\n  your config.\n* `action a.b`: gone\n"
            "- `config z`\n\n## 0.2.0\n### Breaking\n- `config old`: old\n")
    assert breaking_notes(text, "0.3.0") == {"config y": "set y in your config.",
                                             "action a.b": "gone", "config z": ""}


def test_snapshot_command_writes_once_and_refuses_to_rewrite_a_released_contract(pack, capsys):
    set_version(pack, NEXT_MAJOR)
    assert main(["contract", "snapshot", "--pack-dir", pack]) == 0
    assert capsys.readouterr().out == "contract/%s.json written\n" % NEXT_MAJOR
    assert load_snapshot(pack, NEXT_MAJOR) == build_contract(pack)
    assert main(["contract", "snapshot", "--pack-dir", pack]) == 0
    assert capsys.readouterr().out == "contract/%s.json unchanged\n" % NEXT_MAJOR
    rename_payload_field(pack)
    assert main(["contract", "snapshot", "--pack-dir", pack]) == 1
    assert "a released contract is frozen" in capsys.readouterr().out
    assert main(["contract", "diff", "--pack-dir", pack]) == 1
    out = capsys.readouterr().out
    assert "BREAKING trigger workspaces.alma_asdm payload.mous_uid: removed (renamed to mous?)" \
        in out
    assert "NOT RELEASABLE: the contract of %s is released" % NEXT_MAJOR in out
    assert pack_version(pack) == NEXT_MAJOR
    assert write_snapshot(pack, force=True)[1] == "written"
