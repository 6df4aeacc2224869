"""Check one rule against the pack's contract, as StackStorm would create and enforce it: its
trigger type and trigger parameters (in StackStorm's schema dialect, as the rule API does), every
``trigger.<field>`` it reads (in criteria and action parameters: each must be in the payload), and
its action and parameters (none unknown, every required one given, literal values of the declared
type after StackStorm's cast). A problem is explained with the contract difference behind it.
"""

import copy
from collections import namedtuple

import jsonschema

from workspaces_devkit.content import (RUNNER_PARAMETERS, path_in_schema, schema_error_text,
                                      strings_in, trigger_paths)
from workspaces_devkit.runner.render import cast_value
from workspaces_devkit.st2jinja import is_jinja_expression

__all__ = ["Problem", "RuleChecker"]

#: One thing a rule uses that the pack no longer offers: where in the rule, and what is wrong.
Problem = namedtuple("Problem", "where message")


def _mapping(value):
    return value if isinstance(value, dict) else {}


class RuleChecker(object):
    """Checks rules against ``contract`` (``snapshot.build_contract``); ``differences`` (from the
    release a site upgrades from, ``from_version``) explain what changed; ``shipped``: the refs of
    the rules the pack ships (an upgrade replaces the installed ones)."""

    def __init__(self, contract, differences=(), from_version=None, shipped=()):
        self.contract = contract
        self.shipped = set(shipped)
        self.prefix = "%s." % contract["pack"]
        self.changes = {difference.key: difference for difference in differences}
        self.from_version = from_version
        self.span = "%s -> %s" % (from_version, contract["version"]) if from_version else None

    def concerns(self, rule):
        """True when ``rule`` (a dict) uses a trigger type or an action of this pack."""
        trigger, action = _mapping(rule.get("trigger")), _mapping(rule.get("action"))
        return any(str(ref or "").startswith(self.prefix)
                   for ref in (trigger.get("type"), action.get("ref")))

    def _why(self, key, fallback):
        """The contract change behind ``key`` when there is one, else ``fallback``."""
        difference = self.changes.get(key)
        if difference is None:
            return fallback
        return "%s (%s, contract %s)" % (fallback, difference.change, self.span)

    def check(self, rule):
        """Return the ``Problem`` list of ``rule`` (a rule file's or API document's dict)."""
        problems = []
        trigger = _mapping(rule.get("trigger"))
        spec = self._trigger(trigger, problems)
        self._payload_fields(rule, trigger.get("type"), spec, problems)
        self._action(_mapping(rule.get("action")), problems)
        return problems

    def _trigger(self, trigger, problems):
        ref = str(trigger.get("type") or "")
        if not ref.startswith(self.prefix):
            return None
        spec = self.contract["trigger_types"].get(ref)
        if spec is None:
            problems.append(Problem("trigger.type", self._why(
                "trigger %s" % ref, "%s is not a trigger type of this pack" % ref)))
            return None
        schema = spec.get("parameters_schema") or {}
        self._values(_mapping(trigger.get("parameters")), schema.get("properties") or {},
                     schema.get("additionalProperties") is False, "trigger %s" % ref,
                     "trigger.parameters", problems, rendered=False)
        return spec

    def _payload_fields(self, rule, ref, spec, problems):
        if spec is None:
            return
        payload = spec.get("payload_schema") or {}
        uses = []
        for key, criterion in _mapping(rule.get("criteria")).items():
            if str(key).startswith("trigger."):
                uses.append(("criteria.%s" % key, str(key).split(".")[1:]))
            for text in strings_in(_mapping(criterion).get("pattern")):
                uses.extend(("criteria.%s.pattern" % key, parts) for parts in trigger_paths(text))
        for name, value in _mapping(_mapping(rule.get("action")).get("parameters")).items():
            for text in strings_in(value):
                uses.extend(("action.parameters.%s" % name, parts)
                            for parts in trigger_paths(text))
        seen = set()
        for where, parts in uses:
            if not parts or path_in_schema(parts, payload) or (where, tuple(parts)) in seen:
                continue
            seen.add((where, tuple(parts)))
            field = ".".join(parts)
            key = next((k for k in ("trigger %s payload.%s" % (ref, ".".join(parts[:n]))
                                    for n in range(len(parts), 0, -1)) if k in self.changes),
                       None)
            problems.append(Problem(where, self._why(
                key, "trigger.%s is not in the payload of %s" % (field, ref))))

    def _action(self, action, problems):
        ref = str(action.get("ref") or "")
        if not ref.startswith(self.prefix):
            return
        spec = self.contract["actions"].get(ref)
        if spec is None:
            problems.append(Problem("action.ref", self._why(
                "action %s" % ref, "%s is not an action of this pack" % ref)))
            return
        known = copy.deepcopy(RUNNER_PARAMETERS.get(spec.get("runner_type"), {}))
        known.update(spec.get("parameters") or {})
        self._values(_mapping(action.get("parameters")), known, True, "action %s" % ref,
                     "action.parameters", problems, rendered=True)

    def _values(self, given, properties, closed, subject, where, problems, rendered):
        """Check given values against a properties map: unknown, missing required, invalid.

        ``rendered``: values are Jinja-rendered and top-level strings cast to the declared type
        (action parameters); a Jinja expression is not checked here (its fields are).
        """
        from st2common.util import schema as util_schema

        for name, value in given.items():
            key = "%s parameters.%s" % (subject, name)
            prop = properties.get(name)
            if prop is None:
                if closed:
                    problems.append(Problem("%s.%s" % (where, name), self._why(
                        key, "%s has no parameter %s" % (subject.split()[-1], name))))
                continue
            if rendered and is_jinja_expression(value):
                continue
            try:
                if rendered and isinstance(value, str):
                    value = cast_value(value, prop)
                util_schema.validate({name: value}, {"type": "object", "properties": {
                    name: prop}}, util_schema.CustomValidator, use_default=False,
                    allow_default_none=True)
            except jsonschema.ValidationError as error:
                problems.append(Problem("%s.%s" % (where, name), self._why(
                    key, schema_error_text(error))))
            except (ValueError, SyntaxError) as error:
                message = str(error)
                problems.append(Problem("%s.%s" % (where, name), self._why(key, message)))
        for name, prop in sorted(properties.items()):
            if isinstance(prop, dict) and prop.get("required") and "default" not in prop \
                    and name not in given:
                problems.append(Problem("%s.%s" % (where, name), self._why(
                    "%s parameters.%s" % (subject, name), "required and not given")))
