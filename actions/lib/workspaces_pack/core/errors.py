"""The pack's one parameter error: a trigger, action or config parameter that cannot be used."""

__all__ = ["ParameterError", "checked_flag", "checked_amount"]


class ParameterError(ValueError):
    """A trigger or action parameter is invalid; ``parameter`` names it, the message says why."""

    def __init__(self, parameter, message):
        super(ParameterError, self).__init__("parameter %r: %s" % (parameter, message))
        self.parameter = parameter


def checked_flag(parameter, value):
    """Return ``value`` when it is true or false; raise ``ParameterError`` naming ``parameter``."""
    if not isinstance(value, bool):
        raise ParameterError(parameter, "must be true or false, got %r" % (value,))
    return value


def checked_amount(parameter, value, unit, most, zero_allowed=False):
    """Return ``value`` as a float when it is a number of ``unit`` above 0 (from 0 with
    ``zero_allowed``) and at most ``most``; raise ``ParameterError`` naming ``parameter``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (0 <= value if zero_allowed else 0 < value) or not value <= most:  # NaN: never
        raise ParameterError(parameter, "must be a number of %s %s and at most %d, got %r"
                             % (unit, "from 0" if zero_allowed else "above 0", most, value))
    return float(value)
