"""The local runner renders action parameters as StackStorm 3.9 does (a table of cases).

Each expected value is what StackStorm's own code gives; the comment on each case names the
function of StackStorm that decides it (st2common/util/param.py, st2common/util/casts.py,
st2common/expressions/functions/data.py, st2common/services/action.py).
"""

import re

import pytest

from parity_support import real_tier
from workspaces_devkit.runner.render import ParamError, render_final_params, render_live_params

RUNNER = {"timeout": {"type": "integer", "default": 600}, "env": {"type": "object"}}
ACTION = {
    "obj": {"type": "object"},
    "arr": {"type": "array", "items": {"type": "string"}},
    "count": {"type": "integer"},
    "size": {"type": "number"},
    "flag": {"type": "boolean"},
    "text": {"type": "string"},
    "named": {"type": "string", "default": "d"},
    "fixed": {"type": "string", "default": "fixed", "immutable": True},
    "from_config": {"type": "string", "default": "{{ config_context.base }}/x"},
}
PAYLOAD = {"size": 1000, "mous_uid": None, "calibrateable": True, "flag_text": "true",
           "files": ["a.fits", "b.fits"], "data": {"n": 1, "ok": False}, "path": 'in "q".tar'}
CONFIG = {"base": "/srv"}
DATASTORE = {"token_name": "abc"}

CASES = [
    # param.py _render: an object is JSON-encoded, rendered as one text and decoded, so a nested
    # Jinja string stays a string ...
    ("nested number becomes text", {"obj": {"size": "{{ trigger.size }}"}},
     {"obj": {"size": "1000"}}),
    # ... and None / True render as Python's words
    ("nested None becomes 'None'", {"obj": {"mous": "{{ trigger.mous_uid }}"}},
     {"obj": {"mous": "None"}}),
    ("nested True becomes 'True'", {"obj": {"ok": "{{ trigger.calibrateable }}"}},
     {"obj": {"ok": "True"}}),
    ("nested in a list stays text", {"arr": ["{{ trigger.size }}"]}, {"arr": ["1000"]}),
    # param.py _render: only "{{name}}" (no spaces, a bare name) goes through to_complex
    ("bare {{name}} keeps its type", {"obj": {"n": "{{count}}"}, "count": 7},
     {"obj": {"n": 7}, "count": 7}),
    ("plain nested values keep types", {"obj": {"a": 1, "b": [True]}},
     {"obj": {"a": 1, "b": [True]}}),
    # param.py _cast_params_from + casts.py _cast_object: a top-level object/array parameter is
    # parsed from the rendered JSON ...
    ("top-level object from JSON", {"obj": "{{ trigger.data | tojson }}"},
     {"obj": {"n": 1, "ok": False}}),
    ("whole object in one expression",
     {"obj": "{{ {'size': trigger.size, 'mous': trigger.mous_uid} | tojson }}"},
     {"obj": {"size": 1000, "mous": None}}),
    # ... or, when that fails, from a Python literal (ast.literal_eval)
    ("top-level object from a Python literal", {"obj": "{{ trigger.data }}"},
     {"obj": {"n": 1, "ok": False}}),
    ("top-level array from a Python literal", {"arr": "{{ trigger.files }}"},
     {"arr": ["a.fits", "b.fits"]}),
    # casts.py _cast_integer / _cast_number: int() / float()
    ("integer from text", {"count": "{{ trigger.size }}"}, {"count": 1000}),
    ("number from text is a float", {"size": "{{ trigger.size }}"}, {"size": 1000.0}),
    # casts.py _cast_boolean: ast.literal_eval of the capitalized text
    ("boolean from 'true'", {"flag": "{{ trigger.flag_text }}"}, {"flag": True}),
    ("boolean from 'True'", {"flag": "{{ trigger.calibrateable }}"}, {"flag": True}),
    # casts.py _cast_string: a rendered None is the text "None" ...
    ("top-level None renders 'None'", {"text": "{{ trigger.mous_uid }}"}, {"text": "None"}),
    # ... unless use_none marks it (data.py NONE_MAGIC_VALUE, casts.py _cast_none)
    ("use_none gives None", {"text": "{{ trigger.mous_uid | use_none }}"}, {"text": None}),
    ("a quote in a top-level string is fine", {"text": "{{ trigger.path }}"},
     {"text": 'in "q".tar'}),
    # param.py _create_graph: parameters, st2kv, config_context are nodes of one graph
    ("another parameter by name", {"text": "{{ named }}-y"}, {"text": "d-y"}),
    ("st2kv.system value", {"text": "{{ st2kv.system.token_name }}"}, {"text": "abc"}),
    ("missing st2kv key is empty text", {"text": "<{{ st2kv.system.nope }}>"}, {"text": "<>"}),
    # param.py _process_defaults: an immutable parameter always takes its default
    ("immutable takes its default", {"fixed": "mine"}, {"fixed": "fixed"}),
    # param.py _cast_params_from: a templated default not overridden joins the live parameters
    ("templated default rendered with config_context", {},
     {"from_config": "/srv/x"}),
]


def _live(params):
    return render_live_params(RUNNER, ACTION, params, {"user": "stanley", "pack": "workspaces"},
                              additional_contexts={"trigger": PAYLOAD}, config=CONFIG,
                              kv_get=DATASTORE.get)


@pytest.mark.parametrize("name,params,expected", CASES, ids=[c[0] for c in CASES])
def test_live_parameters_render_as_stackstorm_renders_them(name, params, expected):
    live = _live(params)
    expected = dict(expected)
    if "from_config" not in params and "from_config" not in expected:
        expected["from_config"] = "/srv/x"  # always joins: templated default, not overridden
    assert live == expected
    for key, value in expected.items():
        assert type(live[key]) is type(value), key


ERRORS = [
    # casts.py _cast_string refuses a non-string
    ({"text": 5}, 'Value "5" must either be a string or None. Got "int".'),
    # casts.py _cast_integer: int("None")
    ({"count": "{{ trigger.mous_uid }}"}, "invalid literal for int()"),
    # casts.py _cast_boolean: ast.literal_eval("Yes") is not a literal
    ({"flag": "yes"}, "malformed node or string"),
    # param.py _resolve_dependencies: StrictUndefined, wrapped with the parameter's name
    ({"text": "{{ trigger.nope.deeper }}"}, 'Failed to render parameter "text"'),
    # param.py _render: a quote inside a nested string breaks the JSON text being decoded
    ({"obj": {"p": "{{ trigger.path }}"}}, 'Failed to render parameter "obj"'),
    # param.py _validate: a variable that is neither a parameter nor a context is refused
    ({"text": "{{ nothing_here }}"}, 'Dependency unsatisfied in variable "nothing_here"'),
    # param.py _validate: cycles are refused
    ({"text": "{{ named }}", "named": "{{ text }}"}, "Cyclic dependency found"),
]


@pytest.mark.parametrize("params,message", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_unrenderable_or_uncastable_parameters_are_refused(params, message):
    with pytest.raises(ParamError) as caught:
        _live(params)
    assert message in str(caught.value)


def test_final_parameters_complete_every_declared_parameter():
    # param.py render_final_params: live values taken as they are, defaults added, every
    # declared parameter present (None without a default), runner and action split apart
    runner, action = render_final_params(RUNNER, ACTION, {"count": 3, "obj": {"a": "1"}},
                                         {"user": "stanley"}, config=CONFIG)
    assert runner == {"timeout": 600, "env": None}
    assert action == {"obj": {"a": "1"}, "arr": None, "count": 3, "size": None, "flag": None,
                      "text": None, "named": "d", "fixed": "fixed", "from_config": "/srv/x"}


# --- the same tables through StackStorm's own st2common.util.param (the real tier) ---------------

_ADDRESS_RE = re.compile(r"0x[0-9a-f]+")


def _real_live(params):
    from unittest import mock

    from parity_support import real_datastore
    from st2common.util import param

    with mock.patch.object(param, "get_config", lambda pack, user: dict(CONFIG)), \
            real_datastore(DATASTORE):
        return param.render_live_params(RUNNER, ACTION, params,
                                        {"user": "stanley", "pack": "workspaces"},
                                        additional_contexts={"trigger": PAYLOAD})


@real_tier
@pytest.mark.parametrize("name,params,expected", CASES, ids=[c[0] for c in CASES])
def test_stackstorm_renders_the_table_the_same(name, params, expected):
    # param.py reads the pack config from MongoDB (get_config) and st2kv from MongoDB: only those
    # two reads are replaced (by CONFIG and DATASTORE); the rendering is StackStorm's
    live = _real_live(params)
    expected = dict(expected)
    if "from_config" not in params and "from_config" not in expected:
        expected["from_config"] = "/srv/x"
    assert live == expected
    for key, value in expected.items():
        assert type(live[key]) is type(value), key


@real_tier
@pytest.mark.parametrize("params,message", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_stackstorm_refuses_the_same_parameters_with_the_same_words(params, message):
    # StackStorm raises ParamException for rendering and the cast's own error for a cast; the
    # devkit's ParamError says the same (a rendering refusal word for word)
    with pytest.raises(Exception) as caught:
        _real_live(params)
    assert message in str(caught.value)
    with pytest.raises(ParamError) as ours:
        _live(params)
    theirs = _ADDRESS_RE.sub("0x", str(caught.value))
    if "unexpected character" in theirs or "Cyclic" in theirs:
        # the detail is not the imitation's: StackStorm decodes with orjson (the devkit with
        # json), and names one variable per cycle in networkx's set order (not stable)
        theirs = theirs.split(": ")[0]
    if type(caught.value).__name__ == "ParamException":
        assert _ADDRESS_RE.sub("0x", str(ours.value)).startswith(theirs)
    else:
        assert theirs in _ADDRESS_RE.sub("0x", str(ours.value))


@real_tier
def test_stackstorm_completes_final_parameters_the_same():
    from unittest import mock

    from st2common.util import param

    with mock.patch.object(param, "get_config", lambda pack, user: dict(CONFIG)):
        runner, action = param.render_final_params(RUNNER, ACTION, {"count": 3,
                                                                    "obj": {"a": "1"}},
                                                   {"user": "stanley", "pack": "workspaces"})
    assert runner == {"timeout": 600, "env": None}
    assert action == {"obj": {"a": "1"}, "arr": None, "count": 3, "size": None, "flag": None,
                      "text": None, "named": "d", "fixed": "fixed", "from_config": "/srv/x"}
