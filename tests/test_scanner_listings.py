"""The scanner's listings: unchanged folders are not listed, and the compact name-hash listings
never lose or repeat a file (removals, reordering file systems, hash collisions, coarse times)."""

import os
import shutil
import tempfile
import time
import unittest
from unittest import mock

from workspaces_pack.sensing import scanner
from workspaces_pack.sensing.scanner import DirectoryWatch, watch_spec_from_parameters

AN_HOUR_AGO = time.time() - 3600


def touch(path):
    """Create an empty file (and its folders); return its path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    return path


def age(path, when=AN_HOUR_AGO):
    """Set a file's or folder's times to ``when`` (seconds), as if written long ago."""
    os.utime(path, (when, when))


class ListingTest(unittest.TestCase):
    """DirectoryWatch on real folders, polled the way the sensors poll it."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="listing-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.offset = 0.0

    def watch(self, recursive=False, **options):
        """A watch of ``self.root`` with its baseline taken (settle 0, test clock)."""
        spec = watch_spec_from_parameters({"directory": self.root, "recursive": recursive,
                                           "settle_seconds": 0})
        watch = DirectoryWatch(spec, clock=lambda: time.time() + self.offset, **options)
        watch.load_state(None)
        self.assertEqual(watch.poll(), [])
        return watch

    def reported(self, watch):
        """Poll once; mark and return the names reported, sorted."""
        found = watch.poll()
        watch.mark_reported(found)
        return sorted(item.name for item in found)

    def old_tree(self, folders=20, files=3):
        """``<mmmyy>/<project>/`` folders of files, all written an hour ago; return folders."""
        made = []
        for index in range(folders):
            folder = os.path.join(self.root, "dec11", "p%02d" % index)
            for number in range(files):
                age(touch(os.path.join(folder, "f%d.dat" % number)))
            made.append(folder)
        for folder, _, _ in os.walk(self.root):
            age(folder)
        return made

    def test_folders_whose_mtime_did_not_change_are_not_listed(self):
        folders = self.old_tree()
        watch = self.watch(recursive=True)
        listed = watch.stats["listed"]
        self.assertEqual(self.reported(watch), [])
        self.assertEqual(watch.stats["listed"], listed, "an unchanged tree was listed again")
        touch(os.path.join(folders[3], "new1.dat"))
        touch(os.path.join(folders[11], "new2.dat"))
        listed = watch.stats["listed"]
        self.assertEqual(self.reported(watch), ["new1.dat", "new2.dat"])
        self.assertEqual(watch.stats["listed"] - listed, 2, "folders without change were listed")

    def test_a_tree_copied_with_its_times_is_not_replayed_after_a_restart(self):
        """rsync -a writes the files now and then sets the folders' mtime back to the source's: a
        folder whose mtime is older than its files' ctime. The trigger is added seconds later."""
        folders = self.old_tree(folders=3, files=4)
        for folder in folders:
            for number in range(4):
                os.chmod(os.path.join(folder, "f%d.dat" % number), 0o644)  # ctime: now
        for folder, _, _ in os.walk(self.root):
            age(folder)
        spec = watch_spec_from_parameters({"directory": self.root, "recursive": True,
                                           "settle_seconds": 0})
        added_at = time.time() + scanner.RACY_SECONDS + 1

        def clock():
            return added_at + self.offset
        watch = DirectoryWatch(spec, clock=clock, added_at=added_at)
        watch.load_state(None)
        self.assertEqual(watch.poll(), [])
        restarted = DirectoryWatch(spec, clock=clock, added_at=added_at)
        restarted.load_state(watch.to_state())
        self.assertEqual(self.reported(restarted), [], "a restart replayed the copied tree")
        self.offset += scanner.FULL_PASS_SECONDS
        self.assertEqual(self.reported(watch), [], "the full pass replayed the copied tree")

    def test_a_folder_removed_and_made_again_is_watched_again(self):
        folders = self.old_tree(folders=3)
        watch = self.watch(recursive=True)
        shutil.rmtree(folders[1])
        self.assertEqual(self.reported(watch), [])
        touch(os.path.join(folders[1], "again.dat"))
        self.assertEqual(self.reported(watch), ["again.dat"])

    def test_a_name_added_within_the_racy_margin_is_found(self):
        watch = self.watch()
        touch(os.path.join(self.root, "a.dat"))
        self.assertEqual(self.reported(watch), ["a.dat"])
        mtime_ns = os.stat(self.root).st_mtime_ns
        path = touch(os.path.join(self.root, "b.dat"))
        # A coarse file system clock: the folder's mtime does not move for the second name.
        os.utime(self.root, ns=(mtime_ns, mtime_ns))
        os.utime(path, ns=(mtime_ns, mtime_ns))
        self.assertEqual(self.reported(watch), ["b.dat"])

    def test_a_name_hidden_from_the_quick_pass_is_found_by_the_full_pass(self):
        age(self.root)
        watch = self.watch()
        mtime_ns = os.stat(self.root).st_mtime_ns
        touch(os.path.join(self.root, "late.dat"))
        os.utime(self.root, ns=(mtime_ns, mtime_ns))  # the change left no trace on the folder
        self.assertEqual(self.reported(watch), [])
        self.offset += scanner.FULL_PASS_SECONDS
        self.assertEqual(self.reported(watch), ["late.dat"])
        self.offset += scanner.FULL_PASS_SECONDS
        self.assertEqual(self.reported(watch), [], "the full pass reported a file twice")

    def test_names_removed_and_added_in_one_interval(self):
        for index in range(100):
            touch(os.path.join(self.root, "old%03d.dat" % index))
        watch = self.watch()
        for index in range(0, 100, 3):
            os.remove(os.path.join(self.root, "old%03d.dat" % index))
        for name in ("x1.dat", "x2.dat", "x3.dat"):
            touch(os.path.join(self.root, name))
        self.assertEqual(self.reported(watch), ["x1.dat", "x2.dat", "x3.dat"])
        touch(os.path.join(self.root, "y.dat"))
        self.assertEqual(self.reported(watch), ["y.dat"])
        self.assertEqual(self.reported(watch), [])

    def test_too_many_unmatched_names_are_judged_by_position(self):
        for index in range(60):
            touch(os.path.join(self.root, "old%02d.dat" % index))
        watch = self.watch()
        for index in range(0, 60, 2):
            os.remove(os.path.join(self.root, "old%02d.dat" % index))
        new = ["n%02d.dat" % index for index in range(20)]
        for name in new:
            touch(os.path.join(self.root, name))
        with mock.patch.object(scanner, "MIN_HELD", 4):
            self.assertEqual(self.reported(watch), new)
            self.assertEqual(self.reported(watch), [])

    def test_a_file_system_that_reorders_names_replays_nothing(self):
        for index in range(50):
            touch(os.path.join(self.root, "old%02d.dat" % index))
        watch = self.watch()
        touch(os.path.join(self.root, "new.dat"))
        real_scandir = os.scandir

        class Reversed(object):
            def __init__(self, path):
                with real_scandir(path) as entries:
                    self.entries = list(entries)[::-1]

            def __enter__(self):
                return iter(self.entries)

            def __exit__(self, *exc):
                return False
        with mock.patch.object(scanner.os, "scandir", Reversed):
            self.assertEqual(self.reported(watch), ["new.dat"])
            touch(os.path.join(self.root, "newer.dat"))
            self.assertEqual(self.reported(watch), ["newer.dat"])

    def test_a_new_name_whose_hash_collides_with_an_old_one_is_found(self):
        for index in range(50):
            touch(os.path.join(self.root, "old%02d.dat" % index))
        watch = self.watch()
        touch(os.path.join(self.root, "twin.dat"))
        order = os.listdir(self.root)
        partner = order[(order.index("twin.dat") + 10) % len(order)]
        real_hash = hash

        def colliding(name):
            return real_hash(partner if name == "twin.dat" else name)
        with mock.patch.object(scanner, "hash", colliding, create=True):
            self.assertEqual(self.reported(watch), ["twin.dat"])
            self.assertEqual(self.reported(watch), [])


if __name__ == "__main__":
    unittest.main()
