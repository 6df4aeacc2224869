"""The local runner's datastore file: StackStorm's semantics, shared safely between processes."""

import subprocess
import sys

from conftest import DEVKIT_DIR
from workspaces_devkit.kvstore import JsonFileKeyValueStore, LocalDatastoreService


def test_json_file_store_is_shared_safely_between_processes(tmp_path):
    """The runner, its action subprocesses and the st2 API service share one datastore file."""
    path = str(tmp_path / "datastore.json")
    runner = JsonFileKeyValueStore(path)
    runner.set("from.runner", "1")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from workspaces_devkit.kvstore import JsonFileKeyValueStore as S\n"
            "store = S(%r)\n"
            "for i in range(50):\n"
            "    store.set('from.child.%%d' %% i, str(i))\n"
            "print(store.get('from.runner'))\n" % (DEVKIT_DIR, path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             universal_newlines=True)
    for index in range(50):
        runner.set("from.runner.%d" % index, str(index))
    output, _ = child.communicate(timeout=60)
    assert output.strip() == "1", "the child did not see the runner's key"
    names = [item.name for item in JsonFileKeyValueStore(path).list()]
    assert len([n for n in names if n.startswith("from.child.")]) == 50, "child writes were lost"
    assert len([n for n in names if n.startswith("from.runner.")]) == 50, "runner writes lost"


def test_local_service_prefixes_keys_and_hides_read_errors(tmp_path):
    """``local=True`` keys read ``<pack>.<Class>:name``; a failing read gives None, writes raise."""
    import logging

    store = JsonFileKeyValueStore(str(tmp_path / "kv.json"))
    service = LocalDatastoreService(logging.getLogger("test"), "workspaces", "FileMonitorSensor",
                                    store)
    service.set_value("state:x", {"a": 1})
    assert [item.name for item in service.list_values(prefix="state:")] == [
        "workspaces.FileMonitorSensor:state:x"]
    assert service.get_value("state:x") == "{'a': 1}"
    store.fail_with = ConnectionError("down")
    assert service.get_value("state:x") is None
    try:
        service.set_value("state:x", "2")
    except ConnectionError:
        pass
    else:
        raise AssertionError("set_value hid an outage")
