"""Check statuses and the check item: every check (tables and columns, a Workspaces service, a
config key, a directory) reports one ``CheckItem`` per checked thing; an item whose status is in
``FAILING`` fails the preflight and, for a sensor's own table check, disables its trigger.
"""

__all__ = ["OK", "MISSING", "WRONG_TYPE", "UNREACHABLE", "UNREADABLE", "REFUSED", "ERROR",
           "NOT_CONFIGURED", "UNKNOWN_KEY", "STATUSES", "FAILING", "CheckItem"]

OK = "ok"
MISSING = "missing"
WRONG_TYPE = "wrong type"
UNREACHABLE = "unreachable"
UNREADABLE = "unreadable"
REFUSED = "refused"
ERROR = "error"
NOT_CONFIGURED = "not configured"
UNKNOWN_KEY = "unknown key"
STATUSES = (OK, MISSING, WRONG_TYPE, UNREACHABLE, UNREADABLE, REFUSED, ERROR, NOT_CONFIGURED,
            UNKNOWN_KEY)
FAILING = tuple(status for status in STATUSES if status not in (OK, NOT_CONFIGURED))
"""Statuses that fail the preflight: all but ``ok`` and ``not configured`` (a pack without an ALMA
database simply leaves its ALMA sensors idle)."""


class CheckItem(object):
    """One checked thing: ``area`` (which system), ``item`` (what), ``status`` and ``detail``."""

    def __init__(self, area, item, status, detail=""):
        if status not in STATUSES:
            raise ValueError("unknown check status %r" % (status,))
        self.area = area
        self.item = item
        self.status = status
        self.detail = detail or ""

    @property
    def failed(self):
        """True when this item fails the preflight."""
        return self.status in FAILING

    def to_dict(self):
        """Return the item as a JSON-ready dict."""
        return {"area": self.area, "item": self.item, "status": self.status,
                "detail": self.detail}

    def line(self):
        """Return the item as one aligned text line."""
        text = "%-14s %-18s %s" % (self.status, self.area, self.item)
        return text + (" (%s)" % self.detail if self.detail else "")
