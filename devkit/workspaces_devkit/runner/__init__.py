"""The local pack runner: loads the pack as StackStorm does and runs sensors, rules and actions."""

from workspaces_devkit.runner.executor import ActionExecutor, Execution  # noqa: F401
