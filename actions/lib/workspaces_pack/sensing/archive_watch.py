"""Per-trigger progress through archive rows: a high-water mark plus the uids handled in a window.

Used by the ALMA sensors. Rows have an identifier (an EB uid, a delivery id) and a time. A poll
asks the database for rows at or after ``since()``: the mark minus the look-back window, or, for
a trigger with no history yet, the moment it started (stored at once) minus the look-back
window. Rows already handled in that window are skipped, so late-arriving rows inside the window
are found and nothing is dispatched twice.
"""

import collections
import time

from workspaces_pack.core.state import DEFAULT_MAX_BYTES, SeenWindow
from workspaces_pack.core.times import from_epoch, iso_from_datetime, to_epoch

__all__ = ["ArchiveWatch", "RowShape", "dispatch_new_rows"]

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


class RowShape(collections.namedtuple("RowShape", "tag id_key time_key")):
    """What a sensor's rows are: the trace ``tag`` of their dispatches (``<tag>:<id>``), the key
    of their identifier (``id_key``) and of their time (``time_key``)."""


def dispatch_new_rows(turn, rows, shape, make_payload):
    """Dispatch the rows of ``rows`` that ``turn.watch`` has not handled, oldest first, each
    with the payload ``make_payload(row)``, and mark them handled; a failed dispatch stops there
    (the rest wait for the next poll). Return the rows dispatched.

    A row with a ``skip_reason`` is logged as an error naming its id and marked handled without
    a dispatch, so it is logged once, not every poll.
    """
    watch, ref, logger = turn.watch, turn.ref, turn.context.logger
    fresh = watch.select_new(rows, shape.id_key, shape.time_key)
    logger.debug("trigger %s: %d row(s) since %s, %d new", ref, len(rows),
                 iso_from_datetime(watch.since()), len(fresh))
    done = []
    for row in fresh:
        if row.get("skip_reason"):
            logger.error("trigger %s: %s %s skipped: %s", ref, shape.tag, row[shape.id_key],
                         row["skip_reason"])
        elif not turn.dispatch(make_payload(row), shape.tag, row[shape.id_key]):
            break
        done.append(row)
    sent = [row for row in done if not row.get("skip_reason")]
    if sent:
        logger.info("trigger %s: %d new %s dispatched", ref, len(sent), shape.tag)
    watch.mark_handled(done, shape.id_key, shape.time_key)
    return sent
