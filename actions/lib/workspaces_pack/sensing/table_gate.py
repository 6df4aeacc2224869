"""The ALMA sensors' way to their archive: one handle per sensor, its tables checked per trigger.

``ArchiveGate`` builds the sensor's ``AlmaArchive`` (``archive.alma_queries.alma_archive``: the
engine and the schema map) at the first poll that can, and keeps it. Before handing it out it
checks the tables and columns of the sensor's part of the schema map once for the triggers added
since the last check (``archive.table_checks.table_mismatches``, the preflight's check, so both
check exactly the names the queries use): a mismatch disables those triggers with one error line
naming the table and column; a database that does not answer leaves them for a later poll.
"""

from workspaces_pack.archive.alma_queries import alma_archive
from workspaces_pack.archive.engines import ArchiveError
from workspaces_pack.archive.table_checks import ALMA_AREA, describe_mismatches, table_mismatches
from workspaces_pack.sensing.poll_cycle import TriggerTurn, problem_of
from workspaces_pack.sensing.watches import poll_step

__all__ = ["ArchiveGate"]


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
                for ref, _, watch in context.watches.items():
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
        refs = [ref for ref, _, _ in watches.items() if ref in self._unchecked]
        specs = self._archive.schema.specs_for(self._part)
        mismatches = table_mismatches(ALMA_AREA, self._archive.engine, specs) if refs else []
        if mismatches is None:
            return  # not checked: the database did not answer
        self._unchecked.clear()
        if mismatches:
            for ref in refs:
                watches.disable(ref, describe_mismatches(mismatches))
