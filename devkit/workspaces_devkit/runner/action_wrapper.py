"""Run one python-script action in this process, as StackStorm's python runner wrapper does.

Reads a JSON job from stdin, runs the alphabetically first class of the action's file that has a
``run`` method (as StackStorm picks it), and prints the outcome as JSON on the last stdout line,
after ``RESULT_MARKER``.
"""

import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback

RESULT_MARKER = "--workspaces-local-result--"


def _setup_path(entry_point):
    here = os.path.dirname(os.path.abspath(__file__))
    devkit = os.path.dirname(os.path.dirname(here))
    action_dir = os.path.dirname(os.path.abspath(entry_point))
    for path in (os.path.join(devkit, "stand_ins"), devkit, os.path.join(action_dir, "lib"),
                 action_dir):
        if path not in sys.path:
            sys.path.insert(0, path)


def _action_class(entry_point):
    spec = importlib.util.spec_from_file_location(
        os.path.splitext(os.path.basename(entry_point))[0], entry_point)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = sorted((name, obj) for name, obj in vars(module).items() if inspect.isclass(obj) and
                     obj.__module__ == module.__name__ and callable(getattr(obj, "run", None)))
    if not classes:
        raise RuntimeError("%s defines no class with a run method" % entry_point)
    return classes[0][1]


def _service(job, class_name):
    from workspaces_devkit.kvstore import (DatastoreMethods, JsonFileKeyValueStore,
                                           LocalDatastoreService, MemoryKeyValueStore)

    path = job.get("datastore_path")
    # The runner's datastore file, shared safely between processes; in memory without one.
    store = JsonFileKeyValueStore(path) if path else MemoryKeyValueStore()

    class LocalActionService(DatastoreMethods):
        """The action service: datastore access to the runner's datastore, as in StackStorm."""

        def __init__(self):
            self._datastore_service = LocalDatastoreService(
                logging.getLogger("actions"), job.get("pack", "workspaces"), class_name, store)

    return LocalActionService()


def main():
    """Run the job read from stdin; exit 0 on success, 1 on failure."""
    job = json.loads(sys.stdin.read())
    _setup_path(job["entry_point"])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    status, result, exit_code = "failed", None, 1
    try:
        cls = _action_class(job["entry_point"])
        action = cls(config=job.get("config") or {}, action_service=_service(job, cls.__name__))
        value = action.run(**(job.get("parameters") or {}))
        if isinstance(value, tuple) and len(value) == 2:
            if not isinstance(value[0], bool):
                raise ValueError("the first item of a returned 2-tuple must be a boolean status")
            status = "succeeded" if value[0] else "failed"
            result = value[1]
        else:
            status, result = "succeeded", value
        exit_code = 0 if status == "succeeded" else 1
    except Exception:
        traceback.print_exc()
    sys.stdout.flush()
    sys.stdout.write("\n%s %s\n" % (RESULT_MARKER, json.dumps(
        {"status": status, "result": result}, default=str)))
    sys.stdout.flush()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
