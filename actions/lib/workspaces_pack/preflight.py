"""The preflight check: is the pack configured against systems that look the way it expects?

Run by the action ``workspaces.preflight`` and by ``workspaces-local preflight`` (the same code):
each configured database is inspected with SQLAlchemy's inspector (every table or view and column
the pack reads or writes exists; uid columns hold text), the Workspaces services are asked whether
they answer, and the watched directories are listed. Each item is reported as one of ``STATUSES``;
the report fails when any item is in ``FAILING``.

Nothing in a report names a URL, a user or a password: details pass through ``Scrubber``, which
hides every configured URL, secret and the user, password, host and database name of the
configured database URLs.
"""

import os
import re

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from workspaces_pack.config import PackConfig

__all__ = ["OK", "MISSING", "WRONG_TYPE", "UNREACHABLE", "UNREADABLE", "REFUSED", "ERROR",
           "NOT_CONFIGURED", "STATUSES", "FAILING", "CheckItem", "PreflightReport", "Scrubber",
           "TableSpec", "check_tables", "check_workspaces", "check_directories",
           "first_mismatch"]

OK = "ok"
MISSING = "missing"
WRONG_TYPE = "wrong type"
UNREACHABLE = "unreachable"
UNREADABLE = "unreadable"
REFUSED = "refused"
ERROR = "error"
NOT_CONFIGURED = "not configured"
STATUSES = (OK, MISSING, WRONG_TYPE, UNREACHABLE, UNREADABLE, REFUSED, ERROR, NOT_CONFIGURED)
FAILING = (MISSING, WRONG_TYPE, UNREACHABLE, UNREADABLE, REFUSED, ERROR)
"""Statuses that fail the preflight. ``not configured`` is reported but does not fail: a pack
without an ALMA database simply leaves its ALMA sensors idle."""

_URL_KEYS = ("capability_service_url", "workflow_service_url", "alma_archive_db_url",
             "archive_metadata_db_url")
_HIDDEN = "<hidden>"


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


class PreflightReport(object):
    """The items of one preflight run, in the order they were checked."""

    def __init__(self, scrubber=None):
        self.items = []
        self.scrubber = scrubber or Scrubber()

    def add(self, area, item, status, detail=""):
        """Record one item (its detail scrubbed); return it."""
        entry = CheckItem(area, item, status, self.scrubber.scrub(detail))
        self.items.append(entry)
        return entry

    def extend(self, items):
        """Record items made elsewhere (their details are scrubbed again)."""
        for entry in items:
            self.add(entry.area, entry.item, entry.status, entry.detail)

    @property
    def ok(self):
        """True when no item failed."""
        return not any(entry.failed for entry in self.items)

    def counts(self):
        """Return ``{status: how many}`` for the statuses present."""
        counts = {}
        for entry in self.items:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    def to_dict(self):
        """Return the report as a JSON-ready dict (the action's result)."""
        failed = [entry.to_dict() for entry in self.items if entry.failed]
        return {"ok": self.ok, "counts": self.counts(), "failed": failed,
                "items": [entry.to_dict() for entry in self.items]}

    def lines(self):
        """Return the report as text lines, the verdict last."""
        out = [entry.line() for entry in self.items]
        counts = ", ".join("%s %d" % item for item in sorted(self.counts().items()))
        out.append("preflight %s: %s" % ("passed" if self.ok else "FAILED", counts or "nothing"))
        return out


class Scrubber(object):
    """Hides configured URLs, secrets and database URL parts in text meant for a report."""

    def __init__(self, config=None):
        config = config if isinstance(config, PackConfig) else PackConfig(config)
        whole = set(config.secrets())
        words = set()
        for key in _URL_KEYS:
            value = config.get(key)
            if not value:
                continue
            whole.add(str(value))
            whole.add(str(value).rstrip("/"))
            words.update(_url_parts(str(value)))
        user = config.get("auth_username")
        if user:
            words.add(str(user))
        self._whole = sorted((text for text in whole if text), key=len, reverse=True)
        self._words = [re.compile(r"(?<![\w.-])%s(?![\w-])" % re.escape(word))
                       for word in sorted(words, key=len, reverse=True) if len(word) >= 2]

    def scrub(self, text):
        """Return ``text`` with every configured URL, secret, user, host and database hidden."""
        text = str(text or "")
        for value in self._whole:
            text = text.replace(value, _HIDDEN)
        for pattern in self._words:
            text = pattern.sub(_HIDDEN, text)
        return text


def _url_parts(url):
    """The user, password, host and database of a URL (SQLAlchemy or HTTP), when present."""
    parts = []
    try:
        parsed = sa.engine.make_url(url)
        parts.extend([parsed.username, parsed.password, parsed.host, parsed.database])
    except Exception:
        match = re.match(r"^[a-z+]+://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?#]*)", url)
        if match:
            parts.extend(match.groups())
    return [str(part) for part in parts if part]


class TableSpec(object):
    """A table or view the pack uses: schema (or None), name, columns and which hold uids (text).

    ``label`` names the config key(s) that set the name, for the report; ``columns`` are the
    column names the pack reads or writes; ``text_columns`` the subset that must be text.
    """

    def __init__(self, name, columns, schema=None, text_columns=(), label=None):
        self.name = name
        self.schema = schema
        self.columns = list(columns)
        self.text_columns = set(text_columns)
        self.label = label

    @classmethod
    def from_table(cls, table, text_columns=(), label=None):
        """Build the spec of a ``sqlalchemy.Table`` (its schema, name and every column)."""
        return cls(table.name, [column.name for column in table.columns], schema=table.schema,
                   text_columns=text_columns, label=label)

    @property
    def qualified(self):
        """``schema.table`` or ``table``."""
        return "%s.%s" % (self.schema, self.name) if self.schema else self.name


def _is_text(column_type):
    """True for the string types of every dialect (VARCHAR, VARCHAR2, TEXT, CHAR, CLOB ...)."""
    return isinstance(column_type, (sa.String, sa.Text))


def _reflect(connection, spec):
    """Return ``{lower-case column name: type}`` of the table or view, or None when it is absent."""
    inspector = sa.inspect(connection)
    names = list(inspector.get_table_names(schema=spec.schema))
    names += list(inspector.get_view_names(schema=spec.schema))
    actual = {name.lower(): name for name in names}
    found = actual.get(spec.name.lower())
    if found is None:
        return None
    return {column["name"].lower(): column["type"]
            for column in inspector.get_columns(found, schema=spec.schema)}


def _schema_exists(connection, schema):
    if schema is None:
        return True
    names = sa.inspect(connection).get_schema_names()
    return schema.lower() in {name.lower() for name in names}


def describe_database_error(error):
    """One line for a database error: the driver's exception class and its first line."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return "%s: %s" % (type(original).__name__, text[:200])


def check_tables(area, engine, specs):
    """Inspect ``engine`` for every ``TableSpec``; return ``CheckItem``s (one per table/column).

    An unreachable database gives one ``unreachable`` item. A missing table gives one ``missing``
    item (its columns are not listed); a missing column, or a uid column that is not text, gives
    one item naming ``table.column``; every column found as expected gives one ``ok`` item.
    """
    items = []
    try:
        with engine.connect() as connection:
            for spec in specs:
                items.extend(_check_one(area, connection, spec))
    except sa_exc.DBAPIError as error:
        items.append(CheckItem(area, "database", UNREACHABLE, describe_database_error(error)))
    except sa_exc.SQLAlchemyError as error:
        items.append(CheckItem(area, "database", ERROR, describe_database_error(error)))
    return items


def _check_one(area, connection, spec):
    columns = _reflect(connection, spec)
    label = " (%s)" % spec.label if spec.label else ""
    if columns is None:
        if not _schema_exists(connection, spec.schema):
            return [CheckItem(area, spec.qualified, MISSING,
                              "schema %s does not exist%s" % (spec.schema, label))]
        return [CheckItem(area, spec.qualified, MISSING, "no such table or view%s" % label)]
    items = []
    for name in spec.columns:
        where = "%s.%s" % (spec.qualified, name)
        found = columns.get(name.lower())
        if found is None:
            items.append(CheckItem(area, where, MISSING, "no such column%s" % label))
        elif name in spec.text_columns and not _is_text(found):
            items.append(CheckItem(area, where, WRONG_TYPE,
                                   "holds uids, must be text, is %s" % _type_name(found)))
        else:
            items.append(CheckItem(area, where, OK, _type_name(found)))
    return items


def _type_name(column_type):
    try:
        return str(column_type.compile())
    except Exception:
        return type(column_type).__name__


def first_mismatch(items):
    """Return the first failing item of a table check, or None (a sensor's own check)."""
    for entry in items:
        if entry.failed:
            return entry
    return None


def check_workspaces(config, make_client=None):
    """Ask each Workspaces service whether it answers; return two ``CheckItem``s.

    The capability service is asked for a request that does not exist (a 404 proves it answers),
    the workflow service for its list of workflows. 401/403 mean the configured credentials are
    refused. Calls are made once, without retries, by the pack's own client.
    """
    from workspaces_pack.client import (WorkspacesClient, WorkspacesError, WorkspacesHttpError,
                                        WorkspacesNotFound, WorkspacesUnavailable)
    from workspaces_pack.config import ConfigError

    values = dict(config._values) if isinstance(config, PackConfig) else dict(config or {})
    values["retry_count"] = 0
    try:
        client = (make_client or WorkspacesClient)(PackConfig(values))
    except ConfigError as error:
        return [CheckItem("workspaces", "configuration", MISSING, str(error))]
    calls = (("capability service", lambda: client.get_capability_request("0")),
             ("workflow service", client.list_workflows))
    items = []
    try:
        for name, call in calls:
            try:
                call()
                items.append(CheckItem("workspaces", name, OK, "answers"))
            except WorkspacesNotFound:
                items.append(CheckItem("workspaces", name, OK, "answers (HTTP 404 for a probe)"))
            except WorkspacesUnavailable as error:
                items.append(CheckItem("workspaces", name, UNREACHABLE, _client_reason(error)))
            except WorkspacesHttpError as error:
                status = REFUSED if error.status in (401, 403) else ERROR
                detail = "HTTP %s" % error.status if error.status else _client_reason(error)
                if status == REFUSED:
                    detail += ": the configured credentials (auth_mode) are refused"
                items.append(CheckItem("workspaces", name, status, detail))
            except WorkspacesError as error:
                items.append(CheckItem("workspaces", name, ERROR, _client_reason(error)))
    finally:
        client.close()
    return items


def _client_reason(error):
    """The reason part of a client error, without the call, path or service URL."""
    text = str(error)
    match = re.search(r"\(([^()]*)\)\s*$", text)
    return match.group(1) if match else type(error).__name__


def check_directories(directories):
    """Check that each ``(label, path)`` is a directory this process can list.

    Returns one ``CheckItem`` per directory: ``ok`` with how many entries it holds, ``missing``
    when it does not exist (or is not a directory), ``unreadable`` when it cannot be listed.
    """
    items = []
    for label, path in directories:
        if not path:
            items.append(CheckItem("directories", label, NOT_CONFIGURED, "not set"))
            continue
        shown = "%s %s" % (label, path)
        if not os.path.isdir(path):
            detail = "not a directory" if os.path.exists(path) else "does not exist"
            items.append(CheckItem("directories", shown, MISSING, detail))
            continue
        try:
            with os.scandir(path) as entries:
                count = sum(1 for _ in entries)
        except OSError as error:
            items.append(CheckItem("directories", shown, UNREADABLE,
                                   error.strerror or type(error).__name__))
            continue
        items.append(CheckItem("directories", shown, OK, "%d entries" % count))
    return items


def database_checks(config):
    """Return ``[(area, url config key, [TableSpec, ...]), ...]`` for the configured databases.

    The names come from the archive layer's schema map, so preflight checks exactly what the
    sensors and actions query.
    """
    from workspaces_pack.schema_checks import alma_specs, metadata_specs

    return [("alma archive", "alma_archive_db_url", alma_specs(config)),
            ("archive metadata", "archive_metadata_db_url", metadata_specs(config))]


def run_preflight(config, directories=(), make_client=None):
    """Run every check with the pack config ``config``; return a ``PreflightReport``.

    ``directories`` are extra ``(label, path)`` pairs to check (e.g. the directories of the
    file monitor's triggers); ``vlba_data_directory`` is always checked.
    """
    from workspaces_pack.archive import ArchiveError, engine_for

    pack_config = config if isinstance(config, PackConfig) else PackConfig(config)
    report = PreflightReport(Scrubber(pack_config))
    for area, key, specs in database_checks(pack_config):
        url = pack_config.get(key)
        if not url:
            report.add(area, "database", NOT_CONFIGURED,
                       "%s is not set; what uses it stays idle" % key)
            continue
        try:
            engine = engine_for(url, pack_config.get("database_timeout_seconds"))
        except ArchiveError as error:
            report.add(area, "database", ERROR, "%s: %s" % (key, error))
            continue
        report.extend(check_tables(area, engine, specs))
    report.extend(check_workspaces(pack_config, make_client))
    wanted = [("vlba_data_directory", pack_config.get("vlba_data_directory"))]
    wanted += [pair for pair in directories if pair not in wanted]
    report.extend(check_directories(wanted))
    return report
