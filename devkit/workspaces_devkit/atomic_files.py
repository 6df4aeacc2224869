"""Whole-file writes into files that something watches or reads (rule files, datastore files).

A reader sees the old file or the new one, never a part (a rule without its ``name``): the text
goes to a hidden ``.<name>.*.tmp`` beside the target, which no ``*.yaml`` glob picks up, then is
renamed over it.
"""

import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    folder, name = os.path.split(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".%s." % name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
