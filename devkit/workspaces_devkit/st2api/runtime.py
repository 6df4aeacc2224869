"""The bridge to the local runner: the pack, its action execution and its datastore.

The API serves what ``local_runtime`` gives it: the pack loaded by ``content.load_pack`` (after
``content.validate_pack``, so an unregistrable pack is refused as StackStorm's registration
refuses it), the pack config from ``runner.local.load_config`` (registered and resolved as
StackStorm does, st2kv values from the datastore), the runner's ``ActionExecutor`` (each
execution a fresh subprocess, as StackStorm's python runner) and the datastore file the runner's
sensors and actions use.
"""

import os

from workspaces_devkit.kvstore import JsonFileKeyValueStore

from workspaces_devkit.content import load_pack, validate_pack
from workspaces_devkit.runner.executor import ActionExecutor
from workspaces_devkit.runner.local import ConfigInvalid, load_config

__all__ = ["LocalRuntime", "local_runtime"]


class LocalRuntime(object):
    """What the API needs from the local runner: ``pack``, ``run_action`` and ``kv_store``.

    ``kv_store`` has ``get(name)``, ``set(name, value, ttl=None)``, ``delete(name)`` (KeyError
    when missing) and ``list(prefix=None)`` (objects with ``name``, ``value``,
    ``expire_timestamp``).
    """

    def __init__(self, pack, executor, kv_store):
        self.pack = pack
        self.executor = executor
        self.kv_store = kv_store

    def run_action(self, action_ref, parameters):
        """Run one action to its end through the runner; return ``(status, result)``."""
        execution = self.executor.execute(action_ref, parameters)
        return execution.status, execution.result


def local_runtime(pack_dir, config_path=None, state_dir=None, config_overrides=None):
    """Return the ``LocalRuntime`` of the pack in ``pack_dir``, as ``workspaces-local`` runs it.

    ``config_path`` is the pack config YAML (None: the schema's defaults), ``config_overrides``
    keys replace the file's; the datastore is ``<state_dir>/datastore.json`` (default
    ``<pack>/.local``, the runner's). Raises ``ConfigInvalid`` for invalid content or config.
    """
    pack_dir = os.path.abspath(pack_dir)
    errors = validate_pack(pack_dir)
    if errors:
        raise ConfigInvalid("pack content is invalid:\n" + "\n".join(
            "  %s: %s: %s" % error for error in errors))
    pack = load_pack(pack_dir)
    state_dir = os.path.abspath(state_dir or os.path.join(pack_dir, ".local"))
    os.makedirs(state_dir, exist_ok=True)
    datastore_path = os.path.join(state_dir, "datastore.json")
    store = JsonFileKeyValueStore(datastore_path)
    config = load_config(pack, config_path, config_overrides, kv_get=store.get)
    return LocalRuntime(pack, ActionExecutor(pack, config, datastore_path), store)
