"""Identifier formats of the ALMA archive: uids (two forms), project codes, delivery names.

Checked before any identifier reaches a database query or a Workspaces request, so a malformed one
fails with a message naming it (queries are parameterised anyway).
"""

import re

from workspaces_pack.core.errors import ParameterError

__all__ = ["ALMA_UID", "ALMA_FILE_SAFE_UID", "ALMA_PROJECT_CODE", "check_alma_uid",
           "canonical_uid", "file_safe_uid", "stored_uid_forms", "parse_delivery_name"]

ALMA_UID = re.compile(r"^uid://A\d{3}/X[0-9a-fA-F]{1,16}/X[0-9a-fA-F]{1,16}$")
"""An ALMA entity uid, e.g. ``uid://A002/Xc7111c/X3979`` (EBs/ASDMs and MOUSes alike)."""

ALMA_FILE_SAFE_UID = re.compile(r"^uid___A\d{3}_X[0-9a-fA-F]{1,16}_X[0-9a-fA-F]{1,16}$")
"""The same uid in file-safe form (`:` and `/` replaced by `_`): ``uid___A002_Xc7111c_X3979``."""

ALMA_PROJECT_CODE = re.compile(r"^\d{4}\.[A-Z0-9]\.\d{5}\.[A-Z]{1,4}$")
"""An ALMA project code, e.g. ``2017.1.00886.L``."""


def canonical_uid(value):
    """Return ``value`` as ``uid://A002/Xc7111c/X3979`` when it is an ALMA uid in either form
    (``uid://...`` or file-safe ``uid___...``), else None."""
    if not isinstance(value, str):
        return None
    if ALMA_UID.match(value):
        return value
    if ALMA_FILE_SAFE_UID.match(value):
        return "uid://" + value[len("uid___"):].replace("_", "/")
    return None


def check_alma_uid(value, parameter="eb_uid"):
    """Return ``value`` as a canonical ALMA uid (either form accepted); raise ``ParameterError``
    naming ``parameter`` and the value when it is not one."""
    canonical = canonical_uid(value)
    if canonical is None:
        shown = value if isinstance(value, str) and len(value) <= 80 else repr(value)[:80]
        raise ParameterError(parameter, "%r is not an ALMA uid (expected the form "
                                        "uid://A002/Xc7111c/X3979 or uid___A002_Xc7111c_X3979)"
                             % (shown,))
    return canonical


def file_safe_uid(uid):
    """Return the file-safe form of a uid: ``uid___A002_Xc7111c_X3979``."""
    return uid.replace(":", "_").replace("/", "_")


def stored_uid_forms(canonical_uids):
    """Return both forms of each canonical uid (``uid://...``, ``uid___...``), in order: the
    values to look for in a column that may hold either."""
    return [form for uid in canonical_uids for form in (uid, file_safe_uid(uid))]


def parse_delivery_name(name):
    """Return ``(project_code, mous_uid)`` of a delivery name ``<project code>_<file-safe MOUS
    uid>`` (``2017.1.00886.L_uid___A001_X1284_X265f``); raise ValueError if it is not one."""
    text = name.strip() if isinstance(name, str) else None
    project, separator, uid = (text or "").partition("_uid___")
    mous = canonical_uid("uid___" + uid) if separator else None
    if mous is None or not ALMA_PROJECT_CODE.match(project):
        shown = name if isinstance(name, str) and len(name) <= 120 else repr(name)[:120]
        raise ValueError("delivery name %r is not <project code>_<MOUS uid> (e.g. "
                         "2017.1.00886.L_uid___A001_X1284_X265f)" % (shown,))
    return project, mous
