"""The web UI walkthrough's config (docs/WEBUI.md) passes the preflight on the demo's files."""

import io
import os
import re
import shlex
from contextlib import redirect_stdout

from workspaces_devkit.demo import prepare_demo
from workspaces_devkit.emulator import WorkspacesEmulator
from workspaces_devkit.runner.cli import main as workspaces_local


PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALKTHROUGH = os.path.join(PACK_DIR, "docs", "WEBUI.md")


def walkthrough_config_lines():
    """The lines the walkthrough's ``printf`` writes to ~/webui.yaml (still with $DEMO)."""
    with open(WALKTHROUGH) as handle:
        text = handle.read()
    command = re.search(r"printf '%s\\n' (.*?) > ~/webui\.yaml", text, re.S).group(1)
    return shlex.split(command.replace("\\\n", " ").replace("$DEMO", "@DEMO@"))


def test_the_walkthrough_config_passes_the_first_preflight(tmp_path):
    demo = str(tmp_path / "demo")
    os.makedirs(demo)
    emulator = WorkspacesEmulator()
    url = emulator.start()
    try:
        prepare_demo(demo, url)
        lines = [line.replace("@DEMO@", demo).replace("http://127.0.0.1:3457", url)
                 for line in walkthrough_config_lines()]
        config = tmp_path / "webui.yaml"
        config.write_text("\n".join(lines) + "\n")
        out = io.StringIO()
        with redirect_stdout(out):
            code = workspaces_local(["preflight", "--config", str(config),
                                     "--state-dir", str(tmp_path / "state")])
    finally:
        emulator.stop()
    assert code == 0, out.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("preflight passed")
