"""StackStorm's own services in one process (``workspaces-local api``): what the dev kit adds.

The rules folder and StackStorm's rules stay one (a rule file written is registered, a file
removed deletes its rule) and the datastore survives a restart. The real tier
(devkit/bin/test-st2); elsewhere the tests skip saying so.
"""

import os
import time

import pytest
import requests
import yaml
from stackstorm_support import StackStormApi

pytestmark = pytest.mark.slow
WAIT = 60


def _until(condition, what):
    deadline = time.time() + WAIT
    while not condition():
        assert time.time() < deadline, what
        time.sleep(0.3)


def test_a_rule_file_is_registered_and_its_removal_deletes_the_rule(tmp_path):
    api = StackStormApi(tmp_path)
    try:
        headers = {"X-Auth-Token": api.token()}
        url = api.api_url + "/v1/rules/workspaces.from_disk"
        path = os.path.join(api.rules_dir, "from_disk.yaml")
        with open(path, "w") as handle:
            yaml.safe_dump({"name": "from_disk", "pack": "workspaces", "enabled": True,
                            "trigger": {"type": "workspaces.vlba_data"},
                            "action": {"ref": "workspaces.capability_create_and_run",
                                       "parameters": {"capability_name": "null"}}}, handle)
        _until(lambda: requests.get(url, headers=headers, timeout=30).status_code == 200,
               "the rule file was not registered")
        os.remove(path)
        _until(lambda: requests.get(url, headers=headers, timeout=30).status_code == 404,
               "the rule of the removed file is still there")
    finally:
        api.stop()


def test_the_datastore_survives_a_restart(tmp_path):
    api = StackStormApi(tmp_path)
    try:
        answer = requests.put(api.api_url + "/v1/keys/kept_key", timeout=30,
                              json={"name": "kept_key", "value": "kept value"},
                              headers={"X-Auth-Token": api.token()})
        assert answer.status_code == 200, answer.text
    finally:
        api.stop()
    api = StackStormApi(tmp_path)
    try:
        answer = requests.get(api.api_url + "/v1/keys/kept_key", timeout=30,
                              headers={"X-Auth-Token": api.token()})
        assert (answer.status_code, answer.json().get("value")) == (200, "kept value")
    finally:
        api.stop()
