"""The preflight check: is the pack configured against systems that look the way it expects?

Run by the action ``workspaces.preflight`` and by ``workspaces-local preflight`` (the same code):
the tables and columns of the schema map in each configured database (``archive.table_checks``),
whether the Workspaces services answer, and the watched directories, one ``core.checks.CheckItem``
each. Details pass through ``core.scrub.Scrubber``: no URL, user or password is shown, except a
Workspaces URL that is not a valid HTTP(S) URL, its password masked (``core.urls``), to be fixed.
"""

import collections
import os
import re
import reprlib

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

__all__ = ["PreflightReport", "check_config_keys", "check_workspaces", "check_directory",
           "check_directories_parameter", "run_preflight"]

MAX_PATH = 4096


class PreflightReport(object):
    """The ``CheckItem``s of one preflight run, in order, their details scrubbed."""

    def __init__(self, items, scrubber):
        self.items = [CheckItem(entry.area, entry.item, entry.status, scrubber.scrub(entry.detail))
                      for entry in items]

    @property
    def ok(self):
        """True when no item failed."""
        return not any(entry.failed for entry in self.items)

    def counts(self):
        """Return ``{status: how many}`` for the statuses present."""
        return dict(collections.Counter(entry.status for entry in self.items))

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
    return [CheckItem("configuration", str(key), UNKNOWN_KEY,
                      "not in config.schema.yaml, so nothing reads it" +
                      ("; did you mean %s?" % near if near else ""))
            for key, near in config.unknown_keys()]


def check_workspaces(config):
    """Ask each Workspaces service once, without retries, whether it answers: the capability
    service for a request that does not exist (a 404 proves it answers), the workflow service for
    its list of workflows."""
    wrong = url_problems(config)
    if wrong:
        return [CheckItem("workspaces", key, MISSING if not config.get(key) else ERROR, message)
                for key, message in wrong]
    try:
        client = WorkspacesClient(config.with_values(retry_count=0))
    except ConfigError as error:
        return [CheckItem("workspaces", "configuration", MISSING, str(error))]
    try:
        return [CheckItem("workspaces", "capability service",
                          *_probe(client.get_request, "capability", {"id": "0"})),
                CheckItem("workspaces", "workflow service", *_probe(client.list_workflows))]
    finally:
        client.close()


def _probe(call, *arguments):
    """Make one Workspaces ``call``; return its ``(status, detail)``."""
    try:
        call(*arguments)
        return OK, "answers"
    except WorkspacesNotFound:
        return OK, "answers (HTTP 404 for a probe)"
    except WorkspacesUnavailable as error:
        return UNREACHABLE, _client_reason(error)
    except WorkspacesHttpError as error:
        if error.status in (401, 403):
            return REFUSED, ("HTTP %s: the configured credentials (auth_mode) are refused"
                             % error.status)
        return ERROR, "HTTP %s" % error.status
    except WorkspacesError as error:
        return ERROR, _client_reason(error)


def _client_reason(error):
    """The reason part of a client error, without the call, path or service URL."""
    match = re.search(r"\(([^()]*)\)\s*$", str(error))
    return match.group(1) if match else type(error).__name__


def check_directories_parameter(directories):
    """Return the ``directories`` action parameter, at most 100 absolute paths (each at most
    ``MAX_PATH`` long, without NUL); raise ``ParameterError`` for anything else."""
    if directories is None:
        return []
    if not isinstance(directories, list) or len(directories) > 100:
        raise ParameterError("directories", "must be a list of at most 100 absolute paths, got %s"
                             % reprlib.repr(directories))
    for path in directories:
        if not isinstance(path, str) or not path.startswith("/") or "\x00" in path \
                or len(path) > MAX_PATH:
            raise ParameterError("directories", "%s is not an absolute path" % reprlib.repr(path))
    return list(directories)


def check_directory(label, path):
    """The ``CheckItem`` of directory ``path``: ``ok`` with how many entries it holds,
    ``missing`` when it is not a directory, ``unreadable`` when this process cannot list it."""
    if not path:
        return CheckItem("directories", label, NOT_CONFIGURED, "not set")
    shown = "%s %s" % (label, path)
    if not os.path.isdir(path):
        return CheckItem("directories", shown, MISSING,
                         "not a directory" if os.path.exists(path) else "does not exist")
    try:
        with os.scandir(path) as entries:
            return CheckItem("directories", shown, OK, "%d entries" % sum(1 for _ in entries))
    except OSError as error:
        return CheckItem("directories", shown, UNREADABLE, error.strerror or type(error).__name__)


def run_preflight(config, directories=()):
    """Run every check with the pack config ``config``; return a ``PreflightReport``.

    ``directories``: ``(label, path)`` pairs to check besides ``vlba_data_directory`` (e.g. the
    directories of the file monitor's triggers).
    """
    items = check_config_keys(config)
    try:
        mapping = schema_map(config)
        databases = [(ALMA_AREA, "alma_archive_db_url", mapping.tables(ALMA)),
                     (METADATA_AREA, "archive_metadata_db_url", mapping.tables(METADATA))]
    except ConfigError as error:
        items.append(CheckItem("configuration", "table and column names", ERROR, str(error)))
        databases = []
    for area, key, specs in databases:
        try:
            items.extend(check_tables(area, database_engine(config, key), specs))
        except NotConfigured:
            items.append(CheckItem(area, "database", NOT_CONFIGURED,
                                   "%s is not set; what uses it stays idle" % key))
        except ArchiveError as error:
            items.append(CheckItem(area, "database", ERROR, "%s: %s" % (key, error)))
    items.extend(check_workspaces(config))
    wanted = [("vlba_data_directory", config.get("vlba_data_directory"))]
    wanted += [pair for pair in directories if pair not in wanted]
    items.extend(check_directory(label, path) for label, path in wanted)
    return PreflightReport(items, Scrubber(config))
