"""The actions' flows: preflight, the reconcile report and marking ASDMs not calibrateable.

Used by actions only. Imports ``core``, ``archive`` and ``workspaces_service``; never ``sensing``.
"""
