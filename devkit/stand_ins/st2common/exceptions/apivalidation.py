"""Stand-in for ``st2common.exceptions.apivalidation``."""

from st2common.exceptions import StackStormBaseException

__all__ = ["ValueValidationException"]


class ValueValidationException(StackStormBaseException):
    """A value was refused by StackStorm's API validation (e.g. config registration)."""
