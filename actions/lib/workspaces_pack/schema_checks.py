"""Which tables and columns each part of the pack needs, and a sensor's own check of them.

The specs come from the archive layer's table definitions (the configured schema map), so the
preflight and each sensor check exactly the names the queries use. ``SchemaGate`` runs a sensor's
part of the preflight once for the triggers added since its last check; a mismatch disables those
triggers with one error line naming the table and column.
"""

from workspaces_pack.archive import alma_tables, execution_blocks_table
from workspaces_pack.config import PackConfig
from workspaces_pack.preflight import (UNREACHABLE, ERROR, TableSpec, check_tables,
                                       first_mismatch)

__all__ = ["asdm_specs", "calibration_specs", "alma_specs", "metadata_specs", "SchemaGate"]

_UIDS = {"aqua_v_execblock": ("execblockuid", "obsunitsetuid"),
         "aqua_status_history": ("execblockuid",),
         "asa_delivery_status": ("asa_ous_id",),
         "asa_product_files": ("asa_ous_id",),
         "asa_science": ("asa_ous_id",)}


def _alma(config, keys):
    config = config if isinstance(config, PackConfig) else PackConfig(config)
    tables = alma_tables(prefix=config.get("alma_table_prefix"))
    return [TableSpec.from_table(tables[key], _UIDS.get(tables[key].name, ()),
                                 label="alma_table_prefix")
            for key in keys]


def asdm_specs(config):
    """The ALMA tables and columns the ASDM sensor reads."""
    return _alma(config, ("execblock", "status"))


def calibration_specs(config):
    """The ALMA tables and columns the calibration sensor reads."""
    return _alma(config, ("delivery", "product_files", "science", "execblock"))


def alma_specs(config):
    """Every ALMA table and column the pack reads (each table once)."""
    return _alma(config, ("execblock", "status", "delivery", "product_files", "science"))


def metadata_specs(config):
    """The archive metadata table and the columns the pack reads and writes."""
    config = config if isinstance(config, PackConfig) else PackConfig(config)
    table = execution_blocks_table(name=config.get("execution_blocks_table"))
    return [TableSpec(table.name, ["ost_exec_block_id", "telescope", "calibration_status"],
                      schema=table.schema, text_columns=("ost_exec_block_id",),
                      label="execution_blocks_table")]


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
