"""Folder watching for the dev kit, in a thread that never dies (``FolderWatch``).

Under eventlet (StackStorm's own processes, st2-run-pack-tests) an inotify read would block every
green thread, so the folders are polled, and the observer gets eventlet's green queue: watchdog
7's own event queue compares the queue size, which eventlet's patched ``queue`` keeps as None for
an unbounded queue, with 0, and the observer's thread stops on the TypeError.
"""

import os
import queue

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

__all__ = ["FolderWatch", "eventlet_patched"]

#: The watchdog events that mean a file's content or presence changed (not opened or read).
CHANGES = ("modified", "created", "moved", "deleted")


def eventlet_patched():
    """True when this process's threads are eventlet's green threads."""
    try:
        from eventlet import patcher
    except ImportError:
        return False
    return patcher.is_monkey_patched("thread")


class FolderWatch(FileSystemEventHandler):
    """Watch folders in a background thread; ``on_change(path)`` hears every changed file and
    ``log(kind, text)`` each exception it raises."""

    def __init__(self, on_change, log):
        FileSystemEventHandler.__init__(self)
        self.on_change = on_change
        self.log = log
        if eventlet_patched():
            self._observer = PollingObserver(timeout=0.5)
            self._observer._event_queue = queue.Queue()  # eventlet's; see the module doc
        else:
            self._observer = Observer()

    def watch(self, folder, recursive=False):
        """Watch ``folder`` (and its sub-folders when ``recursive``) if it exists."""
        if os.path.isdir(folder):
            self._observer.schedule(self, folder, recursive=recursive)

    def start(self):
        """Start the watching thread."""
        self._observer.start()

    def stop(self):
        """Stop the watching thread (waits up to 5 s for it)."""
        self._observer.stop()
        self._observer.join(5)

    def on_any_event(self, event):
        """Hand a changed file's path to ``on_change``; log an exception in one line instead of
        raising it (the thread must outlive any one bad event)."""
        if event.is_directory or event.event_type not in CHANGES:
            return  # watchdog also reports folders, and files being opened and read
        path = os.path.abspath(getattr(event, "dest_path", "") or event.src_path)
        try:
            self.on_change(path)
        except Exception as error:
            self.log("watch", "%s: %s: %s (still watching)" % (
                path, type(error).__name__, " ".join(str(error).split())))
