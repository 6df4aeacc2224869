"""Table checks: does a database hold the tables and columns the schema map names?

One check for everyone who asks: the action ``workspaces.preflight``, each ALMA sensor's own check
when a trigger is added (``sensing.table_gate``), the reconciliation and the archive queries after a
failed statement. ``inspect_tables(connection, specs)`` compares ``TableSpec``s with what the
database has (SQLAlchemy's inspector) and returns one ``Finding`` per table and column;
``check_tables(area, engine, specs)`` turns them into report items (``CheckItem``), one
``unreachable`` item when the database does not answer.

The statuses (``STATUSES``) are the preflight's vocabulary; an item whose status is in
``FAILING`` fails the preflight and disables a sensor's trigger.
"""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.schema import ALMA, ANY, TEXT, TIME

__all__ = ["OK", "MISSING", "WRONG_TYPE", "UNREACHABLE", "UNREADABLE", "REFUSED", "ERROR",
           "NOT_CONFIGURED", "UNKNOWN_KEY", "STATUSES", "FAILING", "ALMA_AREA", "METADATA_AREA",
           "CheckItem", "Finding", "inspect_tables", "check_tables", "first_mismatch",
           "describe_database_error"]

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
FAILING = (MISSING, WRONG_TYPE, UNREACHABLE, UNREADABLE, REFUSED, ERROR, UNKNOWN_KEY)
"""Statuses that fail the preflight. ``not configured`` is reported but does not fail: a pack
without an ALMA database simply leaves its ALMA sensors idle."""

ALMA_AREA = "alma archive"
METADATA_AREA = "archive metadata"


def describe_database_error(error):
    """Return a one-line description of a driver error, without SQL text or parameters (for
    reports and for the queries' own errors, ``database.ArchiveError``)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return "%s: %s" % (type(original).__name__, text[:200])


class CheckItem(object):
    """One checked thing: ``area`` (which system), ``item`` (what), ``status`` and ``detail``."""

    def __init__(self, area, item, status, detail=""):
        if status not in STATUSES:
            raise ValueError("unknown preflight status %r" % (status,))
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


class Finding(object):
    """The outcome of checking one configured table or column against a database."""

    def __init__(self, spec, column, status, detail=""):
        self.spec = spec
        self.column = column
        self.status = status
        self.detail = detail

    @property
    def config_key(self):
        """The pack config key that names the checked table or column."""
        return self.column.config_key if self.column is not None else self.spec.config_key + (
            ".table" if self.spec.database == ALMA else "")

    @property
    def item(self):
        """``table`` or ``table.column`` as configured."""
        if self.column is None:
            return self.spec.display
        return "%s.%s" % (self.spec.display, self.column.name)

    def __str__(self):
        text = "%s (pack config %s): %s" % (self.item, self.config_key, self.status)
        return text + (" (%s)" % self.detail if self.detail else "")

    def __repr__(self):
        return "Finding(%s)" % self


def _kind_of(sql_type):
    if isinstance(sql_type, sa.String):
        return TEXT
    if isinstance(sql_type, (sa.DateTime, sa.Date)):
        return TIME
    return type(sql_type).__name__


def inspect_tables(connection, specs):
    """Compare ``specs`` with the database of ``connection``; return one ``Finding`` per table
    and per column, in order (status ``OK``, ``MISSING`` or ``WRONG_TYPE``).

    A ``TEXT`` column must have a character type, a ``TIME`` column a date or time type. Raises
    the driver's error when the database cannot be read.
    """
    inspector = sa.inspect(connection)
    findings = []
    for spec in specs:
        try:
            columns = inspector.get_columns(spec.name, schema=spec.schema)
        except sa.exc.NoSuchTableError:
            columns = None
        if not columns:
            findings.append(Finding(spec, None, MISSING, "no such table or view"))
            continue
        findings.append(Finding(spec, None, OK))
        present = dict((column["name"].lower(), column["type"]) for column in columns)
        for column in spec.columns.values():
            if column.name not in present:
                findings.append(Finding(spec, column, MISSING, "no such column"))
                continue
            kind = _kind_of(present[column.name])
            if column.kind != ANY and kind != column.kind:
                findings.append(Finding(spec, column, WRONG_TYPE, "is %s, must be %s" % (
                    present[column.name], column.kind)))
            else:
                findings.append(Finding(spec, column, OK))
    return findings


def check_tables(area, engine, specs):
    """Inspect ``engine`` for every ``TableSpec`` of ``specs``; return ``CheckItem``s.

    One item per table and per column (``inspect_tables``: ok, missing, wrong type), each naming
    the pack config key that sets the name; an unreachable database gives one ``unreachable``
    item, another database error one ``error`` item.
    """
    try:
        with engine.connect() as connection:
            findings = inspect_tables(connection, specs)
    except sa_exc.DBAPIError as error:
        return [CheckItem(area, "database", UNREACHABLE, describe_database_error(error))]
    except sa_exc.SQLAlchemyError as error:
        return [CheckItem(area, "database", ERROR, describe_database_error(error))]
    items = []
    for finding in findings:
        detail = "pack config %s" % finding.config_key
        if finding.detail:
            detail = "%s; %s" % (finding.detail, detail)
        items.append(CheckItem(area, finding.item, finding.status, detail))
    return items


def first_mismatch(items):
    """Return the first failing item of a table check, or None."""
    for entry in items:
        if entry.failed:
            return entry
    return None
