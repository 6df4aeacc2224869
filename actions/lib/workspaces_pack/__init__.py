"""Shared code of the workspaces pack, used by its sensors and actions (one copy of each piece).

Sensors reach this package through ``sensors/workspaces_lib_path.py``; actions have ``actions/lib``
on their path from StackStorm's python runner. Which layer may import which: docs/ARCHITECTURE.md.
"""
