"""StackStorm's Jinja environment and datastore lookup, for code that renders as StackStorm does.

StackStorm renders rule and action parameters, criteria patterns and dynamic pack config values
in one kind of environment (st2common/util/jinja.py ``get_jinja_environment``). Here
``st2kv.system.<key>`` reads the local datastore through a ``kv_get(name) -> str or None``
callable; nothing is encrypted locally, so ``decrypt_kv`` returns the stored text.
"""

import json
import os

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from workspaces_devkit.st2filters import MORE_FILTERS

__all__ = ["KeyValueLookup", "jinja_environment", "is_jinja_expression", "datastore_context",
           "NONE_MAGIC_VALUE"]

#: What the ``use_none`` filter turns None into; casts turn it back into None
#: (st2common/expressions/functions/data.py ``NONE_MAGIC_VALUE``).
NONE_MAGIC_VALUE = "%*****__%NONE%__*****%"


class KeyValueLookup(object):
    """``st2kv.system`` in templates: ``st2kv.system.a.b`` reads the key ``a.b`` (``""`` when
    missing)."""

    def __init__(self, kv_get, key="", scope="system"):
        self._kv_get = kv_get
        self._key = key
        self._scope = scope

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name):
        key = "%s.%s" % (self._key, name) if self._key else name
        return KeyValueLookup(self._kv_get, key, self._scope)

    def __str__(self):
        value = self._kv_get(self._key) if self._kv_get and self._key else None
        return "" if value is None else str(value)

    def __int__(self):
        return int(float(self))

    def __float__(self):
        return float(str(self))

    def key_name(self):
        """Return the key as StackStorm names it in errors (``st2kv.system.<key>``)."""
        return "st2kv.%s.%s" % (self._scope, self._key)


def _decrypt_kv(value):
    """``decrypt_kv``: the stored text (nothing is encrypted locally); a missing key is an error."""
    if isinstance(value, KeyValueLookup):
        text = str(value)
        if text == "":
            raise ValueError('Referenced datastore item "%s" doesn\'t exist or it contains an '
                             "empty string" % value.key_name())
        return text
    return value


def _to_json_string(value, indent=None, sort_keys=False, separators=(",", ": ")):
    return json.dumps(value, indent=indent, sort_keys=sort_keys, separators=separators)


def _to_yaml_string(value, indent=None, allow_unicode=True):
    return yaml.safe_dump(value, indent=indent, allow_unicode=allow_unicode,
                          default_flow_style=False)


FILTERS = {
    "decrypt_kv": _decrypt_kv,
    "from_json_string": lambda value: json.loads(str(value)),
    "from_yaml_string": lambda value: yaml.safe_load(str(value)),
    "json_escape": lambda value: json.dumps(value).strip('"'),
    "to_complex": json.dumps,
    "to_json_string": _to_json_string,
    "to_yaml_string": _to_yaml_string,
    "use_none": lambda value: NONE_MAGIC_VALUE if value is None else value,
    "basename": os.path.basename,
    "dirname": os.path.dirname,
}
FILTERS.update(MORE_FILTERS)


def jinja_environment():
    """Return a Jinja environment configured as StackStorm's ``get_jinja_environment()``."""
    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    env.tests["in"] = lambda item, container: item in container
    return env


def is_jinja_expression(value):
    """True for a non-empty string holding ``{{`` or ``{%`` (StackStorm's quick test)."""
    return isinstance(value, str) and bool(value) and ("{{" in value or "{%" in value)


def datastore_context(kv_get):
    """Return the ``st2kv`` entry of a render context over ``kv_get``."""
    return {"system": KeyValueLookup(kv_get), "user": KeyValueLookup(None, scope="user")}
