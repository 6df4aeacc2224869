"""The StackStorm Exchange CI checks that need no StackStorm install, run on this checkout.

Each function runs one check of the Exchange CI (StackStorm-Exchange/ci, ``make all-ci``) the
same way and returns its problems (strings; none when it passes); ``CHECKS`` lists them in the
Exchange's order. Registration is stood in for by the content validator
(``content.validate_pack``), which also validates the example config. The dead code finder
(vulture, with ``devkit/vulture_whitelist.py``) is the project's own step, not the Exchange's.
"""

import json
import os
import re
import subprocess
import sys

from workspaces_devkit.content import validate_pack
from workspaces_devkit.st2meta import YamlFileError, load_yaml

__all__ = ["CHECKS", "run_checks", "compile_problems", "license_problems", "flake8_problems",
           "pylint_problems", "parse_problems", "example_config_problems",
           "registration_problems", "dead_code_problems", "python_files"]

PACK_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_INS = os.path.join(PACK_DIR, "devkit", "stand_ins")
#: Directories of this checkout that the Exchange CI never sees (virtualenvs, git, local state).
SKIPPED_DIR_RE = re.compile(r"^(\.venv.*|\.git|\.local|\.pytest_cache|__pycache__)$")
#: The strings the Exchange's ``.license-check`` target greps LICENSE for (Apache 2.0).
LICENSE_MARKERS = ("Apache License", "Version 2.0", "www.apache.org/licenses/LICENSE-2.0")
#: Folders ``st2-check-pylint-pack`` lints, each in one pylint run.
PYLINT_FOLDERS = ("actions", "sensors", "etc")
#: Folders the dead code finder reads, with the whitelist of what StackStorm calls.
DEAD_CODE_FOLDERS = ("actions", "sensors")
VULTURE_WHITELIST = os.path.join(PACK_DIR, "devkit", "vulture_whitelist.py")


def _files(pack_dir, suffixes):
    found = []
    for root, dirs, names in os.walk(pack_dir):
        dirs[:] = sorted(d for d in dirs if not SKIPPED_DIR_RE.match(d))
        found.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(suffixes))
    return found


def python_files(pack_dir=PACK_DIR, folder=None):
    """Return the pack's Python files (under ``folder`` if given), as the Exchange CI finds them."""
    top = os.path.join(pack_dir, folder) if folder else pack_dir
    return _files(top, (".py",)) if os.path.isdir(top) else []


def compile_problems(pack_dir=PACK_DIR):
    """Compile every Python file with this interpreter (the Exchange's ``compile`` target)."""
    problems = []
    for path in python_files(pack_dir):
        with open(path, "rb") as source:
            code = source.read()
        try:
            compile(code, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            problems.append("%s: does not compile on Python %d.%d: %s" % (
                os.path.relpath(path, pack_dir), sys.version_info[0], sys.version_info[1], error))
    return problems


def license_problems(pack_dir=PACK_DIR):
    """Check LICENSE holds the Apache 2.0 text (the Exchange's ``.license-check`` target)."""
    path = os.path.join(pack_dir, "LICENSE")
    if not os.path.isfile(path):
        return ["LICENSE is missing; the Exchange requires the Apache 2.0 license text"]
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return ["LICENSE does not contain %r: the Exchange requires the Apache 2.0 license text"
            % marker for marker in LICENSE_MARKERS if marker not in text]


def _tool_problems(arguments, pack_dir, env=None):
    """Run ``python -m <arguments>`` in ``pack_dir``: its output lines, none when it passed."""
    proc = subprocess.run([sys.executable, "-m"] + arguments, cwd=pack_dir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode == 0:
        return []
    return [line for line in proc.stdout.splitlines() if line.strip()] or [
        "%s exited %d without output" % (arguments[0], proc.returncode)]


def flake8_problems(pack_dir=PACK_DIR):
    """Run flake8 with the pack's config (setup.cfg: StackStorm's Exchange settings)."""
    return _tool_problems(["flake8", "--config", os.path.join(pack_dir, "setup.cfg"), "."],
                          pack_dir)


def pylint_problems(pack_dir=PACK_DIR, folders=PYLINT_FOLDERS):
    """Run ``pylint -E`` with the pack's .pylintrc (the Exchange's rc) over each folder.

    As st2sdk's ``st2-check-pylint-pack``: one run per folder over all its Python files, with
    StackStorm's modules (here the stand-ins) and ``actions/lib`` on PYTHONPATH.
    """
    env = dict(os.environ)
    path = [STAND_INS, os.path.join(pack_dir, "actions", "lib")]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    rcfile = os.path.join(pack_dir, ".pylintrc")
    problems = []
    for folder in folders:
        files = [os.path.relpath(p, pack_dir) for p in python_files(pack_dir, folder)]
        if files:
            problems.extend(_tool_problems(["pylint", "-E", "--rcfile", rcfile, "--score=n"] +
                                           files, pack_dir, env=env))
    return problems


def parse_problems(pack_dir=PACK_DIR):
    """Parse every YAML and JSON file (st2-check-validate-yaml-file / -json-file)."""
    problems = []
    for path in _files(pack_dir, (".yaml", ".yml", ".json")):
        relative = os.path.relpath(path, pack_dir)
        try:
            if path.endswith(".json"):
                with open(path, encoding="utf-8") as stream:
                    json.load(stream)
            else:
                load_yaml(path)
        except YamlFileError as error:  # FILE:LINE:COLUMN: problem
            problems.append(relative + str(error)[len(path):])
        except ValueError as error:
            problems.append("%s: does not parse: %s" % (relative, error))
    return problems


def _content_problems(pack_dir, of_example):
    """The content validator's errors about the example config (``of_example``), or the others;
    the example's path first."""
    ref = (load_yaml(os.path.join(pack_dir, "pack.yaml")) or {}).get("ref")
    example = os.path.abspath(os.path.join(pack_dir, "%s.yaml.example" % ref))
    return example, ["%s: %s: %s" % (os.path.relpath(e.path, pack_dir), e.field, e.message)
                     for e in validate_pack(pack_dir)
                     if (os.path.abspath(e.path) == example) == of_example]


def example_config_problems(pack_dir=PACK_DIR):
    """Validate ``<pack>.yaml.example`` against config.schema.yaml (content validator's rules)."""
    example, problems = _content_problems(pack_dir, of_example=True)
    if not os.path.isfile(example):
        return ["%s is missing: the Exchange expects an example config"
                % os.path.relpath(example, pack_dir)]
    return problems


def registration_problems(pack_dir=PACK_DIR):
    """Every other content error StackStorm's registration would refuse (content validator)."""
    return _content_problems(pack_dir, of_example=False)[1]


def dead_code_problems(pack_dir=PACK_DIR, whitelist=VULTURE_WHITELIST):
    """Run vulture over actions/ and sensors/ with the whitelist: one line per unused name."""
    folders = [folder for folder in DEAD_CODE_FOLDERS
               if os.path.isdir(os.path.join(pack_dir, folder))]
    return _tool_problems(["vulture"] + folders + [whitelist], pack_dir)


#: ``(name, function)`` in the order the Exchange CI runs them (the project's own step last).
CHECKS = (
    ("compile", compile_problems),
    ("license", license_problems),
    ("flake8", flake8_problems),
    ("pylint -E", pylint_problems),
    ("YAML/JSON parse", parse_problems),
    ("example config", example_config_problems),
    ("registration (content validator)", registration_problems),
    ("dead code (vulture)", dead_code_problems),
)


def run_checks(pack_dir=PACK_DIR, out=sys.stdout):
    """Run every check, print one line per check (and its problems); return the failed names."""
    failed = []
    for name, check in CHECKS:
        problems = check(pack_dir)
        out.write("%-34s %s\n" % (name, "FAILED" if problems else "ok"))
        for problem in problems:
            out.write("    %s\n" % problem)
        if problems:
            failed.append(name)
        out.flush()
    return failed
