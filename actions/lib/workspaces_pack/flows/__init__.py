"""The actions' flows: create and run a Workspaces request, preflight, the reconcile report,
marking ASDMs not calibrateable, status.

Used by actions only. Imports ``core``, ``archive`` and ``workspaces_service``; never ``sensing``.
"""
