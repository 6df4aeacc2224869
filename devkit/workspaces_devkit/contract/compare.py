"""Classify the differences between two contracts (``snapshot.build_contract``) of the pack.

Each difference is compatible or breaking for someone who wrote a rule, a pack config or an
``st2 run`` against the old contract. Values a rule or an operator gives (trigger and action
parameters, config keys) and values the pack gives (payload fields) break in opposite directions,
so each schema is compared in its role; docs/UPGRADING.md has the table of what breaks.
"""

from collections import namedtuple

__all__ = ["Difference", "compare_contracts", "breaking"]

_INPUT, _OUTPUT = "given", "read"
#: Lower bounds: a larger value narrows.
_LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties")
#: Upper bounds: a smaller value narrows.
_UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties")
#: Other constraints: any change may narrow.
_OTHER_CONSTRAINTS = ("pattern", "format", "multipleOf", "exclusiveMinimum", "exclusiveMaximum",
                      "uniqueItems", "patternProperties", "dependencies", "allOf", "anyOf",
                      "oneOf", "not")


class Difference(namedtuple("Difference", "breaking subject field change")):
    """One difference: ``subject`` (``trigger <ref>``, ``action <ref>`` or ``config``), ``field``
    (dotted path inside it, e.g. ``payload.mous``; empty for the whole subject) and ``change``."""

    __slots__ = ()

    @property
    def key(self):
        """``subject field``: how CHANGES.md's Breaking list names this difference."""
        return ("%s %s" % (self.subject, self.field)).strip()

    def line(self):
        """One line for people: ``BREAKING trigger workspaces.x payload.y: removed``."""
        return "%s %s: %s" % ("BREAKING" if self.breaking else "compatible", self.key, self.change)


def breaking(differences):
    """Return the breaking differences of ``differences``."""
    return [d for d in differences if d.breaking]


def _types(schema):
    kind = schema.get("type")
    if kind is None:
        return None
    return set(kind) if isinstance(kind, list) else {kind}


def _required(prop):
    """Required with no default: the giver must supply it."""
    return bool(prop.get("required")) and "default" not in prop


def _fmt(value):
    if isinstance(value, (set, frozenset)):
        return "|".join(sorted(str(v) for v in value))
    return repr(value)


class _Comparison(object):
    """Collects the differences of one subject (a trigger type, an action or the config)."""

    def __init__(self, subject):
        self.subject = subject
        self.found = []

    def add(self, is_breaking, field, change):
        self.found.append(Difference(is_breaking, self.subject, field, change))

    def node(self, old, new, where, role):
        """Compare two schemas of one value at ``where``."""
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        self._type(old, new, where, role)
        self._enum(old, new, where, role)
        if role == _INPUT:
            self._constraints(old, new, where)
            if old.get("additionalProperties") is not False and \
                    new.get("additionalProperties") is False and "properties" in new:
                self.add(True, where, "narrowed: additionalProperties false (no other keys)")
            if not old.get("immutable") and new.get("immutable"):
                self.add(True, where, "narrowed: now immutable")
        if "properties" in old or "properties" in new:
            self.properties(old.get("properties") or {}, new.get("properties") or {}, where,
                            role)
        if isinstance(old.get("items"), dict) or isinstance(new.get("items"), dict):
            self.node(old.get("items") or {}, new.get("items") or {}, where + "[]", role)

    def _type(self, old, new, where, role):
        before, after = _types(old), _types(new)
        if before == after:
            return
        if role == _INPUT:
            wider = after is None or (before is not None and after >= before)
        else:
            wider = after is not None and (before is None or after <= before)
        self.add(not wider, where, "type changed from %s to %s" % (
            _fmt(before) if before else "any", _fmt(after) if after else "any"))

    def _enum(self, old, new, where, role):
        before, after = old.get("enum"), new.get("enum")
        if before == after:
            return
        if role == _OUTPUT:
            if before is not None and (after is None or [v for v in after if v not in before]):
                self.add(True, where, "may now hold values outside %s" % ", ".join(
                    repr(v) for v in before))
            else:
                self.add(False, where, "fewer possible values: %s" % ", ".join(
                    repr(v) for v in after))
            return
        if after is None:
            self.add(False, where, "relaxed: enum removed")
        elif before is None:
            self.add(True, where, "narrowed: enum %s added" % _fmt(after))
        else:
            gone = [v for v in before if v not in after]
            if gone:
                self.add(True, where, "narrowed enum: no longer accepts %s" % ", ".join(
                    repr(value) for value in gone))
            else:
                self.add(False, where, "enum widened: %s" % ", ".join(
                    repr(v) for v in after if v not in before))

    def _constraints(self, old, new, where):
        for keyword in _LOWER_BOUNDS + _UPPER_BOUNDS + _OTHER_CONSTRAINTS:
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if after is None:
                self.add(False, where, "relaxed: %s %s removed" % (keyword, _fmt(before)))
            elif before is None:
                self.add(True, where, "narrowed: %s %s added" % (keyword, _fmt(after)))
            else:
                relaxed = (keyword in _LOWER_BOUNDS and after < before) or \
                          (keyword in _UPPER_BOUNDS and after > before)
                self.add(not relaxed, where, "%s: %s changed from %s to %s" % (
                    "relaxed" if relaxed else "narrowed", keyword, _fmt(before), _fmt(after)))

    def properties(self, old, new, where, role):
        """Compare two ``properties`` maps (parameters, payload fields or config keys)."""
        prefix = where + "." if where else ""
        removed = [name for name in old if name not in new]
        added = [name for name in new if name not in old]
        renamed = len(removed) == 1 and len(added) == 1
        for name in removed:
            self.add(True, prefix + name,
                     "removed" + (" (renamed to %s?)" % added[0] if renamed else ""))
        for name in added:
            prop = new[name] if isinstance(new[name], dict) else {}
            if role == _INPUT and _required(prop):
                self.add(True, prefix + name, "new and required without a default")
            elif role == _INPUT:
                self.add(False, prefix + name, "new, optional")
            else:
                self.add(False, prefix + name, "new field")
        for name in old:
            if name in new:
                self._property(old[name], new[name], prefix + name, role)

    def _property(self, old, new, where, role):
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        if role == _INPUT:
            if not _required(old) and _required(new):
                self.add(True, where, "made required without a default")
            elif _required(old) and not _required(new):
                self.add(False, where, "no longer required" if not new.get("required")
                         else "default %s added" % _fmt(new.get("default")))
            elif "default" in old and "default" in new and old["default"] != new["default"]:
                self.add(False, where, "default changed from %s to %s" % (
                    _fmt(old["default"]), _fmt(new["default"])))
            elif "default" not in old and "default" in new:
                self.add(False, where, "default %s added" % _fmt(new["default"]))
            elif "default" in old and "default" not in new:
                self.add(True, where, "default %s removed: give a value" % _fmt(old["default"]))
        else:
            if old.get("required") and not new.get("required"):
                self.add(True, where, "no longer required: may now be missing")
            elif not old.get("required") and new.get("required"):
                self.add(False, where, "now always present")
        self.node(old, new, where, role)


def _compare_named(old, new, kind, out, compare_one):
    for ref in sorted(old):
        if ref not in new:
            out.append(Difference(True, "%s %s" % (kind, ref), "", "%s removed" % kind))
    for ref in sorted(new):
        if ref not in old:
            out.append(Difference(False, "%s %s" % (kind, ref), "", "new %s" % kind))
        else:
            comparison = _Comparison("%s %s" % (kind, ref))
            compare_one(comparison, old[ref], new[ref])
            out.extend(comparison.found)


def _compare_trigger(comparison, old, new):
    comparison.node(old.get("parameters_schema"), new.get("parameters_schema"), "parameters",
                    _INPUT)
    comparison.node(old.get("payload_schema"), new.get("payload_schema"), "payload", _OUTPUT)


def _compare_action(comparison, old, new):
    if old.get("runner_type") != new.get("runner_type"):
        comparison.add(True, "runner_type", "changed from %s to %s" % (
            old.get("runner_type"), new.get("runner_type")))
    comparison.properties(old.get("parameters") or {}, new.get("parameters") or {},
                          "parameters", _INPUT)


def compare_contracts(old, new):
    """Return the ``Difference`` list from contract ``old`` to contract ``new``."""
    out = []
    _compare_named(old.get("trigger_types") or {}, new.get("trigger_types") or {}, "trigger",
                   out, _compare_trigger)
    _compare_named(old.get("actions") or {}, new.get("actions") or {}, "action", out,
                   _compare_action)
    config = _Comparison("config")
    config.properties(old.get("config_schema") or {}, new.get("config_schema") or {}, "", _INPUT)
    out.extend(config.found)
    return out
