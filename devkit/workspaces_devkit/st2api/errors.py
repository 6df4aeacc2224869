"""Errors the API answers with, in StackStorm's shape: a status and ``{"faultstring": ...}``."""

__all__ = ["ApiError", "bad_request", "not_found", "unauthorized"]


class ApiError(Exception):
    """An HTTP error answer: ``status`` and the ``faultstring`` StackStorm would send."""

    def __init__(self, status, faultstring, extra=None):
        super(ApiError, self).__init__(faultstring)
        self.status = status
        self.faultstring = faultstring
        self.extra = dict(extra or {})

    def body(self):
        """Return the JSON body: ``{"faultstring": ...}`` plus any extra fields."""
        body = dict(self.extra)
        body["faultstring"] = self.faultstring
        return body


def bad_request(message):
    """400, as StackStorm answers a ValueError / validation error."""
    return ApiError(400, message)


def not_found(message="The resource could not be found."):
    """404, as StackStorm answers a missing resource."""
    return ApiError(404, message)


def unauthorized(message=None):
    """401 with StackStorm's "Unauthorized - <reason>" faultstring (router.abort_unauthorized)."""
    return ApiError(401, "Unauthorized - %s" % message if message else "Unauthorized")
