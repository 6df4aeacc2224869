"""What the dead code finder (vulture, ``exchange_checks.dead_code_problems``) cannot see used.

vulture reads this file beside actions/ and sensors/: each name below counts as used. Only
StackStorm's entry points and attributes a library reads belong here; anything else vulture
reports is dead and is deleted.
"""
# flake8: noqa  (bare names, never run: vulture only parses this file)

# StackStorm's python runner makes the class named by each actions/*.yaml entry point and calls
# its run() (st2common/runners/base_action.py).
AlmaReconcileAction
CapabilityCreateAndRunAction
MarkAsdmNotCalibrateableAction
PreflightAction
StatusAction
WorkflowCreateAndRunAction
_.run

# The sensor container calls these of every PollingSensor (st2reactor/sensor/base.py): setup once,
# then poll every interval, add_trigger / update_trigger / remove_trigger as rules change, cleanup.
_.setup
_.poll
_.add_trigger
_.update_trigger
_.remove_trigger
_.cleanup

# requests.Session reads .auth (workspaces_service/client.py sets it for basic auth); help() and
# the docs read the __doc__ given to namedtuples after they are made (sensing/scanner.py).
_.auth
_.__doc__
