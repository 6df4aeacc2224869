"""Identifier formats of the archive: ALMA uids, ALMA project codes, VLBA observation codes.

Checked before any identifier reaches a database query or a Workspaces request, so a malformed one
fails with a message naming it (queries are parameterised anyway).
"""

import re

__all__ = ["ALMA_UID", "ALMA_PROJECT_CODE", "VLBA_OBS_CODE", "check_alma_uid", "file_safe_uid"]

ALMA_UID = re.compile(r"^uid://A\d{3}/X[0-9a-fA-F]{1,16}/X[0-9a-fA-F]{1,16}$")
"""An ALMA entity uid, e.g. ``uid://A002/Xc7111c/X3979`` (EBs/ASDMs and MOUSes alike)."""

ALMA_PROJECT_CODE = re.compile(r"^\d{4}\.[A-Z0-9]\.\d{5}\.[A-Z]{1,4}$")
"""An ALMA project code, e.g. ``2017.1.00886.L``."""

VLBA_OBS_CODE = re.compile(r"^[A-Z]{1,3}\d{3}[A-Z0-9]{0,4}$")
"""A VLBA observation code, e.g. ``TL015A`` or ``BD179I0`` (upper case)."""


def check_alma_uid(value, parameter="eb_uid"):
    """Return ``value`` when it is a well-formed ALMA uid; raise ValueError naming ``parameter``."""
    if not isinstance(value, str) or not ALMA_UID.match(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else repr(value)[:80]
        raise ValueError("parameter %r: %r is not an ALMA uid (expected the form "
                         "uid://A002/Xc7111c/X3979)" % (parameter, shown))
    return value


def file_safe_uid(uid):
    """Return the file-safe form of a uid: ``uid___A002_Xc7111c_X3979``."""
    return uid.replace(":", "_").replace("/", "_")
