"""Rule matching and action parameter rendering, as StackStorm's rules engine does it.

A dispatched trigger goes to the enabled rules of its trigger type and trigger parameters.
Criteria keys (``trigger.a.b``) are looked up in the payload, patterns rendered with StackStorm's
Jinja environment and action parameters with ``render.render_live_params``. A matched rule whose
enforcement would fail in StackStorm carries the failure_reason StackStorm records, and starts
nothing.
"""

import json
import re
from collections import namedtuple

from workspaces_devkit.content import RUNNER_PARAMETERS, STACKSTORM_ACTION_PREFIXES
from workspaces_devkit.runner.executor import ParameterError, validate_parameters
from workspaces_devkit.runner.operators import evaluate
from workspaces_devkit.runner.render import ParamError, render_live_params
from workspaces_devkit.st2jinja import datastore_context, jinja_environment

__all__ = ["RuleEngine", "RuleMatch", "render_pattern", "lookup_key"]

#: One rule considered for a trigger: matched or not, why, and the rendered action parameters.
RuleMatch = namedtuple("RuleMatch", "rule_ref action_ref matched reason parameters error")

_WRAP_RE = re.compile(r"({{)\s*(.*)\s*(}})")
_INDEX_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ENV = jinja_environment()


def render_pattern(pattern, context):
    """Render a criteria pattern as StackStorm does: typed through ``to_complex`` when possible."""
    if not isinstance(pattern, str) or "{{" not in pattern:
        return pattern
    complex_text = _WRAP_RE.sub(r"\1 \2 | to_complex \3", pattern)
    try:
        return json.loads(_ENV.from_string(complex_text).render(context))
    except Exception:  # not JSON, or not renderable through to_complex: rendered as text
        try:
            return _ENV.from_string(pattern).render(context)
        except Exception as error:  # jinja raises many kinds; all mean "cannot render"
            raise ValueError("cannot render %r: %s" % (pattern, error))


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


class RuleEngine(object):
    """Routes dispatched triggers to the pack's rules and renders the actions' parameters."""

    def __init__(self, pack, kv_get=None, config=None):
        self.pack = pack
        self.kv_get = kv_get
        self.config = config or {}

    def _context(self, payload, rule_ref):
        return {"trigger": payload or {},
                "st2kv": datastore_context(self.kv_get),
                "action_context": self.action_context(rule_ref),
                "config_context": self.config}

    def _render_child(self, pattern, item):
        """Render a ``search`` child pattern for one item (the filter's ``item`` context)."""
        return render_pattern(pattern, {"item": item, "st2kv": datastore_context(self.kv_get)})

    def action_context(self, rule_ref):
        """The ``action_context`` StackStorm's rule enforcer gives an execution it starts."""
        return {"rule": rule_ref, "user": "stanley", "pack": self.pack.ref,
                "trigger_instance": None}

    def render_parameters(self, rule, payload):
        """Return the rule's action parameters rendered for ``payload`` as StackStorm renders them
        (``ParamError`` in StackStorm's words)."""
        action = rule.raw.get("action") or {}
        spec = self.pack.action(action.get("ref"))
        action_params = spec.parameters if spec is not None else {}
        runner_params = RUNNER_PARAMETERS.get(spec.runner_type, {}) if spec is not None else {}
        return render_live_params(runner_params, action_params, action.get("parameters") or {},
                                  self.action_context(rule.ref),
                                  additional_contexts={"trigger": payload or {}},
                                  config=self.config, kv_get=self.kv_get)

    def rules_for(self, trigger_type_ref, trigger_parameters=None):
        """Return the enabled rules listening to this trigger type with these parameters."""
        wanted = (trigger_type_ref, trigger_parameters or {})
        return [rule for rule in self.pack.rules if rule.enabled and wanted == (
            (rule.raw.get("trigger") or {}).get("type"),
            (rule.raw.get("trigger") or {}).get("parameters") or {})]

    def match(self, trigger_type_ref, payload, trigger_parameters=None):
        """Return a ``RuleMatch`` for every rule of this trigger: matched or not, and why."""
        rules = self.rules_for(trigger_type_ref, trigger_parameters)
        return [self._check(rule, payload) for rule in rules]

    def _check(self, rule, payload):
        action = rule.raw.get("action") or {}
        action_ref = action.get("ref")
        context = self._context(payload, rule.ref)
        criteria = rule.raw.get("criteria") or {}
        if criteria and not payload:
            return RuleMatch(rule.ref, action_ref, False, "empty payload", None, None)
        for key, criterion in criteria.items():
            value = lookup_key(key, payload)
            try:
                pattern = render_pattern(criterion.get("pattern"), context)
                ok = evaluate(criterion, value, pattern, render=self._render_child)
            except Exception as error:
                return RuleMatch(rule.ref, action_ref, False, "criterion %s failed: %s"
                                 % (key, error), None, str(error))
            if not ok:
                return RuleMatch(rule.ref, action_ref, False, "%s %s %r is false for value %r"
                                 % (key, criterion.get("type"), pattern, value), None, None)
        parameters, error = self._enforce(rule, action_ref, payload)
        return RuleMatch(rule.ref, action_ref, True, "matched", parameters, error)

    def _enforce(self, rule, action_ref, payload):
        """Return ``(rendered action parameters, None)``, or ``(None, the failure_reason
        StackStorm records on the enforcement)``, checked in the order of
        st2reactor/rules/enforcer.py and st2common/services/action.py ``create_request``."""
        spec = self.pack.action(action_ref)
        stackstorms_own = str(action_ref).startswith(STACKSTORM_ACTION_PREFIXES)
        if spec is None and not stackstorms_own:
            return None, 'Action "%s" doesn\'t exist' % action_ref
        try:
            parameters = self.render_parameters(rule, payload)
        except ParamError as error:
            return None, str(error)
        if spec is None:  # StackStorm's own action (core.sendmail): rendered, not run here
            return parameters, None
        if not spec.enabled:
            return None, 'Unable to execute. Action "%s" is disabled.' % action_ref
        try:
            validate_parameters(spec, parameters)
        except ParameterError as error:
            return None, error.api_message
        return parameters, None
