"""The schema map: every archive table, view and column the pack reads or writes, from the config.

One place names them all, so the queries (``archive/alma_queries.py``, ``execution_blocks.py``,
``reconcile.py``), the table checks
(``archive/table_checks.py``), the preflight and the test fixtures agree. The names come from the
pack config (``config.schema.yaml``; the defaults are the names of NRAO's and ALMA's published
schemas) and are case-insensitive identifiers: they are used in lower case, which SQLAlchemy
writes unquoted, so Oracle resolves them to its upper-case views (``AQUA_V_EXECBLOCK``) and
PostgreSQL and SQLite to their lower-case tables.

Two databases:

- ``ALMA`` (``alma_archive_db_url``): roles ``execblock``, ``sched_block_status``, ``delivery``,
  ``delivery_asdm``, ``product_files``; all in the schema ``alma_table_prefix``.
- ``METADATA`` (``archive_metadata_db_url``): role ``execution_blocks``.

API: ``schema_map(config)`` returns the (cached) ``SchemaMap``; ``SchemaMap.tables(database)``
lists its ``TableSpec``s (``SchemaMap.specs_for(part)``: those one part of the pack uses, as
``PARTS`` lists them), each naming its columns (``ColumnSpec``: role, name, config key, and the
type of value the pack needs: ``TEXT`` for uids, ``TIME`` for windows); ``TableSpec.table`` is the
``sqlalchemy.Table`` the queries use.
"""

import re
import threading

import sqlalchemy as sa

from workspaces_pack.core.config import ConfigError

__all__ = ["ALMA", "METADATA", "TEXT", "TIME", "ANY", "PARTS", "ColumnSpec", "TableSpec",
           "SchemaMap", "schema_map", "identifier"]

ALMA = "alma"
METADATA = "metadata"
TEXT = "text"
TIME = "time"
ANY = "any"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]{0,127}$")
_SQL_TYPES = {TEXT: sa.String(256), TIME: sa.DateTime(), ANY: sa.String(256)}

# role -> (config key, {column role: value type}); the table name is the property ``table``.
_ALMA_TABLES = (
    ("execblock", "alma_execblock_view",
     (("eb_uid", TEXT), ("sched_block_uid", TEXT), ("project_code", TEXT),
      ("qa0_status", TEXT), ("end_time", TIME))),
    ("sched_block_status", "alma_sched_block_status_table",
     (("sched_block_uid", TEXT), ("mous_uid", TEXT))),
    ("delivery", "alma_delivery_status_table",
     (("delivery_id", ANY), ("delivery_name", TEXT), ("qa2_passed", ANY))),
    ("delivery_asdm", "alma_delivery_asdm_table",
     (("asdm_uid", TEXT), ("deliverable_name", TEXT))),
    ("product_files", "alma_product_files_table",
     (("mous_uid", TEXT), ("file_class", TEXT), ("ngas_file_id", TEXT))),
)
PARTS = {
    "alma_asdm_sensor": ("execblock", "sched_block_status"),
    "alma_calibration_sensor": ("delivery", "delivery_asdm", "product_files"),
    "mark_asdm_not_calibrateable": ("execution_blocks",),
    "alma_reconcile": ("execblock", "sched_block_status", "execution_blocks"),
}
"""Which table roles each part of the pack reads or writes (``SchemaMap.specs_for``): the one list
the queries, the table checks, the preflight and the test fixtures go by. ``alma_reconcile`` is
the reconciliation (the ASDM sensor's daily run and the action ``workspaces.alma_reconcile``)."""

_METADATA_COLUMNS = "execution_blocks_columns"
_METADATA_ROLES = (("telescope", TEXT), ("calibration_status", TEXT))
_CONFIG_KEYS = tuple(key for _, key, _ in _ALMA_TABLES) + (
    "alma_table_prefix", "alma_delivery_time_column", "execution_blocks_table",
    "execution_blocks_uid_column", _METADATA_COLUMNS)


def identifier(value, config_key, what="column"):
    """Return the configured name ``value`` in lower case; raise ``ConfigError`` naming the key."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _IDENTIFIER.match(text):
        raise ConfigError("pack config %s: %r is not a %s name (letters, digits, _, $, #; "
                          "starting with a letter or _)" % (config_key, value, what))
    return text.lower()


def _names(config, key):
    names = config.get(key)
    if not isinstance(names, dict):
        raise ConfigError("pack config %s: must be a mapping of names (see config.schema.yaml), "
                          "got %r" % (key, names))
    return names


class ColumnSpec(object):
    """One column the pack uses: its role in the queries, its name, where it is configured."""

    def __init__(self, role, name, config_key, value_type):
        self.role = role
        self.name = name
        self.config_key = config_key
        self.value_type = value_type

    def __repr__(self):
        return "ColumnSpec(%r, %r, %r, %r)" % (self.role, self.name, self.config_key,
                                               self.value_type)


class TableSpec(object):
    """One table or view the pack uses, in one database, with the columns it uses there."""

    def __init__(self, database, role, name, schema, config_key, columns):
        self.database = database
        self.role = role
        self.name = name
        self.schema = schema
        self.config_key = config_key
        self.columns = dict((column.role, column) for column in columns)
        self._table = None
        self._lock = threading.Lock()

    @property
    def display(self):
        """``schema.name`` (or ``name``), as the table is written in messages."""
        return "%s.%s" % (self.schema, self.name) if self.schema else self.name

    def column(self, role):
        """Return the ``ColumnSpec`` of ``role``."""
        return self.columns[role]

    def table(self):
        """Return the ``sqlalchemy.Table`` of this spec (its columns keyed by role)."""
        with self._lock:
            if self._table is None:
                columns = [sa.Column(column.name, _SQL_TYPES[column.value_type], key=column.role)
                           for column in self.columns.values()]
                self._table = sa.Table(self.name, sa.MetaData(), *columns, schema=self.schema)
            return self._table

    def __repr__(self):
        return "TableSpec(%r, %r, %r)" % (self.database, self.role, self.display)


class SchemaMap(object):
    """Every table and column of both archives the pack uses, named by the pack config."""

    def __init__(self, config):
        prefix = (config.get("alma_table_prefix") or "").strip().rstrip(".")
        alma_schema = identifier(prefix, "alma_table_prefix", "schema") if prefix else None
        self._tables = {ALMA: [], METADATA: []}
        for role, key, columns in _ALMA_TABLES:
            names = _names(config, key)
            specs = [ColumnSpec(column, identifier(names.get(column), "%s.%s" % (key, column)),
                                "%s.%s" % (key, column), value_type)
                     for column, value_type in columns]
            if role == "delivery":
                time_key = "alma_delivery_time_column"
                specs.append(ColumnSpec("delivered_at",
                                        identifier(config.get(time_key), time_key),
                                        time_key, TIME))
            name = identifier(names.get("table"), key + ".table", "table")
            self._tables[ALMA].append(TableSpec(ALMA, role, name, alma_schema, key, specs))
        self._tables[METADATA].append(self._execution_blocks(config))

    @staticmethod
    def _execution_blocks(config):
        key = "execution_blocks_table"
        parts = (config.get(key) or "").split(".")
        if len(parts) > 2:
            raise ConfigError("pack config %s: %r is not a table name (table or schema.table)"
                              % (key, config.get(key)))
        names = [identifier(part, key, "table") for part in parts]
        schema, name = (None, names[0]) if len(names) == 1 else names
        uid_key = "execution_blocks_uid_column"
        specs = [ColumnSpec("eb_uid", identifier(config.get(uid_key), uid_key), uid_key, TEXT)]
        columns = _names(config, _METADATA_COLUMNS)
        for role, value_type in _METADATA_ROLES:
            where = "%s.%s" % (_METADATA_COLUMNS, role)
            specs.append(ColumnSpec(role, identifier(columns.get(role), where), where,
                                    value_type))
        return TableSpec(METADATA, "execution_blocks", name, schema, key, specs)

    def tables(self, database):
        """Return the ``TableSpec``s of ``database`` (``ALMA`` or ``METADATA``)."""
        return list(self._tables[database])

    def spec(self, role):
        """Return the ``TableSpec`` of ``role`` (e.g. ``execblock``, ``execution_blocks``)."""
        for specs in self._tables.values():
            for spec in specs:
                if spec.role == role:
                    return spec
        raise KeyError(role)

    def specs_for(self, part, database=None):
        """Return the ``TableSpec``s one part of the pack uses (a key of ``PARTS``, e.g.
        ``alma_asdm_sensor``), in order; with ``database`` (``ALMA`` or ``METADATA``) only those
        in that database."""
        specs = [self.spec(role) for role in PARTS[part]]
        return [spec for spec in specs if database is None or spec.database == database]

    def table(self, role):
        """Return the ``sqlalchemy.Table`` of ``role``; its columns are keyed by column role."""
        return self.spec(role).table()


_MAPS = {}
_MAPS_LOCK = threading.Lock()


def schema_map(config):
    """Return the ``SchemaMap`` of ``config``; the same object for the same names (so the
    compiled-statement cache of SQLAlchemy is reused across polls). Raises ``ConfigError``
    naming the key of a malformed name."""
    key = repr([(name, config.get(name)) for name in _CONFIG_KEYS])
    with _MAPS_LOCK:
        found = _MAPS.get(key)
    if found is None:
        found = SchemaMap(config)
        with _MAPS_LOCK:
            found = _MAPS.setdefault(key, found)
    return found
