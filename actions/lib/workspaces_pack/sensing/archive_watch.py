"""The ALMA sensors' reading of the archive: one handle per sensor, one watch per trigger.

``ArchiveGate`` builds the sensor's ``AlmaArchive`` (``archive.alma_queries.alma_archive``: the
engine and the schema map) at the first poll that can, and keeps it. Before handing it out it
checks the tables and columns of the sensor's part of the schema map for the triggers added
since the last check (``table_checks.table_mismatches``, the preflight's check): a mismatch
disables those triggers with one error line naming the table and column; a database that does
not answer leaves them for a later poll.

``ArchiveWatch`` is a trigger's progress through rows that have an identifier (an EB uid, a
delivery id) and a time: a poll asks for rows at or after ``since()``, the high-water mark (or,
for a trigger with no history yet, the moment it started, stored at once) minus the look-back
window; ``dispatch_new_rows`` skips the rows handled in that window, so late rows inside the
window are found and nothing is dispatched twice.
"""

import collections
import time

from workspaces_pack.archive.alma_queries import alma_archive
from workspaces_pack.archive.engines import ArchiveError
from workspaces_pack.archive.table_checks import ALMA_AREA, describe_mismatches, table_mismatches
from workspaces_pack.core.state import DEFAULT_MAX_BYTES, SeenWindow
from workspaces_pack.core.times import from_epoch, iso_from_datetime, to_epoch
from workspaces_pack.sensing.poll_cycle import TriggerTurn, problem_of
from workspaces_pack.sensing.watches import poll_step

__all__ = ["ArchiveGate", "ArchiveWatch", "RowShape", "dispatch_new_rows"]


class ArchiveGate(object):
    """The archive handle of a sensor that reads the tables of ``part`` (``schema.PARTS``)."""

    def __init__(self, config, part):
        self._config = config
        self._part = part
        self._archive = None
        self._unchecked = set()

    def note_added(self, ref):
        """Check the tables for ``ref`` at the next poll."""
        self._unchecked.add(ref)

    def forget(self, ref):
        """``ref`` was removed: nothing to check."""
        self._unchecked.discard(ref)

    def open(self, context):
        """Return the ``AlmaArchive``, its tables checked for the triggers added since the last
        check; None when it cannot be built (a URL unset, a malformed name): every trigger's turn
        has then failed with why."""
        if self._archive is None:
            try:
                self._archive = alma_archive(self._config)
            except ArchiveError as error:
                for ref, watch in context.watches.items():
                    turn = TriggerTurn(context, ref, watch)
                    if turn.begin():
                        with turn:
                            turn.fail(problem_of(error), str(error))
                return None
        if self._unchecked:
            with poll_step(context.logger, "table check"):
                self._check(context.watches)
        return self._archive

    def _check(self, watches):
        refs = [ref for ref, _ in watches.items() if ref in self._unchecked]
        specs = self._archive.schema.specs_for(self._part)
        mismatches = table_mismatches(ALMA_AREA, self._archive.engine, specs) if refs else []
        if mismatches is None:
            return  # not checked: the database did not answer
        self._unchecked.clear()
        if mismatches:
            for ref in refs:
                watches.disable(ref, describe_mismatches(mismatches))


STARTED_BYTES = len(',"started":') + 24
"""Bytes the trigger's start takes in the state beside its window (a float's longest JSON)."""


class ArchiveWatch(object):
    """The ``SeenWindow`` of one trigger over archive rows, with the trigger's query options."""

    def __init__(self, lookback_seconds, max_entries=500, clock=time.time,
                 max_bytes=DEFAULT_MAX_BYTES, **options):
        self.lookback_seconds = float(lookback_seconds)
        self.max_entries = max_entries
        self.max_bytes = max_bytes - STARTED_BYTES
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
        return [row for row in rows if self._window.is_new(row[id_key], to_epoch(row[time_key]))]

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
