"""The emulated runner: the pack's sensors, rules and actions run as StackStorm runs them, where
StackStorm cannot be installed (``local.LocalRunner``); ``cli`` is ``workspaces-local``.
"""
