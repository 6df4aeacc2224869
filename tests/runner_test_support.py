"""Helpers for tests that run the pack in the local runner."""

import os
import shutil

from workspaces_devkit.demo import COPY_IGNORE

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pack_copy_watching(tmp_path, pattern="*.tar"):
    """Copy the pack into ``tmp_path/pack`` with its file rule watching ``tmp_path/incoming``.

    The rule (shipped disabled) is enabled in the copy, its pattern becomes ``pattern`` and its
    settle time 0. Returns ``(pack, incoming)``.
    """
    pack = str(tmp_path / "pack")
    shutil.copytree(PACK_DIR, pack, ignore=COPY_IGNORE)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    rule = os.path.join(pack, "rules", "file_detected_create_and_run.yaml")
    with open(rule) as handle:
        text = handle.read()
    text = (text.replace("/data/workspaces/incoming", str(incoming))
            .replace('pattern: "*.tar"', 'pattern: "%s"' % pattern)
            .replace("settle_seconds: 30", "settle_seconds: 0")
            .replace("enabled: false", "enabled: true"))
    with open(rule, "w") as handle:
        handle.write(text)
    return pack, incoming
