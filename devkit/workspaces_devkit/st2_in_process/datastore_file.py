"""StackStorm's datastore (mongomock: in memory) kept in a file, so the key-value pairs survive a
restart: loaded at start, written back whole and atomically whenever they change and at stop.
Values are saved as StackStorm stores them: secrets stay encrypted with the key beside the file.
"""

import eventlet
from bson import json_util
from st2common.models.db.keyvalue import KeyValuePairDB

from workspaces_devkit.atomic_files import atomic_write

__all__ = ["DatastoreFile"]


class DatastoreFile(object):
    """The key-value pairs of StackStorm's datastore, mirrored in the JSON file ``path``."""

    def __init__(self, path):
        self.path = path
        self._saved = None

    def load(self):
        """Insert the saved pairs (none when there is no file yet)."""
        try:
            with open(self.path) as handle:
                text = handle.read()
        except FileNotFoundError:
            return
        documents = json_util.loads(text) if text.strip() else []
        if documents:
            KeyValuePairDB._get_collection().insert_many(documents)
        self._saved = text

    def save(self):
        """Write the pairs when they differ from what the file holds."""
        documents = KeyValuePairDB._get_collection().find()
        text = json_util.dumps(sorted(documents, key=lambda doc: doc.get("uid", "")), indent=1,
                               sort_keys=True)
        if text != self._saved:
            atomic_write(self.path, text)
            self._saved = text

    def keep_saved(self, every=1.0):
        """Save every ``every`` seconds (run in a green thread)."""
        while True:
            eventlet.sleep(every)
            try:
                self.save()
            except (OSError, ValueError) as error:
                print("workspaces-local: cannot save the datastore to %s: %s" % (
                    self.path, error))
