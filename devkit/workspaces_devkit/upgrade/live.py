"""The upgrade check in the local web UI rehearsal: ``workspaces-local api --upgrade-check DIR``.

While the local st2 API serves the installed pack, ``UpgradeWatch`` checks its rules against a
new version's checkout (DIR): all of them once at start (``report_all``), then each rule the web
UI (or ``st2 rule create``) creates or updates (``report``, which the API's origin calls). Each
check prints one line in the API's output, the same line ``workspaces-local upgrade-check``
prints for a broken rule.
"""

from workspaces_devkit.upgrade.cli import broken_line, make_checker

__all__ = ["UpgradeWatch"]


class UpgradeWatch(object):
    """Checks the API's rule documents against the pack in ``new_pack_dir``; writes to ``out``.

    ``on_line(line)`` (optional) hears every line written, e.g. a test's queue.
    """

    def __init__(self, new_pack_dir, out, on_line=None):
        self.checker = make_checker(new_pack_dir)
        self.out = out
        self.on_line = on_line or (lambda line: None)
        self.label = "%s %s in %s" % (self.checker.contract["pack"],
                                      self.checker.contract["version"], new_pack_dir)

    def _write(self, line):
        self.out.write("upgrade-check: %s\n" % line)
        self.out.flush()
        self.on_line(line)

    def report(self, doc):
        """Check one rule document (skipped when it does not use the pack, or the new version
        ships it); write its line."""
        if not isinstance(doc, dict) or not self.checker.concerns(doc) or \
                doc.get("ref") in self.checker.shipped:
            return
        problems = self.checker.check(doc)
        if problems:
            self._write(broken_line(doc, "against %s" % self.label, problems))
        else:
            self._write("ok %s (fits %s)" % (doc.get("ref"), self.label))

    def report_all(self, docs):
        """Check every rule document of ``docs``."""
        for doc in docs:
            self.report(doc)
