"""``workspaces-local upgrade-check``: the site's rules against the working tree's pack.

Rules come from a StackStorm API (every rule of any pack, fetched through st2client with the
``st2`` CLI's settings) and from rule folders (``--rules-dir``, repeatable: a site's rule
repository). Each rule that uses a trigger type or an action of this pack is checked
(``rule_check``); each broken rule gets one line. Exit 1 when a rule would break, else 2 when
something could not be read (the API, a file), else 0.
"""

import glob
import os
import sys

from workspaces_devkit.content import load_pack
from workspaces_devkit.contract.compare import compare_contracts
from workspaces_devkit.contract.snapshot import build_contract, load_snapshot, previous_release
from workspaces_devkit.st2meta import YamlFileError, load_yaml
from workspaces_devkit.upgrade.rule_check import RuleChecker
from workspaces_devkit.upgrade.st2_rules import FetchError, fetch_rules

__all__ = ["add_upgrade_check_command", "rules_from_folder", "make_checker", "broken_line"]


def rules_from_folder(folder):
    """Return ``(rules, errors)``: ``(path, document)`` of each rule file, one line per bad file."""
    rules, errors = [], []
    if not os.path.isdir(folder):
        return rules, ["%s: not a directory" % folder]
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml")) +
                       glob.glob(os.path.join(folder, "*.yml"))):
        try:
            document = load_yaml(path)
        except YamlFileError as error:
            errors.append(str(error))
            continue
        except OSError as error:
            errors.append("%s: cannot read: %s" % (path, error.strerror or type(error).__name__))
            continue
        if not isinstance(document, dict):
            errors.append("%s: not a rule (a YAML mapping with trigger and action)" % path)
            continue
        rules.append((path, document))
    return rules, errors


def _ref(rule):
    return rule.get("ref") or "%s.%s" % (rule.get("pack", "?"), rule.get("name", "?"))


def make_checker(pack_dir, from_version=None):
    """Return a ``RuleChecker`` for the pack in ``pack_dir``, explaining changes since
    ``from_version`` (default: the newest snapshot below pack.yaml's version), knowing the rules
    the pack ships (``shipped``); ValueError when ``from_version`` has no snapshot."""
    contract = build_contract(pack_dir)
    if from_version:
        old = load_snapshot(pack_dir, from_version)
        if old is None:
            raise ValueError("no snapshot contract/%s.json" % from_version)
    else:
        from_version, old = previous_release(pack_dir, contract["version"])
    return RuleChecker(contract, compare_contracts(old, contract) if old else (), from_version,
                       shipped=[rule.ref for rule in load_pack(pack_dir).rules])


def broken_line(rule, source, problems):
    """The report line of a rule with ``problems``."""
    return "BROKEN %s (%s): %s" % (_ref(rule), source, "; ".join(
        "%s: %s" % (problem.where, problem.message) for problem in problems))


def cmd_upgrade_check(args):
    """Check the site's rules; print one line per broken rule; return the exit status."""
    try:
        checker = make_checker(args.pack_dir, args.from_version)
    except ValueError as error:
        sys.stderr.write("upgrade-check: %s\n" % error)
        return 2
    contract, from_version = checker.contract, checker.from_version
    sources, errors = [], []
    if not args.no_api:
        try:
            api_url, rules = fetch_rules(args.config_file, args.api_url, args.auth_url,
                                         args.base_url)
            sources.extend(("st2 API %s" % api_url, rule) for rule in rules)
        except FetchError as error:
            errors.append(str(error))
    for folder in args.rules_dir or []:
        rules, bad = rules_from_folder(folder)
        sources.extend(rules)
        errors.extend(bad)
    for error in errors:
        sys.stderr.write("upgrade-check: %s\n" % error)
    checked = broken = replaced = 0
    for source, rule in sources:
        if not checker.concerns(rule):
            continue
        if source.startswith("st2 API") and _ref(rule) in checker.shipped:
            replaced += 1  # `st2 pack install` registers the new version's file in its place
            continue
        checked += 1
        problems = checker.check(rule)
        if problems:
            broken += 1
            print(broken_line(rule, source, problems))
    print("%d rule(s) using %s.* checked against %s %s%s: %d would break" % (
        checked, contract["pack"], contract["pack"], contract["version"],
        " (changes since %s)" % from_version if from_version else "", broken))
    if replaced:
        print("%d rule(s) of the StackStorm API not checked: the new version's rules/ ships them "
              "(validated with the pack)" % replaced)
    return 1 if broken else 2 if errors else 0


def add_upgrade_check_command(sub, pack_dir):
    """Add ``upgrade-check`` to the runner's subcommands ``sub``."""
    check = sub.add_parser(
        "upgrade-check", help="check the site's rules (st2 API, rule folders) against this "
        "pack; exit 1 if one would break (docs/UPGRADING.md)")
    check.add_argument("--pack-dir", default=pack_dir, help="the new pack version (default: "
                       "this working tree)")
    check.add_argument("--rules-dir", action="append", metavar="DIR",
                       help="also check the rule files in DIR (repeatable)")
    check.add_argument("--no-api", action="store_true",
                       help="check only the --rules-dir folders, do not ask a StackStorm API")
    check.add_argument("--from", dest="from_version", metavar="VERSION",
                       help="the installed version, to explain changes (default: the newest "
                            "snapshot below pack.yaml's version)")
    st2 = check.add_argument_group("StackStorm API (as the st2 CLI: these options, then ST2_* "
                                   "variables, then the CLI config file)")
    st2.add_argument("--config-file", help="st2 CLI config file (default ~/.st2/config or "
                     "ST2_CONFIG_FILE)")
    st2.add_argument("--base-url", help="StackStorm base URL (ST2_BASE_URL)")
    st2.add_argument("--api-url", help="StackStorm API URL (ST2_API_URL)")
    st2.add_argument("--auth-url", help="StackStorm auth URL (ST2_AUTH_URL)")
    check.set_defaults(func=cmd_upgrade_check)
