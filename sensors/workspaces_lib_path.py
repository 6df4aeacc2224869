"""Put the pack's shared code (``actions/lib``) on ``sys.path`` for sensors.

StackStorm adds only a sensor's own folder to ``sys.path`` (a pack ``lib/`` needs
``[packs] enable_common_libs = True``), while actions get ``actions/lib`` from the python runner.
Importing this module first lets sensors use the same ``workspaces_pack`` package on a default
StackStorm install.
"""

import os
import sys

ACTIONS_LIB = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "actions", "lib"))

if ACTIONS_LIB not in sys.path:
    sys.path.append(ACTIONS_LIB)
