"""Stand-in for ``st2common.util.schema``: StackStorm's JSON-schema dialect.

StackStorm validates trigger payloads, trigger parameters, action parameters and pack configs with
its own "custom" dialect: JSON-schema draft 4, except that ``required`` is draft 3's boolean on each
property (``{"type": "string", "required": true}``). An object-level ``required: [a, b]`` array is
not valid in this dialect: validating anything against such a schema fails with
"... is not of type 'boolean'".
"""

import copy
import functools
import json

import jsonschema
from jsonschema import Draft3Validator, Draft4Validator, validators

__all__ = ["CustomValidator", "validate", "META_SCHEMA"]


def _build_meta_schema():
    meta = copy.deepcopy(Draft4Validator.META_SCHEMA)
    meta["id"] = "urn:stackstorm:custom-draft4-schema#"
    meta.pop("$schema", None)
    meta["properties"]["required"] = {"type": "boolean", "default": False}
    # StackStorm's own keywords on a property.
    meta["properties"]["secret"] = {"type": "boolean"}
    meta["properties"]["immutable"] = {"type": "boolean"}
    meta["properties"]["position"] = {"type": "integer", "minimum": 0}
    return meta


META_SCHEMA = _build_meta_schema()

_KEYWORDS = dict(Draft4Validator.VALIDATORS)
_KEYWORDS.pop("required", None)
_KEYWORDS["properties"] = Draft3Validator.VALIDATORS["properties"]

#: Validator class for StackStorm's dialect (draft 4 with draft 3 property-level ``required``).
_CREATE_OPTIONS = {"type_checker": Draft4Validator.TYPE_CHECKER}
if hasattr(Draft4Validator, "FORMAT_CHECKER"):  # jsonschema >= 4.5; StackStorm itself pins 3.2
    _CREATE_OPTIONS["format_checker"] = Draft4Validator.FORMAT_CHECKER
CustomValidator = validators.create(
    meta_schema=META_SCHEMA,
    validators=_KEYWORDS,
    version="custom",
    **_CREATE_OPTIONS
)


_CHECKED_SCHEMAS = set()


def _check_schema_once(cls, schema):
    """``cls.check_schema(schema)``, remembered per schema text (checking is the slow part)."""
    key = (cls, json.dumps(schema, sort_keys=True, default=repr))
    if key not in _CHECKED_SCHEMAS:
        cls.check_schema(schema)
        _CHECKED_SCHEMAS.add(key)


@functools.lru_cache(maxsize=None)
def _with_defaults(cls):
    """A subclass of ``cls`` that fills a property's default in where the property is missing
    or None, as StackStorm does."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema and \
                        instance.get(name) is None:
                    instance[name] = copy.deepcopy(subschema["default"])
        for error in validate_properties(validator, properties, instance, schema):
            yield error

    return validators.extend(cls, {"properties": set_defaults})


def _accept_null(prop):
    kind = prop.get("type")
    if isinstance(kind, str) and kind != "null":
        prop["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        prop["type"] = kind + ["null"]
    for key in ("anyOf", "oneOf"):
        if isinstance(prop.get(key), list) and {"type": "null"} not in prop[key]:
            prop[key] = prop[key] + [{"type": "null"}]


def _allow_null_defaults(schema):
    """Let properties whose default is None (optional ones without a default too) accept null."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        for prop in (node.get("properties") or {}).values():
            if not isinstance(prop, dict):
                continue
            # StackStorm's rule: (has a default or is optional) and the default is None.
            if ("default" in prop or not prop.get("required")) and prop.get("default") is None:
                _accept_null(prop)
            walk(prop)
            if isinstance(prop.get("items"), dict):
                walk(prop["items"])

    walk(schema)
    return schema


def validate(instance, schema, cls=None, use_default=True, allow_default_none=False, *args,
             **kwargs):
    """Validate ``instance`` against ``schema`` in StackStorm's dialect; return a cleaned copy.

    The instance is deep-copied first (the caller's object is not changed); with ``use_default``
    property defaults are filled into the copy where a value is missing or None. With
    ``allow_default_none`` properties whose default is None (or optional without one) accept null.
    Raises ``jsonschema.ValidationError`` for a bad instance and ``jsonschema.SchemaError`` for a
    schema that breaks the dialect (for example an object-level ``required`` array).
    """
    cls = cls or CustomValidator
    instance = copy.deepcopy(instance)
    if allow_default_none:
        schema = _allow_null_defaults(schema)
    _check_schema_once(cls, schema)
    checker = _with_defaults(cls) if use_default else cls
    error = jsonschema.exceptions.best_match(checker(schema, *args, **kwargs).iter_errors(instance))
    if error is not None:
        raise error
    return instance
