"""Stand-in for ``st2tests.mocks.action``: the action service a test action instance gets."""

import logging

from st2tests.mocks.datastore import MockDatastoreService

__all__ = ["MockActionWrapper", "MockActionService"]


class MockActionWrapper(object):
    """Names the pack and class an action service belongs to."""

    def __init__(self, pack, class_name):
        self._pack = pack
        self._class_name = class_name


class MockActionService(object):
    """Action service for tests with an in-memory datastore."""

    def __init__(self, action_wrapper):
        self._action_wrapper = action_wrapper
        self._datastore_service = MockDatastoreService(
            logger=logging.getLogger("actions.%s" % action_wrapper._class_name),
            pack_name=action_wrapper._pack, class_name=action_wrapper._class_name)

    @property
    def datastore_service(self):
        """The in-memory datastore service."""
        return self._datastore_service

    def get_user_info(self):
        """Return the user the service acts as."""
        return self._datastore_service.get_user_info()

    def list_values(self, local=True, prefix=None, limit=None, offset=None):
        """See ``st2common.services.datastore.BaseDatastoreService.list_values``."""
        return self._datastore_service.list_values(local=local, prefix=prefix, limit=limit,
                                                   offset=offset)

    def get_value(self, name, local=True, scope="system", decrypt=False):
        """See ``st2common.services.datastore.BaseDatastoreService.get_value``."""
        return self._datastore_service.get_value(name=name, local=local, scope=scope,
                                                 decrypt=decrypt)

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        """See ``st2common.services.datastore.BaseDatastoreService.set_value``."""
        return self._datastore_service.set_value(name=name, value=value, ttl=ttl, local=local,
                                                 scope=scope, encrypt=encrypt)

    def delete_value(self, name, local=True, scope="system"):
        """See ``st2common.services.datastore.BaseDatastoreService.delete_value``."""
        return self._datastore_service.delete_value(name=name, local=local, scope=scope)
