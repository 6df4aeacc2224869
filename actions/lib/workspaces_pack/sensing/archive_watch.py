"""Per-trigger progress through archive rows: a high-water mark plus the uids handled in a window.

Used by the ALMA sensors. Rows have an identifier (an EB uid, a delivery id) and a time. A poll
asks the database for rows at or after ``since()``: the mark minus the look-back window, or, for
a trigger with no history yet, now minus the look-back window. Rows already handled in that window
are skipped, so late-arriving rows inside the window are found and nothing is dispatched twice.
"""

import datetime
import time

from workspaces_pack.archive.database import from_epoch, to_epoch
from workspaces_pack.core.state import SeenWindow

__all__ = ["ArchiveWatch", "SensorContext", "poll_rows"]


class ArchiveWatch(object):
    """The ``SeenWindow`` of one trigger over archive rows, with the trigger's query options."""

    def __init__(self, lookback_seconds, max_entries=500, clock=time.time, **options):
        self.lookback_seconds = float(lookback_seconds)
        self.max_entries = max_entries
        self.clock = clock
        self.options = options
        self._window = None
        self.changed = False

    @property
    def loaded(self):
        """True once ``load_state`` has been called."""
        return self._window is not None

    def load_state(self, state):
        """Start from stored state (``to_state``) or, with None, from nothing handled yet."""
        self._window = SeenWindow.from_state(state or {}, max_entries=self.max_entries)

    def to_state(self):
        """Return the JSON-ready state."""
        return self._window.to_state()

    def since(self):
        """Return the naive-UTC datetime from which the next query must read."""
        if self._window.floor is not None:
            return from_epoch(self._window.floor)
        if self._window.mark is not None:
            return from_epoch(self._window.mark - self.lookback_seconds)
        return from_epoch(self.clock() - self.lookback_seconds)

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

    @property
    def remembered_count(self):
        """How many identifiers the state holds."""
        return len(self._window.seen)


def utc_text(value):
    """Format a naive-UTC datetime for logs."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value)


def poll_rows(context, ref, watch, fetch, id_key, time_key, make_payload, kind,
              after_dispatch=None):
    """One poll of one trigger over archive rows; shared by the ALMA sensors.

    ``context`` is a ``SensorContext``; ``fetch(since)`` queries the database and may raise
    ``ArchiveError``; ``make_payload(row)`` builds the trigger payload. State is loaded (once),
    new rows are dispatched oldest first with trace tag ``<kind>:<id>``, and the state is saved
    once if anything changed. A row with a ``skip_reason`` is logged as an error naming its id
    and remembered as handled, without a dispatch (so it is logged once, not every poll).
    ``after_dispatch(rows)``, if given, is told the rows dispatched.
    Returns the number of rows dispatched.
    """
    from workspaces_pack.archive.database import ArchiveError
    from workspaces_pack.sensing.watches import (ensure_state_loaded, save_state_if_changed,
                                                 trace_tag)

    if not ensure_state_loaded(context.state, context.watches, ref, watch):
        return 0
    since = watch.since()
    try:
        rows = fetch(since)
    except ArchiveError as error:
        context.watches.problem(ref, "%s; will query again next poll" % error)
        return 0
    context.watches.clear_problem(ref)
    fresh = watch.select_new(rows, id_key, time_key)
    context.logger.debug("trigger %s: %d row(s) since %s, %d new", ref, len(rows),
                         utc_text(since), len(fresh))
    done = []
    for row in fresh:
        if row.get("skip_reason"):
            context.logger.error("trigger %s: %s %s skipped: %s", ref, kind, row[id_key],
                                 row["skip_reason"])
            done.append(row)
            continue
        try:
            context.service.dispatch(trigger=ref, payload=make_payload(row),
                                     trace_tag=trace_tag(kind, row[id_key]))
        except Exception as error:
            context.logger.warning("dispatch of %s %s failed (%s); retried next poll",
                                   kind, row[id_key], error)
            break
        done.append(row)
    sent = [row for row in done if not row.get("skip_reason")]
    if sent:
        context.logger.info("trigger %s: %d new %s dispatched", ref, len(sent), kind)
    watch.mark_handled(done, id_key, time_key)
    save_state_if_changed(context.state, context.logger, ref, watch)
    if sent and after_dispatch is not None:
        after_dispatch(sent)
    return len(sent)


class SensorContext(object):
    """What ``poll_rows`` needs from a sensor: its service, logger, state store and watches."""

    def __init__(self, service, logger, state, watches):
        self.service = service
        self.logger = logger
        self.state = state
        self.watches = watches
