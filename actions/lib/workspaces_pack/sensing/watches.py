"""Trigger bookkeeping shared by the pack's sensors: one watch per trigger, each isolated.

StackStorm calls ``add_trigger``/``update_trigger``/``remove_trigger`` whenever rules change,
possibly before ``setup()``, repeatedly for the same trigger, and with ids it never added.
``TriggerWatches`` absorbs that: a trigger with bad parameters is logged with the parameter's name
and skipped, and every change is told to the health recorder. ``WatchingSensorMixin`` gives a
sensor all of it, and its ``poll``.
"""

import collections
import contextlib
import time

from workspaces_pack.core import problems
from workspaces_pack.core.config import PackConfig
from workspaces_pack.core.errors import ParameterError
from workspaces_pack.core.keys import STATE_PREFIX
from workspaces_pack.core.state import DatastoreState
from workspaces_pack.sensing.health import HealthRecorder, SensorIdentity
from workspaces_pack.sensing.poll_cycle import SensorContext, load_watch

__all__ = ["TriggerWatches", "WatchingSensorMixin", "trigger_ref", "poll_step"]


def trigger_ref(trigger):
    """Return the ref to dispatch to: the trigger's own ``ref`` (``<pack>.<name>``)."""
    return trigger.get("ref") or "%s.%s" % (trigger.get("pack"), trigger.get("name"))


@contextlib.contextmanager
def poll_step(logger, what):
    """A step of a poll: an ``Exception`` in the ``with`` block is logged, not raised (StackStorm
    respawns a sensor whose poll raised at most twice; one step must not end the others)."""
    try:
        yield
    except Exception:
        logger.exception("%s failed; it will be tried again at the next poll", what)


class TriggerWatches(object):
    """The triggers a sensor serves, keyed by ref, each with a watch made by ``build(trigger)``.

    ``build`` raises ``ParameterError`` for bad parameters: logged as an error naming the trigger
    and the parameter. ``health`` (a ``HealthRecorder``) is told of every change of the list.
    """

    def __init__(self, logger, build, health, item_noun="trigger"):
        self._logger = logger
        self._build = build
        self._health = health
        self._noun = item_noun
        self._watches = collections.OrderedDict()
        self._triggers = {}

    def __len__(self):
        return len(self._watches)

    def items(self):
        """Return ``[(ref, watch), ...]`` in the order triggers were added."""
        return list(self._watches.items())

    def get(self, ref):
        """Return the watch of ``ref`` or None."""
        return self._watches.get(ref)

    def add(self, trigger):
        """Register (or re-register) a trigger; return its watch, or None when it is invalid.
        A repeated add with unchanged parameters keeps the watch and its progress."""
        ref = trigger_ref(trigger)
        parameters = trigger.get("parameters") or {}
        if ref in self._watches and self._triggers[ref].get("parameters") == parameters:
            self._triggers[ref] = trigger
            return self._watches[ref]
        try:
            watch = self._build(trigger)
        except ParameterError as error:
            self._pop(ref)
            self._logger.error("%s %s not watched: %s (fix the rule's trigger parameters)",
                               self._noun, ref, error)
            self._health.not_watched(ref, trigger, "%s (fix the rule's trigger parameters)"
                                     % error)
            return None
        self._watches[ref], self._triggers[ref] = watch, dict(trigger)
        self._logger.info("%s %s registered with parameters %s", self._noun, ref, parameters)
        self._health.watched(ref, trigger)
        return watch

    def remove(self, trigger):
        """Forget a trigger (one never added is ignored)."""
        ref = trigger_ref(trigger)
        self._health.removed(ref)
        if self._pop(ref) is None:
            self._logger.debug("remove_trigger for unknown %s %s ignored", self._noun, ref)
        else:
            self._logger.info("%s %s removed", self._noun, ref)

    def disable(self, ref, message):
        """Stop watching ``ref``, whose tables do not match; log ``message`` once as an error.
        It stays unwatched (health: ``table_mismatch``) until StackStorm adds it again."""
        trigger = self._pop(ref)
        if trigger is not None:
            self._logger.error("%s %s disabled: %s", self._noun, ref, message)
            self._health.not_watched(ref, trigger, message, problems.TABLE_MISMATCH)

    def _pop(self, ref):
        """Drop ``ref``; return its trigger, None when it was not watched."""
        self._watches.pop(ref, None)
        return self._triggers.pop(ref, None)


class WatchingSensorMixin(object):
    """The trigger plumbing every sensor of the pack shares; mix in before ``PollingSensor``.

    Its ``__init__`` (reached through the sensor's own) sets ``clock``, ``_logger``,
    ``_pack_config``, ``_state``, ``_health``, ``_watches`` (of the sensor's
    ``_build_watch(trigger)``) and the ``_context`` of its turns; ``WATCH_NOUN`` names a watch in
    log lines. ``poll`` runs even with no trigger, so that the sensor's health record stays alive.
    """

    POLL_INTERVAL_KEY = None
    TRIGGER_TYPE = None
    WATCH_NOUN = "trigger"
    STATE_PREFIXES = (STATE_PREFIX,)

    def __init__(self, sensor_service, config=None, poll_interval=None):
        super(WatchingSensorMixin, self).__init__(sensor_service=sensor_service, config=config,
                                                  poll_interval=poll_interval)
        self.clock = time.time
        self._logger = self.sensor_service.get_logger(name=self.__class__.__name__)
        self._pack_config = PackConfig(self.config)
        self._state = DatastoreState(self.sensor_service, self._logger)
        identity = SensorIdentity(self.__class__.__name__, self.TRIGGER_TYPE, self.WATCH_NOUN,
                                  self.get_poll_interval)
        self._health = HealthRecorder(self.sensor_service, self._logger, identity,
                                      self._pack_config, lambda: self.clock(),
                                      self.STATE_PREFIXES)
        self._watches = TriggerWatches(self._logger, self._build_watch, self._health,
                                       self.WATCH_NOUN)
        self._context = SensorContext(self.sensor_service, self._logger, self._state,
                                      self._watches, self._health)

    def _build_watch(self, trigger):
        """Return the watch of ``trigger``; raise ``ParameterError`` for bad parameters."""
        raise NotImplementedError

    def _poll_watches(self):
        """The sensor's own work in a poll: a ``poll_cycle.TriggerTurn`` per trigger."""
        raise NotImplementedError

    def setup(self):
        """Take the poll interval from the pack config (``POLL_INTERVAL_KEY``), if any."""
        seconds = self.POLL_INTERVAL_KEY and self._pack_config.get(self.POLL_INTERVAL_KEY)
        if seconds:
            self.set_poll_interval(max(4, int(seconds)))

    def poll(self):
        """Retry unsaved state, do the sensor's work, then write health; never raises."""
        self._health.poll_started()
        try:
            with poll_step(self._logger, "saving sensor state"):
                self._state.flush()
            with poll_step(self._logger, "poll"):
                self._poll_watches()
        finally:
            self._health.poll_ended()

    def cleanup(self):
        """Write state that could not be saved yet, if the datastore answers."""
        self._state.flush()

    def add_trigger(self, trigger):
        """Start watching for a rule's trigger (may come before setup; bad parameters logged)."""
        self._watch(trigger)

    def update_trigger(self, trigger):
        """Apply changed parameters; unchanged ones keep the watch's progress."""
        self._watch(trigger)

    def _watch(self, trigger):
        """Register ``trigger``; return its watch (None when invalid). Its state is loaded now (a
        new trigger's start stored at once: items before its first poll are new even across a
        restart); when the datastore does not answer, its first turn loads it."""
        watch = self._watches.add(trigger)
        if watch is not None and not watch.loaded:
            ref = trigger_ref(trigger)
            try:
                load_watch(self._state, ref, watch)
            except Exception as error:  # add_trigger must not raise: tried again at the turn
                self._logger.warning("state of %s %s not loaded yet (%s); loaded at the next "
                                     "poll", self.WATCH_NOUN, ref, error)
        return watch

    def remove_trigger(self, trigger):
        """Stop watching; the trigger's state is kept 7 days, then deleted (``sensing.health``)."""
        self._watches.remove(trigger)
