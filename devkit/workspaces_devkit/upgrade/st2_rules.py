"""Fetch the rules of a StackStorm API with st2client, in st2client's own virtualenv.

st2client 3.9 pins versions that clash with the pack's, so it lives in ``.venv-st2cli``:
``fetch_rules`` runs ``st2_fetch_rules.py`` with that Python (``-I``: none of this process's path)
and reads the JSON it prints. The child inherits the environment, so ST2_* variables and
~/.st2/config act as they do for the ``st2`` CLI.
"""

import json
import os
import subprocess

__all__ = ["FetchError", "fetch_rules", "st2client_python"]

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "st2_fetch_rules.py")
PACK_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(SCRIPT))))
TIMEOUT_SECONDS = 300


class FetchError(Exception):
    """The rules could not be fetched; the message is one line for the operator."""


def st2client_python(pack_dir=PACK_DIR):
    """The Python that has st2client: ``$ST2CLIENT_PYTHON`` or ``.venv-st2cli/bin/python``."""
    default = os.path.join(pack_dir, ".venv-st2cli", "bin", "python")
    chosen = os.environ.get("ST2CLIENT_PYTHON") or default
    if not os.path.exists(chosen):
        raise FetchError("st2client is not installed: run devkit/bin/setup (it makes "
                         ".venv-st2cli with st2client 3.9) or set ST2CLIENT_PYTHON to a Python "
                         "that has st2client")
    return chosen


def fetch_rules(config_file=None, api_url=None, auth_url=None, base_url=None, env=None):
    """Return ``(api_url, rules)``: every rule of the API, as st2client's dicts."""
    command = [st2client_python(), "-I", SCRIPT]
    for option, value in (("--config-file", config_file), ("--api-url", api_url),
                          ("--auth-url", auth_url), ("--base-url", base_url)):
        if value:
            command += [option, value]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=TIMEOUT_SECONDS,
                              env=env if env is not None else os.environ.copy())
    except subprocess.TimeoutExpired:
        raise FetchError("the StackStorm API did not answer within %d s" % TIMEOUT_SECONDS)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise FetchError("fetching rules with %s failed (exit %s)%s" % (
            command[0], done.returncode, ": " + lines[-1][:200] if lines else ""))
    if "error" in answer:
        raise FetchError(answer["error"])
    return answer["api_url"], answer["rules"]
