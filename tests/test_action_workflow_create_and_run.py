"""workspaces.workflow_create_and_run against the Workspaces emulator over real HTTP."""

import os

from pack_test_support import workspaces_config
from st2tests.base import BaseActionTestCase

from workflow_create_and_run import WorkflowCreateAndRunAction
from workspaces_devkit.emulator import WorkspacesEmulator


class WorkflowCreateAndRunTest(BaseActionTestCase):
    """Workflow requests, with file attachments."""

    action_cls = WorkflowCreateAndRunAction

    def setUp(self):
        super(WorkflowCreateAndRunTest, self).setUp()
        self.emulator = WorkspacesEmulator(submitted_seconds=0.02, executing_seconds=0.1)
        self.url = self.emulator.start()
        self.addCleanup(self.emulator.stop)
        self.action = self.get_action_instance(config=workspaces_config(self.url))

    def _file(self, name, content):
        import tempfile
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(content)
        return path

    def test_uploads_files_then_submits_and_waits(self):
        first = self._file("metadata.json", b'{"telescope": "VLBA"}')
        second = self._file("VLBA_TL015A_tl015arecor_BIN0_SRC0_1_201020T164655.idifits",
                            b"x" * 2048)
        ok, result = self.action.run(workflow_name="ingest_obs", arguments={"telescope": "VLBA"},
                                 files=[first, second], wait=True, poll_interval=0.02)
        self.assertTrue(ok, result)
        self.assertEqual(result["state"], "Complete")
        self.assertEqual(result["files"], ["metadata.json", os.path.basename(second)])
        [request] = self.emulator.requests("workflow")
        self.assertEqual(request["file_sizes"][os.path.basename(second)], 2048)
        self.assertEqual(request["argument"], {"telescope": "VLBA"})
        paths = [e["path"] for e in self.emulator.log]
        self.assertTrue(paths.index(paths[-1]) > 2)
        self.assertTrue(any(p.endswith("/submit") for p in paths))
        self.assertLess(max(i for i, p in enumerate(paths) if "/files/" in p),
                        min(i for i, p in enumerate(paths) if p.endswith("/submit")))

    def test_missing_file_fails_before_anything_is_created(self):
        status, result = self.action.run(workflow_name="ingest_obs", files=["/no/such/file.fits"])
        self.assertFalse(status)
        self.assertEqual(result["parameter"], "files")
        self.assertIn("/no/such/file.fits", result["error"])
        self.assertEqual(self.emulator.requests(), [])

    def test_unknown_workflow_is_a_404(self):
        status, result = self.action.run(workflow_name="nope")
        self.assertFalse(status)
        self.assertEqual(result["status"], 404)

    def test_failed_workflow_fails_the_action(self):
        status, result = self.action.run(workflow_name="ingest_obs", wait=True,
                                         poll_interval=0.02,
                                         arguments={"emulator_outcome": "Failed"})
        self.assertFalse(status)
        self.assertEqual(result["state"], "Failed")
        self.assertIsNotNone(result["request_id"])

    def test_503_on_upload_is_retried_because_put_is_idempotent(self):
        from workspaces_devkit.emulator import ApiError

        path = self._file("a.txt", b"abc")
        original = self.emulator.handle
        failures = {"left": 1}

        def flaky_put(method, path_, body):
            if method == "PUT" and failures["left"]:
                failures["left"] -= 1
                raise ApiError(503, "busy")
            return original(method, path_, body)
        self.emulator.handle = flaky_put
        ok, result = self.action.run(workflow_name="ingest_obs", files=[path])
        self.assertTrue(ok, result)
        self.assertTrue(result["submitted"])
        self.assertEqual([e["status"] for e in self.emulator.log if e["method"] == "PUT"],
                         [503, 200])
