"""The one shape of every action's result, success and failure alike (README, "Actions").

An action returns ``(ok, result)``; StackStorm's python runner takes ``ok`` as the execution's
status.
"""

__all__ = ["action_result", "failed_result"]


def action_result(ok, fields=None, error=None, parameter=None):
    """Return ``(ok, result)``: ``fields`` with ``ok`` (the same boolean), ``error`` (one line,
    or null; one already in ``fields`` is kept when none is given) and ``parameter`` (the bad
    parameter's name, taken from a ``ParameterError``, or null)."""
    result = dict(fields or {})
    if error is not None:
        result["error"] = str(error)
        parameter = parameter or getattr(error, "parameter", None)
    result.setdefault("error", None)
    result["ok"] = bool(ok)
    result["parameter"] = parameter
    return result["ok"], result


def failed_result(logger, error, fields=None):
    """Log ``error`` as one error line; return the failed ``action_result`` with ``fields``."""
    logger.error("%s", error)
    return action_result(False, fields, error)
