"""Per-trigger progress through archive rows: a high-water mark plus the uids handled in a window.

Used by the ALMA sensors. Rows have an identifier (an EB uid, a delivery id) and a time. A poll
asks the database for rows at or after ``since()``: the mark minus the look-back window, or, for
a trigger with no history yet, the moment it started (stored at once) minus the look-back
window. Rows already handled in that window are skipped, so late-arriving rows inside the window
are found and nothing is dispatched twice.
"""

import time

from workspaces_pack.archive.engines import ArchiveError, ArchiveUnavailable, SchemaMismatch
from workspaces_pack.core import problems
from workspaces_pack.core.state import DEFAULT_MAX_BYTES, SeenWindow
from workspaces_pack.core.times import from_epoch, iso_from_datetime, to_epoch
from workspaces_pack.sensing.poll_cycle import TurnFailed

__all__ = ["ArchiveWatch", "RowSource", "poll_rows", "problem_kind", "failing_body"]

STARTED_BYTES = len(',"started":') + 24
"""Bytes the trigger's start takes in the state beside its window (a float's longest JSON)."""


class ArchiveWatch(object):
    """The ``SeenWindow`` of one trigger over archive rows, with the trigger's query options."""

    def __init__(self, lookback_seconds, max_entries=500, clock=time.time,
                 max_bytes=DEFAULT_MAX_BYTES, **options):
        self.lookback_seconds = float(lookback_seconds)
        self.max_entries = max_entries
        self.max_bytes = max_bytes - STARTED_BYTES
        self.clock = clock
        self.options = options
        self._started = clock()
        self._window = None
        self.changed = False

    @property
    def loaded(self):
        """True once ``load_state`` has been called."""
        return self._window is not None

    def load_state(self, state):
        """Start from stored state (``to_state``) or, with None, from nothing handled yet: then
        ``changed``, so that the moment the trigger started is stored before its first poll."""
        self._window = SeenWindow.from_state(state or {}, max_entries=self.max_entries,
                                             max_bytes=self.max_bytes)
        self._started = (state or {}).get("started", self._started)
        self.changed = state is None

    @property
    def baseline_taken(self):
        """True once the state is loaded (a new trigger starts at now minus the look-back)."""
        return self.loaded

    def to_state(self):
        """Return the JSON-ready state."""
        return dict(self._window.to_state(), started=self._started)

    def since(self):
        """Return the naive-UTC datetime from which the next query must read."""
        if self._window.floor is not None:
            return from_epoch(self._window.floor)
        if self._window.mark is not None:
            return from_epoch(self._window.mark - self.lookback_seconds)
        return from_epoch(self._started - self.lookback_seconds)

    def select_new(self, rows, id_key, time_key):
        """Return the rows not handled yet, oldest first."""
        fresh = []
        for row in rows:
            position = to_epoch(row[time_key])
            if self._window.is_new(row[id_key], position):
                fresh.append(row)
        return fresh

    def mark_handled(self, rows, id_key, time_key):
        """Record dispatched rows and prune the window to the look-back bound."""
        for row in rows:
            self._window.add(row[id_key], to_epoch(row[time_key]))
        if rows:
            self._window.prune(self.lookback_seconds)
            self.changed = True


class RowSource(object):
    """What one trigger's poll reads and sends: ``fetch(since)`` (may raise ``ArchiveError``),
    the rows' ``id_key`` and ``time_key``, ``make_payload(row)``, the trace tag ``kind``, and
    ``after_dispatch(rows)`` (optional), told the rows dispatched."""

    def __init__(self, fetch, id_key, time_key, make_payload, kind, after_dispatch=None):
        self.fetch = fetch
        self.id_key = id_key
        self.time_key = time_key
        self.make_payload = make_payload
        self.kind = kind
        self.after_dispatch = after_dispatch


def problem_kind(error):
    """The health problem kind of an ``ArchiveError``."""
    if isinstance(error, SchemaMismatch):
        return problems.TABLE_MISMATCH
    if isinstance(error, ArchiveUnavailable):
        return problems.DATABASE_UNREACHABLE
    return problems.POLL_FAILING


def failing_body(error):
    """A turn body that fails with ``error`` (an ``ArchiveError`` met before any query)."""
    def body(turn):
        raise TurnFailed(problem_kind(error), str(error))
    return body


def poll_rows(turn, source):
    """The body of one ALMA trigger's turn (``poll_cycle.run_turn``) over ``source``'s rows.

    New rows are dispatched oldest first with trace tag ``<kind>:<id>`` and marked handled on the
    watch (the turn saves the state). A row with a ``skip_reason`` is logged as an error naming
    its id and remembered as handled, without a dispatch (so it is logged once, not every poll).
    Returns the number of rows dispatched; an ``ArchiveError`` fails the turn with its kind.
    """
    watch, ref, logger = turn.watch, turn.ref, turn.context.logger
    since = watch.since()
    try:
        rows = source.fetch(since)
    except ArchiveError as error:
        raise TurnFailed(problem_kind(error), "%s; will query again next poll" % error)
    fresh = watch.select_new(rows, source.id_key, source.time_key)
    logger.debug("trigger %s: %d row(s) since %s, %d new", ref, len(rows), iso_from_datetime(since),
                 len(fresh))
    done = []
    for row in fresh:
        if row.get("skip_reason"):
            logger.error("trigger %s: %s %s skipped: %s", ref, source.kind, row[source.id_key],
                         row["skip_reason"])
        elif not turn.dispatch(source.make_payload(row), source.kind, row[source.id_key]):
            break
        done.append(row)
    sent = [row for row in done if not row.get("skip_reason")]
    if sent:
        logger.info("trigger %s: %d new %s dispatched", ref, len(sent), source.kind)
    watch.mark_handled(done, source.id_key, source.time_key)
    if sent and source.after_dispatch is not None:
        source.after_dispatch(sent)
    return len(sent)
