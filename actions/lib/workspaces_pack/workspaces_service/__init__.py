"""The NRAO Workspaces side: the HTTP client and the create-and-run flows of capability and workflow
requests. Used by actions only. Imports only ``core``.
"""
