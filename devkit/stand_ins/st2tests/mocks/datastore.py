"""Stand-in for ``st2tests.mocks.datastore``: an in-memory datastore service for tests."""

import logging

from st2common.services.datastore import BaseDatastoreService, MemoryKeyValueStore

__all__ = ["MockDatastoreService"]


class MockDatastoreService(BaseDatastoreService):
    """In-memory datastore with StackStorm's semantics (see ``st2common.services.datastore``).

    ``store`` is the backing ``MemoryKeyValueStore``; set ``store.fail_with`` to an exception to
    simulate a st2 API outage.
    """

    def __init__(self, logger, pack_name, class_name, api_username=None, store=None):
        super(MockDatastoreService, self).__init__(
            logger=logger or logging.getLogger(__name__), pack_name=pack_name,
            class_name=class_name, store=store if store is not None else MemoryKeyValueStore())

    @property
    def store(self):
        """The backing in-memory store."""
        return self._store
