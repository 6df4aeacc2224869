"""Which tables and columns each part of the pack needs, and a sensor's own check of them.

The specs come from the schema map (``archive_schema``, named by the pack config), so the
preflight and each sensor check exactly the names the queries use. ``SchemaGate`` runs a sensor's
part of the preflight once for the triggers added since its last check; a mismatch disables those
triggers with one error line naming the table and column.
"""

from workspaces_pack.archive.schema import schema_map
from workspaces_pack.flows.preflight import ERROR, UNREACHABLE, check_tables, first_mismatch

__all__ = ["ASDM_ROLES", "CALIBRATION_ROLES", "specs_for", "SchemaGate", "describe_mismatch"]

ASDM_ROLES = ("execblock", "sched_block_status")
"""The ALMA tables the ASDM sensor (and the reconciliation) reads."""
CALIBRATION_ROLES = ("delivery", "delivery_asdm", "product_files")
"""The ALMA tables the calibration sensor reads."""


def specs_for(config, roles):
    """Return the schema map's ``TableSpec``s of ``roles`` (ALMA or metadata), in that order."""
    mapping = schema_map(config)
    return [mapping.spec(role) for role in roles]


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
        mismatch = first_mismatch(items)
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
