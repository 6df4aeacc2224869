"""The actions' flows: preflight, the reconcile report, marking ASDMs not calibrateable, status.

Used by actions only. Imports ``core``, ``archive`` and ``workspaces_service``; never ``sensing``.
"""
