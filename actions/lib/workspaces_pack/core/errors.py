"""The pack's one parameter error: a trigger, action or config parameter that cannot be used."""

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A trigger or action parameter is invalid; ``parameter`` names it, the message says why."""

    def __init__(self, parameter, message):
        super(ParameterError, self).__init__("parameter %r: %s" % (parameter, message))
        self.parameter = parameter
