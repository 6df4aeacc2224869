"""The actions' flows: what one action does (create and run, preflight, reconcile, marking ASDMs
not calibrateable, status). Used by actions only; imports ``core``, ``archive`` and
``workspaces_service``, never ``sensing``."""
