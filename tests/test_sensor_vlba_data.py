"""VlbaDataSensor on a real directory tree: one dispatch per project once its files are complete."""

import os
import shutil
import tempfile
import time

from pack_test_support import DatastoreOutage, SchemaCheckedSensorTestCase
from vlba_data_sensor import VlbaDataSensor

TRIGGER_REF = "workspaces.vlba_data"


def idifits(folder, obs_code, number, size=100):
    """Write a FITS-IDI-named file of ``size`` bytes; return its name."""
    name = "VLBA_%s_%srecor_BIN0_SRC0_%d_201020T164655.idifits" % (
        obs_code, obs_code.lower(), number)
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
        names = [idifits(folder, "TL015A", n, size=1000) for n in (1, 2, 3)]
        with open(os.path.join(folder, "notes.txt"), "w") as handle:
            handle.write("not FITS-IDI")
        sensor.poll()
        self.offset = 30
        growing = os.path.join(folder, idifits(folder, "TL015A", 4, size=5))
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
            "VLBA_TL015A_tl015arecor_BIN0_SRC0_4_201020T164655.idifits"]))
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
