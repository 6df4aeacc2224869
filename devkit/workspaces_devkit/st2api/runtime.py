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

from workspaces_devkit.content import load_pack, overlay_rules, validate_pack
from workspaces_devkit.runner.executor import ActionExecutor
from workspaces_devkit.runner.local import ConfigInvalid, load_config
from workspaces_devkit.runner.policies import ConcurrencyPolicies, PolicyCanceled

__all__ = ["LocalRuntime", "local_runtime"]


class LocalRuntime(object):
    """What the API needs from the local runner: ``pack``, ``run_action`` and ``kv_store``.

    ``kv_store`` has ``get(name)``, ``set(name, value, ttl=None)``, ``delete(name)`` (KeyError
    when missing) and ``list(prefix=None)`` (objects with ``name``, ``value``,
    ``expire_timestamp``).
    """

    def __init__(self, pack, executor, kv_store, rules_dir=None):
        self.pack = pack
        self.executor = executor
        self.kv_store = kv_store
        self.rules_dir = rules_dir
        self.policies = ConcurrencyPolicies(pack)

    def run_action(self, action_ref, parameters, on_status=None, started_by=None):
        """Run one action to its end through the runner; return ``(status, result)``.

        The pack's concurrency policies apply first (``on_status`` hears ``delayed``,
        ``scheduled``, ``running``); ``started_by`` is only for the runner's log.
        """
        notify = on_status or (lambda status: None)
        try:
            with self.policies.admit(action_ref, notify):
                notify("scheduled")
                notify("running")
                execution = self.executor.execute(action_ref, parameters)
        except PolicyCanceled as error:
            return "canceled", {"error": str(error)}
        return execution.status, execution.result


def local_runtime(pack_dir, config_path=None, state_dir=None, config_overrides=None,
                  rules_dir=None):
    """Return the ``LocalRuntime`` of the pack in ``pack_dir``, as ``workspaces-local`` runs it.

    ``config_path`` is the pack config YAML (None: the schema's defaults), ``config_overrides``
    keys replace the file's; the datastore is ``<state_dir>/datastore.json`` (default
    ``<pack>/.local``, the runner's); ``rules_dir`` is a rules overlay directory (see
    ``content.load_rules``). Raises ``ConfigInvalid`` for invalid content or config.
    """
    pack_dir = os.path.abspath(pack_dir)
    errors = validate_pack(pack_dir)
    if errors:
        raise ConfigInvalid("pack content is invalid:\n" + "\n".join(
            "  %s: %s: %s" % error for error in errors))
    pack = load_pack(pack_dir)
    if rules_dir:
        rules_dir = os.path.abspath(rules_dir)
        errors = overlay_rules(pack, rules_dir)
        if errors:
            raise ConfigInvalid("rules in %s are invalid:\n%s" % (rules_dir, "\n".join(
                "  %s: %s: %s" % e for e in errors)))
    state_dir = os.path.abspath(state_dir or os.path.join(pack_dir, ".local"))
    os.makedirs(state_dir, exist_ok=True)
    datastore_path = os.path.join(state_dir, "datastore.json")
    store = JsonFileKeyValueStore(datastore_path)
    config = load_config(pack, config_path, config_overrides, kv_get=store.get)
    return LocalRuntime(pack, ActionExecutor(pack, config, datastore_path), store,
                        rules_dir=rules_dir)
