"""Helpers shared by the bad-input, secrets and fault suites.

- ``action_specs`` / ``sensor_specs`` read the pack's metadata YAML, so the suites cover every
  action and trigger parameter automatically, including ones added later;
- ``schema_violations`` derives, from a parameter's own schema, the wrong-type, empty, huge and
  out-of-range values that StackStorm's validator refuses;
- ``LogRecorder`` collects every log record (root logger, DEBUG) and ``use_real_logger`` makes a
  sensor service hand out real loggers, so the same checks work with the stand-ins and with
  StackStorm's own mocks (whose ``get_logger`` returns a ``Mock``).
"""

import glob
import importlib
import inspect
import logging
import math
import os

import yaml

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Parameters of the python-script runner: StackStorm consumes them, ``run()`` never sees them.
RUNNER_PARAMETERS = ("timeout", "debug", "content_version", "env", "log_level")

#: Values tried against every parameter schema; those the schema refuses become bad-input cases.
CANDIDATE_VALUES = [
    ("integer", 123), ("negative integer", -1), ("zero", 0), ("float", 1.5),
    ("huge integer", 10 ** 20), ("NaN", float("nan")), ("infinity", float("inf")),
    ("boolean", True), ("empty string", ""), ("numeric string", "10"), ("word", "yes"),
    ("huge string", "x" * 100000), ("empty list", []), ("list of string", ["a"]),
    ("list of integer", [1]), ("list of empty string", [""]), ("empty object", {}),
    ("object", {"a": 1}), ("null", None),
]


def load_yaml(path):
    """Return the parsed content of a YAML file."""
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def action_specs():
    """Return ``[(action name, metadata dict)]`` for every ``actions/*.yaml``, sorted by name."""
    specs = []
    for path in sorted(glob.glob(os.path.join(PACK_DIR, "actions", "*.yaml"))):
        meta = load_yaml(path)
        if isinstance(meta, dict) and meta.get("runner_type") == "python-script":
            specs.append((meta["name"], meta))
    return specs


def sensor_specs():
    """Return ``[(yaml path, metadata dict)]`` for every ``sensors/*.yaml``, sorted by path."""
    specs = []
    for path in sorted(glob.glob(os.path.join(PACK_DIR, "sensors", "*.yaml"))):
        meta = load_yaml(path)
        if isinstance(meta, dict) and meta.get("class_name"):
            specs.append((path, meta))
    return specs


def trigger_parameter_specs():
    """Return ``[(sensor class name, trigger type name, parameter name, parameter schema)]``."""
    rows = []
    for _path, meta in sensor_specs():
        for trigger_type in meta.get("trigger_types") or []:
            schema = trigger_type.get("parameters_schema") or {}
            for name, spec in sorted((schema.get("properties") or {}).items()):
                rows.append((meta["class_name"], trigger_type["name"], name, spec))
    return rows


def action_class(meta):
    """Return the class StackStorm's python runner would pick from the action's entry point.

    That is the alphabetically first class defined in the module that has a ``run`` method.
    """
    module = importlib.import_module(os.path.splitext(meta["entry_point"])[0])
    classes = [cls for name, cls in sorted(inspect.getmembers(module, inspect.isclass))
               if cls.__module__ == module.__name__ and hasattr(cls, "run")]
    if not classes:
        raise LookupError("%s defines no class with a run method" % meta["entry_point"])
    return classes[0]


def sensor_class(meta):
    """Return the sensor class named by the sensor metadata (imported by module name)."""
    module = importlib.import_module(os.path.splitext(meta["entry_point"])[0])
    return getattr(module, meta["class_name"])


def _validator_errors(name, spec, value):
    """Return the schema errors of ``{name: value}`` under StackStorm's parameter validation."""
    import jsonschema
    from st2common.util import schema as util_schema

    schema = {"type": "object", "properties": {name: dict(spec)}}
    try:
        util_schema.validate(instance={name: value}, schema=schema,
                             cls=util_schema.CustomValidator, use_default=True,
                             allow_default_none=True)
    except jsonschema.ValidationError as error:
        return [error.message]
    return []


def schema_violations(name, spec):
    """Return ``[(label, value)]``: candidate values the parameter's own schema refuses.

    StackStorm refuses these before a sensor or action sees them when its validation is on; the
    pack must refuse them too (rules registered with validation off, hand-made triggers,
    ``st2 run`` casts), with a message naming the parameter. NaN and infinity are added for
    ``number`` parameters: ``st2 run x n=nan`` casts to ``float('nan')``, which passes ``minimum``.
    """
    bad = []
    for label, value in CANDIDATE_VALUES:
        if value is None and not spec.get("required"):
            continue  # StackStorm replaces None with the default for optional parameters
        if _validator_errors(name, spec, value):
            bad.append((label, value))
        elif spec.get("type") == "number" and isinstance(value, float) and \
                (math.isnan(value) or math.isinf(value)):
            bad.append((label, value))
    return bad


def describe(value):
    """A short printable form of a test value (huge strings shortened)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + "...(%d chars)" % len(text)


class LogRecorder(logging.Handler):
    """Collect every log record of the process at DEBUG and above while installed."""

    def __init__(self):
        logging.Handler.__init__(self, level=logging.DEBUG)
        self.records = []
        self._old_level = None

    def emit(self, record):
        """Keep the record."""
        self.records.append(record)

    def install(self):
        """Attach to the root logger at DEBUG; return self."""
        root = logging.getLogger()
        self._old_level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        return self

    def uninstall(self):
        """Detach from the root logger and restore its level."""
        root = logging.getLogger()
        root.removeHandler(self)
        if self._old_level is not None:
            root.setLevel(self._old_level)

    def texts(self, min_level=logging.DEBUG):
        """Return the formatted message (plus exception text) of each record at ``min_level``+."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return [formatter.format(record) for record in self.records
                if record.levelno >= min_level]

    def clear(self):
        """Forget the records collected so far."""
        self.records = []


def use_real_logger(service, prefix="workspaces.tests.sensor"):
    """Make ``service.get_logger`` return real loggers (StackStorm's mock returns a Mock)."""
    def get_logger(name):
        return logging.getLogger("%s.%s" % (prefix, name))
    service.get_logger = get_logger
    return service


def attach_recorder(logger, recorder):
    """Attach ``recorder`` directly to ``logger`` (an action's logger may not propagate)."""
    if isinstance(logger, logging.Logger):
        logger.setLevel(logging.DEBUG)
        if recorder not in logger.handlers:
            logger.addHandler(recorder)
        return True
    return False
