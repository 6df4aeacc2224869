"""Trigger parameter schemas refuse exactly what the sensors refuse (issue 19).

StackStorm validates a rule's trigger parameters against the trigger type's parameters_schema when
the rule is created or saved (st2common/validators/api/reactor.py validate_trigger_parameters,
called by st2api's rules controller; 400 on failure), so a value the sensor would refuse is turned
away at `st2 rule create` and at Save in the web UI, not in a sensor log line. Each value below is
checked both ways: the schema (StackStorm's dialect and validator) and the sensor's own check.
"""

import copy
import os

import pytest
import yaml
from jsonschema import ValidationError
from st2common.util import schema as util_schema

from workspaces_pack.archive.asdm_parameters import asdm_query_options
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.sensing.scanner import watch_spec_from_parameters
from workspaces_pack.core.config import PackConfig

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parameters_schema(sensor_file, trigger_name):
    """The parameters_schema of one trigger type in a sensor's metadata file."""
    with open(os.path.join(PACK_DIR, "sensors", sensor_file)) as handle:
        meta = yaml.safe_load(handle)
    return next(spec["parameters_schema"] for spec in meta["trigger_types"]
                if spec["name"] == trigger_name)


def schema_accepts(schema, parameters):
    """True when StackStorm's validation (as at rule create) accepts ``parameters``."""
    try:
        util_schema.validate(copy.deepcopy(parameters), schema, util_schema.CustomValidator,
                             use_default=True, allow_default_none=True)
    except ValidationError:
        return False
    return True


def sensor_accepts(check, parameters):
    """True when the sensor's own parameter check accepts ``parameters``."""
    try:
        check(parameters)
    except ParameterError:
        return False
    return True


FILE_CASES = [
    {"directory": "/data/incoming"},
    {"directory": "/"},
    {"directory": "/data/../etc"},
    {"directory": "/data/.."},
    {"directory": "/.."},
    {"directory": "/data/..hidden"},
    {"directory": "/data/x.."},
    {"directory": "data/incoming"},
    {"directory": "./data"},
    {"directory": "../data"},
    {"directory": "~/data"},
    {"directory": "/data/\x00x"},
    {"directory": "/" + "d" * 4095},
    {"directory": "/" + "d" * 4096},
    {"directory": "/data", "pattern": "*.tar"},
    {"directory": "/data", "pattern": ".*"},
    {"directory": "/data", "pattern": "sub/*.tar"},
    {"directory": "/data", "pattern": ""},
    {"directory": "/data", "pattern": "   "},
    {"directory": "/data", "pattern": "."},
    {"directory": "/data", "pattern": ".."},
    {"directory": "/data", "pattern": "..."},
    {"directory": "/data", "pattern": "a\x00b"},
    {"directory": "/data", "pattern": "x" * 255},
    {"directory": "/data", "pattern": "x" * 256},
    {"directory": "/data", "ready_marker": "READY"},
    {"directory": "/data", "ready_marker": ""},
    {"directory": "/data", "ready_marker": "sub/READY"},
    {"directory": "/data", "ready_marker": ".."},
    {"directory": "/data", "ready_marker": " "},
    {"directory": "/data", "settle_seconds": 0},
    {"directory": "/data", "settle_seconds": 604800},
    {"directory": "/data", "settle_seconds": 604801},
    {"directory": "/data", "settle_seconds": -1},
]

ASDM_CASES = [
    {},
    {"project_code_pattern": "2017.1.*"},
    {"project_code_pattern": ""},
    {"project_code_pattern": "*"},
    {"project_code_pattern": "2017.1.00886.L"},
    {"project_code_pattern": "2017.1.%"},
    {"project_code_pattern": "2017 1"},
    {"project_code_pattern": "x'; drop table"},
    {"project_code_pattern": "x" * 64},
    {"project_code_pattern": "x" * 65},
    {"qa0_statuses": ["Pass"]},
    {"qa0_statuses": []},
    {"qa0_statuses": ["Passed"]},
]


@pytest.mark.parametrize("parameters", FILE_CASES, ids=lambda p: repr(p)[:60])
def test_file_detected_schema_refuses_what_the_scanner_refuses(parameters):
    schema = parameters_schema("file_monitor_sensor.yaml", "file_detected")
    assert schema_accepts(schema, parameters) == sensor_accepts(watch_spec_from_parameters,
                                                                parameters)


@pytest.mark.parametrize("parameters", ASDM_CASES, ids=lambda p: repr(p)[:60])
def test_alma_asdm_schema_refuses_what_the_sensor_refuses(parameters):
    schema = parameters_schema("alma_asdm_sensor.yaml", "alma_asdm")
    assert schema_accepts(schema, parameters) == sensor_accepts(
        lambda values: asdm_query_options(values, PackConfig({})), parameters)


def test_a_relative_directory_is_refused_by_the_schema():
    """The case the issue names: no test that cannot fail."""
    schema = parameters_schema("file_monitor_sensor.yaml", "file_detected")
    assert not schema_accepts(schema, {"directory": "incoming"})
    assert schema_accepts(schema, {"directory": "/incoming"})
