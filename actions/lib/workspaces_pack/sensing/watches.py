"""Trigger bookkeeping shared by the pack's sensors: one watch per trigger, each isolated.

StackStorm calls ``add_trigger``/``update_trigger``/``remove_trigger`` whenever rules change,
possibly before ``setup()``, repeatedly for the same trigger, and with ids it never added.
``TriggerWatches`` absorbs all of that: a trigger with bad parameters is logged with the
parameter's name and skipped (the others keep running), and problems seen while polling are logged
once per change, not once per poll.
"""

import collections
import hashlib

from workspaces_pack.core.errors import ParameterError

__all__ = ["TriggerWatches", "WatchingSensorMixin", "trigger_ref", "trace_tag", "poll_safely",
           "ensure_state_loaded", "save_state_if_changed"]

MAX_TRACE_TAG = 200


def trigger_ref(trigger):
    """Return the ref to dispatch to: the trigger's own ``ref`` (``<pack>.<name>``)."""
    ref = trigger.get("ref")
    if ref:
        return ref
    return "%s.%s" % (trigger.get("pack"), trigger.get("name"))


def trace_tag(kind, identifier):
    """Return a StackStorm trace tag ``<kind>:<identifier>``, hashed when it would be too long."""
    tag = "%s:%s" % (kind, identifier)
    if len(tag) <= MAX_TRACE_TAG:
        return tag
    digest = hashlib.sha1(str(identifier).encode("utf-8", "surrogateescape")).hexdigest()
    return "%s:sha1:%s" % (kind, digest)


def poll_safely(logger, what, function, *args):
    """Call ``function(*args)``; log and swallow any ``Exception`` so that poll() never raises.

    StackStorm respawns a sensor whose poll raised at most twice, then leaves it dead; a failure of
    one trigger's work must not end the others'.
    """
    try:
        return function(*args)
    except Exception:
        logger.exception("%s failed; it will be tried again at the next poll", what)
        return None


class TriggerWatches(object):
    """The triggers a sensor serves, keyed by ref, each with a watch object made by ``build``.

    ``build(trigger)`` validates the trigger's parameters and returns the watch; it raises
    ``ParameterError`` for bad ones, which is logged as an error naming the trigger and parameter.
    """

    def __init__(self, logger, build, kind="trigger"):
        self._logger = logger
        self._build = build
        self._kind = kind
        self._entries = collections.OrderedDict()
        self._problems = {}
        self.invalid = {}

    def __len__(self):
        return len(self._entries)

    def items(self):
        """Return ``[(ref, trigger, watch), ...]`` in the order triggers were added."""
        return [(ref, trigger, watch) for ref, (trigger, watch) in self._entries.items()]

    def get(self, ref):
        """Return the watch of ``ref`` or None."""
        entry = self._entries.get(ref)
        return entry[1] if entry else None

    def add(self, trigger):
        """Register (or re-register) a trigger; return its watch, or None when it is invalid.

        A repeated add with unchanged parameters keeps the existing watch and its progress.
        """
        ref = trigger_ref(trigger)
        parameters = trigger.get("parameters") or {}
        existing = self._entries.get(ref)
        if existing is not None and existing[0].get("parameters") == parameters:
            self._entries[ref] = (trigger, existing[1])
            return existing[1]
        try:
            watch = self._build(trigger)
        except ParameterError as error:
            self._entries.pop(ref, None)
            self.invalid[ref] = str(error)
            self._logger.error("%s %s not watched: %s (fix the rule's trigger parameters)",
                               self._kind, ref, error)
            return None
        self.invalid.pop(ref, None)
        self._entries[ref] = (dict(trigger), watch)
        self._logger.info("%s %s registered with parameters %s", self._kind, ref, parameters)
        return watch

    def remove(self, trigger):
        """Forget a trigger; return its watch, or None for a trigger that was never added."""
        ref = trigger_ref(trigger)
        self.invalid.pop(ref, None)
        self._problems.pop(ref, None)
        entry = self._entries.pop(ref, None)
        if entry is None:
            self._logger.debug("remove_trigger for unknown %s %s ignored", self._kind, ref)
            return None
        self._logger.info("%s %s removed", self._kind, ref)
        return entry[1]

    def disable(self, ref, message):
        """Stop watching ``ref`` because its setup is unusable; log ``message`` once as an error.

        The trigger stays in ``invalid`` until StackStorm adds it again (a rule edited or
        re-enabled, or the sensor restarted), which checks it afresh.
        """
        if self._entries.pop(ref, None) is None:
            return
        self._problems.pop(ref, None)
        self.invalid[ref] = message
        self._logger.error("%s %s disabled: %s", self._kind, ref, message)

    def problem(self, ref, message):
        """Log a poll problem of ``ref`` as a warning, once until it changes or clears."""
        if self._problems.get(ref) != message:
            self._problems[ref] = message
            self._logger.warning("%s %s: %s", self._kind, ref, message)

    def clear_problem(self, ref):
        """Note that ``ref`` works again (logged when it had a problem)."""
        if self._problems.pop(ref, None) is not None:
            self._logger.info("%s %s: working again", self._kind, ref)


class WatchingSensorMixin(object):
    """The trigger plumbing every sensor of the pack shares; mix in before ``PollingSensor``.

    ``_init_watching(build_watch, kind)`` (call it in ``__init__`` after the base class) sets
    ``_logger``, ``_pack_config``, ``_state`` (the datastore state helper), ``_watches`` and
    ``clock``. ``add_trigger``/``update_trigger`` register a trigger's watch (bad parameters are
    logged, never raised), ``remove_trigger`` forgets it (its stored state is kept), ``setup``
    takes the poll interval from the pack config key ``POLL_INTERVAL_KEY`` and ``cleanup`` writes
    state that could not be saved yet.
    """

    POLL_INTERVAL_KEY = None

    def _init_watching(self, build_watch, kind="trigger"):
        import time

        from workspaces_pack.core.config import PackConfig
        from workspaces_pack.core.state import DatastoreState

        self._logger = self.sensor_service.get_logger(name=self.__class__.__name__)
        self._pack_config = PackConfig(self.config)
        self._state = DatastoreState(self.sensor_service, self._logger)
        self._watches = TriggerWatches(self._logger, build_watch, kind=kind)
        self.clock = time.time

    def setup(self):
        """Take the poll interval from the pack config (``POLL_INTERVAL_KEY``), if any."""
        if self.POLL_INTERVAL_KEY:
            seconds = self._pack_config.get(self.POLL_INTERVAL_KEY)
            if seconds:
                self.set_poll_interval(max(4, int(seconds)))

    def cleanup(self):
        """Write state that could not be saved yet, if the datastore answers."""
        self._state.flush()

    def add_trigger(self, trigger):
        """Start watching for a rule's trigger (may come before setup; bad parameters logged)."""
        self._watches.add(trigger)

    def update_trigger(self, trigger):
        """Apply changed parameters; unchanged ones keep the watch's progress."""
        self._watches.add(trigger)

    def remove_trigger(self, trigger):
        """Stop watching; the trigger's datastore state is kept (see README)."""
        self._watches.remove(trigger)


def ensure_state_loaded(state, watches, ref, watch):
    """Load ``watch``'s stored state once; return False (problem logged) while it is unreadable.

    ``state`` is a ``DatastoreState``; a ``StateUnavailable`` means the poll must be skipped, never
    run as if there were no state (that would replay everything after a datastore blip).
    """
    from workspaces_pack.core.state import StateUnavailable

    if watch.loaded:
        return True
    try:
        watch.load_state(state.load(ref))
    except StateUnavailable as error:
        watches.problem(ref, "state not readable, poll skipped (%s)" % error)
        return False
    return True


def save_state_if_changed(state, logger, ref, watch):
    """Write ``watch.to_state()`` when ``watch.changed``; a failed write is retried by the state."""
    from workspaces_pack.core.state import StateTooLarge

    if not watch.changed:
        return
    try:
        state.save(ref, watch.to_state())
    except StateTooLarge as error:
        logger.error("trigger %s: %s", ref, error)
    watch.changed = False
