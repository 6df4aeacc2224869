"""One trigger's turn in a sensor's poll, the same sequence for every sensor of the pack.

A turn (``run_turn``) goes one way: load the trigger's stored state (once; a new trigger's start
is stored before anything else, see ``load_watch``) -> the sensor's work (``body(turn)``: read the
directory or the database, ``turn.dispatch`` each new item, mark it handled on the watch) -> save
the state if it changed -> tell the health recorder how it went.

While the state of a turn that dispatched could not be written, the trigger's next turns are held
(``state_unsaved``, nothing read or dispatched) until the write succeeds: a process that dies then
dispatches again at most the items of that one turn (docs/GUARANTEES.md G2). State that cannot be
read (``get_value`` failing or raising) fails only that trigger's turn: ``state_unreadable``.

The body raises ``TurnFailed(kind, message)`` when its source cannot be read (a missing directory,
a database outage, a renamed column); any other exception is logged with its traceback and counted
as ``poll_failing``. A state the datastore refuses (``StateTooLarge``) is a ``state_unsaved``
problem at once, and the save is tried again every poll; a datastore that does not take the write
is ``state_unsaved`` after ``problem_after_failures`` polls (the state is kept and retried).
"""

import collections

from workspaces_pack.core import problems

from workspaces_pack.core.state import StateTooLarge, StateUnavailable
from workspaces_pack.sensing.trace_tags import trace_tag

__all__ = ["SensorContext", "TurnFailed", "TriggerTurn", "run_turn", "load_watch"]


class SensorContext(object):
    """What a turn needs from its sensor: service, logger, state store, watches, health."""

    def __init__(self, service, logger, state, watches, health):
        self.service = service
        self.logger = logger
        self.state = state
        self.watches = watches
        self.health = health


class Failure(collections.namedtuple("Failure", ["kind", "message", "immediate"],
                                     defaults=(None,))):
    """Why a turn failed: a health problem ``kind``, the ``message``, and ``immediate`` (a
    problem at once; None: as the kind says)."""


class TurnFailed(Exception):
    """A trigger's source could not be read this poll; ``kind`` is a health problem kind."""

    def __init__(self, kind, message, immediate=None):
        super(TurnFailed, self).__init__(message)
        self.kind = kind
        self.message = message
        self.immediate = immediate


class TriggerTurn(object):
    """One trigger ``ref`` with its ``watch`` during one poll (see the module docstring)."""

    def __init__(self, context, ref, watch):
        self.context = context
        self.ref = ref
        self.watch = watch
        self.dispatched = 0

    def dispatch(self, payload, kind, identifier):
        """Dispatch one trigger instance (trace tag ``<kind>:<identifier>``); False on failure,
        which is logged: the item stays unhandled and is dispatched at the next poll."""
        try:
            self.context.service.dispatch(trigger=self.ref, payload=payload,
                                          trace_tag=trace_tag(kind, identifier))
        except Exception as error:
            self.context.logger.warning("dispatch of %s %s for %s failed (%s); retried next poll",
                                        kind, identifier, self.ref, error)
            return False
        self.dispatched += 1
        return True

    def run(self, body):
        """Run the turn; return what ``body`` returned (None when the turn failed)."""
        health = self.context.health
        health.trigger_started(self.ref)
        if not self.watch.loaded:
            try:
                load_watch(self.context.state, self.ref, self.watch)
            except StateUnavailable as error:
                self._failed(Failure(problems.STATE_UNREADABLE,
                                     "state not readable, poll skipped (%s)" % error))
                return None
        if self.context.state.holds_dispatches(self.ref):
            self._failed(Failure(problems.STATE_UNSAVED, "the datastore did not take the state "
                                 "write; new items are held until it does", False))
            return None
        failure = None
        result = None
        try:
            result = body(self)
        except TurnFailed as error:
            failure = Failure(error.kind, error.message, error.immediate)
        except Exception as error:
            self.context.logger.exception("poll of trigger %s failed; it will be tried again at "
                                          "the next poll", self.ref)
            failure = Failure(problems.POLL_FAILING, "poll failed: %s: %s" % (type(error).__name__,
                                                                       error))
        health.dispatched(self.ref, self.dispatched)
        unsaved = self._save()
        failure = failure or unsaved
        if failure is not None:
            self._failed(failure)
            return None
        health.succeeded(self.ref, **self._facts())
        return result

    def _save(self):
        """Save the watch's state if it changed; return a ``Failure``, or None when saved."""
        state = self.context.state
        if self.watch.changed:
            try:
                state.save(self.ref, self.watch.to_state(), dispatched=bool(self.dispatched))
            except StateTooLarge as error:
                self.context.logger.error("trigger %s: %s", self.ref, error)
                return Failure(problems.STATE_UNSAVED, "state not saved, so a restart would "
                               "dispatch again: %s" % error, True)  # changed stays set: retried
            self.watch.changed = False
        if state.is_unsaved(self.ref):
            return Failure(problems.STATE_UNSAVED, "the datastore did not take the state write; "
                           "kept in memory and tried again every poll", False)
        return None

    def _facts(self):
        return {"state_bytes": self.context.state.size_of(self.ref),
                "baseline_taken": getattr(self.watch, "baseline_taken", self.watch.loaded)}

    def _failed(self, failure):
        self.context.health.failed(self.ref, failure.kind, failure.message, failure.immediate,
                                   **self._facts())


def load_watch(state, ref, watch):
    """Load ``watch`` from the stored state of ``ref``; a new start (``watch.changed``) is saved
    at once, so that a restart before the first poll counts new items from the same moment.
    Raises ``StateUnavailable``; a write the datastore refuses is kept and retried."""
    watch.load_state(state.load(ref))
    if watch.changed:
        state.save(ref, watch.to_state())
        watch.changed = False


def run_turn(context, ref, watch, body):
    """Run one ``TriggerTurn`` of ``ref`` with ``body(turn)``; return its result."""
    return TriggerTurn(context, ref, watch).run(body)
