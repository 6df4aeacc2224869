"""Stand-in for ``st2common.services.datastore``: the datastore API a sensor or action sees.

Same method signatures and observable semantics as StackStorm's services (see
``workspaces_devkit.kvstore``, which implements them over an in-memory or JSON-file store).
"""

from workspaces_devkit.kvstore import (  # noqa: F401  (re-exported names)
    DATASTORE_NAME_SEPARATOR, JsonFileKeyValueStore, KeyValuePair, LocalDatastoreService,
    MemoryKeyValueStore)

__all__ = [
    "KeyValuePair",
    "MemoryKeyValueStore",
    "JsonFileKeyValueStore",
    "BaseDatastoreService",
    "SensorDatastoreService",
    "ActionDatastoreService",
]

BaseDatastoreService = LocalDatastoreService


class SensorDatastoreService(BaseDatastoreService):
    """Datastore service bound to a sensor class."""


class ActionDatastoreService(BaseDatastoreService):
    """Datastore service bound to a python-runner action class."""
