"""The schema map: every archive table, view and column the pack reads or writes, from the config.

One place names them all, for the queries, the table checks, the preflight and the test fixtures.
The names come from the pack config (the defaults are NRAO's and ALMA's published names) and are
used in lower case, which SQLAlchemy writes unquoted: Oracle resolves them to its upper-case views,
PostgreSQL and SQLite to their lower-case tables. Two databases: ``ALMA`` (``alma_archive_db_url``,
in the schema ``alma_table_prefix``) and ``METADATA`` (``archive_metadata_db_url``).
"""

import collections
import re

import sqlalchemy as sa

from workspaces_pack.core.config import ConfigError

__all__ = ["ALMA", "METADATA", "TEXT", "TIME", "ANY", "SQL_TYPES", "PARTS", "ColumnSpec",
           "TableSpec", "SchemaMap", "schema_map", "identifier", "labelled"]

ALMA = "alma"
METADATA = "metadata"
TEXT = "text"
TIME = "time"
ANY = "any"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]{0,127}$")
SQL_TYPES = {TEXT: (sa.String,), TIME: (sa.DateTime, sa.Date),
             ANY: (sa.String, sa.types.TypeEngine)}
"""The SQL types that hold each type of value; the queries' tables use the first."""

# (table role, config key of its names, ((column role, value type), ...))
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
"""Which table roles each part of the pack reads or writes (``alma_reconcile``: the ASDM sensor's
daily run and the action ``workspaces.alma_reconcile``)."""

_DELIVERY_TIME = "alma_delivery_time_column"
_METADATA_TABLE = "execution_blocks_table"
_METADATA_UID = "execution_blocks_uid_column"
_METADATA_COLUMNS = "execution_blocks_columns"
_CONFIG_KEYS = tuple(key for _, key, _ in _ALMA_TABLES) + (
    "alma_table_prefix", _DELIVERY_TIME, _METADATA_TABLE, _METADATA_UID, _METADATA_COLUMNS)

ColumnSpec = collections.namedtuple("ColumnSpec", "role name config_key value_type")
ColumnSpec.__doc__ = """One column the pack uses: its role in the queries, its name, its config
key, and the type of value it must hold (``TEXT`` for uids, ``TIME`` for windows, ``ANY``)."""


def identifier(value, config_key, what="column"):
    """Return the configured name ``value`` in lower case; raise ``ConfigError`` naming the key."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _IDENTIFIER.match(text):
        raise ConfigError("pack config %s: %r is not a %s name (letters, digits, _, $, #; "
                          "starting with a letter or _)" % (config_key, value, what))
    return text.lower()


def labelled(table, *roles):
    """The columns ``roles`` of ``table``, each labelled with its role (the result rows' names)."""
    return [table.c[role].label(role) for role in roles]


def _column(role, value, config_key, value_type):
    return ColumnSpec(role, identifier(value, config_key), config_key, value_type)


def _names(config, key):
    names = config.get(key)
    if not isinstance(names, dict):
        raise ConfigError("pack config %s: must be a mapping of names (see config.schema.yaml), "
                          "got %r" % (key, names))
    return names


class TableSpec(object):
    """One table or view the pack uses, in one database, with the columns it uses there; its
    ``table`` is the ``sqlalchemy.Table`` (columns keyed by role), ``config_key`` sets its name."""

    def __init__(self, database, role, name, schema, config_key, columns):
        self.database = database
        self.role = role
        self.name = name
        self.schema = schema
        self.config_key = config_key
        self.columns = dict((column.role, column) for column in columns)
        sql_columns = [sa.Column(column.name, SQL_TYPES[column.value_type][0], key=column.role)
                       for column in columns]
        self.table = sa.Table(name, sa.MetaData(), *sql_columns, schema=schema)

    @property
    def display(self):
        """``schema.name`` (or ``name``), as the table is written in messages."""
        return self.table.fullname

    def column(self, role):
        """Return the ``ColumnSpec`` of ``role``."""
        return self.columns[role]


def _alma_table(config, schema, role, key, columns):
    names = _names(config, key)
    specs = [_column(column, names.get(column), "%s.%s" % (key, column), value_type)
             for column, value_type in columns]
    if role == "delivery":
        specs.append(_column("delivered_at", config.get(_DELIVERY_TIME), _DELIVERY_TIME, TIME))
    name = identifier(names.get("table"), key + ".table", "table")
    return TableSpec(ALMA, role, name, schema, key + ".table", specs)


def _execution_blocks(config):
    parts = (config.get(_METADATA_TABLE) or "").split(".")
    if len(parts) > 2:
        raise ConfigError("pack config %s: %r is not a table name (table or schema.table)"
                          % (_METADATA_TABLE, config.get(_METADATA_TABLE)))
    names = [identifier(part, _METADATA_TABLE, "table") for part in parts]
    schema, name = (None, names[0]) if len(names) == 1 else names
    specs = [_column("eb_uid", config.get(_METADATA_UID), _METADATA_UID, TEXT)]
    columns = _names(config, _METADATA_COLUMNS)
    specs += [_column(role, columns.get(role), "%s.%s" % (_METADATA_COLUMNS, role), TEXT)
              for role in ("telescope", "calibration_status")]
    return TableSpec(METADATA, "execution_blocks", name, schema, _METADATA_TABLE, specs)


class SchemaMap(object):
    """Every table and column of both archives the pack uses, named by the pack config."""

    def __init__(self, config):
        prefix = (config.get("alma_table_prefix") or "").strip().rstrip(".")
        alma_schema = identifier(prefix, "alma_table_prefix", "schema") if prefix else None
        specs = [_alma_table(config, alma_schema, *table) for table in _ALMA_TABLES]
        specs.append(_execution_blocks(config))
        self._specs = dict((spec.role, spec) for spec in specs)

    def tables(self, database):
        """Return the ``TableSpec``s of ``database`` (``ALMA`` or ``METADATA``)."""
        return [spec for spec in self._specs.values() if spec.database == database]

    def spec(self, role):
        """Return the ``TableSpec`` of ``role`` (e.g. ``execblock``, ``execution_blocks``)."""
        return self._specs[role]

    def specs_for(self, part, database=None):
        """Return the ``TableSpec``s one part of the pack uses (a key of ``PARTS``), in order;
        with ``database``, only those in that database."""
        specs = [self._specs[role] for role in PARTS[part]]
        return [spec for spec in specs if database is None or spec.database == database]

    def table(self, role):
        """Return the ``sqlalchemy.Table`` of ``role``; its columns are keyed by column role."""
        return self._specs[role].table


_MAPS = {}


def schema_map(config):
    """Return the ``SchemaMap`` of ``config``; the same object for the same names (so the
    compiled-statement cache of SQLAlchemy is reused across polls). Raises ``ConfigError``
    naming the key of a malformed name."""
    key = repr([(name, config.get(name)) for name in _CONFIG_KEYS])
    found = _MAPS.get(key)
    if found is None:
        found = _MAPS.setdefault(key, SchemaMap(config))  # dict.setdefault is atomic
    return found
