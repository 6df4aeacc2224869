"""Per-trigger sensor state in the StackStorm datastore: one helper for every sensor of the pack.

One key per trigger, ``state:<trigger ref>`` under the sensor's local prefix, holding compact JSON.
StackStorm's ``get_value`` returns None both for a missing key and for any API error, so a None is
"no state yet" only once ``list_values`` (which raises on errors) confirms the key does not exist;
otherwise ``StateUnavailable`` is raised and the caller skips this poll. A value over
``max_bytes`` is refused with ``StateTooLarge``; ``SeenWindow`` keeps itself under both its entry
bound (``state_max_entries``) and its share of the byte bound, measured on the real identifiers,
so a save is never refused at any allowed ``state_max_entries``.
"""

import itertools
import json
import operator

from workspaces_pack.core.keys import STATE_PREFIX

__all__ = ["StateUnavailable", "StateTooLarge", "DatastoreState", "SeenWindow", "DEFAULT_MAX_BYTES",
           "entry_bytes", "WINDOW_OVERHEAD", "PAGE_SIZE", "list_all_values"]

DEFAULT_MAX_BYTES = 64 * 1024
PAGE_SIZE = 100
"""Keys asked for per ``list_values`` call (StackStorm's default ``[api] max_page_size``)."""
WINDOW_OVERHEAD = 128
"""Bytes a ``SeenWindow``'s own fields (mark, floor, the braces) take at most, beside its items."""


def list_all_values(list_values, prefix, local=True):
    """Every key-value object under ``prefix``, asking ``list_values`` (a sensor or action
    service's method) page by page, as StackStorm answers one page when no ``limit`` is given.
    A short page ends it, and so does one with no new name (a mock that ignores ``limit``)."""
    found = {}
    offset = 0
    while True:
        page = list_values(local=local, prefix=prefix, limit=PAGE_SIZE, offset=offset) or []
        before = len(found)
        for item in page:
            found.setdefault(getattr(item, "name", None), item)
        if len(page) < PAGE_SIZE or len(found) == before:
            return list(found.values())
        offset += len(page)


def entry_bytes(identifier, position):
    """Bytes that ``"identifier":position,`` adds to a compact JSON state."""
    return len(json.dumps(identifier)) + len(json.dumps(position)) + 2


class StateUnavailable(Exception):
    """The datastore could not be read; the caller must not treat this as empty state."""


class StateTooLarge(ValueError):
    """A state value is larger than the configured bound."""


class DatastoreState(object):
    """Load and save JSON state per trigger (key ``key_prefix`` + ref) through a sensor or action
    ``service``; writes that fail are kept and retried by ``flush``."""

    def __init__(self, service, logger, max_bytes=DEFAULT_MAX_BYTES, key_prefix=STATE_PREFIX):
        self._service = service
        self._key_prefix = key_prefix
        self._logger = logger
        self._max_bytes = max_bytes
        self._unsaved = {}
        self._dispatched = set()  # unsaved keys whose state covers dispatched items
        self._sizes = {}

    def load(self, trigger_ref):
        """Return the stored state dict for ``trigger_ref``, or None when there is none yet;
        raise ``StateUnavailable`` when the datastore cannot be read or holds undecodable data."""
        key = self._key_prefix + trigger_ref
        if key in self._unsaved:
            return json.loads(self._unsaved[key])
        try:
            raw = self._service.get_value(key, local=True)
        except Exception as error:  # StackStorm's returns None; a raising one is an outage too
            raise StateUnavailable("datastore is unavailable (get_value: %s)" % error)
        if raw is None:
            if self._key_exists(key):
                raise StateUnavailable("datastore returned nothing for existing key %s" % key)
            return None
        self._sizes[key] = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
        try:
            value = json.loads(raw)
        except ValueError:
            raise StateUnavailable("datastore key %s does not hold JSON" % key)
        if not isinstance(value, dict):
            raise StateUnavailable("datastore key %s does not hold a JSON object" % key)
        return value

    def _key_exists(self, key):
        try:
            items = list_all_values(self._service.list_values, key)
        except Exception as error:
            raise StateUnavailable("datastore is unavailable (list_values: %s)" % error)
        return any(str(getattr(item, "name", "")).endswith(":" + key) or
                   getattr(item, "name", None) == key for item in items or [])

    def save(self, trigger_ref, state, dispatched=False):
        """Write ``state`` for ``trigger_ref``; return True if it reached the datastore (else it
        is kept for ``flush``). ``dispatched``: it records dispatched items."""
        key = self._key_prefix + trigger_ref
        raw = json.dumps(state, sort_keys=True, separators=(",", ":"))
        if len(raw.encode("utf-8")) > self._max_bytes:
            raise StateTooLarge("state for %s is %d bytes, over the %d byte bound"
                                % (trigger_ref, len(raw), self._max_bytes))
        self._unsaved[key] = raw
        if dispatched:
            self._dispatched.add(key)
        self._sizes[key] = len(raw.encode("utf-8"))
        return self.flush()

    def flush(self):
        """Retry writes that failed earlier; return True when nothing is left unsaved."""
        for key in sorted(self._unsaved):
            try:
                self._service.set_value(key, self._unsaved[key], local=True)
            except Exception as error:
                self._logger.warning("could not save sensor state %s (%s); will retry next poll",
                                     key, error)
                return False
            del self._unsaved[key]
            self._dispatched.discard(key)
        return True

    def holds_dispatches(self, trigger_ref):
        """True while a state of ``trigger_ref`` that records dispatched items is not written:
        its next items must wait, or a restart would dispatch more than one poll again."""
        return self._key_prefix + trigger_ref in self._dispatched

    def is_unsaved(self, trigger_ref):
        """Return True while the state of ``trigger_ref`` could not be written yet."""
        return self._key_prefix + trigger_ref in self._unsaved

    def size_of(self, trigger_ref):
        """Bytes of the state of ``trigger_ref`` last loaded or saved (0 when none)."""
        return self._sizes.get(self._key_prefix + trigger_ref, 0)


class SeenWindow(object):
    """A high-water ``mark`` plus the identifiers ``seen`` inside a look-back window, bounded.

    Every item has an identifier and a numeric position (a file's change time, an EB's end time);
    it is new when its position is at or above ``floor`` and its identifier not in ``seen``.
    """

    def __init__(self, mark=None, floor=None, seen=None, max_entries=500,
                 max_bytes=DEFAULT_MAX_BYTES):
        self.mark = mark
        self.floor = floor
        self.seen = dict(seen or {})
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    @classmethod
    def from_state(cls, state, max_entries=500, max_bytes=DEFAULT_MAX_BYTES):
        """Rebuild from a dict made by ``to_state``."""
        return cls(mark=state.get("mark"), floor=state.get("floor"), seen=state.get("seen"),
                   max_entries=max_entries, max_bytes=max_bytes)

    def to_state(self):
        """Return a JSON-ready dict."""
        return {"mark": self.mark, "floor": self.floor, "seen": self.seen}

    def is_new(self, identifier, position):
        """Return True when the item was not handled before."""
        if self.floor is not None and position < self.floor:
            return False
        return identifier not in self.seen

    def add(self, identifier, position):
        """Record an item as handled and move the mark up to its position."""
        self.seen[identifier] = position
        if self.mark is None or position > self.mark:
            self.mark = position

    def prune(self, window, hold_below=None):
        """Raise the floor to ``mark - window`` (never above ``hold_below``, the position of work
        still pending), then as far as keeping ``max_entries`` and ``max_bytes`` (this window's
        share of the datastore bound) needs; forget the identifiers below it."""
        if self.mark is None:
            return
        floor = self.mark - window
        if hold_below is not None:
            floor = min(floor, hold_below)
        if self.floor is not None:
            floor = max(floor, self.floor)
        kept = {key: pos for key, pos in self.seen.items() if pos >= floor}
        for cutoff_of in (self._entry_cutoff, self._byte_cutoff):
            cutoff = cutoff_of(kept)
            if cutoff is not None:
                if hold_below is not None:
                    cutoff = min(cutoff, hold_below)
                floor = max(floor, cutoff)
                kept = {key: pos for key, pos in kept.items() if pos >= floor}
        self.seen = kept
        self.floor = floor

    def _entry_cutoff(self, kept):
        """The position of the ``max_entries``-th newest item; None when fewer are kept."""
        if len(kept) <= self.max_entries:
            return None
        return sorted(kept.values(), reverse=True)[self.max_entries - 1]

    def _byte_cutoff(self, kept):
        """The lowest position whose items, with every newer one, fit ``max_bytes``; None when
        everything fits. Items sharing a position are kept or forgotten together; one position
        alone too big is kept (the save is then refused and shown as a state_unsaved problem)."""
        budget = self.max_bytes - WINDOW_OVERHEAD
        sizes = sorted(((pos, entry_bytes(key, pos)) for key, pos in kept.items()), reverse=True)
        if sum(size for _, size in sizes) <= budget:
            return None
        total, cutoff = 0, sizes[0][0]
        for position, group in itertools.groupby(sizes, key=operator.itemgetter(0)):
            total += sum(size for _, size in group)
            if total > budget:
                break
            cutoff = position
        return cutoff
