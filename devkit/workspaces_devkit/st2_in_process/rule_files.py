"""The rules folder as the st2 API's rule changes write it (so rules survive a restart).

A rule created or updated through the API (``st2 rule create``, the web UI) is written to
``<folder>/<name>.yaml`` (or over the file that already holds that rule), atomically: the folder
watcher never reads half a file. A rule deleted through the API loses its file.
"""

import os

import yaml

from workspaces_devkit.atomic_files import atomic_write

__all__ = ["rules_on_disk", "write_rule", "delete_rule"]

_FIELDS = ("name", "pack", "description", "enabled", "trigger", "criteria", "action")


def rules_on_disk(folder):
    """``{rule name: path}`` of the rule files in ``folder`` (unreadable files are skipped)."""
    from workspaces_devkit.upgrade.cli import rules_from_folder

    return {str(rule["name"]): path for path, rule in rules_from_folder(folder)[0]
            if rule.get("name")}


def write_rule(folder, rule):
    """Write ``rule`` (the API's rule as a dict) to its file in ``folder``; return the path."""
    document = {field: rule.get(field) for field in _FIELDS
                if rule.get(field) not in (None, "", {}) or field in ("name", "enabled")}
    for field, keys in (("trigger", ("type", "parameters")), ("action", ("ref", "parameters"))):
        if field in document:
            document[field] = {key: value for key, value in document[field].items()
                               if key in keys and value not in (None, {})}
    path = rules_on_disk(folder).get(rule["name"]) or os.path.join(folder, rule["name"] + ".yaml")
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, "---\n" + yaml.safe_dump(document, sort_keys=False))
    return path


def delete_rule(folder, name):
    """Remove the file of rule ``name`` from ``folder`` (nothing when there is none)."""
    path = rules_on_disk(folder).get(name)
    if path is not None:
        os.remove(path)
