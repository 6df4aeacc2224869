"""Table checks: does a database hold the tables and columns the schema map names?

One check for everyone who asks: the action ``workspaces.preflight``, the archive queries after a
failed statement, and the one table gate (``table_mismatches``) of each ALMA sensor's triggers
(``sensing.archive_watch``), the reconciliation and the action ``workspaces.alma_reconcile``.
``inspect_tables(connection, specs)`` compares ``TableSpec``s with what the database has
(SQLAlchemy's inspector) and returns one ``Finding`` per table and column; ``check_tables(area,
engine, specs)`` turns them into report items (``CheckItem``), one ``unreachable`` item when the
database does not answer.

The statuses and ``CheckItem`` are ``core.checks``'.
"""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.schema import ALMA, ANY, TEXT, TIME
from workspaces_pack.core.checks import ERROR, MISSING, OK, UNREACHABLE, WRONG_TYPE, CheckItem

__all__ = ["ALMA_AREA", "METADATA_AREA", "Finding", "inspect_tables", "check_tables",
           "table_mismatches", "describe_mismatches", "describe_database_error"]

ALMA_AREA = "alma archive"
METADATA_AREA = "archive metadata"


def describe_database_error(error):
    """Return a one-line description of a driver error, without SQL text or parameters (for
    reports and for the queries' own errors, ``engines.ArchiveError``)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return "%s: %s" % (type(original).__name__, text[:200])


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


def _value_type_of(sql_type):
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
            value_type = _value_type_of(present[column.name])
            if column.value_type != ANY and value_type != column.value_type:
                findings.append(Finding(spec, column, WRONG_TYPE, "is %s, must be %s" % (
                    present[column.name], column.value_type)))
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


def table_mismatches(area, engine, specs):
    """The one table gate (a sensor's triggers, the reconciliation, the action alma_reconcile).

    Returns the failing items of ``check_tables`` ([] when every table and column matches), or
    None when the database did not answer: nothing was checked, the caller's own query names the
    outage and the gate is asked again later.
    """
    items = check_tables(area, engine, specs)
    if any(item.status in (UNREACHABLE, ERROR) for item in items):
        return None
    return [item for item in items if item.failed]


def describe_mismatches(items):
    """The one error line of a failed table gate, naming each table, column and config key."""
    what = "; ".join("%s %s is %s%s" % (item.area, item.item, item.status,
                                        " (%s)" % item.detail if item.detail else "")
                     for item in items)
    return ("%s; fix the table/column names in the pack config (the action workspaces.preflight "
            "lists every mismatch)" % what)
