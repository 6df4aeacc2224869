"""Reading a pack's StackStorm metadata the way StackStorm does (tests, stand-ins, runner).

YAML files with errors of one line, a sensor class's trigger types (keyed by ``<pack>.<name>``
refs), and payloads validated in StackStorm's schema dialect.
"""

import inspect
import os

import yaml

__all__ = [
    "load_yaml",
    "YamlFileError",
    "trigger_types_for_sensor_class",
    "payload_errors",
]


class YamlFileError(ValueError):
    """A file that is not YAML: ``where`` is ``FILE:LINE:COLUMN`` (or ``FILE``), ``problem`` what
    is wrong there; its text is one line, ``FILE:LINE:COLUMN: problem``."""

    def __init__(self, where, problem):
        ValueError.__init__(self, "%s: %s" % (where, problem))
        self.where = where
        self.problem = problem


def load_yaml(path):
    """Parse a YAML file and return its content; raise ``YamlFileError`` naming the file, line and
    column (counted from 1, as editors do) of bad YAML, or a file that is not UTF-8 text."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except UnicodeDecodeError as error:
        raise YamlFileError(path, "not UTF-8 text (byte %d)" % error.start) from None
    except yaml.reader.ReaderError as error:
        raise YamlFileError(path, "character %d: unacceptable character #x%04x" % (
            error.position + 1, error.character)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        context, context_mark = getattr(error, "context", None), error.context_mark
        if context and context_mark is not None and context_mark is not mark:
            problem += " (%s at %s)" % (context, _line_column(context_mark))
        raise YamlFileError("%s:%s" % (path, _line_column(mark)) if mark else path,
                            problem) from None


def _line_column(mark):
    return "%d:%d" % (mark.line + 1, mark.column + 1)


def trigger_types_for_sensor_class(sensor_cls):
    """Return ``{"<pack>.<trigger name>": trigger_type_spec}`` a sensor class may dispatch: its
    own trigger types (from the sensor metadata naming its class and file) and those of its pack's
    ``triggers/`` folder, which StackStorm's TriggersRegistrar registers for any sensor."""
    from workspaces_devkit.content import load_pack

    module_file = os.path.abspath(inspect.getfile(sensor_cls))
    pack = load_pack(os.path.dirname(os.path.dirname(module_file)))
    for sensor in pack.sensors:
        if sensor.class_name == sensor_cls.__name__ and \
                os.path.abspath(sensor.entry_point) == module_file:
            types = {spec["ref"]: spec for spec in pack.triggers}
            types.update((spec["ref"], spec) for spec in sensor.trigger_types)
            return types
    raise LookupError("no sensor metadata in %s declares class_name %s with entry_point %s"
                      % (os.path.dirname(module_file), sensor_cls.__name__,
                         os.path.basename(module_file)))


def payload_errors(trigger_type_ref, trigger_type_spec, payload):
    """Return what the trigger type's payload_schema refuses in ``payload`` (empty when valid),
    with the options of StackStorm's dispatcher: a payload StackStorm would drop."""
    import jsonschema
    from st2common.util import schema as util_schema

    schema = trigger_type_spec.get("payload_schema") or {}
    try:
        util_schema.validate(instance=dict(payload or {}), schema=schema,
                             cls=util_schema.CustomValidator, use_default=True,
                             allow_default_none=True)
    except jsonschema.SchemaError as error:
        return ["trigger type %s: payload_schema is invalid: %s"
                % (trigger_type_ref, error.message)]
    except jsonschema.ValidationError:
        errors = util_schema.CustomValidator(schema).iter_errors(dict(payload or {}))
        return ["trigger type %s: payload field %s: %s"
                % (trigger_type_ref, "/".join(str(p) for p in e.absolute_path) or "(payload)",
                   e.message)
                for e in sorted(errors, key=lambda e: list(e.absolute_path))]
    return []
