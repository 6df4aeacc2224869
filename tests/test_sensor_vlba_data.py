"""VlbaDataSensor on a real directory tree: one dispatch per project once its files are complete."""

import os
import shutil
import tempfile
import time

from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase
from vlba_data_sensor import VlbaDataSensor, obs_code_of

TRIGGER_REF = "workspaces.vlba_data"


def idifits(folder, obs_code, number, size=100, job=None, stamp="111228T171125"):
    """Write a FITS-IDI file named as the correlator names it; return its name.

    ``VLBA_<OBSCODE>_<job>_BIN0_SRC0_<n>_<YYMMDDTHHMMSS>.idifits``; the job defaults to the
    obscode in lower case (``bl178ac``), numbering starts at 0.
    """
    name = "VLBA_%s_%s_BIN0_SRC0_%d_%s.idifits" % (obs_code, job or obs_code.lower(), number, stamp)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(b"\0" * size)
    return name


class VlbaDataSensorTest(SchemaCheckedSensorTestCase):
    """The sensor over a temporary VLBA correlator tree."""

    sensor_cls = VlbaDataSensor

    def setUp(self):
        super(VlbaDataSensorTest, self).setUp()
        self._known_refs[TRIGGER_REF] = TRIGGER_REF
        self.root = tempfile.mkdtemp(prefix="vlba-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.offset = 0.0

    def sensor(self, **config):
        """A new sensor on the shared service, watching ``self.root``."""
        values = {"vlba_data_directory": self.root, "vlba_settle_seconds": 60}
        values.update(config)
        sensor = self.get_sensor_instance(config=values)
        sensor.clock = lambda: time.time() + self.offset
        return sensor

    def test_a_project_is_dispatched_once_all_its_files_settled(self):
        sensor = self.sensor()
        sensor.setup()
        sensor.poll()
        folder = os.path.join(self.root, "TL015A")
        names = [idifits(folder, "TL015A", n, size=1000) for n in (0, 1, 2)]
        with open(os.path.join(folder, "notes.txt"), "w") as handle:
            handle.write("not FITS-IDI")
        sensor.poll()
        self.offset = 30
        growing = os.path.join(folder, idifits(folder, "TL015A", 3, size=5))
        sensor.poll()
        self.assertEqual(self.payloads(), [], "dispatched before the files settled")
        self.offset = 61
        with open(growing, "ab") as handle:  # still being written: the project waits
            handle.write(b"\0" * 5)
        sensor.poll()
        self.assertEqual(self.payloads(), [], "dispatched while a file was growing")
        sensor.poll()
        sensor.poll()
        [payload] = self.payloads()
        self.assertEqual(payload["project_code"], "TL015A")
        self.assertEqual(payload["directory"], folder)
        self.assertEqual(sorted(payload["files"]), sorted(names + [
            "VLBA_TL015A_tl015a_BIN0_SRC0_3_111228T171125.idifits"]))
        self.assertEqual(payload["directories"], [folder])
        self.assertEqual(payload["file_count"], 4)
        self.assertEqual(payload["total_bytes"], 3010)

    def test_projects_are_separate_and_restart_safe(self):
        first = self.sensor(vlba_settle_seconds=0)
        first.poll()
        idifits(os.path.join(self.root, "BD179I0"), "BD179I0", 1)
        first.poll()
        idifits(os.path.join(self.root, "TL015A"), "TL015A", 1)
        second = self.sensor(vlba_settle_seconds=0)
        second.poll()
        second.poll()
        self.assertEqual([p["project_code"] for p in self.payloads()], ["BD179I0", "TL015A"])

    def test_ready_marker(self):
        sensor = self.sensor(vlba_settle_seconds=0, vlba_ready_marker="CORRELATION_DONE")
        sensor.poll()
        folder = os.path.join(self.root, "TL015A")
        idifits(folder, "TL015A", 1)
        sensor.poll()
        self.assertEqual(self.payloads(), [])
        open(os.path.join(folder, "CORRELATION_DONE"), "w").close()
        sensor.poll()
        self.assertEqual([p["file_count"] for p in self.payloads()], [1])

    def test_datastore_outage_replays_nothing(self):
        idifits(os.path.join(self.root, "OLD01"), "OLD01", 1)
        self.sensor(vlba_settle_seconds=0).poll()
        restarted = self.sensor(vlba_settle_seconds=0)
        with DatastoreOutage(self.sensor_service):
            restarted.poll()
        restarted.poll()
        self.assertEqual(self.payloads(), [])

    def test_missing_tree_and_bad_config_are_logged_not_raised(self):
        shutil.rmtree(self.root)
        sensor = self.sensor()
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            sensor.poll()
        self.assertEqual(len(logs.output), 1)
        with self.assertLogs(level="ERROR") as logs:
            bad = self.sensor(vlba_data_directory="relative/vlba")
        self.assertIn("vlba_data_directory", logs.output[0])
        bad.poll()

    def test_project_comes_from_the_file_name_in_a_month_project_layout(self):
        sensor = self.sensor(vlba_settle_seconds=0)
        sensor.poll()
        folder = os.path.join(self.root, "dec11", "bl178ac")
        first = idifits(folder, "BL178AC", 0)
        gated = os.path.join(self.root, "aug15", "bd179i0")
        second = idifits(gated, "BD179I0", 0, job="gatedi0", stamp="150824T163822")
        self.assertEqual(first, "VLBA_BL178AC_bl178ac_BIN0_SRC0_0_111228T171125.idifits")
        self.assertEqual(second, "VLBA_BD179I0_gatedi0_BIN0_SRC0_0_150824T163822.idifits")
        sensor.poll()
        payloads = self.payloads()
        self.assertEqual([p["project_code"] for p in payloads], ["BD179I0", "BL178AC"])
        self.assertEqual([p["directory"] for p in payloads], [gated, folder])
        self.assertEqual([p["files"] for p in payloads], [[second], [first]])

    def test_a_project_in_several_folders_is_one_batch_once_all_settled(self):
        sensor = self.sensor()
        sensor.poll()
        december = os.path.join(self.root, "dec11", "bl178ac")
        january = os.path.join(self.root, "jan12", "bl178ac")
        idifits(december, "BL178AC", 0, size=10)
        idifits(december, "BL178AC", 1, size=10)
        sensor.poll()
        self.offset = 61
        later = idifits(january, "BL178AC", 2, size=10)  # the same project, still arriving
        sensor.poll()
        self.assertEqual(self.payloads(), [], "half a project was dispatched")
        self.offset = 200
        sensor.poll()
        sensor.poll()
        [payload] = self.payloads()
        self.assertEqual(payload["project_code"], "BL178AC")
        self.assertEqual(payload["directories"], [december, january])
        self.assertEqual(payload["directory"], self.root)
        self.assertEqual(sorted(payload["files"]), [
            "dec11/bl178ac/VLBA_BL178AC_bl178ac_BIN0_SRC0_0_111228T171125.idifits",
            "dec11/bl178ac/VLBA_BL178AC_bl178ac_BIN0_SRC0_1_111228T171125.idifits",
            "jan12/bl178ac/" + later])
        self.assertEqual((payload["file_count"], payload["total_bytes"]), (3, 30))

    def test_a_file_name_that_does_not_parse_is_logged_once_and_skipped(self):
        sensor = self.sensor(vlba_settle_seconds=0)
        sensor.poll()
        folder = os.path.join(self.root, "dec11", "bl178ac")
        odd = os.path.join(folder, "VLBA_notes.idifits")
        os.makedirs(folder)
        open(odd, "w").close()
        idifits(folder, "BL178AC", 0)
        with self.assertLogs(level="WARNING") as logs:
            sensor.poll()
            sensor.poll()
            sensor.poll()
        self.assertEqual(len([line for line in logs.output if odd in line]), 1, logs.output)
        self.assertEqual([p["file_count"] for p in self.payloads()], [1])
        restarted = self.sensor(vlba_settle_seconds=0)
        restarted.poll()
        self.assertEqual(len(self.payloads()), 1)


def test_the_obscode_is_the_second_token_whatever_the_job_name():
    cases = {
        "VLBA_BL178AC_bl178ac_BIN0_SRC0_0_111228T171125.idifits": "BL178AC",
        "VLBA_BD179I0_gatedi0_BIN0_SRC0_0_150824T163822.idifits": "BD179I0",
        "VLBA_TL015A_inbeam1i0_BIN0_SRC0_12_201020T164655.idifits": "TL015A",
        "VLBA_tl015a_pass_2_BIN0_SRC0_0_201020T164655.idifits": "TL015A",
        "VLBA_notes.idifits": None,
        "VLBA_TL015A_BIN0_SRC0_0_201020T164655.idifits": None,
        "VLBA_TL015A_x_BIN0_SRC0_0_2010.idifits": None,
    }
    assert {name: obs_code_of(name) for name in cases} == cases
