"""A pack config registered and loaded as StackStorm 3.9.0 does it.

1. Registration (st2common/bootstrap/configsregistrar.py): ``registration_problems`` calls
   StackStorm's ``validate_config_against_schema`` (the stand-in's where StackStorm is not
   installed) and returns its refusal in StackStorm's words.
2. Loading, each time a sensor or action starts (st2common/util/config_loader.py
   ``ContentPackConfigLoader``): every Jinja expression, at any depth, is rendered with ``st2kv``
   (an empty result becomes None); then the schema's defaults are filled in where a key is ABSENT,
   at any depth (through ``properties``, ``patternProperties``, ``additionalProperties``,
   ``items`` and ``additionalItems``); ``resolve_config`` does this over the local datastore.
"""

import copy
import re

import jsonschema

from workspaces_devkit.st2jinja import datastore_context, is_jinja_expression, jinja_environment

__all__ = ["ConfigRenderError", "registration_problems", "resolve_config"]

_ENV = jinja_environment()
_ATTRIBUTE_RE = re.compile(r'^Failed validating attribute "([^"]*)"')


class ConfigRenderError(RuntimeError):
    """A dynamic config value (at the dotted ``key``) could not be rendered; the message is
    StackStorm's."""

    def __init__(self, message, key):
        super(ConfigRenderError, self).__init__(message)
        self.key = key


def registration_problems(config_schema, config, config_path, pack_name):
    """Return StackStorm's refusal of ``config`` at registration as ``[(field, message)]``: at
    most one, its first line, ``field`` the dotted config key or ``(config)``."""
    from st2common.exceptions.apivalidation import ValueValidationException
    from st2common.util.pack import validate_config_against_schema

    if not isinstance(config, dict):
        return [("(config)", 'Config for pack "%s" (%s) must be a mapping'
                 % (pack_name, config_path))]
    try:
        validate_config_against_schema(config_schema, config, config_path, pack_name=pack_name)
    except jsonschema.ValidationError as error:
        match = _ATTRIBUTE_RE.match(error.message)
        return [((match.group(1) if match else "") or "(config)",
                 error.message.split("\n\n")[0])]
    except ValueValidationException as error:
        keys = [key for key, value in config.items()
                if _decrypts(value) and (config_schema.get(key) or {}).get("secret")]
        return [(", ".join(keys) or "(config)", str(error))]
    except AttributeError as error:  # StackStorm's own failure on decrypt_kv in an unknown key
        return [("(config)", 'Failed to register config "%s" for pack "%s": %s'
                 % (config_path, pack_name, error))]
    return []


def _decrypts(value):
    return is_jinja_expression(value) and "decrypt_kv" in value


# --- loading (ContentPackConfigLoader) -----------------------------------------------------------

def _object_properties_schema(object_schema, keys):
    """Give every key its schema: ``properties``, else ``patternProperties``, else
    ``additionalProperties`` (when that is a schema)."""
    flattened = {key: {} for key in keys}
    properties = object_schema.get("properties", {}) or {}
    flattened.update(properties)
    extra = set(keys) - set(properties)
    patterns = object_schema.get("patternProperties", {})
    if extra and patterns and isinstance(patterns, dict):
        for key in sorted(extra):
            matched = [schema for pattern, schema in patterns.items() if re.search(pattern, key)]
            if matched:  # one schema of all that match
                flattened[key] = {name: value for schema in matched for name, value in
                                  schema.items()}
                extra.discard(key)
    additional = object_schema.get("additionalProperties", {})
    if extra and additional and isinstance(additional, dict):
        for key in extra:
            flattened[key] = additional
    return flattened


def _array_items_schema(array_schema, count):
    """One schema per item: ``items`` (one for all, or positional), then ``additionalItems``."""
    items = array_schema.get("items", [])
    flattened = [items] * count if isinstance(items, dict) else list(items or [])
    additional = array_schema.get("additionalItems", {})
    if len(flattened) < count and additional and isinstance(additional, dict):
        flattened.extend([additional] * (count - len(flattened)))
    return flattened


def _render_value(key, value, kv_get, pack_name):
    try:
        rendered = _ENV.from_string(value).render({"st2kv": datastore_context(kv_get)})
    except Exception as error:  # StackStorm turns every rendering failure into this message
        raise ConfigRenderError(
            'Failed to render dynamic configuration value for key "%s" with value "%s" for pack '
            '"%s" config: %s %s ' % (key, value, pack_name, type(error), error), key)
    # A secret key's value is decrypted by StackStorm here; nothing is encrypted locally.
    return rendered if rendered else None


def _assign_dynamic_values(schema, config, kv_get, pack_name, parent_keys):
    items = config.items() if isinstance(config, dict) else enumerate(config)
    for key, value in list(items):
        if isinstance(config, dict):
            schema_item = schema.get(key, {})
        elif isinstance(schema, list):
            schema_item = schema[key] if key < len(schema) else {}
        else:
            schema_item = schema
        keys = parent_keys + [str(key)]
        if isinstance(value, dict):
            _assign_dynamic_values(_object_properties_schema(schema_item, list(value)), value,
                                   kv_get, pack_name, keys)
        elif isinstance(value, list):
            _assign_dynamic_values(_array_items_schema(schema_item, len(value)), value, kv_get,
                                   pack_name, keys)
        elif is_jinja_expression(value):
            config[key] = _render_value(".".join(keys), value, kv_get, pack_name)


def _assign_defaults(schema, config):
    entries = schema.items() if isinstance(schema, dict) else enumerate(schema)
    for key, schema_item in entries:
        present = key in config if isinstance(config, dict) else key < len(config)
        if not present and isinstance(config, list):
            continue  # a positional item schema past the end of the array: nothing to fill
        if "default" in schema_item and not present:
            config[key] = copy.deepcopy(schema_item["default"])
        try:
            value = config[key]
        except (KeyError, IndexError):
            value = None
        kind = schema_item.get("type")
        sub_schemas = [schema_item.get(name) for name in
                       ("properties", "patternProperties", "additionalProperties")]
        if kind == "object" and any(sub_schemas):
            if not value:
                value = config[key] = {}
            _assign_defaults(_object_properties_schema(schema_item, list(value)), value)
        elif kind == "array" and (schema_item.get("items") or schema_item.get("additionalItems")):
            if not value:
                value = config[key] = []
            _assign_defaults(_array_items_schema(schema_item, len(value)), value)


def resolve_config(config_schema, config, kv_get=None, pack_name="workspaces"):
    """Return the config a sensor or action of the pack receives (a new dict); ``kv_get(name)``
    reads ``st2kv.system.<name>``. Raises ``ConfigRenderError``."""
    resolved = copy.deepcopy(config or {})
    _assign_dynamic_values(config_schema or {}, resolved, kv_get, pack_name, [])
    _assign_defaults(config_schema or {}, resolved)
    return resolved
