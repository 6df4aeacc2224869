"""Parity table: the datastore service a sensor or action sees, on present and missing keys and
during a st2 API outage.

The devkit's service (workspaces_devkit.kvstore ``LocalDatastoreService``, which the stand-in
``st2common.services.datastore`` and ``st2tests.mocks.datastore`` are) runs every case over an
in-memory store. In the real tier StackStorm's own ``BaseDatastoreService``
(st2common/services/datastore.py) runs them over st2client, as in production: for present and
missing keys its HTTP client answers like the st2 API's /v1/keys (the only part replaced), and
for the outage it talks to a closed port, so the error is a real connection error.
"""

import json
import logging

import pytest
import requests

from parity_support import Raised, check, outcome, real_tier
from workspaces_devkit.kvstore import LocalDatastoreService, MemoryKeyValueStore

PACK, CLASS = "workspaces", "FileMonitorSensor"
LOCAL = "%s.%s:" % (PACK, CLASS)
STORED = {LOCAL + "state:a": "1", LOCAL + "state:b": "{'x': 2}", "workspaces.global": "g"}
REFUSED = Raised("Exception")  # an outage: the connection error itself, whatever its class


def _many(service):
    for number in range(105):
        service.set_value("n%03d" % number, number)
    return len(service.list_values(prefix="n")), len(service.list_values(prefix="n", limit=200))


#: (name, outage, what the sensor does, what it gets)
CASES = [
    ("get a local key", False, lambda s: s.get_value("state:a"), "1"),
    ("get a global key by full name", False,
     lambda s: s.get_value("workspaces.global", local=False), "g"),
    ("get a missing key", False, lambda s: s.get_value("state:nope"), None),
    ("get during an outage is None, like a missing key", True,
     lambda s: s.get_value("state:a"), None),
    ("set stores str()", False, lambda s: (s.set_value("k", {"a": 1}), s.get_value("k")),
     (True, "{'a': 1}")),
    ("set with ttl 0 stores without expiry", False,
     lambda s: (s.set_value("k", 5, ttl=0), s.get_value("k")), (True, "5")),
    ("set during an outage raises", True, lambda s: s.set_value("k", "v"), REFUSED),
    ("delete a key", False, lambda s: (s.delete_value("state:a"), s.get_value("state:a")),
     (True, None)),
    # st2client's delete counts the API's 404 as done (st2client/models/core.py delete)
    ("delete a missing key is True as well", False, lambda s: s.delete_value("state:nope"),
     True),
    ("delete during an outage is False too", True, lambda s: s.delete_value("state:a"), False),
    ("list local keys by prefix: full names", False,
     lambda s: sorted(i.name for i in s.list_values(prefix="state:")),
     [LOCAL + "state:a", LOCAL + "state:b"]),
    ("list global keys", False,
     lambda s: [(i.name, i.value) for i in s.list_values(local=False, prefix="workspaces.g")],
     [("workspaces.global", "g")]),
    ("list nothing", False, lambda s: s.list_values(prefix="zzz"), []),
    ("list during an outage raises", True, lambda s: s.list_values(), REFUSED),
    ("list gives one page of 100 unless a limit is given", False, _many, (100, 105)),
    ("another scope is refused", False, lambda s: s.get_value("state:a", scope="user"),
     Raised("ValueError", "Scope user is unsupported.")),
]


def _devkit_service(outage):
    store = MemoryKeyValueStore()
    for name, value in STORED.items():
        store.set(name, value)
    store.fail_with = ConnectionError("st2 API unavailable") if outage else None
    return LocalDatastoreService(logging.getLogger("parity"), PACK, CLASS, store)


@pytest.mark.parametrize("name,outage,call,expected", CASES, ids=[c[0] for c in CASES])
def test_devkit_datastore_gives_the_table(name, outage, call, expected):
    check(expected, outcome(call, _devkit_service(outage)))


class _KeysApi(object):
    """Answers st2client's key requests as the st2 API's /v1/keys does, from a dict."""

    def __init__(self, values):
        self.values = dict(values)

    @staticmethod
    def _answer(status, body=None):
        response = requests.Response()
        response.status_code = status
        response.reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "")
        response.url = "http://st2api/v1/keys"
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(body).encode() if body is not None else b""
        return response

    @staticmethod
    def _doc(name, value):
        return {"id": name, "name": name, "value": value, "scope": "st2kv.system",
                "secret": False, "encrypted": False}

    def get(self, url, params=None, **kwargs):
        if url.rstrip("/") == "/keys":
            params = params or {}
            names = sorted(n for n in self.values if n.startswith(params.get("prefix") or ""))
            offset = int(params.get("offset") or 0)
            names = names[offset:offset + int(params.get("limit") or 100)]
            return self._answer(200, [self._doc(n, self.values[n]) for n in names])
        name = url.split("/keys/", 1)[1]
        if name not in self.values:
            return self._answer(404, {"faultstring": "not found"})
        return self._answer(200, self._doc(name, self.values[name]))

    def put(self, url, data, **kwargs):
        body = json.loads(data) if isinstance(data, (str, bytes)) else data
        self.values[body["name"]] = body["value"]
        return self._answer(200, body)

    def delete(self, url, **kwargs):
        name = url.split("/keys/", 1)[1]
        if self.values.pop(name, None) is None:
            return self._answer(404, {"faultstring": "not found"})
        return self._answer(204)


def _stackstorm_service(outage):
    from st2client.client import Client
    from st2common.services.datastore import BaseDatastoreService
    from st2tests import config as tests_config

    tests_config.parse_args()  # [api] max_page_size, the page list_values asks for
    # a closed port on this machine: every request fails to connect, as in an outage
    client = Client(api_url="http://127.0.0.1:9/v1" if outage else "http://st2api/v1")
    if not outage:
        client.keys.client = _KeysApi(STORED)

    class Service(BaseDatastoreService):
        """StackStorm's service with a ready client (its subclasses make one from a token)."""

        def get_api_client(self):
            return client

    return Service(logging.getLogger("parity"), PACK, CLASS)


@real_tier
@pytest.mark.parametrize("name,outage,call,expected", CASES, ids=[c[0] for c in CASES])
def test_stackstorm_datastore_gives_the_table_the_same(name, outage, call, expected):
    check(expected, outcome(call, _stackstorm_service(outage)))
