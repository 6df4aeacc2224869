"""Find new, settled files in a directory tree: one scanner for the file monitor and VLBA sensors.

A ``DirectoryWatch`` follows one directory for one trigger: ``poll`` returns the files that are
new and settled, ``mark_reported`` records those the sensor dispatched. Its stored state is a
``SeenWindow`` (a floor of file positions plus the digests of the paths reported inside a
window): a few kilobytes however many files the directory holds.

What counts as new
    A file's *position* is ``max(st_ctime_ns, st_mtime_ns)``: creating, writing or renaming a file
    into the directory raises it; a copy that preserves mtime cannot lower it. While the sensor
    runs, a name not in the folder's previous listing is new. After a restart, on a full pass
    (every ``FULL_PASS_SECONDS``) and where listings cannot be compared name by name, a file is
    new when its position is at or above the floor and its path was not reported ("by
    position"): files created while the sensor was down are found, old ones not replayed. The
    files there when a trigger is first seen are its baseline, not reported; a file whose position
    is at or after ``added_at`` (when the trigger was added) is new, however late the first poll.

Listings (8 bytes per file)
    A folder's listing is kept as the 64-bit hashes of its names in directory order, which stays
    put while a folder only gains names (ext4's hashed directories): a new listing is compared
    with the old one in step, ``CHUNK`` entries at a time at C speed, and entries that do not line
    up are the new names. When the old listing was not matched in full and in order (names
    removed, a file system that reorders), those entries are judged by position, and a folder
    with too many of them is listed again by position: reordering costs speed, never correctness.
    A new name whose hash equals an old one's (odds about 2^-64 per pair) is missed only where the
    order puts it in that old name's place; the full pass finds it.

Settling
    A new file is reported once ``settle_seconds`` have passed since its position and its size did
    not change between two looks; with ``ready_marker``, once that file exists in its folder; with
    ``group_of`` (a function of the file name), once every new file of its group has settled (a
    VLBA project is reported whole).

Speed
    A folder whose mtime did not change since it was listed is not listed again, unless that
    mtime was within ``RACY_SECONDS`` of the listing (coarse file system times). Only new names
    are stat'ed. The baseline stats no file of a quiet folder (changed, by ctime and mtime: rsync
    -a sets mtimes back, more than ``RACY_SECONDS`` before the trigger was added): its files count
    as older than that change (one written in place since is found by the next full pass).
"""

import array
import collections
import fnmatch
import hashlib
import itertools
import json
import operator
import os
import re
import stat
import time

from workspaces_pack.core import problems
from workspaces_pack.core.errors import ParameterError, checked_amount, checked_flag
from workspaces_pack.core.state import DEFAULT_MAX_BYTES, SeenWindow

__all__ = ["FoundFile", "WatchSpec", "DirectoryWatch", "ScanError", "watch_spec_from_parameters"]

NS = 1000000000
RACY_SECONDS = 2
FULL_PASS_SECONDS = 600
MAX_SETTLE_SECONDS = 7 * 24 * 3600
MAX_PATTERN_LENGTH = 255
CHUNK = 1024
SKIP_AHEAD = 16
MIN_HELD = 16384
_NAME = operator.attrgetter("name")

FoundFile = collections.namedtuple(
    "FoundFile", ["path", "directory", "name", "size", "mtime", "position"])
FoundFile.__doc__ = ("A settled new file: absolute ``path``, its ``directory`` and ``name``, "
                     "``size`` in bytes, ``mtime`` in POSIX seconds, ``position`` in ns.")


class ScanError(Exception):
    """The watched directory cannot be listed; ``problem`` is the health problem kind:
    ``directory_missing`` (missing or not a directory), else ``poll_failing``."""

    def __init__(self, message, problem=problems.POLL_FAILING):
        super(ScanError, self).__init__(message)
        self.problem = problem


# A new file not reported yet; ``last_size`` is its size at the look before (None: just found).
_Pending = collections.namedtuple(
    "_Pending", ["size", "mtime_ns", "position", "last_size", "digest"])

WatchSpec = collections.namedtuple(
    "WatchSpec", ["directory", "pattern", "recursive", "settle_seconds", "ready_marker",
                  "group_of"])
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


def watch_spec_from_parameters(parameters, group_of=None):
    """Validate trigger parameters and return a ``WatchSpec``; raise ``ParameterError``.
    ``group_of(name)`` (not a trigger parameter) returns the group a file belongs to (None for
    none): a group's files are reported together."""
    given = {name: value for name, value in (parameters or {}).items() if value is not None}
    directory = given.get("directory", "")
    if directory == "":
        raise ParameterError("directory", "is required (an absolute directory path)")
    if not isinstance(directory, str):
        raise ParameterError("directory", "must be a string path, got %r" % (directory,))
    if "\x00" in directory or len(directory) > 4096:
        raise ParameterError("directory", "is not a usable path")
    if not os.path.isabs(directory):
        raise ParameterError("directory", "must be an absolute path, got %r" % directory)
    if ".." in directory.split("/"):
        raise ParameterError("directory", "must not contain '..' parts, got %r" % directory)
    pattern = given.get("pattern", "*")
    _plain_name("pattern", pattern, "glob")
    recursive = checked_flag("recursive", given.get("recursive", False))
    settle = checked_amount("settle_seconds", given.get("settle_seconds", 30.0), "seconds",
                            MAX_SETTLE_SECONDS, zero_allowed=True)
    marker = given.get("ready_marker", "")
    if marker != "":
        _plain_name("ready_marker", marker, "file name")
    return WatchSpec(os.path.normpath(directory), pattern, recursive, settle,
                     marker or None, group_of)


# What a poll saw in one folder: its name hashes in directory order, its sub-folders, its
# (inode, mtime) when listed, and whether that mtime was too close to the listing to trust.
_Listing = collections.namedtuple("_Listing", ["hashes", "subdirs", "version", "racy"])


class DirectoryWatch(object):
    """Follow one directory for one trigger and return its new, settled files (module doc).

    ``window_seconds`` is how far below the high-water mark reported paths are remembered,
    ``max_entries`` how many at most (the whole state stays within ``DEFAULT_MAX_BYTES``);
    ``clock()`` returns POSIX seconds; ``added_at`` (POSIX seconds) is when the trigger was added
    (a file written within one tick of the kernel's coarse clock after it may carry an earlier
    time). ``stats["listed"]`` counts the folders listed.
    """

    def __init__(self, spec, window_seconds=3600, max_entries=500, clock=time.time,
                 added_at=None):
        self.spec = spec
        self._max_bytes = DEFAULT_MAX_BYTES - len(json.dumps(
            {"directory": spec.directory, "pattern": spec.pattern, "window": None},
            separators=(",", ":")))
        self._added_ns = None if added_at is None else int(added_at * NS)
        self._window_ns = int(window_seconds * NS)
        self._clock = clock
        self._max_entries = max_entries
        # One regular expression for "a file this watch wants": the pattern, not a hidden name
        # (unless the pattern starts with "."), not the ready marker.
        self._wanted = re.compile("%s%s%s" % (
            "" if spec.pattern.startswith(".") else r"(?!\.)",
            r"(?!%s\Z)" % re.escape(spec.ready_marker) if spec.ready_marker else "",
            fnmatch.translate(spec.pattern))).match
        self._prefix = os.path.join(spec.directory, "")
        self._window = None
        self._listings = {}
        self._pending = {}
        self._last_full_pass = None
        self._baseline_needed = False
        self._baseline_top = (None, [])
        self._quiet_top = 0
        self.changed = False
        self.stats = {"listed": 0}

    # -- state -----------------------------------------------------------------------------

    @property
    def loaded(self):
        """True once ``load_state`` has been called."""
        return self._window is not None

    def load_state(self, state):
        """Start from stored state, or from a fresh baseline when ``state`` is None or another
        directory's (then ``changed``, so that ``added_at`` is stored before anything else)."""
        same = bool(state) and state.get("directory") == self.spec.directory and \
            state.get("pattern") == self.spec.pattern
        self._window = SeenWindow.from_state((state.get("window") if same else None) or {},
                                             max_entries=self._max_entries,
                                             max_bytes=self._max_bytes)
        self._baseline_needed = not same or "baseline_from" in state
        if same and self._baseline_needed:
            self._added_ns = state["baseline_from"]
        self._listings = {}
        self._pending = {}
        self._last_full_pass = None
        self.changed = not same

    @property
    def baseline_taken(self):
        """True once the files already there when the trigger was added are known."""
        return self._window is not None and not self._baseline_needed

    def to_state(self):
        """Return the JSON-ready persistent state (directory, pattern and the seen window)."""
        state = {"directory": self.spec.directory, "pattern": self.spec.pattern,
                 "window": self._window.to_state()}
        if self._baseline_needed:
            state["baseline_from"] = self._added_ns
        return state

    # -- polling ---------------------------------------------------------------------------

    def poll(self):
        """Look at the directory; return new settled files (``FoundFile``), oldest first. Raise
        ``ScanError`` when the directory itself cannot be listed; the caller keeps the watch and
        tries again next poll (a recreated directory's files are then new)."""
        if self._window is None:
            raise RuntimeError("load_state() must be called before poll()")
        now = self._clock()
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
            missing = isinstance(error, (FileNotFoundError, NotADirectoryError))
            raise ScanError("cannot read directory %s: %s" % (root, error.strerror or error),
                            problems.DIRECTORY_MISSING if missing else problems.POLL_FAILING)
        if not stat.S_ISDIR(root_stat.st_mode):
            self._listings = {}
            raise ScanError("%s is not a directory" % root, problems.DIRECTORY_MISSING)
        full = not self._listings or self._last_full_pass is None or \
            now - self._last_full_pass >= FULL_PASS_SECONDS
        candidates = {}
        try:
            self._walk(root_stat, full, candidates)
        except OSError as error:
            self._listings = {}
            raise ScanError("cannot read directory %s: %s" % (root, error.strerror or error))
        if full:
            self._last_full_pass = now
        if self._baseline_needed:
            self._end_baseline()
        for path, pending in candidates.items():
            self._pending.setdefault(path, pending)
        return self._settled(now)

    def _end_baseline(self):
        # The floor is the newest baseline time itself and the files exactly at it are seen (a
        # file made just after may carry the same coarse time); a quiet folder's files are older
        # than its last change (``_quiet_top``).
        top, paths = self._baseline_top
        self._window.floor = max(top or 0, self._quiet_top)
        for path in paths:
            self._window.add(self._digest_of(path), top)
        self._baseline_top = (None, [])
        self._quiet_top = 0
        self._baseline_needed = False
        self.changed = True

    def _walk(self, root_stat, full, candidates):
        """List the tree's changed folders (every folder in a ``full`` pass) into ``candidates``;
        a sub-folder that cannot be read is tried next poll."""
        root = self.spec.directory
        if full:
            self._listings = {}
        stack = [(root, root_stat)]
        while stack:
            directory, dir_stat = stack.pop()
            listing = self._listings.get(directory)
            try:
                dir_stat = dir_stat or os.stat(directory)
                if listing is None or listing.racy or \
                        listing.version != (dir_stat.st_ino, dir_stat.st_mtime_ns):
                    listing = self._list(directory, dir_stat, full, candidates)
            except OSError:
                if directory == root:
                    raise
                if not full:
                    self._forget_tree(directory)
                continue
            stack.extend((sub, None) for sub in listing.subdirs)

    def _list(self, directory, dir_stat, by_position, candidates):
        """List one folder, keep its name hashes, add its new files to ``candidates`` (each judged
        ``by_position``, else compared in step with the previous listing of the same inode)."""
        self.stats["listed"] += 1
        listed_ns = time.time_ns()
        version = (dir_stat.st_ino, dir_stat.st_mtime_ns)
        old = self._listings.get(directory)
        compared = old is not None and not by_position and old.version[0] == version[0]
        previous = old.hashes if compared else None
        listing = _Listing(array.array("q"), old.subdirs if compared else set(), version,
                           dir_stat.st_mtime_ns + RACY_SECONDS * NS > listed_ns)
        hashes = listing.hashes
        held = []  # entries not matched in step; judged once the whole listing is read
        limit = max(MIN_HELD, len(previous) // 16) if previous else 0
        index, count, in_step = 0, len(previous or ()), True
        changed_ns = max(dir_stat.st_ctime_ns, dir_stat.st_mtime_ns)  # utime cannot lower ctime
        quiet = self._baseline_needed and self._added_ns is not None and \
            changed_ns + RACY_SECONDS * NS < self._added_ns
        if quiet:
            self._quiet_top = max(self._quiet_top, changed_ns + 1)
        with os.scandir(directory) as entries:
            if not previous:  # nothing to compare with: each entry on its own
                self._consider_all(entries, listing, by_position, candidates, quiet)
            for chunk in iter(lambda: list(itertools.islice(entries, CHUNK)), []):
                chunk_hashes = array.array("q", map(hash, map(_NAME, chunk)))
                hashes.extend(chunk_hashes)
                end = index + len(chunk_hashes)
                if previous[index:end] == chunk_hashes:
                    index = end
                    continue
                for entry, value in zip(chunk, chunk_hashes):
                    if index < count and previous[index] == value:
                        index += 1
                        continue
                    ahead = previous[index + 1:index + 1 + SKIP_AHEAD]
                    if value in ahead:  # names were removed: back in step, judged by position
                        index += ahead.index(value) + 2
                        in_step = False
                    held.append(entry)
                    if len(held) > limit:  # too many to hold: list the folder by position
                        return self._list(directory, dir_stat, True, candidates)
        in_step = in_step and index == count
        for entry in held:
            self._consider(entry, listing, not in_step, candidates)
        self._listings[directory] = listing
        return listing

    def _consider_all(self, entries, listing, by_position, candidates, quiet):
        """Keep the hash of every name of ``entries`` and ``_consider`` each (in a ``quiet`` folder
        only note sub-folders); a flat folder by position passes over files below the floor as
        soon as they are stat'ed, in a loop of its own."""
        hashes = listing.hashes
        if quiet and not self.spec.recursive:
            hashes.extend(map(hash, map(_NAME, entries)))
            return
        floor = self._window.floor
        if quiet or self.spec.recursive or not by_position or floor is None or \
                self._baseline_needed:
            for entry in entries:
                hashes.append(hash(entry.name))
                self._consider(entry, listing, by_position, candidates, quiet)
            return
        wanted = self._wanted
        for entry in entries:
            name = entry.name
            hashes.append(hash(name))
            if wanted(name) is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_ctime_ns >= floor or st.st_mtime_ns >= floor:
                self._judge(entry, st, by_position, candidates)

    def _consider(self, entry, listing, by_position, candidates, quiet=False):
        """Add ``entry`` to ``candidates`` when it is a new matching file; note a sub-folder to
        walk (recursive watches)."""
        if self.spec.recursive and entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                listing.subdirs.add(entry.path)
            return
        if quiet or self._wanted(entry.name) is None:
            return
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            return
        self._judge(entry, st, by_position, candidates)

    def _judge(self, entry, st, by_position, candidates):
        """Add the file ``entry`` (its ``st``) to ``candidates`` when it is new."""
        if not stat.S_ISREG(st.st_mode):
            return
        path = entry.path
        position = max(st.st_ctime_ns, st.st_mtime_ns)
        if self._baseline_needed and (self._added_ns is None or position < self._added_ns):
            top, paths = self._baseline_top
            if top is None or position > top:
                self._baseline_top = (position, [path])
            elif position == top:
                paths.append(path)
            return
        floor = self._window.floor
        if by_position and floor is not None and position < floor and not self._baseline_needed:
            return
        digest = self._digest_of(path)
        # While the baseline is taken, a file that came since the trigger was added is new.
        if self._baseline_needed or digest not in self._window.seen:
            candidates[path] = _Pending(st.st_size, st.st_mtime_ns, position, None, digest)

    def _forget_tree(self, directory):
        prefix = directory + os.sep
        for table in (self._listings, self._pending):
            for key in [k for k in table if k == directory or k.startswith(prefix)]:
                del table[key]

    def _digest_of(self, path):
        """The short, fixed-size identifier the state remembers a reported file by: a digest of
        its path relative to the watched directory."""
        relative = path[len(self._prefix):]
        return hashlib.blake2b(relative.encode("utf-8", "surrogateescape"),
                               digest_size=8).hexdigest()

    def _settled(self, now):
        """Re-check pending files; return those that settled, holding back unsettled groups."""
        settle_ns = int(self.spec.settle_seconds * NS)
        now_ns = int(now * NS)
        group_of = self.spec.group_of
        ready = []
        blocked = set()
        markers = {}
        for path, pending in list(self._pending.items()):
            size, mtime_ns, position = pending.size, pending.mtime_ns, pending.position
            if pending.last_size is not None:  # found by an earlier poll: look again
                try:
                    st = os.lstat(path)
                except OSError:
                    st = None
                if st is None or not stat.S_ISREG(st.st_mode):
                    del self._pending[path]
                    continue
                size, mtime_ns = st.st_size, st.st_mtime_ns
                position = max(st.st_ctime_ns, mtime_ns)
            self._pending[path] = _Pending(size, mtime_ns, position, size, pending.digest)
            directory, _, name = path.rpartition(os.sep)
            stable = (settle_ns == 0 or pending.last_size == size) and \
                now_ns - position >= settle_ns
            if stable and self.spec.ready_marker:
                if directory not in markers:
                    markers[directory] = os.path.exists(
                        os.path.join(directory, self.spec.ready_marker))
                stable = markers[directory]
            if stable:
                ready.append(FoundFile(path, directory, name, size, mtime_ns / float(NS),
                                       position))
            elif group_of is not None:
                blocked.add(group_of(name))
        if group_of is not None:
            blocked.discard(None)
            ready = [found for found in ready if group_of(found.name) not in blocked]
        ready.sort(key=lambda found: (found.position, found.path))
        return ready

    def mark_reported(self, found_files):
        """Record dispatched files so that they are never reported again; prune the window to
        its bounds, never above pending work."""
        for found in found_files:
            pending = self._pending.pop(found.path, None)
            digest = pending.digest if pending else self._digest_of(found.path)
            self._window.add(digest, found.position)
        if found_files:
            self.changed = True
            hold = min((item.position for item in self._pending.values()), default=None)
            self._window.prune(self._window_ns, hold_below=hold)
