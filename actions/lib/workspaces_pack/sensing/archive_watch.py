"""The ALMA sensors' reading of the archive: one handle per sensor, one watch per trigger.

``ArchiveGate`` builds the sensor's ``AlmaArchive`` (``archive.alma_queries.alma_archive``) at the
first poll that can and keeps it; before handing it out it checks the sensor's tables
(``table_checks.table_mismatches``) once for the triggers added since: a mismatch disables them
with one error line naming the table and column (a database that does not answer: later).

``ArchiveWatch`` is one trigger's progress through rows that have an identifier and a time: the
query reads from ``since()``, the high-water mark (at first the trigger's start, stored at once)
minus the look-back window, and ``dispatch_new_rows`` skips the rows handled in that window, so
late rows inside it are found and nothing is dispatched twice.
"""

import collections
import time

from workspaces_pack.archive.alma_queries import alma_archive
from workspaces_pack.archive.engines import ArchiveError
from workspaces_pack.archive.table_checks import ALMA_AREA, describe_mismatches, table_mismatches
from workspaces_pack.core.state import DEFAULT_MAX_BYTES, SeenWindow
from workspaces_pack.core.times import from_epoch, iso_from_datetime, to_epoch
from workspaces_pack.sensing.poll_cycle import TriggerTurn
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
                            turn.fail(error.problem, str(error))
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

    def __init__(self, lookback_seconds, max_entries=500, clock=time.time, **options):
        self.lookback_seconds = float(lookback_seconds)
        self.max_entries = max_entries
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
                                             max_bytes=DEFAULT_MAX_BYTES - STARTED_BYTES)
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
    """A sensor's rows: the trace ``tag`` of their dispatches, their identifier and time keys."""


def dispatch_new_rows(turn, rows, shape, make_payload):
    """Dispatch the rows ``turn.watch`` has not handled, oldest first (payload
    ``make_payload(row)``), until a dispatch fails; mark them handled and return them. A row
    with a ``skip_reason`` is logged as an error and marked handled too: logged once."""
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
