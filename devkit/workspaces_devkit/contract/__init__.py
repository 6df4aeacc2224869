"""The pack's public contract: what rules, configs and operators rely on, per released version.

``snapshot`` reads the contract from a pack directory and keeps one JSON file per released version
in ``contract/``; ``compare`` classifies the differences between two contracts as compatible or
breaking; ``release`` holds the version rule (semver caret majors) and the CHANGES.md rule a
breaking difference must pass. docs/UPGRADING.md explains all three.
"""
