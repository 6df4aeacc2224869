"""The pack's public contract per released version: ``snapshot`` reads and keeps it, ``compare``
classifies differences, ``release`` holds the version rule (docs/UPGRADING.md)."""
