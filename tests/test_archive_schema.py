"""The schema map: every archive table and column named by the pack config, checked against a DB.

The defaults are the published NRAO/ALMA names (config.schema.yaml's defaults); a site renames any
of them in the pack config, a malformed name fails naming its config key, and ``inspect_tables``
reports a missing table or column, or a uid column that is not text, naming the config key to fix.
"""

import os
import shutil
import tempfile
import unittest

import sqlalchemy as sa
import yaml

from workspaces_pack.archive.schema import ALMA, METADATA, PARTS, TEXT, TIME, SchemaMap, schema_map
from workspaces_pack.archive.table_checks import inspect_tables
from workspaces_pack.core.checks import MISSING, OK, WRONG_TYPE
from workspaces_pack.core.config import ConfigError, PackConfig, config_schema_path


def _names(specs):
    return {spec.role: (spec.display, {c.role: c.name for c in spec.columns.values()})
            for spec in specs}


class TestDefaults(unittest.TestCase):
    """With an empty config the map holds the published names, in lower case."""

    def test_alma_tables_are_the_published_views_and_columns(self):
        names = _names(SchemaMap({}).tables(ALMA))
        self.assertEqual(names["execblock"], ("aqua_v_execblock", {
            "eb_uid": "execblockuid", "sched_block_uid": "schedblockuid",
            "project_code": "obsprojectcode", "qa0_status": "qa0status", "end_time": "endtime"}))
        self.assertEqual(names["sched_block_status"], ("sched_block_status", {
            "sched_block_uid": "domain_entity_id",
            "mous_uid": "parent_obs_unit_set_status_id"}))
        self.assertEqual(names["delivery"], ("asa_delivery_status", {
            "delivery_id": "delivery_id", "delivery_name": "delivery_name",
            "qa2_passed": "qa2_passed", "delivered_at": "release_date"}))
        self.assertEqual(names["delivery_asdm"], ("asa_delivery_asdm_ous", {
            "asdm_uid": "asdm_uid", "deliverable_name": "deliverable_name"}))
        self.assertEqual(names["product_files"], ("asa_product_files", {
            "mous_uid": "asa_ous_id", "file_class": "file_class",
            "ngas_file_id": "ngas_file_id"}))

    def test_metadata_table_matches_ebs_through_ngas_fileset_id(self):
        names = _names(SchemaMap({}).tables(METADATA))
        self.assertEqual(names, {"execution_blocks": ("execution_blocks", {
            "eb_uid": "ngas_fileset_id", "telescope": "telescope",
            "calibration_status": "calibration_status"})})

    def test_uid_columns_must_be_text_and_windows_time(self):
        mapping = SchemaMap({})
        self.assertEqual(mapping.spec("execblock").column("eb_uid").kind, TEXT)
        self.assertEqual(mapping.spec("execblock").column("end_time").kind, TIME)
        self.assertEqual(mapping.spec("delivery").column("delivered_at").kind, TIME)
        self.assertEqual([c.name for c in mapping.spec("execution_blocks").text_columns()],
                         ["ngas_fileset_id", "telescope", "calibration_status"])

    def test_each_part_names_the_tables_it_uses(self):
        mapping = SchemaMap({})
        self.assertEqual([spec.name for spec in mapping.specs_for("alma_asdm_sensor")],
                         ["aqua_v_execblock", "sched_block_status"])
        self.assertEqual([spec.name for spec in mapping.specs_for("alma_calibration_sensor")],
                         ["asa_delivery_status", "asa_delivery_asdm_ous", "asa_product_files"])
        self.assertEqual([spec.name for spec in
                          mapping.specs_for("mark_asdm_not_calibrateable")], ["execution_blocks"])
        self.assertEqual([spec.name for spec in mapping.specs_for("alma_reconcile", ALMA)],
                         ["aqua_v_execblock", "sched_block_status"])
        self.assertEqual([spec.name for spec in mapping.specs_for("alma_reconcile", METADATA)],
                         ["execution_blocks"])
        every = set(spec.role for spec in mapping.tables(ALMA) + mapping.tables(METADATA))
        self.assertEqual(set(role for roles in PARTS.values() for role in roles), every)

    def test_config_keys_are_named_per_column(self):
        mapping = SchemaMap({})
        self.assertEqual(mapping.spec("execblock").column("project_code").config_key,
                         "alma_execblock_view.project_code")
        self.assertEqual(mapping.spec("delivery").column("delivered_at").config_key,
                         "alma_delivery_time_column")
        self.assertEqual(mapping.spec("execution_blocks").column("eb_uid").config_key,
                         "execution_blocks_uid_column")


class TestConfiguredNames(unittest.TestCase):
    """A site's names replace the defaults, one by one."""

    def test_one_column_renamed_keeps_the_other_defaults(self):
        mapping = SchemaMap({"alma_execblock_view": {"project_code": "PROJECTCODE"}})
        columns = _names(mapping.tables(ALMA))["execblock"][1]
        self.assertEqual(columns["project_code"], "projectcode")
        self.assertEqual(columns["eb_uid"], "execblockuid")

    def test_flat_keys(self):
        mapping = SchemaMap({"alma_delivery_time_column": "DELIVERY_TIMESTAMP",
                             "execution_blocks_uid_column": "alma_uid"})
        self.assertEqual(mapping.spec("delivery").column("delivered_at").name,
                         "delivery_timestamp")
        self.assertEqual(mapping.spec("execution_blocks").column("eb_uid").name, "alma_uid")

    def test_prefix_is_the_schema_of_every_alma_table_only(self):
        mapping = SchemaMap({"alma_table_prefix": "ALMA."})
        self.assertEqual({spec.schema for spec in mapping.tables(ALMA)}, {"alma"})
        self.assertEqual(mapping.spec("execblock").display, "alma.aqua_v_execblock")
        self.assertIsNone(mapping.spec("execution_blocks").schema)

    def test_schema_qualified_execution_blocks_table(self):
        spec = SchemaMap({"execution_blocks_table": "archive.execution_blocks"}).spec(
            "execution_blocks")
        self.assertEqual((spec.schema, spec.name), ("archive", "execution_blocks"))

    def test_sqlalchemy_table_columns_are_keyed_by_role(self):
        table = SchemaMap({"alma_table_prefix": "ALMA"}).table("execblock")
        self.assertEqual(table.fullname, "alma.aqua_v_execblock")
        self.assertEqual(table.c.project_code.name, "obsprojectcode")

    def test_same_names_give_the_same_map(self):
        self.assertIs(schema_map({"alma_table_prefix": "ALMA"}),
                      schema_map({"alma_table_prefix": "ALMA"}))
        self.assertIsNot(schema_map({}), schema_map({"alma_table_prefix": "ALMA"}))

    def test_every_object_key_default_is_in_the_schema_file(self):
        with open(config_schema_path()) as handle:
            schema = yaml.safe_load(handle)
        for key in ("alma_execblock_view", "alma_sched_block_status_table",
                    "alma_delivery_status_table", "alma_delivery_asdm_table",
                    "alma_product_files_table", "execution_blocks_columns"):
            spec = schema[key]
            self.assertEqual(spec["type"], "object")
            self.assertIs(spec["additionalProperties"], False)
            defaults = PackConfig({}).get(key)
            self.assertEqual(sorted(defaults), sorted(spec["properties"]))
            self.assertTrue(all(defaults.values()), key)


class TestMalformedNames(unittest.TestCase):
    """A name that is not an identifier fails at once, naming its config key."""

    def assert_error(self, config, *words):
        with self.assertRaises(ConfigError) as caught:
            SchemaMap(config)
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_column_with_a_space(self):
        self.assert_error({"alma_execblock_view": {"end_time": "END TIME"}},
                          "alma_execblock_view.end_time", "'END TIME'")

    def test_sql_in_a_table_name(self):
        self.assert_error({"alma_product_files_table": {"table": "x; DROP TABLE y"}},
                          "alma_product_files_table.table")

    def test_bad_prefix(self):
        self.assert_error({"alma_table_prefix": "ALMA-1"}, "alma_table_prefix")

    def test_three_part_execution_blocks_table(self):
        self.assert_error({"execution_blocks_table": "a.b.c"}, "execution_blocks_table")

    def test_table_key_that_is_not_a_mapping(self):
        self.assert_error({"alma_execblock_view": "AQUA_V_EXECBLOCK"}, "alma_execblock_view",
                          "mapping")

    def test_uid_column(self):
        self.assert_error({"execution_blocks_uid_column": "1abc"}, "execution_blocks_uid_column")


class TestCheckTables(unittest.TestCase):
    """``inspect_tables`` finds a missing table, a missing column and a non-text uid column."""

    def setUp(self):
        folder = tempfile.mkdtemp(prefix="schema-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.engine = sa.create_engine("sqlite:///" + os.path.join(folder, "db.sqlite"))
        self.addCleanup(self.engine.dispose)

    def create(self, ddl):
        with self.engine.begin() as connection:
            for statement in ddl:
                connection.execute(sa.text(statement))

    def findings(self, config):
        specs = SchemaMap(config).tables(METADATA)
        with self.engine.connect() as connection:
            return [(f.item, f.config_key, f.status) for f in inspect_tables(connection, specs)]

    def test_published_execution_blocks_is_ok(self):
        self.create(["CREATE TABLE execution_blocks (execution_block_id INTEGER PRIMARY KEY, "
                     "ost_exec_block_id INTEGER, ngas_fileset_id VARCHAR, "
                     "telescope VARCHAR NOT NULL, calibration_status VARCHAR NOT NULL)"])
        self.assertEqual({status for _, _, status in self.findings({})}, {OK})

    def test_missing_table(self):
        self.assertEqual(self.findings({}), [
            ("execution_blocks", "execution_blocks_table", MISSING)])

    def test_missing_column_and_integer_uid_column(self):
        self.create(["CREATE TABLE execution_blocks (ost_exec_block_id INTEGER, "
                     "telescope VARCHAR, calibration_status VARCHAR)"])
        self.assertIn(("execution_blocks.ngas_fileset_id", "execution_blocks_uid_column",
                       MISSING), self.findings({}))
        self.assertIn(("execution_blocks.ost_exec_block_id", "execution_blocks_uid_column",
                       WRONG_TYPE),
                      self.findings({"execution_blocks_uid_column": "ost_exec_block_id"}))

    def test_upper_case_config_names_find_lower_case_tables(self):
        self.create(["CREATE TABLE aqua_v_execblock (execblockuid VARCHAR, schedblockuid VARCHAR, "
                     "obsprojectcode VARCHAR, qa0status VARCHAR, endtime DATETIME)"])
        spec = SchemaMap({}).spec("execblock")
        with self.engine.connect() as connection:
            found = inspect_tables(connection, [spec])
        self.assertEqual([f.status for f in found], [OK] * 6)
        self.assertIn("alma_execblock_view.end_time", str(found[-1]))

    def test_time_column_that_is_text_is_wrong(self):
        self.create(["CREATE TABLE aqua_v_execblock (execblockuid VARCHAR, schedblockuid VARCHAR, "
                     "obsprojectcode VARCHAR, qa0status VARCHAR, endtime VARCHAR)"])
        with self.engine.connect() as connection:
            found = inspect_tables(connection, [SchemaMap({}).spec("execblock")])
        self.assertEqual([(f.item, f.status) for f in found if f.status != OK],
                         [("aqua_v_execblock.endtime", WRONG_TYPE)])
