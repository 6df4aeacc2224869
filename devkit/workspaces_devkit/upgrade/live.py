"""The upgrade check in the local web UI rehearsal: ``workspaces-local api --upgrade-check DIR``.

While the local st2 API serves the installed pack, each of its rules is checked against a new
version's checkout (DIR): every stored rule at start, then each one the web UI (or ``st2 rule
create``) creates or updates. Each check prints one line in the API's output, the same line
``workspaces-local upgrade-check`` prints for a broken rule.
"""

from workspaces_devkit.upgrade.cli import broken_line, make_checker

__all__ = ["rule_reporter"]


def rule_reporter(new_pack_dir, out):
    """Return ``report(rule)``, which checks one st2 API rule document against the pack in
    ``new_pack_dir`` and writes its line to ``out`` (none for a rule that does not use the pack
    or that the new version ships)."""
    checker = make_checker(new_pack_dir)
    label = "%s %s in %s" % (checker.contract["pack"], checker.contract["version"], new_pack_dir)

    def report(rule):
        if not isinstance(rule, dict) or not checker.concerns(rule) or \
                rule.get("ref") in checker.shipped:
            return
        problems = checker.check(rule)
        out.write("upgrade-check: %s\n" % (
            broken_line(rule, "against %s" % label, problems) if problems else
            "ok %s (fits %s)" % (rule.get("ref"), label)))
        out.flush()
    return report
