"""Problem kinds: what a health record, a ``workspaces.sensor_problem`` payload and
``workspaces.status`` say is wrong. The one definition; ``triggers/sensor_problem.yaml``'s enum and
docs/OPERATING.md's table are tested against it.
"""

__all__ = ["NOT_WATCHED", "POLL_FAILING", "TABLE_MISMATCH", "DIRECTORY_MISSING",
           "DATABASE_UNREACHABLE", "STATE_UNSAVED", "STATE_UNREADABLE", "RECONCILE_FAILING",
           "RECONCILE_OFF", "STALLED", "DISPATCHED_KINDS", "IMMEDIATE_KINDS", "STATUS_KINDS"]

NOT_WATCHED = "not_watched"
POLL_FAILING = "poll_failing"
TABLE_MISMATCH = "table_mismatch"
DIRECTORY_MISSING = "directory_missing"
DATABASE_UNREACHABLE = "database_unreachable"
STATE_UNSAVED = "state_unsaved"
STATE_UNREADABLE = "state_unreadable"
RECONCILE_FAILING = "reconcile_failing"
"""The ASDM sensor's reconciliation failed (sensor-wide, after ``problem_after_failures``)."""
RECONCILE_OFF = "reconcile_off"
"""The ASDM sensor's reconciliation cannot run until someone acts (sensor-wide, at once)."""
STALLED = "stalled"
"""Shown by ``workspaces.status`` only: a sensor whose last sign of life is too old."""

DISPATCHED_KINDS = (NOT_WATCHED, POLL_FAILING, TABLE_MISMATCH, DIRECTORY_MISSING,
                    DATABASE_UNREACHABLE, STATE_UNSAVED, STATE_UNREADABLE, RECONCILE_FAILING,
                    RECONCILE_OFF)
"""The kinds a sensor records and dispatches in ``workspaces.sensor_problem`` (its enum)."""
IMMEDIATE_KINDS = (NOT_WATCHED, TABLE_MISMATCH, DIRECTORY_MISSING, STATE_UNSAVED, RECONCILE_OFF)
"""Kinds that are a problem at once; the others only after ``problem_after_failures`` polls."""
STATUS_KINDS = DISPATCHED_KINDS + (STALLED,)
"""Every kind ``workspaces.status`` may show."""
