"""Stand-in for ``st2tests.mocks.action``: the action service a test action instance gets."""

import logging

from st2tests.mocks.datastore import MockDatastoreService
from st2tests.mocks.sensor import MockSensorWrapper
from workspaces_devkit.kvstore import DatastoreMethods

__all__ = ["MockActionWrapper", "MockActionService"]


class MockActionWrapper(MockSensorWrapper):
    """Names the pack and class an action service belongs to."""


class MockActionService(DatastoreMethods):
    """Action service for tests with an in-memory datastore."""

    def __init__(self, action_wrapper):
        self._action_wrapper = action_wrapper
        self._datastore_service = MockDatastoreService(
            logger=logging.getLogger("actions.%s" % action_wrapper._class_name),
            pack_name=action_wrapper._pack, class_name=action_wrapper._class_name)
