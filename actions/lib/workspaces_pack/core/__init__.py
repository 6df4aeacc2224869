"""Core: what every other layer needs and nothing else: the pack config, the parameter error, the
action result, the shared vocabulary (problem kinds, datastore keys, times, scrubbing, check
statuses), datastore state, health records, identifiers.

Imports nothing of the pack's other layers.
"""
