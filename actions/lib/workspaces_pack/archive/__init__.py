"""The archives: the schema map (every table and column from the config), the queries, table checks.

Used by sensors and actions alike. Imports only ``core``.
"""
