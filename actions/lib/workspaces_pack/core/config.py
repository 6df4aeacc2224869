"""The pack config with the defaults of ``config.schema.yaml`` filled in (as StackStorm does when
it loads the config; tests and hand-made configs may omit keys). The library's one config type:
each sensor and action makes its ``PackConfig`` once, from its ``self.config``.
"""

import difflib
import functools
import os

import yaml

from workspaces_pack.core.urls import url_message, url_problem

__all__ = ["PackConfig", "ConfigError", "config_schema_path"]


class ConfigError(ValueError):
    """A config value is missing or invalid; the message names the key."""


def config_schema_path():
    """Return the path of the pack's ``config.schema.yaml`` (four folders above ``core/``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "../../../..", "config.schema.yaml"))


@functools.lru_cache(maxsize=None)
def _schema():
    with open(config_schema_path()) as handle:
        return yaml.safe_load(handle) or {}


def _object_with_defaults(spec, value):
    merged = {name: prop["default"] for name, prop in spec["properties"].items()
              if isinstance(prop, dict) and "default" in prop}
    if isinstance(value, dict):
        merged.update((name, item) for name, item in value.items() if item not in (None, ""))
    elif value not in (None, ""):
        return value
    return merged


class PackConfig(object):
    """Read-only view of the pack config (a dict, not copied: a sensor's ``self.config``);
    missing keys fall back to the schema default."""

    def __init__(self, config=None):
        self._values = config if isinstance(config, dict) else dict(config or {})

    def with_values(self, **values):
        """Return a new ``PackConfig``: this one with ``values`` set over it."""
        return PackConfig(dict(self._values, **values))

    def get(self, key, default=None):
        """Return the configured value of ``key``, else the schema default, else ``default``; an
        object key whose schema lists ``properties``: a new dict of the configured properties over
        the properties' defaults (as StackStorm's config loader fills them)."""
        value = self._values.get(key)
        spec = _schema().get(key)
        if spec is None:
            raise KeyError("unknown pack config key %r" % key)
        if spec.get("type") == "object" and spec.get("properties"):
            return _object_with_defaults(spec, value)
        if value is None or value == "":
            value = spec.get("default", default)
        return value

    def is_chosen(self, key):
        """True when ``key`` holds a value of the site's: set, not blank and not the schema
        default (a default is the documented example, e.g. a folder of the usual layout)."""
        value = self._values.get(key)
        return value not in (None, "") and value != _schema()[key].get("default")

    def require(self, key):
        """Return the value of ``key``; raise ``ConfigError`` naming it when it is empty."""
        value = self.get(key)
        if value is None or value == "":
            raise ConfigError("pack config key %r is not set (see config.schema.yaml; "
                              "st2 pack config workspaces)" % key)
        return value

    def require_url(self, key):
        """Return the HTTP(S) base URL of ``key``; raise ``ConfigError`` naming the key and showing
        the value (password masked) when it is not one: no request is sent to a guessed place."""
        value = self.get(key)
        problem = url_problem(value)
        if problem:
            raise ConfigError(url_message(key, value, problem))
        return str(value).strip()

    def unknown_keys(self):
        """Return ``[(key, closest known key or None), ...]`` for the configured keys that
        config.schema.yaml does not know: StackStorm accepts them (st2common/util/pack.py), but
        nothing reads them, so each is most likely a misspelt key."""
        known = sorted(_schema())
        return [(key, next(iter(difflib.get_close_matches(str(key), known, n=1)), None))
                for key in sorted(self._values, key=str) if key not in known]

    def secrets(self):
        """Return the configured values of every ``secret: true`` key (for log scrubbing)."""
        return [str(self._values[key]) for key, spec in _schema().items()
                if spec.get("secret") and self._values.get(key)]
