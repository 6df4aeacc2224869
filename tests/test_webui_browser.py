"""The real st2web (StackStorm's web UI) in headless Chromium, against ``workspaces-local run``.

What a rule author does, end to end: ``workspaces-local run --api-htpasswd ... --webui DIR`` on
StackStorm's own services (the real tier: the test skips where they are not installed), on a
copy of the pack (sample ALMA archive in SQLite, Workspaces emulator), then in the browser: log in,
open the rules page and see the pack's rules, create a rule on ``workspaces.alma_asdm`` in the rule
editor, see it written to the rules folder and fired by StackStorm's rules engine, and see its
execution in the History.

Needs what CI cannot have, so it skips saying which is missing:
- ``ST2WEB_DIR``: an st2web build (docs/WEBUI.md: clone StackStorm/st2web,
  ``yarn install``, ``npx gulp production``, then ``ST2WEB_DIR=<clone>/build``);
- Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``);
- ``selenium`` (requirements-tests.txt).

With ``WEBUI_SCREENSHOTS=DIR`` it saves docs/WEBUI.md's screenshots there. It prints how long the
runner took to take a rule saved in the UI (not asserted: figures are not test conditions).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
import sqlalchemy as sa
import yaml

from workspaces_devkit import archive_fixtures
from workspaces_devkit.demo import COPY_IGNORE
from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.st2_in_process import missing
from workspaces_devkit.st2_in_process.htpasswd import add_user

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ST2WEB_DIR = os.environ.get("ST2WEB_DIR", "").strip()
SCREENSHOTS = os.environ.get("WEBUI_SCREENSHOTS", "").strip()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,900"]
USER = "st2admin"
PASSWORD = "rehearsal password"
NEW_RULE = "alma_asdm_project_2019"
WAIT = 30


def _missing():
    if missing() is not None:
        return "real tier (devkit/bin/test-st2): %s" % missing()
    if not ST2WEB_DIR:
        return ("ST2WEB_DIR is not set: build st2web (docs/WEBUI.md; it is not "
                "on a registry, so CI cannot have it) and set ST2WEB_DIR to its build/ directory")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-tests.txt)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "%s is missing (Debian: apt-get install chromium chromium-driver)" % path
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=_missing() or "")]


class RunnerProcess(object):
    """``workspaces-local run`` in a subprocess; its output lines kept with their arrival time."""

    def __init__(self, argv):
        self.lines = []
        self._changed = threading.Condition()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(PACK_DIR, "devkit"), os.path.join(PACK_DIR, "actions", "lib")]))
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        universal_newlines=True, bufsize=1, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()

    def wait_for(self, pattern, start=0, timeout=WAIT):
        """Return ``(arrival time, match)`` of the first line from ``start`` matching."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for arrived, line in self.lines[start:]:
                    match = regex.search(line)
                    if match:
                        return arrived, match
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError("no line matching %r; the runner said:\n%s" % (
                        pattern, "\n".join(line for _, line in self.lines)))
                self._changed.wait(min(left, 0.2))

    def token(self):
        """A token of the test user, from the runner's auth route."""
        answer = requests.post(self.url + "auth/tokens", auth=(USER, PASSWORD), timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    def wait_until_listed(self, rule_ref, token, timeout=WAIT):
        """Poll the runner's API until it lists ``rule_ref``; return that moment."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = requests.get(self.url + "api/v1/rules/" + rule_ref,
                                  headers={"X-Auth-Token": token}, timeout=10)
            if answer.status_code == 200:
                return time.monotonic()
            time.sleep(0.01)
        raise AssertionError("the runner does not list %s after %d s" % (rule_ref, timeout))

    def stop(self):
        """Interrupt the runner (as Ctrl-C does) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The runner with API and web UI over a pack copy, sample archive and emulator."""
    workdir = tmp_path_factory.mktemp("webui-browser")
    emulator = WorkspacesEmulator(submitted_seconds=0.05, executing_seconds=0.3)
    emulator_url = emulator.start()
    alma_url = "sqlite:///%s" % (workdir / "alma.sqlite")
    metadata_url = "sqlite:///%s" % (workdir / "metadata.sqlite")
    alma = sa.create_engine(alma_url)
    archive_fixtures.load_sample(alma, sa.create_engine(metadata_url))
    pack = str(workdir / "pack")
    shutil.copytree(PACK_DIR, pack, ignore=COPY_IGNORE)
    config = str(workdir / "workspaces.yaml")
    with open(config, "w") as handle:
        yaml.safe_dump({"capability_service_url": emulator_url,
                        "workflow_service_url": emulator_url, "retry_backoff_seconds": 0.1,
                        "alma_archive_db_url": alma_url,
                        "archive_metadata_db_url": metadata_url,
                        "vlba_data_directory": str(workdir / "vlba")}, handle)
    htpasswd = str(workdir / "htpasswd")
    add_user(htpasswd, USER, PASSWORD, rounds=4)
    runner = RunnerProcess([
        sys.executable, "-m", "workspaces_devkit.st2_in_process", "run", "--pack-dir", pack,
        "--config", config, "--state-dir", str(workdir / "state"), "--poll-interval", "1",
        "--api-htpasswd", htpasswd, "--api-port", "0", "--webui", ST2WEB_DIR])
    try:
        _, match = runner.wait_for(r"st2 web UI \(st2web build in .*\) at (http://\S+)")
        runner.url = match.group(1)
        runner.pack = pack
        runner.alma = alma
        yield runner
    finally:
        runner.stop()
        emulator.stop()
        alma.dispose()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven through chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="webui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + ["--user-data-dir=" + profile]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def marked(name):
    """CSS selector of st2web's ``data-test`` markers (as its own functional tests select)."""
    return "[data-test~=\"%s\"]" % name


def wait_css(driver, selector, timeout=WAIT):
    """Wait until an element matching ``selector`` is shown; return it."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout).until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, selector)))
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError("nothing matching %s on %s within %d s; the page shows:\n%s"
                             % (selector, driver.current_url, timeout, body))


def fill(driver, selector, text, choose=False):
    """Type ``text`` into the field matching ``selector`` (React sees each key).

    ``choose``: the field is one of st2web's comboboxes, which take the value when left (Tab).
    """
    from selenium.webdriver.common.keys import Keys

    field = wait_css(driver, selector)
    field.clear()
    field.send_keys(text, *([Keys.TAB] if choose else []))
    return field


def screenshot(driver, name):
    """Save the page as ``WEBUI_SCREENSHOTS/name`` when screenshots are asked for."""
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SCREENSHOTS, name))


@pytest.fixture(scope="module")
def logged_in(stack, browser):
    """The browser logged in through st2web's login form."""
    from selenium.webdriver.common.by import By

    browser.get(stack.url)
    fill(browser, "input[name=username]", USER)
    fill(browser, "input[name=password]", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_css(browser, "header a[href='#/rules']")
    return browser


def test_the_rules_page_lists_the_packs_rules(stack, logged_in):
    logged_in.get(stack.url + "#/rules")
    names = sorted(os.path.splitext(name)[0]
                   for name in os.listdir(os.path.join(stack.pack, "rules")))
    for name in names:
        wait_css(logged_in, marked("rule:workspaces.%s" % name))
    details = wait_css(logged_in, marked("details"))
    assert "workspaces." in details.text


def test_a_rule_created_in_the_ui_goes_live_fires_and_shows_in_history(stack, logged_in):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = logged_in
    driver.get(stack.url + "#/rules/new")
    popup = marked("rule_create_popup")
    fill(driver, "%s %s" % (popup, marked("field:name")), NEW_RULE)
    fill(driver, "%s %s" % (popup, marked("field:description")),
         "New EBs of cycle-2019 projects also run the null capability")
    fill(driver, "%s %s" % (popup, marked("field:pack")), "workspaces", choose=True)
    trigger_form = "%s %s" % (popup, marked("rule_create_trigger_form"))
    fill(driver, "%s %s" % (trigger_form, marked("field:type")), "workspaces.alma_asdm",
         choose=True)
    fill(driver, "%s %s" % (trigger_form, marked("field:qa0_statuses")), "Pass, SemiPass")
    driver.find_element(By.CSS_SELECTOR, "%s input[value='Add criteria']" % popup).click()
    fill(driver, "%s %s" % (popup, marked("field:Key")), "trigger.project_code", choose=True)
    Select(wait_css(driver, "%s %s" % (popup, marked("field:Type")))).select_by_value(
        "matchwildcard")
    fill(driver, "%s %s" % (popup, marked("field:Pattern")), "2019.1.*")
    action_form = "%s %s" % (popup, marked("rule_create_action_form"))
    fill(driver, "%s %s" % (action_form, marked("field:ref")),
         "workspaces.capability_create_and_run", choose=True)
    fill(driver, "%s %s" % (action_form, marked("field:capability_name")), "null")
    driver.execute_script("document.querySelector(arguments[0]).scrollTop = 0",
                          "%s .st2-panel__scroller" % popup)
    screenshot(driver, "webui-rule-editor.png")

    token = stack.token()
    start = len(stack.lines)
    driver.find_element(By.CSS_SELECTOR, marked("rule_create_submit")).click()
    saved = time.monotonic()
    listed = stack.wait_until_listed("workspaces." + NEW_RULE, token)
    said, _ = stack.wait_for(r"reload: rules registered again \(.*%s\.yaml" % NEW_RULE,
                             start=start)
    print("\nrule saved in the UI -> listed by the API: %.2f s, its file registered: %.2f s"
          % (listed - saved, said - saved))
    with open(os.path.join(stack.pack, "rules", NEW_RULE + ".yaml")) as handle:
        written = yaml.safe_load(handle)
    assert written["trigger"] == {"type": "workspaces.alma_asdm",
                                  "parameters": {"qa0_statuses": ["Pass", "SemiPass"]}}
    assert written["criteria"] == {"trigger.project_code": {"type": "matchwildcard",
                                                            "pattern": "2019.1.*"}}
    assert written["action"]["parameters"]["capability_name"] == "null"

    driver.get(stack.url + "#/history")
    wait_css(driver, marked("execution"))
    assert _cards_of(driver, NEW_RULE) == []
    # New EBs arrive in the archive: the cycle-2019 one fires the new rule, the other does not,
    # and the open History page shows the execution without a reload (st2web listens on /stream).
    start = len(stack.lines)
    now = archive_fixtures.utc_now()
    archive_fixtures.add_execution_block(
        stack.alma, "uid://A002/Xd0b1e5/X2017", "2017.1.00886.L", "uid://A001/X1296/X2017", now)
    archive_fixtures.add_execution_block(
        stack.alma, "uid://A002/Xd0b1e5/X2019", "2019.1.01184.S", "uid://A001/X1296/X2019", now)
    inserted = time.monotonic()
    fired, _ = stack.wait_for(r"action\s+workspaces\.capability_create_and_run \w+ "
                              r"\(workspaces\.%s\)" % NEW_RULE, start=start)
    print("new EB in the archive -> the UI's rule fired: %.2f s (1 s poll interval)"
          % (fired - inserted))
    deadline = time.monotonic() + WAIT
    while not _cards_of(driver, NEW_RULE) and time.monotonic() < deadline:
        time.sleep(0.2)
    cards = _cards_of(driver, NEW_RULE)
    assert len(cards) == 1, "the open History did not show the rule's execution"
    stack.wait_for(r"action\s+workspaces\.capability_create_and_run succeeded "
                   r"\(workspaces\.%s\)" % NEW_RULE, start=start)
    if SCREENSHOTS:  # only for the picture: let the status change and the details reach it
        time.sleep(1)
        cards[0].click()
        time.sleep(1)
        screenshot(driver, "webui-history.png")


def _cards_of(driver, rule_name):
    """The History's execution cards started by ``workspaces.<rule_name>``."""
    from selenium.webdriver.common.by import By

    return [card for card in driver.find_elements(By.CSS_SELECTOR, marked("execution"))
            if "workspaces.%s" % rule_name in card.text]
