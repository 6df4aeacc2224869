"""No silent endpoint defaults: a Workspaces URL that is empty, absent or without a scheme fails
the action before any request, naming the config key (issue 19; the localhost URLs belong to the
local runner's demo config only)."""

from unittest import mock

import requests
from st2tests.base import BaseActionTestCase

from capability_create_and_run import CapabilityCreateAndRunAction
from workflow_create_and_run import WorkflowCreateAndRunAction

GOOD = "http://workspaces.example.edu:3457"
BAD_VALUES = [None, "", "   ", "workspaces.example.edu:3457", "localhost", "ftp://host/x",
              "http://"]


class _UrlCases(object):
    """Shared cases; subclasses name the action and its parameters."""

    parameters = {}

    def run_with(self, **urls):
        """Run the action with these URL keys set; return its result; no request may leave."""
        config = {"capability_service_url": GOOD, "workflow_service_url": GOOD}
        config.update(urls)
        config = {key: value for key, value in config.items() if value is not None}
        action = self.get_action_instance(config=config)
        with mock.patch.object(requests.Session, "send",
                               side_effect=AssertionError("a request was sent")) as send:
            result = action.run(**self.parameters)
        self.assertEqual(0, send.call_count)
        return result

    def test_an_empty_absent_or_scheme_less_url_fails_naming_the_key(self):
        for key in ("capability_service_url", "workflow_service_url"):
            for value in BAD_VALUES:
                ok, result = self.run_with(**{key: value})
                self.assertFalse(ok)
                self.assertIn("pack config key %r" % key, result["error"], (key, value))

    def test_the_config_schema_gives_no_url_a_default(self):
        from workspaces_pack.core.config import PackConfig

        self.assertIsNone(PackConfig({}).get("capability_service_url"))
        self.assertIsNone(PackConfig({}).get("workflow_service_url"))


class CapabilityUrlTest(_UrlCases, BaseActionTestCase):
    """workspaces.capability_create_and_run."""

    action_cls = CapabilityCreateAndRunAction
    parameters = {"capability_name": "null"}


class WorkflowUrlTest(_UrlCases, BaseActionTestCase):
    """workspaces.workflow_create_and_run."""

    action_cls = WorkflowCreateAndRunAction
    parameters = {"workflow_name": "ingest_obs"}
