"""Table checks: does a database hold the tables and columns the schema map names?

One check for everyone who asks: the action ``workspaces.preflight`` (``check_tables``), the
archive queries after a failed statement (``mismatched``), and the one table gate
(``table_mismatches``) of each ALMA sensor's triggers
(``sensing.archive_watch``), the reconciliation and the action
``workspaces.alma_reconcile``. The statuses and ``CheckItem`` are ``core.checks``'.
"""

import collections

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.archive.schema import SQL_TYPES
from workspaces_pack.core.checks import ERROR, MISSING, OK, UNREACHABLE, WRONG_TYPE, CheckItem

__all__ = ["ALMA_AREA", "METADATA_AREA", "Finding", "inspect_tables", "mismatched",
           "check_tables", "table_mismatches", "describe_mismatches", "describe_database_error"]

ALMA_AREA = "alma archive"
METADATA_AREA = "archive metadata"


def describe_database_error(error):
    """Return a one-line description of a driver error, without SQL text or parameters."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return "%s: %s" % (type(original).__name__, text[:200])


class Finding(collections.namedtuple("Finding", "item config_key status detail")):
    """The outcome of checking one configured table or column: ``item`` is ``table`` or
    ``table.column`` as configured, ``config_key`` the pack config key that names it."""

    def __str__(self):
        text = "%s (pack config %s): %s" % (self.item, self.config_key, self.status)
        return text + (" (%s)" % self.detail if self.detail else "")


def inspect_tables(connection, specs):
    """Compare ``specs`` with the database of ``connection``; return one ``Finding`` per table
    and per column, in order (status ``OK``, ``MISSING`` or ``WRONG_TYPE``: a ``TEXT`` column
    needs a character type, a ``TIME`` column a date or time type). Raises the driver's error
    when the database cannot be read."""
    inspector = sa.inspect(connection)
    findings = []
    for spec in specs:
        try:
            columns = inspector.get_columns(spec.name, schema=spec.schema)
        except sa_exc.NoSuchTableError:
            columns = None
        if not columns:
            findings.append(Finding(spec.display, spec.config_key, MISSING,
                                    "no such table or view"))
            continue
        findings.append(Finding(spec.display, spec.config_key, OK, ""))
        present = dict((column["name"].lower(), column["type"]) for column in columns)
        for column in spec.columns.values():
            sql_type = present.get(column.name)
            if sql_type is None:
                status, detail = MISSING, "no such column"
            elif not isinstance(sql_type, SQL_TYPES[column.value_type]):
                status, detail = WRONG_TYPE, "is %s, must be %s" % (sql_type, column.value_type)
            else:
                status, detail = OK, ""
            item = "%s.%s" % (spec.display, column.name)
            findings.append(Finding(item, column.config_key, status, detail))
    return findings


def mismatched(connection, specs):
    """The ``Finding``s of ``inspect_tables`` that are not ok."""
    return [found for found in inspect_tables(connection, specs) if found.status != OK]


def check_tables(area, engine, specs):
    """Inspect ``engine`` for every ``TableSpec`` of ``specs``; return one ``CheckItem`` per table
    and column, each naming its config key, or one ``unreachable`` (a driver error) or ``error``
    item when the database cannot be read."""
    try:
        with engine.connect() as connection:
            findings = inspect_tables(connection, specs)
    except sa_exc.DBAPIError as error:
        return [CheckItem(area, "database", UNREACHABLE, describe_database_error(error))]
    except sa_exc.SQLAlchemyError as error:
        return [CheckItem(area, "database", ERROR, describe_database_error(error))]
    items = []
    for found in findings:
        detail = "pack config %s" % found.config_key
        items.append(CheckItem(area, found.item, found.status,
                               "%s; %s" % (found.detail, detail) if found.detail else detail))
    return items


def table_mismatches(area, engine, specs):
    """The one table gate: the failing items of ``check_tables`` ([] when all match), or None
    when the database did not answer (nothing was checked; the caller's own query names the
    outage and the gate is asked again later)."""
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
