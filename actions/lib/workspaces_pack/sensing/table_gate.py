"""A sensor's own check of the tables and columns it reads, once per added trigger.

The specs come from the schema map (``archive/schema.py``: ``PARTS``, named by the pack config)
and the check is the preflight's (``archive/table_checks.py``), so the preflight and each sensor
check exactly the names the queries use. ``SchemaGate`` runs a sensor's
part of the preflight once for the triggers added since its last check; a mismatch disables those
triggers with one error line naming the table and column.
"""

from workspaces_pack.archive.table_checks import describe_mismatches, table_mismatches

__all__ = ["SchemaGate"]


class SchemaGate(object):
    """A sensor's own schema check, run once for the triggers added since the last check.

    ``note_added(ref)`` when a trigger is (re-)registered; ``run(watches, area, engine, specs)``
    at the next poll: it inspects the database once for every pending trigger
    (``table_checks.table_mismatches``). A mismatch disables them (``watches.disable``) with one
    error line naming the tables and columns; an unreachable database leaves them pending (the
    poll logs the outage) and they are checked at a later poll.
    """

    def __init__(self):
        self._pending = set()

    def note_added(self, ref):
        """Check ``ref`` at the next poll."""
        self._pending.add(ref)

    def forget(self, ref):
        """``ref`` was removed: nothing to check."""
        self._pending.discard(ref)

    @property
    def pending(self):
        """True while some trigger waits for its check."""
        return bool(self._pending)

    def run(self, watches, area, engine, specs):
        """Check the pending triggers."""
        refs = [ref for ref, _, _ in watches.items() if ref in self._pending]
        mismatches = table_mismatches(area, engine, specs) if refs else []
        if mismatches is None:
            return  # not checked: the database did not answer
        self._pending.clear()
        if mismatches:
            for ref in refs:
                watches.disable(ref, describe_mismatches(mismatches))
