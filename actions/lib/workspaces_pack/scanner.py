"""Find new, settled files in a directory tree: one scanner for the file monitor and VLBA sensors.

A ``DirectoryWatch`` follows one directory for one trigger. Each ``poll`` returns the files that
are new and settled since the files it returned before; ``mark_reported`` records the ones the
sensor dispatched. Its persistent part (``to_state``/``load_state``) is a ``SeenWindow``: a
high-water floor of file positions plus a bounded set of path digests reported inside a window,
so it stays a few kilobytes however many files the directory holds.

What counts as new
    A file's *position* is ``max(st_ctime_ns, st_mtime_ns)``: creating, writing, or renaming a file
    into the directory all raise it, and a copy that preserves mtime cannot lower it.
    While the sensor runs, a name that was not in the directory's previous listing is a new file.
    After a restart (no listing in memory) and on a periodic full pass, a matching file is new when
    its position is at or above the floor and its path was not reported before, so files created
    while the sensor was down are found and old ones are not replayed. When a trigger is first
    seen, the files already there are the baseline and are not reported.

Settling
    A new file is reported once ``settle_seconds`` have passed since its last change (position)
    and its size did not change between two looks; with ``ready_marker`` only once that file
    exists in the same folder; with ``group_by_directory`` only once every new file of its
    folder has settled (a VLBA project is reported whole).

Speed
    A poll lists each directory with ``os.listdir`` and compares names with the previous listing
    (a C-level set difference); only new names are stat'ed. A directory whose mtime did not change,
    and is older than ``RACY_SECONDS``, is not listed at all.
"""

import collections
import fnmatch
import hashlib
import os
import re
import stat
import time

from workspaces_pack.state import SeenWindow
from workspaces_pack.triggers import ParameterError

__all__ = ["FoundFile", "WatchSpec", "DirectoryWatch", "ScanError", "ParameterError",
           "watch_spec_from_parameters", "path_digest"]

NS = 1000000000
RACY_SECONDS = 2
MAX_SETTLE_SECONDS = 7 * 24 * 3600
MAX_PATTERN_LENGTH = 255

FoundFile = collections.namedtuple(
    "FoundFile", ["path", "directory", "name", "size", "mtime", "position"])
FoundFile.__doc__ = ("A settled new file: absolute ``path``, its ``directory`` and ``name``, "
                     "``size`` in bytes, ``mtime`` in POSIX seconds, ``position`` in ns.")


class ScanError(Exception):
    """The watched directory cannot be listed (missing, not a directory, no permission)."""


WatchSpec = collections.namedtuple(
    "WatchSpec", ["directory", "pattern", "recursive", "settle_seconds", "ready_marker",
                  "group_by_directory"])
WatchSpec.__doc__ = "Validated parameters of one directory watch."


def _plain_name(parameter, value, what):
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(parameter, "must be a non-empty %s, got %r" % (what, value))
    if "/" in value or "\x00" in value or value in (".", ".."):
        raise ParameterError(parameter, "must be a single file name %s without '/', got %r"
                             % (what, value))
    if len(value) > MAX_PATTERN_LENGTH:
        raise ParameterError(parameter, "is %d characters long, at most %d allowed"
                             % (len(value), MAX_PATTERN_LENGTH))
    return value


def watch_spec_from_parameters(parameters, pattern_default="*", settle_default=30.0,
                               marker_default=None, group_by_directory=False):
    """Validate trigger parameters and return a ``WatchSpec``; raise ``ParameterError``.

    ``directory`` must be an absolute path without ``..`` parts; ``pattern`` and
    ``ready_marker`` are single file names (``pattern`` a glob); ``settle_seconds`` a number from
    0 to one week; ``recursive`` a boolean.
    """
    parameters = parameters or {}
    directory = parameters.get("directory")
    if directory is None or directory == "":
        raise ParameterError("directory", "is required (an absolute directory path)")
    if not isinstance(directory, str):
        raise ParameterError("directory", "must be a string path, got %r" % (directory,))
    if "\x00" in directory or len(directory) > 4096:
        raise ParameterError("directory", "is not a usable path")
    if not os.path.isabs(directory):
        raise ParameterError("directory", "must be an absolute path, got %r" % directory)
    if ".." in directory.split("/"):
        raise ParameterError("directory", "must not contain '..' parts, got %r" % directory)
    pattern = parameters.get("pattern")
    pattern = pattern_default if pattern is None else pattern
    _plain_name("pattern", pattern, "glob")
    recursive = parameters.get("recursive", False)
    recursive = False if recursive is None else recursive
    if not isinstance(recursive, bool):
        raise ParameterError("recursive", "must be true or false, got %r" % (recursive,))
    settle = parameters.get("settle_seconds")
    settle = settle_default if settle is None else settle
    if isinstance(settle, bool) or not isinstance(settle, (int, float)) or \
            not (0 <= settle <= MAX_SETTLE_SECONDS):
        raise ParameterError("settle_seconds", "must be a number of seconds from 0 to %d, got %r"
                             % (MAX_SETTLE_SECONDS, settle))
    marker = parameters.get("ready_marker", marker_default)
    if marker == "":
        marker = None
    if marker is not None:
        _plain_name("ready_marker", marker, "file name")
    return WatchSpec(os.path.normpath(directory), pattern, recursive, float(settle), marker,
                     group_by_directory)


def path_digest(relative_path):
    """Return the short, fixed-size identifier a reported path is remembered by in the state."""
    return hashlib.blake2b(relative_path.encode("utf-8", "surrogateescape"),
                           digest_size=8).hexdigest()


class _Listing(object):
    """What the previous poll saw in one directory."""

    __slots__ = ("names", "mtime_ns", "subdirs")

    def __init__(self, names, mtime_ns):
        self.names = names
        self.mtime_ns = mtime_ns
        self.subdirs = set()


class DirectoryWatch(object):
    """Follow one directory for one trigger and return its new, settled files (see module doc).

    ``window_seconds`` is how far below the high-water mark reported paths are remembered;
    ``max_entries`` bounds that memory; ``full_pass_seconds`` is how often a poll stats every file
    (to catch files replaced in place); ``clock`` returns wall-clock seconds (tests replace it).
    """

    def __init__(self, spec, window_seconds=3600, max_entries=500, full_pass_seconds=600,
                 clock=time.time):
        self.spec = spec
        self.window_ns = int(window_seconds * NS)
        self.full_pass_seconds = full_pass_seconds
        self.clock = clock
        self._max_entries = max_entries
        self._matcher = re.compile(fnmatch.translate(spec.pattern)).match
        self._hidden_ok = spec.pattern.startswith(".")
        self._window = None
        self._listings = {}
        self._pending = {}
        self._last_full_pass = None
        self._baseline_needed = False
        self.changed = False
        self.stats = {"listed": 0, "stat": 0, "skipped_dirs": 0}

    # -- state -----------------------------------------------------------------------------

    @property
    def loaded(self):
        """True once ``load_state`` has been called."""
        return self._window is not None

    def load_state(self, state):
        """Start from stored state, or from a fresh baseline when ``state`` is None."""
        if state and state.get("directory") == self.spec.directory and \
                state.get("pattern") == self.spec.pattern:
            self._window = SeenWindow.from_state(state.get("window") or {},
                                                 max_entries=self._max_entries)
            self._baseline_needed = False
        else:
            self._window = SeenWindow(max_entries=self._max_entries)
            self._baseline_needed = True
        self._listings = {}
        self._pending = {}
        self._last_full_pass = None
        self.changed = self._baseline_needed

    def to_state(self):
        """Return the JSON-ready persistent state (directory, pattern and the seen window)."""
        return {"directory": self.spec.directory, "pattern": self.spec.pattern,
                "window": self._window.to_state()}

    # -- polling ---------------------------------------------------------------------------

    def poll(self):
        """Look at the directory; return new settled files (``FoundFile``), oldest first.

        Raises ``ScanError`` when the watched directory itself cannot be listed; the caller keeps
        the watch and tries again next poll (a recreated directory's files are then new).
        """
        if self._window is None:
            raise RuntimeError("load_state() must be called before poll()")
        now = self.clock()
        root = self.spec.directory
        try:
            root_stat = os.stat(root)
        except OSError as error:
            self._listings = {}
            if self._baseline_needed and isinstance(error, FileNotFoundError):
                # Nothing there yet: the baseline is empty, so every file that comes with the
                # directory is new.
                self._window.floor = 0
                self._baseline_needed = False
                self.changed = True
            raise ScanError("cannot read directory %s: %s" % (root, error.strerror or error))
        if not stat.S_ISDIR(root_stat.st_mode):
            self._listings = {}
            raise ScanError("%s is not a directory" % root)
        full = (not self._listings or self._last_full_pass is None or
                now - self._last_full_pass >= self.full_pass_seconds)
        candidates = {}
        try:
            if full:
                self._full_pass(root, candidates)
                self._last_full_pass = now
            else:
                self._quick_pass(root, root_stat, now, candidates)
        except OSError as error:
            self._listings = {}
            raise ScanError("cannot read directory %s: %s" % (root, error.strerror or error))
        if self._baseline_needed:
            # File times come from a coarse kernel clock: a file created just after the newest
            # existing one may carry the very same time. So the floor is that time itself, and
            # the files exactly at it are remembered as seen.
            positions = [info[2] for info in candidates.values()]
            self._window.floor = max(positions) if positions else 0
            for path, info in candidates.items():
                if info[2] == self._window.floor:
                    self._window.add(self._relative(path), info[2])
            self._baseline_needed = False
            self.changed = True
            return []
        for path, info in candidates.items():
            if path not in self._pending:
                self._pending[path] = info + (None,)
        return self._settled(now)

    def _wanted(self, name):
        visible = self._hidden_ok or not name.startswith(".")
        if not visible or name == self.spec.ready_marker:
            return False
        return self._matcher(name) is not None

    def _list(self, directory):
        self.stats["listed"] += 1
        try:
            return set(os.listdir(directory))
        except OSError:
            if directory == self.spec.directory:
                raise
            return None

    def _full_pass(self, root, candidates):
        """List and stat everything; classify by position against the stored window."""
        self._listings = {}
        baseline = self._baseline_needed
        floor = self._window.floor
        recursive = self.spec.recursive
        wanted = self._wanted
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                mtime_ns = os.stat(directory).st_mtime_ns
                entries = os.scandir(directory)
            except OSError:
                if directory == root:
                    raise
                continue
            self.stats["listed"] += 1
            names = set()
            listing = _Listing(names, mtime_ns)
            self._listings[directory] = listing
            with entries:
                for entry in entries:
                    name = entry.name
                    names.add(name)
                    if recursive and entry.is_dir(follow_symlinks=False):
                        if not name.startswith("."):
                            listing.subdirs.add(entry.path)
                            stack.append(entry.path)
                        continue
                    if not wanted(name):
                        continue
                    self.stats["stat"] += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    position = max(st.st_ctime_ns, st.st_mtime_ns)
                    if baseline or ((floor is None or position >= floor) and
                                    self._is_new(entry.path, position)):
                        candidates[entry.path] = (st.st_size, st.st_mtime_ns, position)

    def _quick_pass(self, root, root_stat, now, candidates):
        """List only changed directories; stat only names not seen in the previous listing."""
        racy_ns = int((now - RACY_SECONDS) * NS)
        stack = [(root, root_stat.st_mtime_ns)]
        while stack:
            directory, mtime_ns = stack.pop()
            listing = self._listings.get(directory)
            if mtime_ns is None:
                try:
                    mtime_ns = os.stat(directory).st_mtime_ns
                except OSError:
                    self._forget_tree(directory)
                    continue
            if listing is not None and listing.mtime_ns == mtime_ns and mtime_ns < racy_ns:
                self.stats["skipped_dirs"] += 1
                stack.extend((sub, None) for sub in listing.subdirs)
                continue
            names = self._list(directory)
            if names is None:
                self._forget_tree(directory)
                continue
            if listing is None:
                listing = _Listing(set(), mtime_ns)
                self._listings[directory] = listing
            new_names = names - listing.names
            for gone in listing.names - names:
                path = os.path.join(directory, gone)
                if path in listing.subdirs:
                    listing.subdirs.discard(path)
                    self._forget_tree(path)
                self._pending.pop(path, None)
            listing.names = names
            listing.mtime_ns = mtime_ns
            for name in new_names:
                path = os.path.join(directory, name)
                wanted = self._wanted(name)
                if not wanted and not self.spec.recursive:
                    continue
                st = self._lstat(path)
                if st is None:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if self.spec.recursive and not name.startswith("."):
                        listing.subdirs.add(path)
                    continue
                if wanted and stat.S_ISREG(st.st_mode) and \
                        self._relative(path) not in self._reported_ids():
                    candidates[path] = (st.st_size, st.st_mtime_ns,
                                        max(st.st_ctime_ns, st.st_mtime_ns))
            stack.extend((sub, None) for sub in listing.subdirs)

    def _forget_tree(self, directory):
        prefix = directory + os.sep
        for key in [k for k in self._listings if k == directory or k.startswith(prefix)]:
            del self._listings[key]
        for key in [k for k in self._pending if k.startswith(prefix)]:
            del self._pending[key]

    def _lstat(self, path):
        self.stats["stat"] += 1
        try:
            return os.lstat(path)
        except OSError:
            return None

    def _relative(self, path):
        return path_digest(os.path.relpath(path, self.spec.directory))

    def _reported_ids(self):
        return self._window.seen

    def _is_new(self, path, position):
        return self._window.is_new(self._relative(path), position)

    def _settled(self, now):
        """Re-check pending files; return those that settled, holding back grouped folders."""
        settle_ns = int(self.spec.settle_seconds * NS)
        now_ns = int(now * NS)
        ready = []
        blocked_dirs = set()
        markers = {}
        for path, (size, mtime_ns, position, last_size) in list(self._pending.items()):
            st = self._lstat(path)
            if st is None or not stat.S_ISREG(st.st_mode):
                del self._pending[path]
                continue
            position = max(st.st_ctime_ns, st.st_mtime_ns)
            directory = os.path.dirname(path)
            stable = (now_ns - position >= settle_ns and
                      (settle_ns == 0 or last_size == st.st_size))
            self._pending[path] = (st.st_size, st.st_mtime_ns, position, st.st_size)
            if stable and self.spec.ready_marker:
                if directory not in markers:
                    markers[directory] = os.path.exists(
                        os.path.join(directory, self.spec.ready_marker))
                stable = markers[directory]
            if not stable:
                blocked_dirs.add(directory)
                continue
            ready.append(FoundFile(path, directory, os.path.basename(path), st.st_size,
                                   st.st_mtime_ns / float(NS), position))
        if self.spec.group_by_directory:
            ready = [found for found in ready if found.directory not in blocked_dirs]
        ready.sort(key=lambda found: (found.position, found.path))
        return ready

    def mark_reported(self, found_files):
        """Record dispatched files so that they are never reported again; prune the window."""
        for found in found_files:
            self._pending.pop(found.path, None)
            self._window.add(self._relative(found.path), found.position)
        if found_files:
            self.changed = True
            self.prune()

    def prune(self):
        """Keep the remembered paths inside the window and bound, never above pending work."""
        hold = min(info[2] for info in self._pending.values()) if self._pending else None
        if self._window.prune(self.window_ns, hold_below=hold):
            self.changed = True

    @property
    def pending_count(self):
        """How many new files are waiting to settle."""
        return len(self._pending)

    @property
    def remembered_count(self):
        """How many reported paths the state remembers."""
        return len(self._window.seen)
