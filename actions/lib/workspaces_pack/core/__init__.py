"""Core: what every other layer needs and nothing else: pack config, the parameter error,
datastore state, identifiers.

Imports nothing of the pack's other layers.
"""
