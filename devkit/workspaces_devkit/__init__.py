"""Everything of the workspaces pack that exists only outside StackStorm.

The pack loader and validator, the Workspaces emulator, the local runner and its st2 API service,
and the demo. Pack content (sensors/, actions/) never imports this package.
"""
