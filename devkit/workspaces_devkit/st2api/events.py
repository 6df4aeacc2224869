"""The API's event bus and ``GET /stream``: StackStorm's server-sent events for st2web.

st2stream sends each change as ``event: <name>\\ndata: <JSON>\\n\\n`` with names
``<resource>__<create|update|delete>`` (``st2.execution__create``, ``st2.execution__update``,
``st2.liveaction__update``, ...), and a bare ``\\n`` as heartbeat while nothing happens. Without
``?events=`` it sends its default list (executions, live actions, announcements); ``events``
takes comma-separated names or globs (``st2.rule__*``: rule changes, published here too),
``action_refs`` and ``execution_ids`` narrow executions, and the stream ends after an
``end_event`` of execution ``end_execution_id`` in a completed status, as st2stream's listener
does (``st2 execution tail`` asks for that).
"""

import fnmatch
import json
import queue
import threading

__all__ = ["EventBus", "DEFAULT_EVENTS", "sse_stream"]

#: st2stream's default event list (st2stream/controllers/v1/stream.py).
DEFAULT_EVENTS = ("st2.announcement__*", "st2.execution__create", "st2.execution__update",
                  "st2.execution__delete", "st2.liveaction__create", "st2.liveaction__update",
                  "st2.liveaction__delete")
COMPLETED_STATES = ("succeeded", "failed", "timeout", "canceled", "abandoned")
_CLOSED = object()


class EventBus(object):
    """Fans published ``(event name, body)`` pairs out to every subscriber's queue."""

    def __init__(self):
        self._subscribers = []
        self._lock = threading.Lock()
        self.closed = False

    def publish(self, name, body):
        """Send one event to every subscriber."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put((name, body))

    def subscribe(self):
        """Return a new queue that receives every event published from now on."""
        subscriber = queue.Queue()
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber):
        """Stop delivering to ``subscriber``."""
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def close(self):
        """End every open stream (the server is stopping)."""
        with self._lock:
            self.closed = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put(_CLOSED)


def _split(value):
    return [part for part in (value or "").split(",") if part]


def _action_ref(body):
    action = body.get("action")
    if isinstance(action, dict):
        return action.get("ref")
    return action


def _execution_id(body, name):
    if name.startswith("st2.execution__"):
        return body.get("id")
    return (body.get("context") or {}).get("execution_id") or body.get("execution_id")


def _wanted(name, body, events, action_refs, execution_ids):
    if not any(fnmatch.fnmatch(name, pattern) for pattern in events):
        return False
    if action_refs and isinstance(body, dict) and _action_ref(body) not in action_refs:
        return False
    if execution_ids and isinstance(body, dict) and _execution_id(body, name) not in execution_ids:
        return False
    return True


def _is_last(name, body, end_event, end_execution_id):
    """True for the ``end_event`` of ``end_execution_id`` in a completed status."""
    if not end_event or name != end_event or not isinstance(body, dict):
        return False
    return bool(end_execution_id) and body.get("id") == end_execution_id and \
        body.get("status") in COMPLETED_STATES


def _frame(name, body):
    return ("event: %s\ndata: %s\n\n" % (name, json.dumps(body))).encode("utf-8")


def sse_stream(bus, query, heartbeat=10.0):
    """Return a generator of SSE frames (bytes) from ``bus`` for ``GET /stream?...``.

    It subscribes at once (so nothing published after the call is missed) and yields ``b"\\n"``
    every ``heartbeat`` seconds of silence, so a closed connection is noticed.
    """
    events = _split(query.get("events")) or list(DEFAULT_EVENTS)
    action_refs = set(_split(query.get("action_refs")))
    execution_ids = set(_split(query.get("execution_ids")))
    end_event = query.get("end_event")
    end_execution_id = query.get("end_execution_id")
    subscriber = bus.subscribe()

    def generate():
        try:
            yield b"\n"  # opens the stream at once (EventSource fires "open")
            while not bus.closed:
                try:
                    item = subscriber.get(timeout=heartbeat)
                except queue.Empty:
                    yield b"\n"
                    continue
                if item is _CLOSED:
                    return
                name, body = item
                last = _is_last(name, body, end_event, end_execution_id)
                if _wanted(name, body, events, action_refs, execution_ids):
                    yield _frame(name, body)
                if last:
                    return
        finally:
            bus.unsubscribe(subscriber)

    return generate()
