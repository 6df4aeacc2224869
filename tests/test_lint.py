"""Lint as StackStorm's Exchange CI does: compile every Python file and run flake8.

Line length 100, as the Exchange CI.
"""

import compileall
import os
import subprocess
import sys

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ["actions", "sensors", "tests", "devkit", "bench"]


def test_every_python_file_compiles():
    for folder in FOLDERS:
        path = os.path.join(PACK_DIR, folder)
        if os.path.isdir(path):
            assert compileall.compile_dir(path, quiet=1, force=True, legacy=False,
                                          workers=1), "compile errors in %s" % folder


def test_flake8_is_clean():
    folders = [f for f in FOLDERS if os.path.isdir(os.path.join(PACK_DIR, f))]
    proc = subprocess.run([sys.executable, "-m", "flake8", "--max-line-length=100"] + folders,
                          cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, "flake8 found problems:\n" + proc.stdout
