"""Generate the README's reference tables from the pack's own metadata, and check they are current.

``python devkit/workspaces_devkit/readme_tables.py`` rewrites the part of README.md between the
``<!-- BEGIN GENERATED TABLES -->`` and ``<!-- END GENERATED TABLES -->`` markers; the test suite
fails when README.md differs from what this module generates, so the tables never drift from the
YAML files StackStorm registers.
"""

import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from workspaces_devkit.content import load_pack  # noqa: E402

BEGIN = "<!-- BEGIN GENERATED TABLES -->"
END = "<!-- END GENERATED TABLES -->"


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


def _property_rows(properties, with_default=True):
    rows = []
    for name, prop in _flattened(properties):
        flags = []
        if prop.get("required"):
            flags.append("required")
        if prop.get("secret"):
            flags.append("secret")
        cells = ["`%s`" % name, _cell(_type(prop)), ", ".join(flags)]
        if with_default:
            cells.append(_cell(_default(prop)))
        cells.append(_cell(prop.get("description")))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def render(pack_dir):
    """Return the generated markdown for the pack at ``pack_dir``."""
    pack = load_pack(pack_dir)
    out = ["### Triggers", ""]
    origins = [(spec, "Sensor `%s` (`sensors/%s`)." % (sensor.class_name,
                                                       os.path.basename(sensor.entry_point)))
               for sensor in pack.sensors for spec in sensor.trigger_types]
    origins += [(spec, "Dispatched by every sensor of the pack (`triggers/%s`)."
                 % os.path.basename(spec["metadata_file"])) for spec in pack.triggers]
    for spec, origin in origins:
        out += ["#### `%s`" % spec["ref"], "",
                "%s %s" % (_cell(spec.get("description")), origin), ""]
        params = (spec.get("parameters_schema") or {}).get("properties")
        if params:
            out += ["Trigger parameters:", "",
                    "| parameter | type | flags | default | description |",
                    "|---|---|---|---|---|"] + _property_rows(params) + [""]
        out += ["Payload:", "", "| field | type | flags | description |", "|---|---|---|---|"]
        out += _property_rows((spec.get("payload_schema") or {}).get("properties"),
                              with_default=False) + [""]
    out += ["### Actions", ""]
    for action in pack.actions:
        out += ["#### `%s`" % action.ref, "", _cell(action.meta.get("description")), "",
                "| parameter | type | flags | default | description |", "|---|---|---|---|---|"]
        out += _property_rows(action.parameters) + [""]
    out += ["### Rules", "", "| rule | enabled | trigger | action | description |",
            "|---|---|---|---|---|"]
    for rule in pack.rules:
        out.append("| `%s` | %s | `%s` | `%s` | %s |" % (
            rule.ref, "yes" if rule.enabled else "no", (rule.raw.get("trigger") or {}).get("type"),
            (rule.raw.get("action") or {}).get("ref"), _cell(rule.raw.get("description"))))
    out += ["", "### Policies", "", "| policy | action | type | parameters | description |",
            "|---|---|---|---|---|"]
    for policy in pack.policies:
        params = ", ".join("%s=%s" % item for item in sorted(policy.parameters.items()))
        out.append("| `%s` | `%s` | `%s` | %s | %s |" % (
            policy.ref, policy.resource_ref, policy.policy_type, _cell(params),
            _cell(policy.meta.get("description"))))
    out += ["", "### Configuration (`config.schema.yaml`)", "",
            "| key | type | flags | default | description |", "|---|---|---|---|---|"]
    out += _property_rows(pack.config_schema)
    return "\n".join(out) + "\n"


def splice(readme_text, tables):
    """Return ``readme_text`` with the generated block replaced by ``tables``."""
    head, _, rest = readme_text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return "%s%s\n%s%s%s" % (head, BEGIN, tables, END, tail)


def main():
    """Rewrite README.md's generated tables in place."""
    pack_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(pack_dir, "README.md")
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(splice(text, render(pack_dir)))
    print("README.md tables regenerated")


if __name__ == "__main__":
    main()
