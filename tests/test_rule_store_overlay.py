"""The first rule written into a ``--rules-dir`` overlay: the pack's rules are copied in while the
runner may reload at any moment, so every state a reload can see must be a whole, valid set."""

import os

import pytest

from workspaces_devkit import atomic_files
from workspaces_devkit.content import load_pack, overlay_rules
from workspaces_devkit.st2api import rule_store
from workspaces_devkit.st2api.rule_store import RuleStore

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _body(name):
    return {"name": name, "pack": "workspaces", "enabled": True,
            "trigger": {"type": "workspaces.alma_calibration"},
            "criteria": {"trigger.project_code": {"type": "equals", "pattern": "2099.A.1.S"}},
            "action": {"ref": "workspaces.capability_create_and_run",
                       "parameters": {"capability_name": "null"}}}


def test_a_reload_during_the_first_write_sees_the_whole_pack_set_every_time(
        tmp_path, monkeypatch):
    overlay = str(tmp_path / "overlay")
    pack = load_pack(PACK_DIR)
    pack_refs = sorted(rule.ref for rule in pack.rules)
    seen = []

    def write_then_reload(path, text):
        atomic_files.atomic_write(path, text)
        watcher = load_pack(PACK_DIR)  # the runner's reload, after every file the store writes
        seen.append((os.path.basename(path), overlay_rules(watcher, overlay),
                     sorted(rule.ref for rule in watcher.rules)))

    monkeypatch.setattr(rule_store, "atomic_write", write_then_reload)
    RuleStore(pack, rules_dir=overlay).create(_body("first_written"), "author")
    assert len(seen) > len(pack_refs)  # one reload after each copied file, marker and rule
    for name, errors, refs in seen:
        assert errors == [], name
        assert refs in (pack_refs, sorted(pack_refs + ["workspaces.first_written"])), name
    assert seen[-1][2] == sorted(pack_refs + ["workspaces.first_written"])
    assert not [n for n in os.listdir(overlay) if n.endswith(".tmp")]


def test_a_copy_cut_short_is_finished_by_the_next_write(tmp_path, monkeypatch):
    overlay = str(tmp_path / "overlay")
    pack = load_pack(PACK_DIR)
    pack_refs = sorted(rule.ref for rule in pack.rules)
    calls = []

    def crash_on_third(path, text):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        atomic_files.atomic_write(path, text)

    monkeypatch.setattr(rule_store, "atomic_write", crash_on_third)
    with pytest.raises(OSError):
        RuleStore(pack, rules_dir=overlay).create(_body("cut_short"), "author")
    watcher = load_pack(PACK_DIR)
    assert overlay_rules(watcher, overlay) == []
    assert sorted(rule.ref for rule in watcher.rules) == pack_refs  # the partial copy is unseen
    monkeypatch.setattr(rule_store, "atomic_write", atomic_files.atomic_write)
    RuleStore(load_pack(PACK_DIR), rules_dir=overlay).create(_body("cut_short"), "author")
    overlay_rules(watcher, overlay)
    assert sorted(rule.ref for rule in watcher.rules) == sorted(
        pack_refs + ["workspaces.cut_short"])


def test_a_rule_of_another_pack_needs_an_overlay(tmp_path):
    # the checkout's rules/ holds the pack's own rules: StackStorm's registration refuses
    # another pack's rule there, so without --rules-dir the API says where it could go
    from workspaces_devkit.st2api.errors import ApiError

    body = dict(_body("site_rule"), pack="default")
    with pytest.raises(ApiError) as refused:
        RuleStore(load_pack(PACK_DIR))._validated(body)
    assert refused.value.status == 400
    assert "--rules-dir" in refused.value.faultstring
    meta = RuleStore(load_pack(PACK_DIR), rules_dir=str(tmp_path / "overlay"))._validated(body)
    assert meta["pack"] == "default"
