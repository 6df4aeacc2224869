"""The one shape of every action's result, success and failure alike.

An action returns ``(ok, result)`` (StackStorm's python runner takes the first as the execution's
status). ``result`` is a JSON object with at least ``ok`` (the same boolean), ``error`` (one line
saying what failed, or null) and ``parameter`` (the name of the bad parameter, or null), plus what
the action reports (README, "Actions").
"""

__all__ = ["action_result"]


def action_result(ok, fields=None, error=None, parameter=None):
    """Return ``(ok, result)``: ``fields`` with ``ok``, ``error`` and ``parameter`` set.

    ``error`` (an exception or text) gives ``error`` its line and, for a ``ParameterError``,
    ``parameter`` its name; an ``error`` already in ``fields`` is kept when none is given.
    """
    result = dict(fields or {})
    if error is not None:
        result["error"] = str(error)
        parameter = parameter or getattr(error, "parameter", None)
    result.setdefault("error", None)
    result["ok"] = bool(ok)
    result["parameter"] = parameter
    return result["ok"], result
