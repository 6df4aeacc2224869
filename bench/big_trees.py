"""Large file trees for the scanner benchmarks, built once under /tmp/bench-trees and reused.

``flat_tree(count)`` is one folder of ``count`` empty FITS-IDI-named files; ``vlba_tree(count)`` is
a VLBA correlation area ``<mmmyy>/<project>/`` of 100 files per project folder. A tree counts as
built once its ``.done`` marker (next to it, not inside) exists; delete the folder to free disk.
"""

import os
import shutil
import time

TREES_DIR = os.environ.get("WORKSPACES_BENCH_TREES", "/tmp/bench-trees")
FILES_PER_FOLDER = 100
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def vlba_name(obs_code, number):
    """A correlator file name as DiFX writes it."""
    return "VLBA_%s_%s_BIN0_SRC0_%d_201020T164655.idifits" % (obs_code, obs_code.lower(), number)


def _build(path, fill):
    marker = path + ".done"
    if os.path.exists(marker):
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    fill(path)
    an_hour_ago = time.time() - 3600  # an archive tree written earlier, not a minute ago
    for folder, _, _ in os.walk(path):
        os.utime(folder, (an_hour_ago, an_hour_ago))
    open(marker, "w").close()
    return path


def _touch_all(folder, names):
    for name in names:
        os.close(os.open(os.path.join(folder, name), os.O_CREAT | os.O_WRONLY, 0o644))


def flat_tree(count):
    """Return a folder holding ``count`` empty files (built on first use)."""
    def fill(path):
        _touch_all(path, (vlba_name("TL015A", index) for index in range(count)))
    return _build(os.path.join(TREES_DIR, "flat-%d" % count), fill)


def vlba_folders(root, count):
    """Return the project folders of ``vlba_tree(count)`` as ``(folder, obs_code)``."""
    folders = []
    for index in range(max(1, count // FILES_PER_FOLDER)):
        month = "%s%02d" % (MONTHS[(index // 100) % 12], 10 + index // 1200)
        obs_code = "TL%04d" % index
        folders.append((os.path.join(root, month, obs_code.lower()), obs_code))
    return folders


def vlba_tree(count):
    """Return a ``<mmmyy>/<project>/`` tree of ``count`` empty files, 100 per project folder."""
    def fill(path):
        for folder, obs_code in vlba_folders(path, count):
            os.makedirs(folder)
            _touch_all(folder, (vlba_name(obs_code, n) for n in range(FILES_PER_FOLDER)))
    return _build(os.path.join(TREES_DIR, "vlba-%d" % count), fill)
