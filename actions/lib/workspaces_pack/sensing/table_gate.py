"""A sensor's own check of the tables and columns it reads, once per added trigger.

The specs come from the schema map (``archive/schema.py``: ``PARTS``, named by the pack config)
and the check is the preflight's (``archive/table_checks.py``), so the preflight and each sensor
check exactly the names the queries use. ``SchemaGate`` runs a sensor's
part of the preflight once for the triggers added since its last check; a mismatch disables those
triggers with one error line naming the table and column.
"""

from workspaces_pack.archive.table_checks import check_tables
from workspaces_pack.core.checks import ERROR, UNREACHABLE, first_failed

__all__ = ["SchemaGate", "describe_mismatch"]


class SchemaGate(object):
    """A sensor's own schema check, run once for the triggers added since the last check.

    ``note_added(ref)`` when a trigger is (re-)registered; ``run(watches, area, engine, specs)``
    at the next poll: it inspects the database once for every pending trigger. A mismatch
    disables them (``watches.disable``) with one error line naming the table and column; an
    unreachable database leaves them pending (the poll logs the outage) and they are checked at a
    later poll.
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
        """Check the pending triggers; return the failing ``CheckItem`` (or None)."""
        refs = [ref for ref, _, _ in watches.items() if ref in self._pending]
        if not refs:
            self._pending.clear()
            return None
        items = check_tables(area, engine, specs)
        if any(item.status in (UNREACHABLE, ERROR) for item in items):
            return None
        self._pending.clear()
        mismatch = first_failed(items)
        if mismatch is not None:
            for ref in refs:
                watches.disable(ref, describe_mismatch(mismatch))
        return mismatch


def describe_mismatch(item):
    """The one error line of a failed table check, naming the table and column."""
    detail = " (%s)" % item.detail if item.detail else ""
    what = "%s %s is %s%s" % (item.area, item.item, item.status, detail)
    return ("%s; fix the table/column names in the pack config (the action workspaces.preflight "
            "lists every mismatch)" % what)
