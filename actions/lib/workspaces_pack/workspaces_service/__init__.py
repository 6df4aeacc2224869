"""The NRAO Workspaces side: the HTTP client of the capability and workflow services.

Used by the actions' flows. Imports only ``core``.
"""
