"""StackStorm's own services in one eventlet process, for the dev kit (docs/LOCAL_RUNNER.md):
``engine`` starts them, ``web`` routes their one origin as st2web's nginx site does, ``reload``
registers again what changes on disk. StackStorm's modules are not on PyPI: ``missing()`` says in
one line what is absent, ``stackstorm_python(pack_dir)`` finds the virtualenv that holds them.
"""

import os

__all__ = ["missing", "stackstorm_python", "ST2_VENV"]

#: The pack-folder virtualenv that holds StackStorm 3.9.0's modules (devkit/bin/setup makes it).
ST2_VENV = ".venv-st2"

_MODULES = ("st2common", "st2api", "st2auth", "st2stream", "st2actions", "st2reactor",
            "python_runner", "st2auth_flat_file_backend", "mongomock", "eventlet")


def missing():
    """None when StackStorm's services can run in this interpreter, else one line saying why."""
    import importlib.util

    absent = [name for name in _MODULES if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    return "StackStorm's modules are not installed here (%s missing; devkit/bin/setup installs " \
           "StackStorm 3.9.0 into %s)" % (", ".join(absent), ST2_VENV)


def stackstorm_python(pack_dir):
    """The python of ``pack_dir``'s StackStorm virtualenv, or None when there is none."""
    python = os.path.join(pack_dir, ST2_VENV, "bin", "python")
    site = os.path.join(pack_dir, ST2_VENV, "lib")
    if not os.path.exists(python) or not os.path.isdir(site):
        return None
    for version in os.listdir(site):
        if os.path.isdir(os.path.join(site, version, "site-packages", "st2api")):
            return python
    return None
