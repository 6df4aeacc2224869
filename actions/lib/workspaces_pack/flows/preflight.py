"""The preflight check: is the pack configured against systems that look the way it expects?

Run by the action ``workspaces.preflight`` and by ``workspaces-local preflight`` (the same code):
each configured database is inspected with SQLAlchemy's inspector (every table or view and column
the pack reads or writes exists; uid columns hold text), the Workspaces services are asked whether
they answer, and the watched directories are listed. Each item is reported as one of ``STATUSES``;
the report fails when any item is in ``FAILING``.

Nothing in a report names a URL, a user or a password: details pass through
``core.scrub.Scrubber``, which hides every configured URL, secret and the user, password, host,
port and database of the configured URLs. A Workspaces URL that is not a valid HTTP(S) URL is the
exception: it is shown, its password masked (``core.urls``), so the operator sees what to fix.
"""

import os
import re

from workspaces_pack.archive.engines import ArchiveError, NotConfigured, database_engine
from workspaces_pack.archive.schema import ALMA, METADATA, schema_map
from workspaces_pack.archive.table_checks import ALMA_AREA, METADATA_AREA, check_tables
from workspaces_pack.core.checks import (ERROR, MISSING, NOT_CONFIGURED, OK, REFUSED, UNKNOWN_KEY,
                                         UNREACHABLE, UNREADABLE, CheckItem)
from workspaces_pack.core.config import ConfigError
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.scrub import Scrubber
from workspaces_pack.core.urls import url_problems
from workspaces_pack.workspaces_service.client import (WorkspacesClient, WorkspacesError,
                                                       WorkspacesHttpError, WorkspacesNotFound,
                                                       WorkspacesUnavailable)

__all__ = ["PreflightReport", "check_config_keys", "check_workspaces",
           "check_directories", "check_directories_parameter", "run_preflight", "database_checks"]


class PreflightReport(object):
    """The items of one preflight run, in the order they were checked."""

    def __init__(self, scrubber):
        self.items = []
        self.scrubber = scrubber

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
        """Return the report as a JSON-ready dict (the action's result fields)."""
        failed = [entry.to_dict() for entry in self.items if entry.failed]
        return {"ok": self.ok, "counts": self.counts(), "failed": failed,
                "items": [entry.to_dict() for entry in self.items]}

    def verdict(self):
        """The report's last line: passed or FAILED, with the count of each status."""
        counts = ", ".join("%s %d" % item for item in sorted(self.counts().items()))
        return "preflight %s: %s" % ("passed" if self.ok else "FAILED", counts or "nothing")

    def lines(self):
        """Return the report as text lines, the verdict last."""
        return [entry.line() for entry in self.items] + [self.verdict()]


def check_config_keys(config):
    """One ``unknown key`` item per configured key config.schema.yaml does not know, with the
    closest known key ("did you mean"): a misspelt key leaves its setting at the default."""
    items = []
    for key, near in config.unknown_keys():
        detail = "not in config.schema.yaml, so nothing reads it"
        if near:
            detail += "; did you mean %s?" % near
        items.append(CheckItem("configuration", str(key), UNKNOWN_KEY, detail))
    return items


def check_workspaces(config, make_client=None):
    """Ask each Workspaces service whether it answers; return two ``CheckItem``s.

    The capability service is asked for a request that does not exist (a 404 proves it answers),
    the workflow service for its list of workflows. 401/403 mean the configured credentials are
    refused. Calls are made once, without retries, by the pack's own client.
    """
    wrong = url_problems(config)
    if wrong:
        return [CheckItem("workspaces", key, MISSING if not config.get(key) else ERROR, message)
                for key, message in wrong]
    try:
        client = (make_client or WorkspacesClient)(config.with_values(retry_count=0))
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


MAX_PATH = 4096


def check_directories_parameter(directories):
    """Return the ``directories`` action parameter as a list of absolute paths.

    Raises ``ParameterError`` naming the parameter for anything else (not a list, empty or relative
    paths, NUL bytes, paths longer than ``MAX_PATH``, more than 100 entries).
    """
    if directories is None:
        return []
    if not isinstance(directories, list) or len(directories) > 100:
        raise ParameterError("directories", "must be a list of at most 100 absolute paths, got %s"
                             % _short(directories))
    for path in directories:
        if not isinstance(path, str) or not path.startswith("/") or "\x00" in path \
                or len(path) > MAX_PATH:
            raise ParameterError("directories", "%s is not an absolute path" % _short(path))
    return list(directories)


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "...(%d chars)" % len(text)


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

    The names come from the schema map (``archive/schema.py``), so preflight checks exactly what
    the sensors and actions query.
    """
    mapping = schema_map(config)
    return [(ALMA_AREA, "alma_archive_db_url", mapping.tables(ALMA)),
            (METADATA_AREA, "archive_metadata_db_url", mapping.tables(METADATA))]


def run_preflight(config, directories=(), make_client=None):
    """Run every check with the pack config ``config``; return a ``PreflightReport``.

    ``directories`` are extra ``(label, path)`` pairs to check (e.g. the directories of the
    file monitor's triggers); ``vlba_data_directory`` is always checked.
    """
    report = PreflightReport(Scrubber(config))
    report.extend(check_config_keys(config))
    try:
        databases = database_checks(config)
    except ConfigError as error:
        report.add("configuration", "table and column names", ERROR, str(error))
        databases = []
    for area, key, specs in databases:
        try:
            engine = database_engine(config, key)
        except NotConfigured:
            report.add(area, "database", NOT_CONFIGURED,
                       "%s is not set; what uses it stays idle" % key)
            continue
        except ArchiveError as error:
            report.add(area, "database", ERROR, "%s: %s" % (key, error))
            continue
        report.extend(check_tables(area, engine, specs))
    report.extend(check_workspaces(config, make_client))
    wanted = [("vlba_data_directory", config.get("vlba_data_directory"))]
    wanted += [pair for pair in directories if pair not in wanted]
    report.extend(check_directories(wanted))
    return report
