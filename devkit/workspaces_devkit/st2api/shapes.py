"""StackStorm API documents (the JSON the st2 API sends) built from the pack's content.

Shapes follow StackStorm's API models (st2common/models/api/*.py, openapi.yaml.j2): ``ActionAPI``,
``RunnerTypeAPI``, ``TriggerTypeAPI``, ``RuleAPI``, ``KeyValuePairAPI`` and ``ActionExecutionAPI``.
Ids are stable 24-hex-digit strings derived from the reference, like MongoDB ObjectIds.
"""

import copy
import hashlib
import json
import os
import uuid

from workspaces_devkit.content import RUNNER_PARAMETERS
from workspaces_devkit.st2api.auth import format_isotime

__all__ = ["stable_id", "action_doc", "runner_doc", "trigger_type_doc", "rule_doc", "key_doc",
           "execution_doc", "select_attributes", "runner_parameters", "SYSTEM_SCOPE",
           "trigger_doc", "liveaction_doc", "pack_doc", "action_overview_doc",
           "sensor_type_doc", "output_docs"]

SYSTEM_SCOPE = "st2kv.system"

_RUNNER_DESCRIPTIONS = {
    "python-script": "A runner for launching python actions.",
}
_PYTHON_RUNNER_PARAMETER_DOCS = {
    "timeout": "Action timeout in seconds. Action will get killed if it doesn't finish in "
               "timeout seconds.",
    "env": "Environment variables which will be available to the script.",
    "log_level": "The default log level for the Python action.",
    "debug": "Enable runner debug mode.",
    "content_version": "Git revision of the pack content to use for this action execution "
                       "(git commit sha / tag / branch).",
}


def stable_id(kind, ref):
    """Return a stable ObjectId-like id (24 hex digits) for ``kind``/``ref``."""
    return hashlib.sha1(("%s:%s" % (kind, ref)).encode("utf-8")).hexdigest()[:24]


def runner_parameters(runner_name):
    """Return the runner's parameter definitions (with descriptions), ``{}`` for unknown runners."""
    params = copy.deepcopy(RUNNER_PARAMETERS.get(runner_name, {}))
    if runner_name == "python-script":
        for name, definition in params.items():
            definition.setdefault("description", _PYTHON_RUNNER_PARAMETER_DOCS.get(name, name))
    return params


def _relative(pack_dir, path):
    return os.path.relpath(path, pack_dir) if path else None


def action_doc(pack, spec):
    """Return the ``ActionAPI`` document for an ``ActionSpec`` of ``pack``."""
    meta = spec.meta
    entry_point = meta.get("entry_point", "")
    return {
        "id": stable_id("action", spec.ref),
        "uid": "action:%s:%s" % (pack.ref, spec.name),
        "ref": spec.ref,
        "name": spec.name,
        "pack": pack.ref,
        "description": meta.get("description"),
        "enabled": bool(meta.get("enabled", True)),
        "runner_type": spec.runner_type,
        "entry_point": entry_point,
        "parameters": copy.deepcopy(spec.parameters),
        "output_schema": copy.deepcopy(meta.get("output_schema") or {}),
        "notify": copy.deepcopy(meta.get("notify") or {}),
        "tags": copy.deepcopy(meta.get("tags") or []),
        "metadata_file": _relative(pack.pack_dir, spec.path),
    }


def action_overview_doc(action, runner):
    """``/actions/views/overview``: the action with its runner's parameters merged in.

    As StackStorm's ``get_params_view`` (merged_only): every runner parameter, with the
    action's overrides of it applied, then the action's own parameters.
    """
    doc = copy.deepcopy(action)
    merged = copy.deepcopy(runner.get("runner_parameters") or {})
    for name, spec in (action.get("parameters") or {}).items():
        merged.setdefault(name, {}).update(copy.deepcopy(spec or {}))
    doc["parameters"] = merged
    return doc


def pack_doc(pack):
    """Return the ``PackAPI`` document of the served pack (``GET /packs``)."""
    meta = pack.meta
    return {
        "id": stable_id("pack", pack.ref),
        "uid": "pack:%s" % pack.ref,
        "ref": pack.ref,
        "name": meta.get("name", pack.ref),
        "description": meta.get("description", ""),
        "keywords": copy.deepcopy(meta.get("keywords") or []),
        "version": str(meta.get("version", "")),
        "stackstorm_version": meta.get("stackstorm_version"),
        "python_versions": copy.deepcopy(meta.get("python_versions") or []),
        "author": meta.get("author", ""),
        "email": meta.get("email", ""),
        "contributors": copy.deepcopy(meta.get("contributors") or []),
        "dependencies": copy.deepcopy(meta.get("dependencies") or []),
        "files": sorted(_pack_files(pack.pack_dir)),
        "path": pack.pack_dir,
    }


def _pack_files(pack_dir):
    skip = {".git", ".local", ".venv", ".venv-st2cli", "__pycache__", "node_modules"}
    for folder, dirs, files in os.walk(pack_dir):
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith(".")]
        for name in files:
            if not name.endswith(".pyc"):
                yield os.path.relpath(os.path.join(folder, name), pack_dir)


def runner_doc(runner_name):
    """Return the ``RunnerTypeAPI`` document for ``runner_name``."""
    package = runner_name.replace("-script", "_runner").replace("-", "_")
    return {
        "id": stable_id("runner_type", runner_name),
        "uid": "runner_type:%s" % runner_name,
        "name": runner_name,
        "description": _RUNNER_DESCRIPTIONS.get(runner_name, runner_name),
        "enabled": True,
        "runner_package": package,
        "runner_module": package,
        "runner_parameters": runner_parameters(runner_name),
        "output_key": "result",
        "output_schema": {},
    }


def trigger_type_doc(pack, spec):
    """Return the ``TriggerTypeAPI`` document for a trigger type dict of a sensor."""
    return {
        "id": stable_id("trigger_type", spec["ref"]),
        "uid": "trigger_type:%s:%s" % (pack.ref, spec.get("name")),
        "ref": spec["ref"],
        "name": spec.get("name"),
        "pack": pack.ref,
        "description": spec.get("description"),
        "payload_schema": copy.deepcopy(spec.get("payload_schema") or {}),
        "parameters_schema": copy.deepcopy(spec.get("parameters_schema") or {}),
        "tags": copy.deepcopy(spec.get("tags") or []),
    }


def _trigger_ref(pack_ref, trigger_type, parameters):
    """The Trigger's ref: the type ref without parameters, ``<pack>.<uuid>`` with (StackStorm)."""
    if not parameters:
        return trigger_type
    digest = json.dumps({"type": trigger_type, "parameters": parameters}, sort_keys=True)
    return "%s.%s" % (pack_ref, uuid.uuid5(uuid.NAMESPACE_URL, digest))


def rule_doc(pack, spec):
    """Return the ``RuleAPI`` document for a ``RuleSpec``; ``enabled`` defaults to False."""
    meta = spec.meta
    trigger = meta.get("trigger") or {}
    action = meta.get("action") or {}
    rule_pack = meta.get("pack", pack.ref)
    trigger_type = trigger.get("type")
    parameters = copy.deepcopy(trigger.get("parameters") or {})
    return {
        "id": stable_id("rule", spec.ref),
        "uid": "rule:%s:%s" % (rule_pack, spec.name),
        "ref": spec.ref,
        "name": spec.name,
        "pack": rule_pack,
        "description": meta.get("description"),
        "enabled": bool(meta.get("enabled", False)),
        "trigger": {"type": trigger_type, "ref": _trigger_ref(rule_pack, trigger_type, parameters),
                    "parameters": parameters},
        "criteria": copy.deepcopy(meta.get("criteria") or {}),
        "action": {"ref": action.get("ref"),
                   "parameters": copy.deepcopy(action.get("parameters") or {})},
        "type": {"ref": "standard", "parameters": {}},
        "context": {},
        "tags": copy.deepcopy(meta.get("tags") or []),
        "metadata_file": "rules/" + os.path.basename(spec.path),  # an overlay rule too
    }


def sensor_type_doc(pack, spec):
    """Return the ``SensorTypeAPI`` document of a ``SensorSpec``."""
    ref = "%s.%s" % (pack.ref, spec.class_name)
    return {
        "id": stable_id("sensor_type", ref),
        "uid": "sensor_type:%s:%s" % (pack.ref, spec.class_name),
        "ref": ref,
        "name": spec.class_name,
        "class_name": spec.class_name,
        "pack": pack.ref,
        "description": spec.meta.get("description"),
        "artifact_uri": "file://" + spec.entry_point,
        "entry_point": os.path.basename(spec.entry_point),
        "enabled": bool(spec.enabled),
        "poll_interval": spec.poll_interval,
        "trigger_types": [t["ref"] for t in spec.trigger_types],
        "metadata_file": _relative(pack.pack_dir, spec.path),
    }


def trigger_doc(rule):
    """Return the ``TriggerAPI`` document of the trigger a rule document listens to."""
    trigger = rule["trigger"]
    name = trigger["ref"].split(".", 1)[-1]
    return {"id": stable_id("trigger", trigger["ref"]), "ref": trigger["ref"],
            "uid": "trigger:%s:%s:%s" % (rule["pack"], name, stable_id(
                "trigger_parameters", json.dumps(trigger["parameters"], sort_keys=True))),
            "name": name, "pack": rule["pack"], "type": trigger["type"],
            "parameters": copy.deepcopy(trigger["parameters"])}


def key_doc(name, value, expire_timestamp=None):
    """Return the ``KeyValuePairAPI`` document of a system-scope key."""
    doc = {
        "id": name,
        "uid": "key_value_pair:%s:%s" % (SYSTEM_SCOPE, name),
        "name": name,
        "value": value,
        "scope": SYSTEM_SCOPE,
        "secret": False,
        "encrypted": False,
    }
    if expire_timestamp:
        doc["expire_timestamp"] = format_isotime(expire_timestamp)
    return doc


def execution_doc(record, action, runner):
    """Return the ``ActionExecutionAPI`` document of an execution record.

    ``action`` and ``runner`` are the action's and runner's API documents (StackStorm embeds
    both; the CLI reads ``action.runner_type`` and ``action.ref``).
    """
    context = _execution_context(record, action)
    doc = {
        "id": record.id,
        "action": action,
        "runner": runner,
        "liveaction": {"id": record.liveaction_id, "action": record.action_ref,
                       "parameters": copy.deepcopy(record.parameters),
                       "status": record.status, "action_is_workflow": False},
        "status": record.status,
        "start_timestamp": format_isotime(record.start_timestamp),
        "parameters": copy.deepcopy(record.parameters),
        "result": copy.deepcopy(record.result),
        "context": context,
        "log": [{"status": status, "timestamp": format_isotime(when)}
                for status, when in record.log],
        "children": [],
    }
    for field in ("rule", "trigger", "trigger_type", "trigger_instance"):
        if record.origin.get(field):
            doc[field] = copy.deepcopy(record.origin[field])
    if record.end_timestamp is not None:
        doc["end_timestamp"] = format_isotime(record.end_timestamp)
        doc["elapsed_seconds"] = round(record.end_timestamp - record.start_timestamp, 6)
    return doc


def _execution_context(record, action):
    """The execution's ``context``: user and pack; rule and trigger instance refs for a rule's."""
    context = {"user": record.user, "pack": action.get("pack")}
    context.update(copy.deepcopy(record.origin.get("context") or {}))
    rule = record.origin.get("rule")
    instance = record.origin.get("trigger_instance")
    if rule:
        context["rule"] = {"id": rule["id"], "name": rule["name"]}
    if instance:
        context["trigger_instance"] = {"id": instance["id"], "name": None}
    return context


def output_docs(record, action, output_type="all"):
    """Return the ``ActionExecutionOutputAPI`` documents of a finished execution's output.

    A python action's stdout and stderr are known once it has ended; each becomes one document.
    """
    result = record.result if isinstance(record.result, dict) else {}
    when = format_isotime(record.end_timestamp or record.start_timestamp)
    return [{"id": stable_id("output", "%s:%s" % (record.id, name)), "execution_id": record.id,
             "action_ref": record.action_ref, "runner_ref": action.get("runner_type"),
             "timestamp": when, "output_type": name, "data": str(result[name])}
            for name in ("stdout", "stderr")
            if output_type in ("all", name) and result.get(name)]


def liveaction_doc(record, action):
    """Return the ``LiveActionAPI`` document of an execution record (``st2.liveaction__*``)."""
    doc = {"id": record.liveaction_id, "action": record.action_ref, "status": record.status,
           "parameters": copy.deepcopy(record.parameters), "action_is_workflow": False,
           "start_timestamp": format_isotime(record.start_timestamp),
           "context": dict(_execution_context(record, action), execution_id=record.id),
           "result": copy.deepcopy(record.result), "runner_info": {}, "callback": {}}
    if record.end_timestamp is not None:
        doc["end_timestamp"] = format_isotime(record.end_timestamp)
    return doc


def _pick(doc, parts):
    if not isinstance(doc, dict) or parts[0] not in doc:
        return None
    if len(parts) == 1:
        return {parts[0]: doc[parts[0]]}
    inner = _pick(doc[parts[0]], parts[1:])
    return None if inner is None else {parts[0]: inner}


def _merge(into, extra):
    for key, value in extra.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value


def select_attributes(doc, include=None, exclude=None):
    """Apply ``?include_attributes=a,b.c`` / ``?exclude_attributes=`` to one document.

    Dotted names keep only that nested field. ``id`` is always kept with ``include`` (as the
    MongoDB projection does).
    """
    if include:
        picked = {"id": doc["id"]} if "id" in doc else {}
        for name in include:
            part = _pick(doc, name.split("."))
            if part:
                _merge(picked, part)
        doc = picked
    if exclude:
        doc = {key: value for key, value in doc.items() if key not in exclude}
    return doc
