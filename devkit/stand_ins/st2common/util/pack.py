"""Stand-in for ``st2common.util.pack``: ``validate_config_against_schema``, as StackStorm 3.9.0
validates a pack config at registration (``st2ctl reload --register-configs``, the config API):
against an object schema of the config schema's keys (other keys allowed) in StackStorm's dialect,
defaults filled and None accepted where the default is None; ``decrypt_kv`` on a ``secret: true``
key refused; a schema error re-raised naming the attribute, the pack and the config file.
"""

import jsonschema

from st2common.exceptions.apivalidation import ValueValidationException
from st2common.util import schema as util_schema

__all__ = ["validate_config_against_schema", "DECRYPT_KV_ON_SECRET_MESSAGE"]

#: StackStorm's refusal of ``decrypt_kv`` on a ``secret: true`` config key.
DECRYPT_KV_ON_SECRET_MESSAGE = (
    'Values specified as "secret: True" in config schema are automatically decrypted by '
    'default. Use of "decrypt_kv" jinja filter is not allowed for such values. Please check '
    "the specified values in the config or the default values in the schema.")

#: What StackStorm puts in place of an empty property schema ("any JSON type").
ANY_TYPE = {"anyOf": [{"type": kind} for kind in
                      ("array", "boolean", "integer", "number", "object", "string")]}


def _is_jinja_expression(value):
    return isinstance(value, str) and bool(value) and ("{{" in value or "{%" in value)


def _config_object_schema(config_schema):
    properties = {key: (spec if spec else ANY_TYPE) for key, spec in config_schema.items()}
    if not properties:
        return {}
    return {"type": "object", "properties": properties, "additionalProperties": True}


def validate_config_against_schema(config_schema, config_object, config_path, pack_name=None):
    """Validate a pack config against its config schema; return the config with defaults.

    Raises ``jsonschema.ValidationError`` (message ``Failed validating attribute "<key>" in config
    for pack "<pack>" (<path>): ...``) or ``ValueValidationException`` (decrypt_kv on a secret).
    """
    pack_name = pack_name or "unknown"
    schema = _config_object_schema(config_schema)
    try:
        cleaned = util_schema.validate(config_object, schema, util_schema.CustomValidator,
                                       use_default=True, allow_default_none=True)
        for key in cleaned:
            value = cleaned.get(key)
            if not (_is_jinja_expression(value) and "decrypt_kv" in value):
                continue
            # As in StackStorm, a key absent from the schema fails here with an AttributeError
            # (registration then reports "'NoneType' object has no attribute 'get'").
            if config_schema.get(key).get("secret"):
                raise ValueValidationException(DECRYPT_KV_ON_SECRET_MESSAGE)
    except jsonschema.ValidationError as error:
        attribute = ".".join(str(item) for item in error.path)
        raise jsonschema.ValidationError(
            'Failed validating attribute "%s" in config for pack "%s" (%s): %s'
            % (attribute, pack_name, config_path, error))
    return cleaned
