"""Parity table: templates rendered by the devkit's Jinja environment (workspaces_devkit.st2jinja)
and, in the real tier, by StackStorm's own (st2common/util/jinja.py ``get_jinja_environment``):
the same text, or the same kind of refusal."""

import pytest

from parity_support import Raised, check, outcome, real_tier
from workspaces_devkit.st2jinja import jinja_environment

CONTEXT = {"trigger": {"size": 1000, "path": "/data/in/a b.tar", "files": ["a.fits", "b.fits"],
                       "none": None, "data": {"n": 1, "list": [1, 2]}, "seconds": 3785,
                       "version": "1.2.3", "text": 'say "hi"\n', "yaml": "a: 1\nb: [x]\n",
                       "json": '{"k": [1, 2]}'}}

CASES = [
    ("plain expression", "{{ trigger.size }}", "1000"),
    ("undefined field is refused", "{{ trigger.nope }}", Raised("UndefinedError", "nope")),
    ("None renders as text", "{{ trigger.none }}", "None"),
    ("tojson", "{{ trigger.data | tojson }}", '{"list": [1, 2], "n": 1}'),
    # separators default to (",", ": "): no space after a comma
    ("to_json_string", "{{ trigger.data | to_json_string }}", '{"n": 1,"list": [1,2]}'),
    ("to_json_string sorted, indented", "{{ trigger.data | to_json_string(2, True) }}",
     '{\n  "list": [\n    1,\n    2\n  ],\n  "n": 1\n}'),
    ("to_complex", "{{ trigger.files | to_complex }}", '["a.fits", "b.fits"]'),
    ("to_yaml_string", "{{ trigger.data | to_yaml_string }}", "list:\n- 1\n- 2\nn: 1\n"),
    ("from_json_string", "{{ (trigger.json | from_json_string).k[1] }}", "2"),
    ("from_yaml_string", "{{ (trigger.yaml | from_yaml_string).b[0] }}", "x"),
    ("json_escape", "{{ trigger.text | json_escape }}", 'say \\"hi\\"\\n'),
    ("basename", "{{ trigger.path | basename }}", "a b.tar"),
    ("dirname", "{{ trigger.path | dirname }}", "/data/in"),
    ("regex_match", "{{ trigger.path | regex_match('/data') }}", "True"),
    ("regex_match ignorecase", "{{ trigger.path | regex_match('/DATA', True) }}", "True"),
    ("regex_match of a number", "{{ trigger.size | regex_match('10+') }}", "True"),
    ("regex_search", "{{ trigger.path | regex_search('b\\\\.tar$') }}", "True"),
    ("regex_replace", "{{ trigger.path | regex_replace(' ', '_') }}", "/data/in/a_b.tar"),
    ("regex_substring", "{{ trigger.path | regex_substring('[a-z]+', 2) }}", "a"),
    ("regex_substring past the end", "{{ trigger.path | regex_substring('zz') }}",
     Raised("IndexError")),
    ("use_none", "{{ trigger.none | use_none }}", "%*****__%NONE%__*****%"),
    ("to_human_time_from_seconds", "{{ trigger.seconds | to_human_time_from_seconds }}",
     "1h3m5s"),
    ("to_human_time of an hour", "{{ 3600 | to_human_time_from_seconds }}", "1h0m0s"),
    ("to_human_time of zero", "{{ 0 | to_human_time_from_seconds }}", "0s"),
    ("to_human_time of days", "{{ 90061 | to_human_time_from_seconds }}", "1d1h1m1s"),
    ("version_compare", "{{ trigger.version | version_compare('1.10.0') }}", "-1"),
    ("version_compare pre-release", "{{ '1.0.0-rc.1' | version_compare('1.0.0') }}", "-1"),
    ("version_more_than", "{{ trigger.version | version_more_than('1.2.2') }}", "True"),
    ("version_equal with build", "{{ '1.2.3+b7' | version_equal('1.2.3') }}", "True"),
    ("version_match", "{{ trigger.version | version_match('>=1.2.0') }}", "True"),
    ("version_match not equal", "{{ trigger.version | version_match('!=1.2.3') }}", "False"),
    ("version_bump_minor", "{{ trigger.version | version_bump_minor }}", "1.3.0"),
    ("version_bump_major", "{{ '1.2.3-rc.1' | version_bump_major }}", "2.0.0"),
    ("version_strip_patch", "{{ trigger.version | version_strip_patch }}", "1.2"),
    ("not a version", "{{ '1.2' | version_compare('1.2.0') }}", Raised("ValueError")),
    ("the 'in' test", "{{ 'a.fits' is in trigger.files }}", "True"),
    ("trim_blocks and lstrip_blocks",
     "{% for f in trigger.files %}\n  {{ f }},\n  {% endfor %}", "  a.fits,\n  b.fits,\n"),
    ("sandboxed", "{{ trigger.__class__.__mro__ }}", Raised("SecurityError")),
]


def _render(environment, template):
    return environment.from_string(template).render(CONTEXT)


@pytest.mark.parametrize("name,template,expected", CASES, ids=[c[0] for c in CASES])
def test_devkit_renders_the_table(name, template, expected):
    check(expected, outcome(_render, jinja_environment(), template))


@real_tier
@pytest.mark.parametrize("name,template,expected", CASES, ids=[c[0] for c in CASES])
def test_stackstorm_renders_the_table_the_same(name, template, expected):
    from st2common.util.jinja import get_jinja_environment

    check(expected, outcome(_render, get_jinja_environment(), template))


@real_tier
def test_the_devkit_has_stackstorms_filters_and_tests():
    from st2common.util.jinja import get_jinja_environment

    theirs, ours = get_jinja_environment(), jinja_environment()
    assert set(theirs.filters) == set(ours.filters)
    assert set(theirs.tests) == set(ours.tests)
