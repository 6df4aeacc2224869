"""Shared parts of the parity tables (tests/test_parity_*.py).

Each parity module holds one table of cases for one part of the devkit that imitates StackStorm.
Every case runs through the devkit; under StackStorm's own test runner (``st2-run-pack-tests``,
where ``conftest.USING_STAND_INS`` is False) it also runs through StackStorm's own function, and
both must give the result the table states. Cases StackStorm cannot run without its database say
so in ``DEVKIT_ONLY``'s reason.
"""

import contextlib
import sys
import types
from unittest import mock

import pytest

from conftest import STAND_INS_DIR, USING_STAND_INS

__all__ = ["real_tier", "stand_ins_imported", "real_datastore", "outcome", "check", "Raised"]

#: Marks the half of a parity table that calls StackStorm's own functions.
real_tier = pytest.mark.skipif(USING_STAND_INS, reason=(
    "StackStorm's own modules are not importable here; this half of the parity table runs "
    "under st2-run-pack-tests (the real tier)"))

_ST2_PACKAGES = ("st2common", "st2reactor", "st2tests")


class Raised(object):
    """An expected refusal: the exception's kind (class name, or a base class name) and a part
    of its message."""

    def __init__(self, kind, says=""):
        self.kind = kind
        self.says = says

    def __repr__(self):
        return "Raised(%r, %r)" % (self.kind, self.says)

    def matches(self, error):
        """True when ``error`` is of this kind and its message holds ``says``."""
        names = {cls.__name__ for cls in type(error).__mro__}
        return self.kind in names and self.says in str(error)


def outcome(function, *args, **kwargs):
    """Call ``function``; return its result, or the exception it raised."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # the tables compare refusals too
        return error


def check(expected, got):
    """Assert ``got`` (a result or an exception) is what the table expects."""
    if isinstance(expected, Raised):
        assert isinstance(got, Exception) and expected.matches(got), \
            "expected %r, got %r" % (expected, got)
    else:
        assert not isinstance(got, Exception), "expected %r, got %r" % (expected, got)
        assert got == expected, "expected %r, got %r" % (expected, got)


@contextlib.contextmanager
def stand_ins_imported():
    """Within the block, ``import st2common...`` gives the devkit's stand-ins.

    Under the real tier the real modules are put aside and restored afterwards; functions taken
    from the stand-ins keep working after the block (they hold their own modules).
    """
    saved = {name: module for name, module in sys.modules.items()
             if name.split(".")[0] in _ST2_PACKAGES}
    if not saved or getattr(saved.get("st2common"), "__file__", "").startswith(STAND_INS_DIR):
        yield  # the stand-ins are what is imported anyway
        return
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, STAND_INS_DIR)
    try:
        yield
    finally:
        sys.path.remove(STAND_INS_DIR)
        for name in [n for n in sys.modules if n.split(".")[0] in _ST2_PACKAGES]:
            del sys.modules[name]
        sys.modules.update(saved)


@contextlib.contextmanager
def real_datastore(values):
    """StackStorm's datastore lookups (``st2kv.system.x``) read ``values`` (name -> text) instead
    of MongoDB: only the database read is replaced, StackStorm's lookup code runs."""
    from st2common.exceptions.db import StackStormDBObjectNotFoundError
    from st2common.services import keyvalues

    def by_scope_and_name(scope, name):
        if name not in values:
            raise StackStormDBObjectNotFoundError("no key %s" % name)
        return types.SimpleNamespace(name=name, value=values[name], scope=scope, secret=False,
                                     uid="key_value_pair:%s:%s" % (scope, name))

    with mock.patch.object(keyvalues.KeyValuePair, "get_by_scope_and_name",
                           side_effect=by_scope_and_name):
        yield
