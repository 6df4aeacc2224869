"""Load and validate the pack's content the way StackStorm's registration does.

``load_pack`` reads pack.yaml, config.schema.yaml, sensors (with their trigger types), triggers,
actions, rules and policies into small spec objects, so what runs locally is what StackStorm
registers. ``validate_pack`` applies the checks StackStorm's registrars and API models apply (plus
a few this pack adds, such as every ``{{ trigger.x }}`` in a rule existing in the trigger's
payload_schema) and returns ``ContentError`` objects naming file and field.
"""

import ast
import copy
import functools
import glob
import itertools
import os
import re
from collections import namedtuple

import jsonschema
import semver

from workspaces_devkit.kvstore import datastore_reader
from workspaces_devkit.pack_config import ConfigRenderError, registration_problems, resolve_config
from workspaces_devkit.runner.operators import OPERATORS
from workspaces_devkit.st2meta import YamlFileError, load_yaml

__all__ = [
    "ContentError", "Pack", "SensorSpec", "ActionSpec", "RuleSpec", "PolicySpec",
    "load_pack", "validate_pack", "RUNNER_PARAMETERS", "POLICY_PARAMETER_SCHEMAS",
    "rule_files", "rule_errors", "overlay_rules",
    "PACK_REF_RE", "schema_error_text", "trigger_paths", "path_in_schema", "strings_in",
]


class ContentError(namedtuple("ContentError", "path field message")):
    """A problem found in a content file: the file, the field (dotted path; empty for a file
    that does not parse, whose ``path`` is then ``FILE:LINE:COLUMN``) and what is wrong."""

    __slots__ = ()

    def __str__(self):
        return ": ".join(str(part) for part in self if part != "")

    @classmethod
    def of_yaml(cls, error):
        """The ``ContentError`` of a ``YamlFileError``."""
        return cls(error.where, "", error.problem)


SensorSpec = namedtuple("SensorSpec", "path meta class_name entry_point poll_interval enabled "
                                      "trigger_types")
ActionSpec = namedtuple("ActionSpec",
                        "path meta ref name entry_point runner_type parameters enabled")
RuleSpec = namedtuple("RuleSpec", "path meta ref name raw enabled")
PolicySpec = namedtuple("PolicySpec", "path meta ref name resource_ref policy_type parameters")

PACK_REF_RE = re.compile(r"^[a-z0-9_]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TRIGGER_REF_IN_TEMPLATE_RE = re.compile(
    r"\btrigger((?:\.[A-Za-z_][A-Za-z0-9_]*|\[['\"][^'\"]+['\"]\])+)"
    r"(?:\(\s*['\"]([^'\"]+)['\"])?")
#: A nested parameter value that is exactly one payload field: ``{{ trigger.a.b }}``.
NESTED_TRIGGER_FIELD_RE = re.compile(r"^\s*{{\s*trigger\.([A-Za-z_][\w.]*)\s*}}\s*$")
PARAM_NAME_RE = re.compile(r"^\w+$")
ST2_VERSION_RE = re.compile(r"^((>?>|>=|=|<=|<?<)\s*[0-9]+\.[0-9]+\.[0-9]+?(\s*,)?\s*)+$")
#: Attributes StackStorm's action_params meta-schema allows on an action parameter or config key.
PARAM_ATTRIBUTES = {
    "$schema", "additionalItems", "additionalProperties", "allOf", "anyOf", "default",
    "definitions", "dependencies", "description", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "id", "immutable", "items", "maxItems", "maxLength", "maxProperties", "maximum", "minItems",
    "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf", "pattern",
    "patternProperties", "position", "properties", "required", "secret", "title", "type",
    "uniqueItems"}
ACTION_KEYS = {"id", "ref", "uid", "name", "description", "enabled", "runner_type", "entry_point",
               "pack", "parameters", "output_schema", "tags", "notify", "metadata_file"}
SENSOR_KEYS = {"id", "ref", "uid", "class_name", "pack", "description", "artifact_uri",
               "entry_point", "enabled", "trigger_types", "poll_interval", "metadata_file"}
TRIGGER_TYPE_KEYS = {"id", "ref", "uid", "name", "pack", "description", "payload_schema",
                     "parameters_schema", "tags", "metadata_file"}
RULE_KEYS = {"id", "ref", "uid", "name", "pack", "description", "type", "trigger", "criteria",
             "action", "enabled", "context", "tags", "metadata_file"}
RULE_ACTION_KEYS = {"ref", "parameters", "description"}
POLICY_KEYS = {"id", "uid", "name", "pack", "ref", "description", "enabled", "resource_ref",
               "policy_type", "parameters", "metadata_file"}

#: Runner parameters an action may refer to or override (python-script runner).
RUNNER_PARAMETERS = {
    "python-script": {
        "timeout": {"type": "integer", "default": 600},
        "env": {"type": "object"},
        "log_level": {"type": "string", "enum": ["AUDIT", "CRITICAL", "ERROR", "WARNING", "INFO",
                                                 "DEBUG"]},
        "debug": {"type": "boolean", "default": False},
        "content_version": {"type": "string"},
    },
}
KNOWN_RUNNERS = {"python-script", "local-shell-cmd", "local-shell-script", "remote-shell-cmd",
                 "remote-shell-script", "orquesta", "action-chain", "http-request", "noop",
                 "inquirer", "announcement", "winrm-cmd", "winrm-ps-cmd", "winrm-ps-script"}
#: Attributes of a runner parameter an action may override ("type" only to the same type).
RUNNER_OVERRIDABLE = {"default", "description", "enum", "immutable", "required", "position",
                      "type"}

POLICY_PARAMETER_SCHEMAS = {
    "action.concurrency": {
        "threshold": {"type": "integer", "minimum": 0, "required": True},
        "action": {"type": "string", "enum": ["delay", "cancel"], "default": "delay"},
    },
    "action.concurrency.attr": {
        "threshold": {"type": "integer", "minimum": 0, "required": True},
        "action": {"type": "string", "enum": ["delay", "cancel"], "default": "delay"},
        "attributes": {"type": "array", "items": {"type": "string", "minLength": 1},
                       "uniqueItems": True},
    },
    "action.retry": {
        "retry_on": {"type": "string", "enum": ["failure", "timeout"], "required": True},
        "max_retry_count": {"type": "integer", "minimum": 1, "maximum": 5, "default": 2,
                            "required": True},
        "delay": {"type": "number", "minimum": 0, "maximum": 120},
    },
}

#: Refs of the actions of StackStorm's own packs, which a rule may use (not run locally).
STACKSTORM_ACTION_PREFIXES = ("core.", "st2.")
#: What StackStorm stores but cannot carry out (its rule API and registration check neither the
#: action nor the payload): warnings naming what its rules engine will do with the rule.
UNKNOWN_ACTION_WARNING = (
    "%r is not an action of this pack: StackStorm stores the rule, but every enforcement of it "
    "fails (Action \"%s\" doesn't exist)")
UNKNOWN_PARAMETER_WARNING = (
    "%s has no parameter %r: StackStorm stores the rule, but every enforcement of it fails "
    "(Additional properties are not allowed (%r was unexpected))")
MISSING_FIELD_WARNING = (
    "%s is not in the payload_schema of %s: StackStorm stores the rule, but the criterion sees "
    "no value (None) on every trigger, so the rule does not match unless its operator holds "
    "for None")

#: Rule criteria operators StackStorm knows (st2common/operators.py).
CRITERIA_OPERATORS = frozenset(OPERATORS)  # the local runner's table: one list of operators


class Pack(object):
    """A pack's content as StackStorm registers it."""

    def __init__(self, pack_dir):
        self.pack_dir = os.path.abspath(pack_dir)
        self.meta = load_yaml(os.path.join(self.pack_dir, "pack.yaml")) or {}
        self.ref = self.meta.get("ref") or self.meta.get("name")
        schema_path = os.path.join(self.pack_dir, "config.schema.yaml")
        self.config_schema = (load_yaml(schema_path) or {}) if os.path.exists(schema_path) else {}
        self.sensors = [self._sensor(p) for p in _yaml_files(self.pack_dir, "sensors")]
        self.triggers = [self._trigger(p) for p in _yaml_files(self.pack_dir, "triggers")]
        self.actions = [self._action(p) for p in _yaml_files(self.pack_dir, "actions")]
        self.rules = [self.load_rule(p) for p in _yaml_files(self.pack_dir, "rules")]
        self.policies = [self._policy(p) for p in _yaml_files(self.pack_dir, "policies")]

    def _sensor(self, path):
        meta = _mapping(load_yaml(path))
        entry = os.path.join(os.path.dirname(path), str(meta.get("entry_point", "")))
        types = [dict(spec, ref="%s.%s" % (self.ref, spec.get("name")))
                 for spec in meta.get("trigger_types") or [] if isinstance(spec, dict)]
        return SensorSpec(path, meta, meta.get("class_name"), entry, meta.get("poll_interval"),
                          meta.get("enabled", True), types)

    def _trigger(self, path):
        """A trigger type of the pack's ``triggers/`` folder (StackStorm's TriggersRegistrar,
        st2common/bootstrap/triggersregistrar.py: ``pack`` defaults to the pack's ref)."""
        meta = _mapping(load_yaml(path))
        return dict(meta, ref="%s.%s" % (meta.get("pack") or self.ref, meta.get("name")),
                    metadata_file=path)

    def _action(self, path):
        meta = _mapping(load_yaml(path))
        entry = os.path.join(os.path.dirname(path), str(meta.get("entry_point", "")))
        return ActionSpec(path, meta, "%s.%s" % (self.ref, meta.get("name")), meta.get("name"),
                          entry, meta.get("runner_type"), meta.get("parameters") or {},
                          meta.get("enabled", True))

    def load_rule(self, path):
        """Return the ``RuleSpec`` of one rule file (of this pack or an overlay)."""
        meta = _mapping(load_yaml(path))
        return RuleSpec(path, meta, "%s.%s" % (meta.get("pack", self.ref), meta.get("name")),
                        meta.get("name"), meta, meta.get("enabled", True))

    def _policy(self, path):
        meta = _mapping(load_yaml(path))
        return PolicySpec(path, meta, "%s.%s" % (meta.get("pack", self.ref), meta.get("name")),
                          meta.get("name"), meta.get("resource_ref"), meta.get("policy_type"),
                          meta.get("parameters") or {})

    def trigger_types(self):
        """Return ``{trigger type ref: spec}`` over all sensors and the ``triggers/`` folder."""
        types = {spec["ref"]: spec for sensor in self.sensors for spec in sensor.trigger_types}
        for spec in self.triggers:
            types.setdefault(spec["ref"], spec)
        return types

    def action(self, ref):
        """Return the ActionSpec for ``ref`` or None."""
        return next((a for a in self.actions if a.ref == ref), None)


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _yaml_files(pack_dir, folder):
    return sorted(glob.glob(os.path.join(pack_dir, folder, "*.yaml")) +
                  glob.glob(os.path.join(pack_dir, folder, "*.yml")))


def load_pack(pack_dir):
    """Load the pack in ``pack_dir`` (no validation; see ``validate_pack``)."""
    return Pack(pack_dir)


def rule_files(pack, folder):
    """The rule files of overlay ``folder``; an overlay without a rule file stands for the
    pack's own ``rules/``, whose files are returned."""
    files = _yaml_files(os.path.dirname(os.path.abspath(folder)), os.path.basename(folder))
    return files or _yaml_files(pack.pack_dir, "rules")


def rule_errors(pack, rules, warnings=None):
    """Return the ``ContentError`` list of ``rules`` (RuleSpecs of an overlay) against ``pack``:
    the rule checks of ``validate_pack``, except that a rule may be of any pack and needs no
    description, as in StackStorm's rule API."""
    view = copy.copy(pack)  # the same pack, seen with these rules only
    view.rules = list(rules)
    out = _Collector(pack.pack_dir, warnings)
    _check_rules(view, out, own_rules=False)
    return out.errors


def overlay_rules(pack, folder, warnings=None):
    """Load the rules of overlay ``folder`` into ``pack.rules``; return their ``ContentError``s
    (see ``rule_errors``; warnings go to the ``warnings`` list when one is given); a file that is
    not YAML is left out, with its ``ContentError``."""
    pack.rules, unparsed = [], []
    for path in rule_files(pack, folder):
        try:
            pack.rules.append(pack.load_rule(path))
        except YamlFileError as error:
            unparsed.append(ContentError.of_yaml(error))
    return unparsed + rule_errors(pack, pack.rules, warnings)


# --- validation --------------------------------------------------------------------------------

class _Collector(object):
    def __init__(self, pack_dir, warnings=None):
        self.pack_dir = pack_dir
        self.errors = []
        self.warnings = warnings if warnings is not None else []

    def add(self, path, field, message):
        self.errors.append(ContentError(os.path.relpath(path, self.pack_dir), field, message))

    def warn(self, path, field, message):
        self.warnings.append(ContentError(os.path.relpath(path, self.pack_dir), field, message))


def _schema_errors(properties, path, field, out):
    """Check a properties map is a valid schema in StackStorm's dialect."""
    from st2common.util import schema as util_schema

    if not isinstance(properties, dict):
        out.add(path, field, "must be a mapping of property name to schema")
        return
    for name, prop in properties.items():
        if not isinstance(prop, dict):
            out.add(path, "%s.%s" % (field, name), "must be a mapping")
            continue
        if not {"type", "$ref", "anyOf", "oneOf"} & set(prop):
            out.add(path, "%s.%s.type" % (field, name), "is missing")
    try:
        util_schema.CustomValidator.check_schema({"type": "object", "properties": properties})
    except jsonschema.SchemaError as error:
        where = ".".join(str(p) for p in list(error.absolute_path)[1:])
        out.add(path, "%s.%s" % (field, where) if where else field,
                "invalid in StackStorm's schema dialect: %s" % error.message)
        return
    for name, prop in properties.items():
        if isinstance(prop, dict) and "default" in prop and prop["default"] is not None:
            errors = list(util_schema.CustomValidator(prop).iter_errors(prop["default"]))
            if errors:
                out.add(path, "%s.%s.default" % (field, name),
                        "default does not match its schema: %s" % errors[0].message)


def _fields(meta, path, out, required=(), allowed=None, prefix=""):
    """Refuse a ``required`` field that is missing or empty, a field not in ``allowed`` (when
    given) and an allowed ``enabled`` that is not true or false."""
    for key in required:
        if meta.get(key) in (None, "", [], {}):
            out.add(path, prefix + key, "required field is missing or empty")
    for key in sorted(set(meta) - allowed) if allowed is not None else []:
        out.add(path, prefix + str(key), "is not a field StackStorm accepts here (allowed: %s)"
                % ", ".join(sorted(allowed)))
    if "enabled" in (allowed or ()) and not isinstance(meta.get("enabled", True), bool):
        out.add(path, prefix + "enabled", "must be true or false")


def _param_definitions(params, path, field, out):
    """Check parameter definitions as StackStorm's action_params meta-schema does."""
    for name, prop in params.items() if isinstance(params, dict) else []:
        where = "%s.%s" % (field, name)
        if not PARAM_NAME_RE.match(str(name)):
            out.add(path, where, "parameter names must match ^\\w+$")
        if not isinstance(prop, dict):
            continue
        _fields(prop, path, out, allowed=PARAM_ATTRIBUTES, prefix=where + ".")
        if isinstance(prop.get("type"), list):
            out.add(path, where + ".type", "StackStorm accepts one type name here, not a list")


def _check_pack_meta(pack, out):
    path = os.path.join(pack.pack_dir, "pack.yaml")
    meta = pack.meta
    _fields(meta, path, out, ["ref", "name", "description", "version", "author", "email"])
    if meta.get("ref") and not PACK_REF_RE.match(str(meta["ref"])):
        out.add(path, "ref", "%r does not match ^[a-z0-9_]+$" % meta["ref"])
    if "version" in meta and not (isinstance(meta["version"], str) and
                                  semver.Version.is_valid(meta["version"])):
        out.add(path, "version", "%r must be a quoted semver string like \"1.2.3\"" % (
            meta["version"],))
    if meta.get("email") and not EMAIL_RE.match(str(meta["email"])):
        out.add(path, "email", "%r is not an email address" % meta["email"])
    versions = meta.get("python_versions") or []
    if "3" not in versions or not all(version in ("2", "3") for version in versions):
        out.add(path, "python_versions", 'must list "3" (items: the strings "2" or "3")')
    if meta.get("stackstorm_version") and not ST2_VERSION_RE.match(str(meta["stackstorm_version"])):
        out.add(path, "stackstorm_version", "%r must look like \">=3.8.0\"" % (
            meta["stackstorm_version"],))
    if not isinstance(meta.get("keywords", []), list):
        out.add(path, "keywords", "must be a list")


def _check_config_schema(pack, out):
    path = os.path.join(pack.pack_dir, "config.schema.yaml")
    if not os.path.exists(path):
        return
    for key, spec in pack.config_schema.items():
        if not isinstance(spec, dict):
            out.add(path, key, "must be a mapping")
            continue
        _fields(spec, path, out, ["type", "description"], prefix=key + ".")
        if "secret" in spec and not isinstance(spec["secret"], bool):
            out.add(path, key + ".secret", "must be true or false")
    _param_definitions(pack.config_schema, path, "(config)", out)
    _schema_errors(pack.config_schema, path, "(config)", out)
    example = os.path.join(pack.pack_dir, "%s.yaml.example" % pack.ref)
    if not os.path.exists(example):
        return
    try:
        config = load_yaml(example) or {}
    except YamlFileError as error:
        out.errors.append(ContentError.of_yaml(error))
        return
    kv_get = datastore_reader(os.path.join(pack.pack_dir, ".local"))
    for field, message in config_errors(pack, config, example, kv_get=kv_get):
        out.add(example, field, message)


def config_errors(pack, config, config_path, kv_get=None):
    """Return ``[(field, message)]`` for a pack config: StackStorm's refusal at registration or
    at loading, in its words, and keys config.schema.yaml does not have (StackStorm accepts them,
    but nothing reads them)."""
    problems = [(str(key), "is not in config.schema.yaml (StackStorm accepts it, but nothing "
                 "reads it)") for key in (config if isinstance(config, dict) else {})
                if key not in pack.config_schema]
    refused = registration_problems(pack.config_schema, config, config_path, pack.ref)
    if refused or not isinstance(config, dict):
        return refused + problems
    try:
        resolve_config(pack.config_schema, config, kv_get, pack.ref)
    except ConfigRenderError as error:
        problems.append((error.key, str(error)))
    return problems


def _module_defines_class(py_path, class_name):
    with open(py_path) as handle:
        tree = ast.parse(handle.read(), filename=py_path)
    return any(isinstance(node, ast.ClassDef) and node.name == class_name for node in tree.body)


def _check_sensors(pack, out):
    names = set()
    for sensor in pack.sensors:
        path, meta = sensor.path, sensor.meta
        _fields(meta, path, out, ["class_name", "entry_point", "description"], SENSOR_KEYS)
        if sensor.poll_interval is not None and (not isinstance(sensor.poll_interval, int) or
                                                 sensor.poll_interval < 4):
            out.add(path, "poll_interval", "must be an integer >= 4 seconds")
        if meta.get("entry_point"):
            if not os.path.isfile(sensor.entry_point):
                out.add(path, "entry_point", "file %s does not exist" % meta["entry_point"])
            elif sensor.class_name and not _module_defines_class(sensor.entry_point,
                                                                 sensor.class_name):
                out.add(path, "class_name", "%s is not defined in %s" % (
                    sensor.class_name, meta["entry_point"]))
        if not meta.get("trigger_types"):
            out.add(path, "trigger_types", "required field is missing or empty")
        for index, spec in enumerate(meta.get("trigger_types") or []):
            field = "trigger_types[%d]" % index
            if not isinstance(spec, dict):
                out.add(path, field, "must be a mapping")
                continue
            _check_trigger_type(spec, path, field + ".", names, out)


def _check_trigger_type(spec, path, prefix, declared, out):
    """One trigger type (a sensor's, its fields under ``prefix``, or a ``triggers/`` file's) as
    StackStorm's TriggerTypeAPI takes it; ``declared`` holds the names seen so far."""
    _fields(spec, path, out, ["name", "description", "payload_schema"], TRIGGER_TYPE_KEYS, prefix)
    if spec.get("name") and not NAME_RE.match(str(spec["name"])):
        out.add(path, prefix + "name", "%r is not a valid name" % spec["name"])
    if spec.get("name") in declared:
        out.add(path, prefix + "name", "trigger type %r is declared twice" % spec["name"])
    declared.add(spec.get("name"))
    _check_type_schemas(spec, path, prefix.rstrip("."), out)


def _check_trigger_files(pack, out):
    """The ``triggers/`` folder, as StackStorm's TriggersRegistrar and TriggerTypeAPI take it."""
    declared = set(spec.get("name") for sensor in pack.sensors for spec in sensor.trigger_types)
    for spec in pack.triggers:
        path = spec["metadata_file"]
        meta = {key: value for key, value in spec.items() if key not in ("ref", "metadata_file")}
        if meta.get("pack") and meta["pack"] != pack.ref:
            out.add(path, "pack", "%r is not this pack (%s); StackStorm refuses the file"
                    % (meta["pack"], pack.ref))
        _check_trigger_type(meta, path, "", declared, out)


def _check_type_schemas(spec, path, field, out):
    """A trigger type's parameters_schema and payload_schema in StackStorm's dialect."""
    for key in ("parameters_schema", "payload_schema"):
        schema = spec.get(key)
        if schema is None:
            continue
        where = "%s%s" % (field + "." if field else "", key)
        if not isinstance(schema, dict) or schema.get("type", "object") != "object":
            out.add(path, where, "must be an object schema")
            continue
        _schema_errors(schema.get("properties") or {}, path, where + ".properties", out)
        if "required" in schema and not isinstance(schema["required"], bool):
            out.add(path, where + ".required",
                    "an object-level required list is not StackStorm's dialect; put "
                    "required: true on each property (StackStorm would drop every payload)")


def _check_actions(pack, out):
    for action in pack.actions:
        path, meta = action.path, action.meta
        _fields(meta, path, out, ["name", "runner_type", "description"], ACTION_KEYS)
        if meta.get("name") and not NAME_RE.match(str(meta["name"])):
            out.add(path, "name", "%r is not a valid action name" % meta["name"])
        if meta.get("runner_type") and meta["runner_type"] not in KNOWN_RUNNERS:
            out.add(path, "runner_type", "%r is not a StackStorm runner" % meta["runner_type"])
        if meta.get("runner_type") in ("python-script", "local-shell-script"):
            if not meta.get("entry_point"):
                out.add(path, "entry_point", "required for runner %s" % meta["runner_type"])
            elif not os.path.isfile(action.entry_point):
                out.add(path, "entry_point", "file %s does not exist" % meta["entry_point"])
        params = meta.get("parameters") or {}
        _param_definitions(params, path, "parameters", out)
        _schema_errors(params, path, "parameters", out)
        runner_params = RUNNER_PARAMETERS.get(meta.get("runner_type"), {})
        for name, prop in params.items() if isinstance(params, dict) else []:
            if not isinstance(prop, dict):
                continue
            if name in runner_params:
                for attr in prop:
                    if attr not in RUNNER_OVERRIDABLE:
                        out.add(path, "parameters.%s.%s" % (name, attr),
                                "runner parameter attribute %r cannot be overridden" % attr)
                if prop.get("type", runner_params[name]["type"]) != runner_params[name]["type"]:
                    out.add(path, "parameters.%s.type" % name,
                            "runner parameter type cannot change from %s"
                            % runner_params[name]["type"])
            elif not prop.get("description"):
                out.add(path, "parameters.%s.description" % name,
                        "every parameter needs a description (the web UI and st2 run show it)")
        _check_positions(params, path, out)


#: Why ``position`` is refused on optional parameters (st2client 3.9.0, ``st2 run <action> -h``).
POSITION_SORT_REASON = (
    "the st2 CLI of StackStorm 3.9 sorts the parameters of `st2 run <action> -h` by position, "
    "or else by name, and fails (\"'<' not supported between instances of 'str' and 'int'\") "
    "when one list mixes both; the runner's own optional parameters have no position")


def _check_positions(params, path, out):
    """Positions each their own and contiguous, and as ``st2 run <action> -h`` of st2client 3.9
    can sort them: on required parameters only, on all of them or none."""
    positions, required = {}, {}
    for name, prop in params.items() if isinstance(params, dict) else []:
        if not isinstance(prop, dict):
            continue
        where = "parameters.%s.position" % name
        if "position" in prop:
            if not isinstance(prop["position"], int) or prop["position"] < 0:
                out.add(path, where, "must be an integer >= 0")
            elif prop["position"] in positions:
                out.add(path, where, "position %d is also used by %s"
                        % (prop["position"], positions[prop["position"]]))
            else:
                positions[prop["position"]] = name
        if prop.get("immutable") is True:
            continue
        if prop.get("required") is True:
            required[name] = "position" in prop
        elif "position" in prop:
            out.add(path, where, "position is allowed only on required parameters: %s"
                    % POSITION_SORT_REASON)
    if positions and sorted(positions) != list(range(min(positions), max(positions) + 1)):
        out.add(path, "parameters", "positions must be contiguous, got %s" % sorted(positions))
    if len(set(required.values())) > 1:
        out.add(path, "parameters", "give every required parameter a position or none (%s): %s"
                % (", ".join(sorted(n for n, has in required.items() if not has)),
                   POSITION_SORT_REASON))


#: What may be wrong with a path or a file name, in words: ``(reason, applies, fix)``.
_PATH_FIXES = (
    ("contains a NUL character", lambda text: "\x00" in text,
     lambda text: text.replace("\x00", "")),
    ("has a '..' component", lambda text: ".." in text.split("/"),
     lambda text: "/".join(part for part in text.split("/") if part != "..")),
    ("is a relative path (give an absolute one, starting with /)",
     lambda text: not text.startswith("/"), lambda text: "/" + text),
    ("contains '/' (one name is wanted)", lambda text: "/" in text.strip("/"),
     lambda text: text.replace("/", "")),
)


def schema_error_text(error):
    """The message of a JSON-schema ``error`` in words: where a value fails a ``pattern`` of a
    path or name, what is wrong with it (a relative path, a '..' component, a '/' in a name)
    rather than the regular expression; other errors keep jsonschema's message."""
    value, pattern = error.instance, error.validator_value
    if error.validator != "pattern" or not isinstance(value, str):
        return error.message
    for count in range(1, len(_PATH_FIXES) + 1):  # the fewest fixes that make the value pass
        for fixes in itertools.combinations(_PATH_FIXES, count):
            if all(applies(value) for _, applies, _ in fixes):
                fixed = functools.reduce(lambda text, item: item[2](text), fixes, value)
                if re.search(pattern, fixed):
                    return "%r %s" % (value, " and ".join(reason for reason, _, _ in fixes))
    description = (error.schema or {}).get("description")
    return "%r is not allowed here%s" % (value, ": " + description if description else
                                         " (it must match %s)" % pattern)


def trigger_paths(text):
    """Yield the dotted ``trigger.x.y`` paths (and ``trigger.get("x")``) used in a template."""
    for match in TRIGGER_REF_IN_TEMPLATE_RE.finditer(text):
        parts = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[['\"]([^'\"]+)['\"]\]", match.group(1))
        path = [a or b for a, b in parts]
        if match.group(2) is not None and path and path[-1] == "get":
            path = path[:-1] + [match.group(2)]  # trigger.get("x") reads the field x
        yield path


def path_in_schema(parts, schema):
    """True when the payload path ``parts`` (``["a", "b"]`` for ``trigger.a.b``) can exist under
    ``schema`` (below a free-form object or an array anything can)."""
    node = schema
    for part in parts:
        props = (node or {}).get("properties") or {}
        if part in props:
            node = props[part]
        else:  # anything is allowed below a free-form object or an array
            return (node or {}).get("type") == "array" or \
                ((node or {}).get("type") == "object" and not props)
    return True


def strings_in(value):
    """Yield every string in ``value`` (a rule's parameters or patterns), nested ones included."""
    if isinstance(value, str):
        yield value
    for item in value.values() if isinstance(value, dict) else \
            value if isinstance(value, list) else []:
        yield from strings_in(item)


def _field_schema(parts, schema):
    """The payload_schema property at ``parts`` (None when unknown or below a free-form value)."""
    node = schema
    for part in parts:
        node = ((node or {}).get("properties") or {}).get(part)
        if node is None:
            return None
    return node


def _nested_texts(value, payload_schema, where=""):
    """Yield ``(where, problem)`` for payload fields that StackStorm would turn into text.

    A Jinja expression nested inside an object or array parameter is rendered as a string
    (st2common/util/param.py ``_render``): ``{{ trigger.size }}`` gives ``"1000"`` and a missing
    or null field ``"None"``. Only a non-string or optional payload field is a problem.
    """
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else []
    for key, item in items:
        here = "%s.%s" % (where, key) if isinstance(value, dict) else "%s[%d]" % (where, key)
        if isinstance(item, (dict, list)):
            yield from _nested_texts(item, payload_schema, here)
            continue
        match = NESTED_TRIGGER_FIELD_RE.match(item) if isinstance(item, str) else None
        field = _field_schema(match.group(1).split("."), payload_schema) if match else None
        if field is None:
            continue
        if field.get("type") != "string" or not field.get("required"):
            yield here, (
                "StackStorm accepts this, but will send {{ trigger.%s }} nested in parameter "
                "%%s as text (%s); build the whole parameter in one expression, e.g. "
                "\"{{ {'x': trigger.x} | tojson }}\"" % (
                    match.group(1), "its %s value becomes a string" % field.get("type")
                    if field.get("type") != "string" else "a missing value becomes \"None\""))


def _value_errors(schema, value, path, field, out):
    """Add what ``schema`` (StackStorm's dialect) refuses in ``value``, under ``field``."""
    from st2common.util import schema as util_schema

    for error in util_schema.CustomValidator(schema).iter_errors(value):
        where = ".".join(str(part) for part in error.absolute_path)
        out.add(path, field + ("." + where if where else ""), schema_error_text(error))


def _check_rules(pack, out, own_rules=True):
    """Check ``pack.rules``; ``own_rules``: they are the pack's rules/ (of the pack, each with a
    description)."""
    trigger_types = pack.trigger_types()
    required = ["name", "pack", "trigger", "action"]
    if own_rules:
        required.insert(2, "description")
    for rule in pack.rules:
        path, meta = rule.path, rule.meta
        _fields(meta, path, out, required, RULE_KEYS)
        if meta.get("pack") and meta["pack"] != pack.ref and own_rules:
            out.add(path, "pack", "%r is not this pack (%s)" % (meta["pack"], pack.ref))
        if "enabled" not in meta:
            out.add(path, "enabled", "required field is missing (StackStorm registers a rule "
                    "without it as disabled)")
        trigger = meta.get("trigger") if isinstance(meta.get("trigger"), dict) else {}
        type_ref = trigger.get("type")
        spec = trigger_types.get(type_ref)
        if type_ref and spec is None and not str(type_ref).startswith("core."):
            out.add(path, "trigger.type", "%r is not a trigger type of this pack (known: %s)"
                    % (type_ref, ", ".join(sorted(trigger_types))))
        if spec is not None:
            params = trigger.get("parameters") or {}
            schema = spec.get("parameters_schema")
            if schema and schema.get("properties") and not params:
                out.add(path, "trigger.parameters", "trigger type %s has a parameters_schema, so "
                        "StackStorm needs at least one parameter to create the trigger" % type_ref)
            if schema:
                _value_errors(schema, params, path, "trigger.parameters", out)
        criteria = meta.get("criteria") or {}
        if not isinstance(criteria, dict):
            out.add(path, "criteria", "must be a mapping")
            criteria = {}
        for key, criterion in criteria.items():
            field = "criteria.%s" % key
            if not str(key).startswith("trigger."):
                out.add(path, field, "criteria keys look like trigger.<payload field>")
            elif spec is not None and not path_in_schema(key.split("#", 1)[0].split(".")[1:],
                                                         spec.get("payload_schema")):
                out.warn(path, field, MISSING_FIELD_WARNING % (key, type_ref))
            if not isinstance(criterion, dict) or "type" not in criterion:
                out.add(path, field + ".type", "required field is missing")
            elif criterion["type"] not in CRITERIA_OPERATORS:
                out.add(path, field + ".type", "%r is not a StackStorm criteria operator"
                        % criterion["type"])
            if isinstance(criterion, dict) and criterion.get("pattern") is None:
                out.add(path, field + ".pattern", "StackStorm needs a pattern on every criterion "
                        "(even exists/nexists)")
        action = meta.get("action") if isinstance(meta.get("action"), dict) else {}
        _fields(action, path, out, allowed=RULE_ACTION_KEYS, prefix="action.")
        action_spec = pack.action(action.get("ref"))
        if action.get("ref") and action_spec is None and not str(action.get("ref")).startswith(
                STACKSTORM_ACTION_PREFIXES):
            out.warn(path, "action.ref", UNKNOWN_ACTION_WARNING % (action.get("ref"),
                                                                   action.get("ref")))
        given = action.get("parameters") or {}
        if action_spec is not None:
            runner_params = RUNNER_PARAMETERS.get(action_spec.runner_type, {})
            for name in [n for n in given if n not in runner_params and
                         n not in action_spec.parameters]:
                out.warn(path, "action.parameters.%s" % name,
                         UNKNOWN_PARAMETER_WARNING % (action_spec.ref, name, name))
            for name, prop in action_spec.parameters.items():
                if isinstance(prop, dict) and prop.get("required") and "default" not in prop \
                        and name not in given:
                    out.add(path, "action.parameters.%s" % name,
                            "required by %s and not given" % action_spec.ref)
        if spec is not None:
            texts = list(strings_in(given)) + [str(c.get("pattern")) for c in criteria.values()
                                             if isinstance(c, dict)]
            for parts in [parts for text in texts for parts in trigger_paths(text)]:
                if not path_in_schema(parts, spec.get("payload_schema")):
                    out.add(path, "action.parameters", "{{ trigger.%s }} is not in the "
                            "payload_schema of %s" % (".".join(parts), type_ref))
            for name, value in given.items():
                for where, problem in _nested_texts(value, spec.get("payload_schema")):
                    out.warn(path, "action.parameters.%s%s" % (name, where), problem % name)


def _check_policies(pack, out):
    for policy in pack.policies:
        path, meta = policy.path, policy.meta
        _fields(meta, path, out, ["name", "pack", "resource_ref", "policy_type"], POLICY_KEYS)
        if meta.get("pack") and meta["pack"] != pack.ref:
            out.add(path, "pack", "%r is not this pack (%s)" % (meta["pack"], pack.ref))
        if policy.resource_ref and pack.action(policy.resource_ref) is None:
            out.add(path, "resource_ref", "%r is not an action of this pack" % policy.resource_ref)
        params_schema = POLICY_PARAMETER_SCHEMAS.get(policy.policy_type)
        if policy.policy_type and params_schema is None:
            out.add(path, "policy_type", "%r is not a StackStorm policy type (known: %s)"
                    % (policy.policy_type, ", ".join(sorted(POLICY_PARAMETER_SCHEMAS))))
        if params_schema is not None:
            _value_errors({"type": "object", "properties": params_schema,
                           "additionalProperties": False}, policy.parameters, path, "parameters",
                          out)


def _check_module_names(pack, out):
    """A module or package name may be in only one of sensors/, actions/ and actions/lib."""
    seen = {}
    for folder in ("sensors", "actions", os.path.join("actions", "lib")):
        found = [(py, os.path.basename(py)[:-3]) for py in sorted(glob.glob(os.path.join(
            pack.pack_dir, folder, "*.py"))) if not py.endswith("__init__.py")]
        found += [(pkg, os.path.basename(os.path.dirname(pkg))) for pkg in sorted(glob.glob(
            os.path.join(pack.pack_dir, folder, "*", "__init__.py")))]
        for path, name in found:
            if name in seen:
                out.add(path, "(module name)", "%s also exists as %s; st2-run-pack-tests puts "
                        "both folders on one path" % (name, os.path.relpath(seen[name],
                                                                            pack.pack_dir)))
            seen[name] = path


def validate_pack(pack_dir, warnings=None):
    """Return every ``ContentError`` in the pack at ``pack_dir`` (empty when valid); what
    StackStorm accepts but will not do as the author may expect goes to the ``warnings`` list."""
    out = _Collector(os.path.abspath(pack_dir), warnings)
    try:
        pack = load_pack(pack_dir)
    except YamlFileError as error:
        return [ContentError.of_yaml(error)]
    for check in (_check_pack_meta, _check_config_schema, _check_sensors, _check_trigger_files,
                  _check_actions, _check_rules, _check_policies, _check_module_names):
        check(pack, out)
    return out.errors
