"""Stand-in for ``st2common.runners.base_action``: the base class of python-runner actions."""

import abc
import logging

__all__ = ["Action"]


class Action(abc.ABC):
    """Base of a python-script action: implement ``run(**parameters)``.

    Return a value for success or ``(False, result)`` for failure; an exception fails the execution.
    """

    def __init__(self, config=None, action_service=None):
        self.config = config or {}
        self.action_service = action_service
        self.logger = logging.getLogger("actions.python.%s" % self.__class__.__name__)

    @abc.abstractmethod
    def run(self, **kwargs):
        """Run the action with its parameters."""
