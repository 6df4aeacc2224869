"""Generate the reference tables of README.md and docs/REFERENCE.md from the pack's own metadata.

``python devkit/workspaces_devkit/readme_tables.py`` rewrites every generated block (between
``<!-- BEGIN GENERATED: <name> -->`` and ``<!-- END GENERATED: <name> -->``): README's short
tables and sample payloads, and docs/REFERENCE.md's every parameter, payload field, policy and
config key. The suite fails when either file differs from what this module generates.
"""

import json
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from workspaces_devkit.content import load_pack  # noqa: E402

__all__ = ["COMMON_CONFIG_KEYS", "SAMPLE_VALUES", "GENERATED_FILES", "render_blocks",
           "sample_payload", "splice", "regenerated", "main"]

BEGIN = "<!-- BEGIN GENERATED: %s -->"
END = "<!-- END GENERATED: %s -->"

# The configuration keys README's key table shows: what a site sets first. Every key, with its
# default, is in docs/REFERENCE.md.
COMMON_CONFIG_KEYS = (
    "capability_service_url", "workflow_service_url", "auth_mode", "auth_token",
    "alma_archive_db_url", "archive_metadata_db_url", "alma_table_prefix",
    "alma_delivery_time_column", "execution_blocks_uid_column", "not_calibrateable_status",
    "vlba_data_directory", "state_max_entries",
)

# The values of README's sample payloads, per trigger type and field: a payload_schema gives each
# sample its fields, in order; a field not listed here takes its schema's first enum value, and one
# with neither is an error, so a new payload field cannot go without a sample. The suite validates
# every sample against its schema (tests/test_readme_quickstart.py).
SAMPLE_VALUES = {
    "workspaces.alma_asdm": {
        "eb_uid": "uid://A002/Xc7111c/X3979", "project_code": "2017.1.00886.L",
        "mous_uid": "uid://A001/X1284/X265f", "mous_found": True, "qa0_status": "Pass",
        "end_time": "2026-11-25T03:00:00Z"},
    "workspaces.alma_calibration": {
        "mous_uid": "uid://A001/X1284/X265f", "project_code": "2017.1.00886.L",
        "calibrateable": True, "eb_uids": ["uid://A002/Xc7111c/X3979"], "eb_count": 1,
        "delivery_id": "2017.1.00886.L_2026_002",
        "delivery_name": "2017.1.00886.L_uid___A001_X1284_X265f",
        "delivered_at": "2026-11-26T09:30:00Z"},
    "workspaces.file_detected": {
        "path": "/data/workspaces/incoming/uid___A002_Xc7111c_X3979.tar",
        "directory": "/data/workspaces/incoming", "name": "uid___A002_Xc7111c_X3979.tar",
        "size": 52428800, "mtime": 1795600000.0, "pattern": "*.tar"},
    "workspaces.vlba_data": {
        "project_code": "BL178AC", "directory": "/data/vlba/correlator/BL178AC",
        "directories": ["/data/vlba/correlator/BL178AC"],
        "files": ["VLBA_BL178AC_bl178ac_BIN0_SRC0_0_111228T171125.idifits",
                  "VLBA_BL178AC_bl178ac_BIN0_SRC0_1_111228T171125.idifits"],
        "file_count": 2, "total_bytes": 2147483648},
    "workspaces.sensor_problem": {
        "sensor": "AlmaAsdmSensor",
        "trigger_ref": "workspaces.6c1d2f0e-3b8a-4c55-9d1e-2f7a0b9c4e11",
        "trigger_parameters": {"qa0_statuses": ["Pass", "SemiPass"]},
        "kind": "database_unreachable",
        "message": "the ALMA archive database did not answer (connection refused)",
        "since": "2026-11-25T03:00:00Z", "consecutive_failures": 3},
}

# file (relative to the pack) -> the generated blocks it holds, in order
GENERATED_FILES = {
    "README.md": ("config", "triggers", "actions", "rules"),
    os.path.join("docs", "REFERENCE.md"): ("reference",),
}


def _cell(value):
    text = "" if value is None else str(value)
    return " ".join(text.replace("|", "\\|").split())


def _type(prop):
    kind = prop.get("type", "")
    kind = "/".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and isinstance(prop.get("items"), dict) and prop["items"].get("type"):
        kind = "array of %s" % prop["items"]["type"]
    if prop.get("enum"):
        kind += " (%s)" % ", ".join(str(v) for v in prop["enum"])
    return kind


def _default(prop):
    if "default" not in prop:
        return ""
    return "`%s`" % (prop["default"],) if prop["default"] not in ("", None) else '`""`'


def _flattened(properties):
    """Yield ``(name, prop)``, then ``(name.sub, prop)`` for each property of an object."""
    for name, prop in (properties or {}).items():
        prop = prop or {}
        yield name, prop
        if prop.get("type") == "object" and isinstance(prop.get("properties"), dict):
            for sub, sub_prop in _flattened(prop["properties"]):
                yield "%s.%s" % (name, sub), sub_prop


def _property_rows(properties, with_default=True, only=None):
    rows = []
    for name, prop in _flattened(properties):
        if only is not None and name not in only:
            continue
        flags = ", ".join(flag for flag in ("required", "secret") if prop.get(flag))
        cells = ["`%s`" % name, _cell(_type(prop)), flags]
        if with_default:
            cells.append(_cell(_default(prop)))
        cells.append(_cell(prop.get("description")))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


CONFIG_HEADER = ["| key | type | flags | default | description |", "|---|---|---|---|---|"]


def _trigger_specs(pack):
    """``(sensor, spec)`` of every trigger type; sensor None for the ``triggers/`` folder's."""
    for sensor in pack.sensors:
        for spec in sensor.trigger_types:
            yield sensor, spec
    for spec in pack.triggers:
        yield None, spec


def _rule_rows(pack):
    rows = ["| rule | enabled | trigger | action | description |", "|---|---|---|---|---|"]
    for rule in pack.rules:
        rows.append("| `%s` | %s | `%s` | `%s` | %s |" % (
            rule.ref, "yes" if rule.enabled else "no", (rule.raw.get("trigger") or {}).get("type"),
            (rule.raw.get("action") or {}).get("ref"), _cell(rule.raw.get("description"))))
    return rows


def _readme_triggers(pack):
    out = ["| trigger | sensor | trigger parameters | description |", "|---|---|---|---|"]
    for sensor, spec in _trigger_specs(pack):
        params = ((spec.get("parameters_schema") or {}).get("properties") or {})
        out.append("| `%s` | %s | %s | %s |" % (
            spec["ref"], "`%s`" % sensor.class_name if sensor else "every sensor",
            ", ".join("`%s`" % p for p in params) or "none",
            _cell(spec.get("description"))))
    return out


def sample_payload(spec):
    """The sample payload of a trigger type: ``SAMPLE_VALUES`` in its payload_schema's field order.

    Raises ``ValueError`` naming a field that has neither a sample value nor an enum."""
    values = SAMPLE_VALUES.get(spec["ref"], {})
    payload = {}
    for name, prop in ((spec.get("payload_schema") or {}).get("properties") or {}).items():
        if name in values:
            payload[name] = values[name]
        elif (prop or {}).get("enum"):
            payload[name] = prop["enum"][0]
        else:
            raise ValueError("%s: payload field %r has no sample value (SAMPLE_VALUES in %s)"
                             % (spec["ref"], name, os.path.basename(__file__)))
    return payload


def _readme_samples(pack):
    out = []
    for _, spec in _trigger_specs(pack):
        out += ["", "`%s`:" % spec["ref"], "", "<!-- sample payload: %s -->" % spec["ref"],
                "```json", json.dumps(sample_payload(spec), indent=2), "```"]
    return out


def _readme_actions(pack):
    out = ["| action | required parameters | description |", "|---|---|---|"]
    for action in pack.actions:
        required = [name for name, prop in (action.parameters or {}).items()
                    if (prop or {}).get("required")]
        names = ", ".join("`%s`" % name for name in required) or "none"
        out.append("| `%s` | %s | %s |" % (action.ref, names,
                                           _cell(action.meta.get("description"))))
    return out


def _reference(pack):
    out = ["## Triggers", ""]
    for sensor, spec in _trigger_specs(pack):
        if sensor is None:
            origin = "Dispatched by every sensor of the pack (`triggers/%s`)." % (
                os.path.basename(spec["metadata_file"]))
        else:
            origin = "Sensor `%s` (`sensors/%s`): %s" % (
                sensor.class_name, os.path.basename(sensor.entry_point),
                _cell(sensor.meta.get("description")))
        out += ["### `%s`" % spec["ref"], "", "%s %s" % (_cell(spec.get("description")), origin),
                ""]
        params = (spec.get("parameters_schema") or {}).get("properties")
        if params:
            out += ["Trigger parameters:", "",
                    "| parameter | type | flags | default | description |",
                    "|---|---|---|---|---|"] + _property_rows(params) + [""]
        out += ["Payload:", "", "| field | type | flags | description |", "|---|---|---|---|"]
        out += _property_rows((spec.get("payload_schema") or {}).get("properties"),
                              with_default=False) + [""]
    out += ["## Actions", ""]
    for action in pack.actions:
        out += ["### `%s`" % action.ref, "", _cell(action.meta.get("description")), "",
                "| parameter | type | flags | default | description |", "|---|---|---|---|---|"]
        out += _property_rows(action.parameters) + [""]
    out += ["## Rules", ""] + _rule_rows(pack)
    out += ["", "## Policies", "", "| policy | action | type | parameters | description |",
            "|---|---|---|---|---|"]
    for policy in pack.policies:
        params = ", ".join("%s=%s" % item for item in sorted(policy.parameters.items()))
        out.append("| `%s` | `%s` | `%s` | %s | %s |" % (
            policy.ref, policy.resource_ref, policy.policy_type, _cell(params),
            _cell(policy.meta.get("description"))))
    out += ["", "## Configuration (`config.schema.yaml`)", ""] + CONFIG_HEADER
    out += _property_rows(pack.config_schema)
    return out


def render_blocks(pack_dir):
    """Return ``{block name: generated markdown}`` for the pack at ``pack_dir``."""
    pack = load_pack(pack_dir)
    blocks = {
        "config": CONFIG_HEADER + _property_rows(pack.config_schema, only=COMMON_CONFIG_KEYS),
        "triggers": _readme_triggers(pack) + _readme_samples(pack),
        "actions": _readme_actions(pack),
        "rules": _rule_rows(pack),
        "reference": _reference(pack),
    }
    return {name: "\n".join(lines) + "\n" for name, lines in blocks.items()}


def splice(text, name, block):
    """Return ``text`` with generated block ``name`` replaced by ``block``.

    Raises ``ValueError`` when the file has no such block (its markers were edited away)."""
    begin, end = BEGIN % name, END % name
    head, found, rest = text.partition(begin)
    body, found_end, tail = rest.partition(end)
    if not found or not found_end:
        raise ValueError("no generated block %r (markers %s ... %s)" % (name, begin, end))
    return "%s%s\n%s%s%s" % (head, begin, block, end, tail)


def regenerated(pack_dir, relpath, text):
    """Return ``text`` (the content of ``relpath``) with its generated blocks brought up to date."""
    blocks = render_blocks(pack_dir)
    for name in GENERATED_FILES[relpath]:
        text = splice(text, name, blocks[name])
    return text


def main():
    """Rewrite the generated blocks of README.md and docs/REFERENCE.md in place."""
    pack_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for relpath in GENERATED_FILES:
        path = os.path.join(pack_dir, relpath)
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:
            handle.write(regenerated(pack_dir, relpath, text))
        print("%s: tables regenerated" % relpath)


if __name__ == "__main__":
    main()
