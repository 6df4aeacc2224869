"""Rule matching and action parameter rendering, as StackStorm's rules engine does it.

A dispatched trigger is routed to the enabled rules whose trigger type and trigger parameters are
those of the trigger (StackStorm shares one trigger between rules with identical type and
parameters). Criteria keys (``trigger.a.b``) are looked up in the payload; patterns and action
parameters are rendered with Jinja (sandboxed, ``StrictUndefined``) in StackStorm's context
(``trigger``, ``st2kv``, ``action_context``, ``config_context``), and each rendered parameter is
cast to its declared type the way StackStorm's ``casts`` do.
"""

import ast
import json
import os
import re
from collections import namedtuple

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from workspaces_devkit.runner.operators import evaluate

__all__ = ["RuleEngine", "RuleMatch", "RenderError", "render_template", "cast_parameter",
           "lookup_key"]

#: One rule considered for a trigger: matched or not, why, and the rendered action parameters.
RuleMatch = namedtuple("RuleMatch", "rule_ref action_ref matched reason parameters error")

_WRAP_RE = re.compile(r"({{)\s*(.*)\s*(}})")
_BARE_RE = re.compile(r"^\s*{{\s*([A-Za-z0-9_-]+)\s*}}\s*$")
_INDEX_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class RenderError(ValueError):
    """A template could not be rendered or a value could not be cast."""


class KeyValueLookup(object):
    """``st2kv.system.<key>`` in templates: attribute access builds the key, ``str`` reads it."""

    def __init__(self, kv_get, prefix=""):
        self._kv_get = kv_get
        self._prefix = prefix

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return KeyValueLookup(self._kv_get, self._prefix + name if not self._prefix
                              else "%s.%s" % (self._prefix, name))

    __getitem__ = __getattr__

    def __str__(self):
        value = self._kv_get(self._prefix) if self._kv_get else None
        return "" if value is None else str(value)

    def __eq__(self, other):
        return str(self) == other


def _to_complex(value):
    if isinstance(value, KeyValueLookup):
        value = str(value)
    return json.dumps(value)


def _regex_match(value, pattern):
    return bool(re.match(pattern, str(value)))


def _environment():
    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update({
        "to_complex": _to_complex,
        "to_json_string": lambda value: json.dumps(value),
        "from_json_string": lambda value: json.loads(value),
        "json_escape": lambda value: json.dumps(str(value))[1:-1],
        "regex_match": _regex_match,
        "basename": lambda value: os.path.basename(str(value)),
        "dirname": lambda value: os.path.dirname(str(value)),
        "use_none": lambda value: "%*%*%*NONE%*%*%*" if value is None else value,
        "decrypt_kv": lambda value: str(value),
        "to_yaml_string": _to_yaml,
    })
    return env


def _to_yaml(value):
    import yaml
    return yaml.safe_dump(value, default_flow_style=False)


_ENV = _environment()
NONE_MAGIC = "%*%*%*NONE%*%*%*"


def render_template(text, context):
    """Render one template string; raise RenderError naming the undefined variable or problem."""
    try:
        return _ENV.from_string(text).render(context)
    except Exception as error:  # jinja raises many kinds; all mean "cannot render"
        raise RenderError("cannot render %r: %s" % (text, error))


def render_pattern(pattern, context):
    """Render a criteria pattern as StackStorm does: typed through ``to_complex`` when possible."""
    if not isinstance(pattern, str) or "{{" not in pattern:
        return pattern
    complex_text = _WRAP_RE.sub(r"\1 \2 | to_complex \3", pattern)
    try:
        return json.loads(render_template(complex_text, context))
    except (RenderError, ValueError):
        return render_template(pattern, context)


def lookup_key(key, payload):
    """Return the value at a criteria key like ``trigger.a.b[0]`` (None when absent)."""
    path = key.split("#", 1)[0]
    parts = _INDEX_RE.findall(path)
    if not parts or parts[0][0] != "trigger":
        return None
    node = payload
    for name, index in parts[1:]:
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return None
            node = node[int(index)]
        elif isinstance(node, dict):
            node = node.get(name)
        else:
            return None
    return node


def cast_parameter(name, value, spec):
    """Cast a rendered parameter to its declared type, as StackStorm's ``casts`` do."""
    kind = (spec or {}).get("type")
    if value == NONE_MAGIC:
        return None
    if not isinstance(value, str) or kind in (None, "string"):
        if kind == "string" and value is not None and not isinstance(value, str):
            raise RenderError("parameter %r: value %r is not a string" % (name, value))
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return ast.literal_eval(value.capitalize())
        if kind in ("object", "array"):
            try:
                return json.loads(value)
            except ValueError:
                return ast.literal_eval(value)
    except (ValueError, SyntaxError) as error:
        raise RenderError("parameter %r: cannot cast %r to %s: %s" % (name, value, kind, error))
    return value


def render_parameters(parameters, specs, context):
    """Render every action parameter of a rule and cast it; return the dict."""
    rendered = {}
    scope = dict(context)
    scope.update({k: v for k, v in parameters.items() if not _is_template(v)})
    for name, value in parameters.items():
        if isinstance(value, (dict, list)):
            text = json.dumps(value)
            result = json.loads(render_template(text, scope)) if "{{" in text else value
        elif isinstance(value, str) and "{{" in value:
            bare = _BARE_RE.match(value)
            text = "{{ %s | to_complex }}" % bare.group(1) if bare else value
            result = render_template(text, scope)
            if bare:
                result = json.loads(result)
        else:
            result = value
        rendered[name] = cast_parameter(name, result, specs.get(name))
    return rendered


def _is_template(value):
    return "{{" in json.dumps(value) if not isinstance(value, str) else "{{" in value


class RuleEngine(object):
    """Routes dispatched triggers to the pack's rules and renders the actions' parameters."""

    def __init__(self, pack, kv_get=None, config=None):
        self.pack = pack
        self.kv_get = kv_get
        self.config = config or {}

    def _context(self, payload, rule_ref, action_ref):
        return {"trigger": payload or {},
                "st2kv": {"system": KeyValueLookup(self.kv_get)},
                "action_context": {"rule": rule_ref, "user": "stanley", "pack": self.pack.ref,
                                   "trigger_instance": None},
                "config_context": self.config}

    def rules_for(self, trigger_type_ref, trigger_parameters=None):
        """Return the enabled rules listening to this trigger type with these parameters."""
        wanted = trigger_parameters or {}
        found = []
        for rule in self.pack.rules:
            trigger = rule.raw.get("trigger") or {}
            if not rule.enabled or trigger.get("type") != trigger_type_ref:
                continue
            if (trigger.get("parameters") or {}) == wanted:
                found.append(rule)
        return found

    def match(self, trigger_type_ref, payload, trigger_parameters=None):
        """Return a ``RuleMatch`` for every rule of this trigger: matched or not, and why."""
        rules = self.rules_for(trigger_type_ref, trigger_parameters)
        return [self._check(rule, payload) for rule in rules]

    def _check(self, rule, payload):
        action = rule.raw.get("action") or {}
        action_ref = action.get("ref")
        context = self._context(payload, rule.ref, action_ref)
        criteria = rule.raw.get("criteria") or {}
        if criteria and not payload:
            return RuleMatch(rule.ref, action_ref, False, "empty payload", None, None)
        for key, criterion in criteria.items():
            value = lookup_key(key, payload)
            try:
                pattern = render_pattern(criterion.get("pattern"), context)
                ok = evaluate(criterion, value, pattern)
            except Exception as error:
                return RuleMatch(rule.ref, action_ref, False, "criterion %s failed: %s"
                                 % (key, error), None, str(error))
            if not ok:
                return RuleMatch(rule.ref, action_ref, False, "%s %s %r is false for value %r"
                                 % (key, criterion.get("type"), pattern, value), None, None)
        spec = self.pack.action(action_ref)
        specs = spec.parameters if spec is not None else {}
        try:
            parameters = render_parameters(action.get("parameters") or {}, specs, context)
        except RenderError as error:
            return RuleMatch(rule.ref, action_ref, True, "matched", None, str(error))
        return RuleMatch(rule.ref, action_ref, True, "matched", parameters, None)
