"""The datastore key layout: every key the pack reads or writes, named once.

A sensor's keys are written with ``local=True``, so StackStorm stores them under the sensor's
prefix (``workspaces.<SensorClass>:<name>``, st2common/services/datastore.py
``_get_full_key_prefix``); the names below are the part after that prefix:

- ``state:<trigger ref>``: a trigger's progress (``core.state``);
- ``reconcile:<trigger ref>``: the ASDM sensor's reconciliation memory per trigger;
- ``retired:<trigger ref>``: when a removed trigger went (its state is deleted days later);
- ``health`` and ``health:<trigger ref>``: the health records (``core.health_record``).

The action ``workspaces.alma_reconcile`` leaves its requests in system scope (``local=False``):
``workspaces.alma_reconcile:request:<id>``.
"""

__all__ = ["STATE_PREFIX", "RECONCILE_PREFIX", "RETIRED_PREFIX", "HEALTH_KEY", "HEALTH_PREFIX",
           "REQUEST_PREFIX", "PACK_PREFIX", "ref_after"]

STATE_PREFIX = "state:"
RECONCILE_PREFIX = "reconcile:"
RETIRED_PREFIX = "retired:"
HEALTH_KEY = "health"
HEALTH_PREFIX = "health:"
REQUEST_PREFIX = "workspaces.alma_reconcile:request:"
PACK_PREFIX = "workspaces."
"""What every full key name of the pack starts with (sensor keys and requests alike)."""


def ref_after(prefix, name):
    """The trigger ref in key ``name`` (local or full) after ``prefix``; None when absent."""
    text = str(name)
    index = text.find(prefix)
    return None if index < 0 else text[index + len(prefix):]
