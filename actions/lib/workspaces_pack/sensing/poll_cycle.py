"""One trigger's turn in a sensor's poll, the same for every sensor of the pack::

    turn = TriggerTurn(context, ref, watch)
    if turn.begin():
        with turn:
            ...  # the sensor reads its source, turn.dispatch()es each new item, marks it handled

``begin`` loads the trigger's state once (a new trigger's start is stored at once: ``load_watch``)
and answers False, the turn reported, when the source must not be read: the state unreadable
(``state_unreadable``), or dispatches held while the state of a turn that dispatched is unsaved
(``state_unsaved``): a process that dies then repeats at most that one turn (GUARANTEES.md G2).

The end of the ``with`` block turns the source's own errors into problem kinds (``ArchiveError``,
``ScanError``), logs any other exception with its traceback (``poll_failing``), saves the state if
it changed and tells the health recorder. A state the datastore refuses (``StateTooLarge``) is
``state_unsaved`` at once; a datastore that does not take the write, after
``problem_after_failures`` polls. Either way the state is kept and the save retried every poll.
"""

import collections

from workspaces_pack.archive.engines import ArchiveError
from workspaces_pack.core import problems
from workspaces_pack.core.state import StateTooLarge, StateUnavailable
from workspaces_pack.sensing.scanner import ScanError
from workspaces_pack.sensing.trace_tags import trace_tag

__all__ = ["SensorContext", "TriggerTurn", "load_watch"]


class SensorContext(collections.namedtuple("SensorContext",
                                           "service logger state watches health")):
    """What a turn needs from its sensor: service, logger, state store, watches, health."""


class Failure(collections.namedtuple("Failure", "problem message immediate")):
    """Why a turn failed: a ``core.problems`` kind, the message, and ``immediate`` (a problem at
    once; None: as the kind says)."""


class TriggerTurn(object):
    """One trigger ``ref`` with its ``watch`` during one poll (see the module docstring)."""

    def __init__(self, context, ref, watch):
        self.context = context
        self.ref = ref
        self.watch = watch
        self.dispatched = 0
        self.failure = None

    def begin(self):
        """Load the watch's state if need be; False when the source must not be read now."""
        state = self.context.state
        self.context.health.trigger_started(self.ref)
        if not self.watch.loaded:
            try:
                load_watch(state, self.ref, self.watch)
            except StateUnavailable as error:
                self._report(Failure(problems.STATE_UNREADABLE,
                                     "state not readable, poll skipped (%s)" % error, None))
                return False
        if state.holds_dispatches(self.ref):
            self._report(Failure(problems.STATE_UNSAVED, "the datastore did not take the state "
                                 "write; new items are held until it does", False))
            return False
        return True

    def dispatch(self, payload, tag, identifier):
        """Dispatch one trigger instance (trace tag ``<tag>:<identifier>``); False on failure,
        which is logged: the item stays unhandled and is dispatched at the next poll."""
        try:
            self.context.service.dispatch(trigger=self.ref, payload=payload,
                                          trace_tag=trace_tag(tag, identifier))
        except Exception as error:
            self.context.logger.warning("dispatch of %s %s for %s failed (%s); retried next poll",
                                        tag, identifier, self.ref, error)
            return False
        self.dispatched += 1
        return True

    def fail(self, problem, message):
        """The turn failed with ``problem`` (a ``core.problems`` kind); told when it ends."""
        self.failure = Failure(problem, message, None)

    def __enter__(self):
        return self

    def __exit__(self, error_type, error, traceback):
        if error_type is not None and not issubclass(error_type, Exception):
            return False  # the process is ending: nothing more is written
        if isinstance(error, ArchiveError):
            self.fail(error.problem, "%s; will query again next poll" % error)
        elif isinstance(error, ScanError):
            self.fail(error.problem, "%s; will look again next poll" % error)
        elif error is not None:
            self.context.logger.error("poll of trigger %s failed; it will be tried again at the "
                                      "next poll", self.ref,
                                      exc_info=(error_type, error, traceback))
            self.fail(problems.POLL_FAILING, "poll failed: %s: %s" % (error_type.__name__, error))
        self.context.health.dispatched(self.ref, self.dispatched)
        unsaved = self._save()
        self._report(self.failure or unsaved)
        return True

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

    def _report(self, failure):
        # An archive watch has no baseline to take: its start is known once it is loaded.
        facts = {"state_bytes": self.context.state.size_of(self.ref),
                 "baseline_taken": getattr(self.watch, "baseline_taken", self.watch.loaded)}
        if failure is None:
            self.context.health.succeeded(self.ref, **facts)
        else:
            self.context.health.failed(self.ref, failure.problem, failure.message,
                                       failure.immediate, **facts)


def load_watch(state, ref, watch):
    """Load ``watch`` from the stored state of ``ref``; a new start (``watch.changed``) is saved
    at once, so that a restart before the first poll counts new items from the same moment.
    Raises ``StateUnavailable``; a write the datastore refuses is kept and retried."""
    watch.load_state(state.load(ref))
    if watch.changed:
        state.save(ref, watch.to_state())
        watch.changed = False
