"""Read a pack's public contract and keep one snapshot of it per released version.

The contract is what a rule, a pack config or an operator's ``st2 run`` relies on: every trigger
type's ``parameters_schema`` and ``payload_schema`` (of ``sensors/`` and ``triggers/``), every
action's runner and ``parameters``, and ``config.schema.yaml``; descriptions are not contract.
Snapshots live beside the pack as ``contract/<version>.json``; the working tree is held to its
version's own snapshot (a released contract is frozen), else to the newest of a lower version.
"""

import glob
import json
import os

from workspaces_devkit.content import load_pack
from workspaces_devkit.st2meta import load_yaml

__all__ = ["CONTRACT_DIR", "build_contract", "pack_version", "snapshot_path", "write_snapshot",
           "load_snapshot", "snapshot_versions", "baseline", "previous_release", "parse_version",
           "contract_json"]

#: The folder (in the pack directory) that holds one ``<version>.json`` per released version.
CONTRACT_DIR = "contract"
#: Schema keywords that are documentation, not contract.
_NOT_CONTRACT = ("description", "title")
#: Keywords whose value is a map of name -> schema (property names are data, not keywords).
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
#: Keywords whose value is a schema or a list of schemas.
_SCHEMA_VALUES = ("items", "additionalProperties", "additionalItems", "not", "allOf", "anyOf",
                  "oneOf")


def parse_version(text):
    """Return ``(major, minor, patch)`` of a semver string (pre-release and build ignored)."""
    core = str(text).split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError("%r is not a semver version (MAJOR.MINOR.PATCH)" % (text,))
    return tuple(int(part) for part in parts)


def strip_docs(schema):
    """Return a copy of a schema without its documentation keywords (at every level)."""
    if isinstance(schema, list):
        return [strip_docs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _NOT_CONTRACT:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_docs(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES:
            out[key] = strip_docs(value)
        else:
            out[key] = value
    return out


def _strip_docs_map(properties):
    return {name: strip_docs(sub) for name, sub in (properties or {}).items()}


def pack_version(pack_dir):
    """Return pack.yaml's ``version`` as text."""
    return str((load_yaml(os.path.join(pack_dir, "pack.yaml")) or {}).get("version"))


def build_contract(pack_dir):
    """Return the public contract of the pack in ``pack_dir`` as a JSON-ready dict."""
    pack = load_pack(pack_dir)
    triggers = {ref: {"parameters_schema": strip_docs(spec.get("parameters_schema") or {}),
                      "payload_schema": strip_docs(spec.get("payload_schema") or {})}
                for ref, spec in pack.trigger_types().items()}
    actions = {action.ref: {"runner_type": action.runner_type,
                            "parameters": _strip_docs_map(action.parameters)}
               for action in pack.actions if action.name}
    return {"pack": pack.ref, "version": str(pack.meta.get("version")), "trigger_types": triggers,
            "actions": actions, "config_schema": _strip_docs_map(pack.config_schema)}


def contract_json(contract):
    """The snapshot file's text for ``contract`` (stable: sorted keys, one final newline)."""
    return json.dumps(contract, indent=2, sort_keys=True) + "\n"


def snapshot_path(pack_dir, version):
    """Path of the snapshot file of ``version``."""
    return os.path.join(pack_dir, CONTRACT_DIR, "%s.json" % version)


def load_snapshot(pack_dir, version):
    """Return the snapshot of ``version`` (a dict), or None when there is none."""
    path = snapshot_path(pack_dir, version)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def snapshot_versions(pack_dir):
    """Return the versions that have a snapshot, lowest first."""
    found = []
    for path in glob.glob(os.path.join(pack_dir, CONTRACT_DIR, "*.json")):
        name = os.path.basename(path)[:-len(".json")]
        try:
            found.append((parse_version(name), name))
        except ValueError:
            continue
    return [name for _, name in sorted(found)]


def write_snapshot(pack_dir, force=False):
    """Write the snapshot of pack.yaml's version; return ``(path, status)``: ``"written"``,
    ``"unchanged"`` or ``"frozen"`` (a different snapshot of this version exists: a released
    contract does not change unless ``force``)."""
    contract = build_contract(pack_dir)
    path = snapshot_path(pack_dir, contract["version"])
    text = contract_json(contract)
    if os.path.exists(path):
        with open(path) as handle:
            if handle.read() == text:
                return path, "unchanged"
        if not force:
            return path, "frozen"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path, "written"


def baseline(pack_dir, version=None):
    """Return ``(version, snapshot)`` the working tree is compared with (see the module
    docstring), or ``(None, None)``."""
    version = version or pack_version(pack_dir)
    own = load_snapshot(pack_dir, version)
    if own is not None:
        return version, own
    return previous_release(pack_dir, version)


def previous_release(pack_dir, version=None):
    """Return ``(version, snapshot)`` of the newest snapshot of a version lower than ``version``
    (default: pack.yaml's), or ``(None, None)``: the release a site upgrades from."""
    current = parse_version(version or pack_version(pack_dir))
    lower = [v for v in snapshot_versions(pack_dir) if parse_version(v) < current]
    if not lower:
        return None, None
    return lower[-1], load_snapshot(pack_dir, lower[-1])
