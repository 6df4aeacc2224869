"""Sensing: what the sensors share: the file scanner, per-trigger watches and their bookkeeping, the
high-water mark over archive rows, the reconciliation schedule and the sensors' table gate.

Used by sensors only (actions never import it). Imports ``core`` and ``archive``.
"""
