"""Pack configs are registered and loaded by the devkit as StackStorm 3.9 does (tables of cases).

Registration follows st2common/util/pack.py ``validate_config_against_schema`` (called by
st2common/bootstrap/configsregistrar.py): the schema in StackStorm's dialect, keys outside the
schema accepted, ``decrypt_kv`` refused on ``secret: true`` keys, each refusal in StackStorm's
words. Loading follows st2common/util/config_loader.py ``ContentPackConfigLoader``: st2kv
references rendered from the datastore, then defaults filled at every depth.
"""

import copy
import os
import shutil

import pytest

from workspaces_devkit.demo import COPY_IGNORE
from workspaces_devkit.pack_config import ConfigRenderError, registration_problems, resolve_config
from workspaces_devkit.runner.cli import main as workspaces_local

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = "/opt/stackstorm/configs/demo.yaml"
SCHEMA = {
    "url": {"type": "string", "required": True},
    "retries": {"type": "integer", "default": 3},
    "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
    "token": {"type": "string", "secret": True},
    "plain": {"type": "string"},
    "nested": {"type": "object", "properties": {
        "level": {"type": "integer", "default": 1},
        "inner": {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}}},
    "servers": {"type": "array", "items": {"type": "object", "properties": {
        "host": {"type": "string", "required": True},
        "port": {"type": "integer", "default": 22}}}},
}
DECRYPT_REFUSAL = ('Values specified as "secret: True" in config schema are automatically '
                   'decrypted by default. Use of "decrypt_kv" jinja filter is not allowed for such '
                   'values. Please check the specified values in the config or the default values '
                   'in the schema.')


def _failed(attribute, detail):
    return ('Failed validating attribute "%s" in config for pack "demo" (%s): %s'
            % (attribute, PATH, detail))


REGISTRATION = [
    ("accepted", {"url": "http://u"}, []),
    ("missing required", {}, [("url", _failed("url", "'url' is a required property"))]),
    ("wrong type", {"url": "u", "retries": "three"},
     [("retries", _failed("retries", "'three' is not of type 'integer'"))]),
    ("not in enum", {"url": "u", "mode": "c"},
     [("mode", _failed("mode", "'c' is not one of ['a', 'b']"))]),
    ("nested wrong type", {"url": "u", "nested": {"level": "high"}},
     [("nested.level", _failed("nested.level", "'high' is not of type 'integer'"))]),
    ("array item missing required", {"url": "u", "servers": [{"port": 1}]},
     [("servers.0.host", _failed("servers.0.host", "'host' is a required property"))]),
    # a Jinja expression is validated as the string it is, before any rendering
    ("jinja on an integer key", {"url": "u", "retries": "{{ st2kv.system.retries }}"},
     [("retries", _failed("retries", "'{{ st2kv.system.retries }}' is not of type 'integer'"))]),
    ("st2kv on a secret key", {"url": "u", "token": "{{ st2kv.system.token }}"}, []),
    ("decrypt_kv on a secret key", {"url": "u", "token": "{{ st2kv.system.token | decrypt_kv }}"},
     [("token", DECRYPT_REFUSAL)]),
    ("decrypt_kv on a non-secret key", {"url": "u", "plain": "{{ st2kv.system.p | decrypt_kv }}"},
     []),
    ("key outside the schema", {"url": "u", "extra": 1}, []),
    # pack.py validate_config_against_schema looks the key up in the schema without a fallback
    ("decrypt_kv on a key outside the schema", {"url": "u", "extra": "{{ x | decrypt_kv }}"},
     [("(config)", 'Failed to register config "%s" for pack "demo": \'NoneType\' object has no '
                   "attribute 'get'" % PATH)]),
]


@pytest.mark.parametrize("name,config,expected", REGISTRATION, ids=[c[0] for c in REGISTRATION])
def test_registration_accepts_and_refuses_as_stackstorm(name, config, expected):
    assert registration_problems(SCHEMA, config, PATH, "demo") == expected


DATASTORE = {"token": "s3cret", "p": "plain-value", "inner_name": "from-kv"}
NESTED_DEFAULTS = {"level": 1, "inner": {"name": "x"}}

LOADING = [
    ("defaults at every depth", {"url": "u"},
     {"url": "u", "retries": 3, "mode": "a", "nested": NESTED_DEFAULTS, "servers": []}),
    ("nested object partly given", {"url": "u", "nested": {"inner": {}}},
     {"nested": NESTED_DEFAULTS}),
    ("array of objects", {"url": "u", "servers": [{"host": "h"}, {"host": "k", "port": 2}]},
     {"servers": [{"host": "h", "port": 22}, {"host": "k", "port": 2}]}),
    ("a key given as None keeps None", {"url": "u", "retries": None}, {"retries": None}),
    ("st2kv resolved", {"url": "u", "token": "{{ st2kv.system.token }}"}, {"token": "s3cret"}),
    ("st2kv of a missing key is None", {"url": "u", "token": "{{ st2kv.system.nope }}"},
     {"token": None}),
    ("st2kv nested", {"url": "u", "nested": {"inner": {"name": "{{ st2kv.system.inner_name }}"}}},
     {"nested": {"level": 1, "inner": {"name": "from-kv"}}}),
    ("decrypt_kv on a non-secret key", {"url": "u", "plain": "{{ st2kv.system.p | decrypt_kv }}"},
     {"plain": "plain-value"}),
]


@pytest.mark.parametrize("name,config,expected", LOADING, ids=[c[0] for c in LOADING])
def test_loading_resolves_and_fills_defaults_as_stackstorm(name, config, expected):
    given = copy.deepcopy(config)
    resolved = resolve_config(SCHEMA, config, DATASTORE.get, "demo")
    assert {key: resolved.get(key) for key in expected} == expected
    assert config == given, "the config given must not be changed"


@pytest.mark.parametrize("value,detail", [
    ("{{ st2kv.system.nope | decrypt_kv }}",
     'Referenced datastore item "st2kv.system.nope" doesn\'t exist or it contains an empty '
     'string'),
    ("{{ st2kv.system.p | no_such_filter }}", "No filter named 'no_such_filter'"),
])
def test_loading_refuses_unrenderable_values_with_stackstorm_words(value, detail):
    with pytest.raises(ConfigRenderError) as caught:
        resolve_config(SCHEMA, {"url": "u", "plain": value}, DATASTORE.get, "demo")
    message = str(caught.value)
    assert message.startswith('Failed to render dynamic configuration value for key "plain" with '
                              'value "%s" for pack "demo" config: ' % value)
    assert detail in message


@pytest.fixture
def pack_copy(tmp_path):
    pack = str(tmp_path / "pack")
    shutil.copytree(PACK_DIR, pack, ignore=COPY_IGNORE)
    return pack


def _old_example(pack):
    """Turn the example back into the one StackStorm refused (decrypt_kv on secret keys)."""
    path = os.path.join(pack, "workspaces.yaml.example")
    with open(path) as handle:
        text = handle.read()
    for key in ("workspaces_token", "alma_archive_db_url", "archive_metadata_db_url"):
        reference = "{{ st2kv.system.%s }}" % key
        assert reference in text
        text = text.replace(reference, "{{ st2kv.system.%s | decrypt_kv }}" % key)
    with open(path, "w") as handle:
        handle.write(text)


def test_validate_refuses_the_old_example_with_stackstorms_words(pack_copy, capsys):
    _old_example(pack_copy)
    assert workspaces_local(["validate", "--pack-dir", pack_copy]) == 1
    out = capsys.readouterr().out
    fields = "auth_token, alma_archive_db_url, archive_metadata_db_url"
    assert "workspaces.yaml.example: %s: %s" % (fields, DECRYPT_REFUSAL) in out


def test_validate_accepts_the_shipped_example(pack_copy, capsys):
    assert workspaces_local(["validate", "--pack-dir", pack_copy]) == 0
    assert capsys.readouterr().out.strip().endswith("0 problem(s)")


def test_validate_checks_a_site_config_against_the_local_datastore(pack_copy, tmp_path, capsys):
    config = tmp_path / "workspaces.yaml"
    config.write_text('auth_token: "{{ st2kv.system.token | decrypt_kv }}"\n'
                      'auth_username: "{{ st2kv.system.user | decrypt_kv }}"\n'
                      'retry_count: "3"\n')
    assert workspaces_local(["validate", "--pack-dir", pack_copy, "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert ("%s: retry_count: Failed validating attribute \"retry_count\" in config for pack "
            "\"workspaces\" (%s): '3' is not of type 'integer'" % (config, config)) in out
    config.write_text('auth_username: "{{ st2kv.system.user | decrypt_kv }}"\n')
    assert workspaces_local(["validate", "--pack-dir", pack_copy, "--config", str(config)]) == 1
    assert ('Referenced datastore item "st2kv.system.user" doesn\'t exist'
            in capsys.readouterr().out)


DEPRECATED_IN_0_3_0 = {"capability_version_route": "/capability/request/{id}/version/{version}",
                       "capability_cancel_route": "/capability/request/{id}/cancel",
                       "workflow_abort_route": "/workflows/{name}/requests/{id}/abort"}
"""Config keys 0.3.0 stopped reading (the client calls that read them are gone)."""


def test_a_config_that_sets_deprecated_keys_still_validates(pack_copy, tmp_path, capsys):
    """The keys stay in the schema (removing one is a breaking contract change, and the local
    validator would report it), so a site config that sets them is accepted as before."""
    import yaml

    with open(os.path.join(PACK_DIR, "config.schema.yaml")) as handle:
        schema = yaml.safe_load(handle)
    for key in DEPRECATED_IN_0_3_0:
        assert "Deprecated" in schema[key]["description"]
    config = dict(DEPRECATED_IN_0_3_0, vlba_data_directory="/data/vlba")
    assert registration_problems(schema, config, PATH, "workspaces") == []
    path = tmp_path / "workspaces.yaml"
    path.write_text(yaml.safe_dump(config))
    assert workspaces_local(["validate", "--pack-dir", pack_copy, "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 problem(s)")
