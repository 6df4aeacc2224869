"""Key-value stores and the datastore service of the local runner, with StackStorm's semantics.

StackStorm's ``SensorDatastoreService`` / ``ActionDatastoreService`` talk to the st2 API over HTTP;
``LocalDatastoreService`` keeps their method signatures and observable semantics (each method's
docstring says which) over a ``MemoryKeyValueStore`` (tests) or a ``JsonFileKeyValueStore`` (the
runner). The stand-in ``st2common.services.datastore`` re-exports them.
"""

import contextlib
import fcntl
import json
import os
import threading
import time

from workspaces_devkit.atomic_files import atomic_write

__all__ = [
    "KeyValuePair",
    "MemoryKeyValueStore",
    "JsonFileKeyValueStore",
    "LocalDatastoreService",
    "DatastoreMethods",
    "datastore_reader",
    "DATASTORE_NAME_SEPARATOR",
]

DATASTORE_NAME_SEPARATOR = ":"
#: ``list_values`` without a limit returns one page of the st2 API (``[api] max_page_size``).
DEFAULT_LIST_LIMIT = 100


class KeyValuePair(object):
    """One stored key, shaped like ``st2client.models.keyvalue.KeyValuePair``."""

    def __init__(self, name, value, scope="st2kv.system", expire_timestamp=None, secret=False):
        self.id = name
        self.name = name
        self.value = value
        self.scope = scope
        self.expire_timestamp = expire_timestamp
        self.secret = secret

    def __repr__(self):
        return "<KeyValuePair name=%r value=%r>" % (self.name, self.value)


class MemoryKeyValueStore(object):
    """Thread-safe in-memory key-value store with expiry; ``fail_with`` (an exception every call
    raises) stands for an st2 API outage."""

    def __init__(self, clock=time.time):
        self._items = {}
        self._lock = threading.RLock()
        self._clock = clock
        self.fail_with = None
        self.calls = {"get": 0, "set": 0, "delete": 0, "list": 0}

    def _check(self, kind):
        self.calls[kind] += 1
        if self.fail_with is not None:
            raise self.fail_with

    def _drop_if_expired(self, name):
        item = self._items.get(name)
        if item is not None and item[1] is not None and item[1] <= self._clock():
            del self._items[name]

    def _locked(self):
        """Context for one operation: the thread lock (file stores add a process lock)."""
        return self._lock

    def get(self, name):
        """Return the stored string for ``name`` or None."""
        with self._locked():
            self._check("get")
            self._drop_if_expired(name)
            item = self._items.get(name)
            return None if item is None else item[0]

    def set(self, name, value, ttl=None):
        """Store ``value`` (a string) under ``name``, expiring after ``ttl`` seconds if given."""
        with self._locked():
            self._check("set")
            expires = self._clock() + ttl if ttl else None
            self._items[name] = (value, expires)
            self._persist()

    def delete(self, name):
        """Delete ``name``; raise KeyError when it does not exist (the API answers 404)."""
        with self._locked():
            self._check("delete")
            self._drop_if_expired(name)
            if name not in self._items:
                raise KeyError('Resource with a reference or id "%s" not found' % name)
            del self._items[name]
            self._persist()

    def list(self, prefix=None):
        """Return ``KeyValuePair`` objects for keys starting with ``prefix``, sorted by name."""
        with self._locked():
            self._check("list")
            for name in list(self._items):
                self._drop_if_expired(name)
            return [
                KeyValuePair(name, value, expire_timestamp=expires)
                for name, (value, expires) in sorted(self._items.items())
                if prefix is None or name.startswith(prefix)
            ]

    def _persist(self):
        """Hook for stores that keep their items on disk."""


class JsonFileKeyValueStore(MemoryKeyValueStore):
    """A ``MemoryKeyValueStore`` kept in a JSON file, shared by the runner and its action
    processes: each operation holds a ``flock`` on ``<path>.lock`` and re-reads a changed file."""

    def __init__(self, path, clock=time.time):
        super(JsonFileKeyValueStore, self).__init__(clock=clock)
        self.path = path
        self._seen = None
        self._lock_path = path + ".lock"

    @contextlib.contextmanager
    def _locked(self):
        with self._lock:
            with open(self._lock_path, "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    self._refresh()
                    yield
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _signature(self):
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _refresh(self):
        signature = self._signature()
        if signature is None or signature == self._seen:
            return
        with open(self.path) as handle:
            raw = json.load(handle)
        self._items = {name: (item["value"], item.get("expires")) for name, item in raw.items()}
        self._seen = signature

    def _persist(self):
        data = {name: {"value": value, "expires": expires}
                for name, (value, expires) in self._items.items()}
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True))
        self._seen = self._signature()


def datastore_reader(state_dir):
    """``kv_get`` over the local datastore of ``state_dir``; None when it has no file yet."""
    path = os.path.join(state_dir, "datastore.json")
    return JsonFileKeyValueStore(path).get if os.path.exists(path) else None


class LocalDatastoreService(object):
    """Datastore access for one sensor or action class, with StackStorm's semantics."""

    def __init__(self, logger, pack_name, class_name, store=None):
        self._logger = logger
        self._pack_name = pack_name
        self._class_name = class_name
        self._store = store if store is not None else MemoryKeyValueStore()

    def _full_name(self, name, local):
        """``<pack>.<ClassName>:name`` for a ``local`` key, else ``name``."""
        if not local:
            return name
        return "%s.%s%s%s" % (self._pack_name, self._class_name, DATASTORE_NAME_SEPARATOR,
                              name or "")

    def get_user_info(self):
        """Return information about the user the service acts as (a fixed local user here)."""
        return {"username": "stanley", "rbac": {"is_admin": True, "enabled": False}}

    def list_values(self, local=True, prefix=None, limit=None, offset=0):
        """List key-value objects (full names) under the local prefix, at most ``limit`` (default
        100, the API's page size); raises on error."""
        items = self._store.list(prefix=self._full_name(prefix, local))
        return items[offset:][:limit or DEFAULT_LIST_LIMIT]

    @staticmethod
    def _check_scope(scope):
        if scope != "system":
            raise ValueError("Scope %s is unsupported." % scope)

    def get_value(self, name, local=True, scope="system", decrypt=False):
        """Return the stored string for ``name``, or None when missing OR when the store fails."""
        self._check_scope(scope)
        full_name = self._full_name(name, local)
        try:
            return self._store.get(full_name)
        except Exception as error:  # StackStorm swallows every error here
            self._logger.exception('Exception retrieving value from datastore for key "%s": %s',
                                   full_name, error)
            return None

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        """Store ``str(value)`` under ``name``; ``ttl`` seconds make it expire (0 or None: never).
        Raises on error."""
        self._check_scope(scope)
        self._store.set(self._full_name(name, local), str(value), ttl=ttl or None)
        return True

    def delete_value(self, name, local=True, scope="system"):
        """Delete ``name``; return True (also when it did not exist), or False when the store
        fails."""
        self._check_scope(scope)
        full_name = self._full_name(name, local)
        try:
            self._store.delete(full_name)
        except KeyError:  # the API answers 404, which st2client counts as deleted
            return True
        except Exception as error:  # StackStorm swallows every error here too
            self._logger.exception('Exception deleting value from datastore for key "%s": %s',
                                   full_name, error)
            return False
        return True


class DatastoreMethods(object):
    """The datastore methods of StackStorm's sensor and action services (same signatures), passed
    on to the service's ``_datastore_service`` (a ``LocalDatastoreService``)."""

    @property
    def datastore_service(self):
        """The datastore service the methods below pass on to."""
        return self._datastore_service

    def get_user_info(self):
        """Return the user the service acts as."""
        return self._datastore_service.get_user_info()

    def list_values(self, local=True, prefix=None, limit=None, offset=None):
        """See ``LocalDatastoreService.list_values``."""
        return self._datastore_service.list_values(local=local, prefix=prefix, limit=limit,
                                                   offset=offset)

    def get_value(self, name, local=True, scope="system", decrypt=False):
        """See ``LocalDatastoreService.get_value``."""
        return self._datastore_service.get_value(name=name, local=local, scope=scope,
                                                 decrypt=decrypt)

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        """See ``LocalDatastoreService.set_value``."""
        return self._datastore_service.set_value(name=name, value=value, ttl=ttl, local=local,
                                                 scope=scope, encrypt=encrypt)

    def delete_value(self, name, local=True, scope="system"):
        """See ``LocalDatastoreService.delete_value``."""
        return self._datastore_service.delete_value(name=name, local=local, scope=scope)
