"""Stand-in for ``st2common.exceptions``: the base of StackStorm's exceptions."""


class StackStormBaseException(Exception):
    """Base of StackStorm's own exceptions."""
