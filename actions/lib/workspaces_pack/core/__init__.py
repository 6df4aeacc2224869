"""Core: what every other layer needs (the pack config, the parameter error, the action result,
the shared vocabulary, datastore state, health records, identifiers); imports no other layer."""
