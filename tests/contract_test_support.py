"""Copies of the pack with contract changes, for the contract and upgrade-check tests."""

import os
import shutil

import yaml

from workspaces_devkit.demo import COPY_IGNORE

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _released_versions():
    """The newest released version (the newest contract snapshot), the next major version after
    it and the next patch version: the tests name versions through these, so that they hold
    unchanged across releases."""
    from workspaces_devkit.contract.release import next_major
    from workspaces_devkit.contract.snapshot import parse_version, snapshot_versions

    released = snapshot_versions(PACK_DIR)[-1]
    major, minor, patch = parse_version(released)
    return released, next_major(released), "%d.%d.%d" % (major, minor, patch + 1)


RELEASED, NEXT_MAJOR, NEXT_PATCH = _released_versions()


def pack_copy(tmp_path, name="pack"):
    """Copy the pack (with contract/ and CHANGES.md) into ``tmp_path/name`` at the version of
    its newest release (``RELEASED``, whatever pack.yaml says); return the copy's path."""
    pack = str(tmp_path / name)
    shutil.copytree(PACK_DIR, pack, ignore=COPY_IGNORE)
    set_version(pack, RELEASED)
    return pack


def unreleased_differences(pack, version=RELEASED):
    """``{(key, change, breaking)}`` between snapshot ``version`` and the pack copy as it is (the
    working tree's own additions since that release), so that a test checks only its edits."""
    from workspaces_devkit.contract.compare import compare_contracts
    from workspaces_devkit.contract.snapshot import build_contract, load_snapshot

    return {(d.key, d.change, d.breaking)
            for d in compare_contracts(load_snapshot(pack, version), build_contract(pack))}


def edit_yaml(pack, relpath, change):
    """Load ``pack/relpath``, call ``change(document)`` and write the document back."""
    path = os.path.join(pack, relpath)
    with open(path) as handle:
        document = yaml.safe_load(handle)
    change(document)
    with open(path, "w") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)


def trigger_type(document, name):
    """The trigger type ``name`` in a sensor metadata document."""
    return next(t for t in document["trigger_types"] if t["name"] == name)


def set_version(pack, version):
    """Set pack.yaml's version."""
    edit_yaml(pack, "pack.yaml", lambda meta: meta.update(version=version))


def rename_payload_field(pack, old="mous_uid", new="mous"):
    """alma_asdm's payload field ``old`` becomes ``new`` (same schema)."""
    def change(document):
        properties = trigger_type(document, "alma_asdm")["payload_schema"]["properties"]
        properties[new] = properties.pop(old)
    edit_yaml(pack, "sensors/alma_asdm_sensor.yaml", change)


def add_changes_section(pack, version, text):
    """Put a ``## version`` section holding ``text`` at the top of CHANGES.md's list."""
    path = os.path.join(pack, "CHANGES.md")
    with open(path) as handle:
        changes = handle.read()
    at = changes.index("\n## ") + 1
    with open(path, "w") as handle:
        handle.write(changes[:at] + "## %s\n%s\n\n" % (version, text.strip()) + changes[at:])
