"""The local pack runner: loads the pack as StackStorm does and runs sensors, rules and actions.

Modules: ``local`` (LocalRunner), ``sensors`` (sensor hosting), ``rules`` (matching and rendering),
``operators`` (StackStorm's criteria operators), ``executor`` (actions in subprocesses), ``cli``.
"""
