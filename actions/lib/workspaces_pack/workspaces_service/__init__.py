"""The NRAO Workspaces side: the HTTP client of the capability and workflow services, used by the
actions' flows. Imports only ``core``."""
