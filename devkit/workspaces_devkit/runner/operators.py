"""StackStorm's rule criteria operators, with StackStorm's semantics (st2common/operators.py).

Quirks kept on purpose, because rules written here must behave the same inside StackStorm: no
``str()`` coercion (``equals(5, "5")`` is False, ``lessthan("10", "9")`` is True), and a None
pattern makes every operator False except ``nequals``, ``exists``, ``nexists`` and ``search``.
"""

import datetime
import fnmatch
import re

__all__ = ["OPERATORS", "get_operator", "UnknownOperator"]


class UnknownOperator(ValueError):
    """A criterion names an operator StackStorm does not have."""


def _guard(function):
    """``function``, False for a None pattern."""
    return lambda value, pattern: False if pattern is None else function(value, pattern)


def _timediff(value):
    """Seconds from the ISO time ``value`` (UTC when it names no zone) to now."""
    moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()


def _lookup(item, path):
    node = item
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _search(value, pattern, condition, render=None):
    """Child criteria (``item.<path>``, patterns rendered by ``render(pattern, item)``) applied
    to the items of a list payload field; a child that fails does not match."""
    items = [value] if isinstance(value, dict) else list(value or [])
    criteria = dict(pattern or {})

    def matches(item, key, criterion):
        try:
            operator = get_operator(criterion["type"])
            path = key.split("#", 1)[0]
            found = _lookup(item, path[len("item."):]) if path.startswith("item.") else None
            child_pattern = criterion.get("pattern")
            if render is not None:
                child_pattern = render(child_pattern, item)
            return bool(operator(found, child_pattern))
        except Exception:  # the rule filter's _check_criterion: an error is no match
            return False

    # <items condition>2<criteria condition>: "any" = any item matches all criteria, "all" =
    # every item (so an empty list) matches all, "all2any" = every item matches some criterion
    shapes = {"any": (any, all), "all": (all, all), "all2any": (all, any), "any2any": (any, any)}
    if condition not in shapes:
        raise ValueError("The '%s' condition is not recognized for type search" % (condition,))
    over_items, over_criteria = shapes[condition]
    return over_items(over_criteria(matches(i, k, c) for k, c in criteria.items())
                      for i in items)


_BASE = {
    "equals": _guard(lambda v, p: v == p),
    "nequals": lambda v, p: v != p,
    "iequals": _guard(lambda v, p: v.lower() == p.lower()),
    "contains": _guard(lambda v, p: p in v),
    "ncontains": _guard(lambda v, p: p not in v),
    "icontains": _guard(lambda v, p: p.lower() in v.lower()),
    "incontains": _guard(lambda v, p: p.lower() not in v.lower()),
    "startswith": _guard(lambda v, p: v.startswith(p)),
    "istartswith": _guard(lambda v, p: v.lower().startswith(p.lower())),
    "endswith": _guard(lambda v, p: v.endswith(p)),
    "iendswith": _guard(lambda v, p: v.lower().endswith(p.lower())),
    "lessthan": _guard(lambda v, p: v < p),
    "greaterthan": _guard(lambda v, p: v > p),
    "matchwildcard": _guard(lambda v, p: fnmatch.fnmatch(v, p)),
    "matchregex": _guard(lambda v, p: bool(re.compile(p, re.DOTALL).match(v))),
    "regex": _guard(lambda v, p: bool(re.compile(p).search(v))),
    "iregex": _guard(lambda v, p: bool(re.compile(p, re.IGNORECASE).search(v))),
    "timediff_lt": _guard(lambda v, p: _timediff(v) < float(p)),
    "timediff_gt": _guard(lambda v, p: _timediff(v) > float(p)),
    "exists": lambda v, p: v is not None,
    "nexists": lambda v, p: v is None,
    "inside": _guard(lambda v, p: v in p),
    "ninside": _guard(lambda v, p: v not in p),
}
_ALIASES = {"eq": "equals", "neq": "nequals", "ieq": "iequals", "lt": "lessthan",
            "gt": "greaterthan", "td_lt": "timediff_lt", "td_gt": "timediff_gt", "in": "inside",
            "nin": "ninside"}

#: Every operator name StackStorm accepts in a rule, mapped to ``function(value, pattern)``.
#: ``search`` takes a criterion dict instead; see ``evaluate``.
OPERATORS = dict(_BASE)
OPERATORS.update({alias: _BASE[name] for alias, name in _ALIASES.items()})
OPERATORS["search"] = None


def get_operator(name):
    """Return the function of operator ``name`` (case-insensitive, as StackStorm looks it up)."""
    key = str(name).lower()
    if key not in OPERATORS or key == "search":
        raise UnknownOperator("%r is not a StackStorm criteria operator" % (name,))
    return OPERATORS[key]


def evaluate(criterion, value, pattern, render=None):
    """Apply one criterion (``{"type", "pattern", "condition"}``) to ``value`` with ``pattern``.

    ``render(pattern, item)`` renders the child patterns of a ``search`` for each item.
    """
    kind = str(criterion.get("type")).lower()
    function = get_operator(kind) if kind != "search" else None
    try:  # as in StackStorm's rule filter, an operator that raises means "no match"
        if kind == "search":
            return bool(_search(value, pattern, criterion.get("condition"), render))
        return bool(function(value, pattern))
    except Exception:
        return False
