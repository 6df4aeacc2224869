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
              "http://", "http://[::1", "http://host:port", "https://user:pw@"]


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


class PreflightUrlTest(BaseActionTestCase):
    """workspaces.preflight names a wrong Workspaces URL's key and shows it, password masked."""

    from preflight import PreflightAction as action_cls

    def test_a_malformed_url_is_an_item_showing_the_value_not_a_crash(self):
        config = {"capability_service_url": "http://reader:s3cret@[::1",
                  "workflow_service_url": "ftp://workspaces.example.edu"}
        ok, result = self.get_action_instance(config=config).run()
        self.assertFalse(ok)
        items = {item["item"]: item for item in result["items"] if item["area"] == "workspaces"}
        self.assertEqual(["capability_service_url", "workflow_service_url"], sorted(items))
        capability = items["capability_service_url"]
        self.assertEqual("error", capability["status"])
        self.assertIn("('http://reader:***@[::1') is not a valid URL", capability["detail"])
        self.assertIn("('ftp://workspaces.example.edu') has the scheme ftp://",
                      items["workflow_service_url"]["detail"])
        self.assertNotIn("s3cret", str(result))


def test_the_url_check_says_what_is_wrong_in_words():
    from workspaces_pack.core.urls import mask_password, url_problem

    assert url_problem("https://workspaces.example.edu:3457/base") is None
    assert url_problem("http://[::1]:8080") is None
    assert url_problem(None) == "is not set"
    assert url_problem("  ") == "is blank"
    assert url_problem("workspaces.example.edu") == "has no scheme (http:// or https://)"
    assert url_problem("http://") == "has no host"
    assert url_problem("ftp://host") == "has the scheme ftp:// where http:// or https:// is needed"
    assert url_problem("http://[::1").startswith("is not a valid URL (")
    assert url_problem("http://host:port").startswith("is not a valid URL (")
    assert mask_password("https://user:p@ss:w@host/x") == "https://user:***@host/x"
    assert mask_password("http://host/a:b@c") == "http://host/a:b@c"
