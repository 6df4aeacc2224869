"""``python -m workspaces_devkit.st2_in_process ARGS``: ``workspaces-local ARGS`` in a process that
runs StackStorm's own services (eventlet patches the process before anything else is imported)."""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

os.environ["WORKSPACES_LOCAL_ENGINE"] = "stackstorm-here"

from workspaces_devkit.runner.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
