"""``workspaces-local contract snapshot`` and ``workspaces-local contract diff``."""

import os

from workspaces_devkit.contract.compare import compare_contracts
from workspaces_devkit.contract.release import check_release
from workspaces_devkit.contract.snapshot import build_contract, load_snapshot, write_snapshot

__all__ = ["add_contract_command"]


def cmd_snapshot(args):
    """Write contract/<pack.yaml's version>.json (refused when a different one exists)."""
    path, status = write_snapshot(args.pack_dir, force=args.force)
    shown = os.path.relpath(path, args.pack_dir)
    if status == "frozen":
        print("%s exists and differs from the working tree: a released contract is frozen "
              "(raise pack.yaml's version; --force rewrites it)" % shown)
        return 1
    print("%s %s" % (shown, status))
    return 0


def cmd_diff(args):
    """Print the classified differences from the baseline snapshot and the release verdict."""
    if args.against:
        old = load_snapshot(args.pack_dir, args.against)
        if old is None:
            print("no snapshot contract/%s.json" % args.against)
            return 2
        for difference in compare_contracts(old, build_contract(args.pack_dir)):
            print(difference.line())
        return 0
    check = check_release(args.pack_dir)
    if check.baseline is not None:
        print("working tree (pack.yaml %s) against contract/%s.json"
              % (check.version, check.baseline))
    for difference in check.differences:
        print(difference.line())
    if not check.differences and check.baseline is not None:
        print("no difference")
    for problem in check.problems:
        print("NOT RELEASABLE: %s" % problem)
    return 0 if check.ok else 1


def add_contract_command(sub, pack_dir):
    """Add ``contract snapshot|diff`` to the runner's subcommands ``sub``."""
    contract = sub.add_parser("contract", help="the pack's public contract: snapshot and diff "
                              "(docs/UPGRADING.md)")
    actions = contract.add_subparsers(dest="contract_command", required=True)
    snapshot = actions.add_parser("snapshot", help="write contract/<pack.yaml version>.json")
    snapshot.add_argument("--force", action="store_true",
                          help="rewrite an existing snapshot that differs (a released contract "
                               "should never change)")
    snapshot.set_defaults(func=cmd_snapshot)
    diff = actions.add_parser("diff", help="classify the working tree's differences from the "
                              "baseline snapshot; exit 1 when the release rule fails")
    diff.add_argument("--against", metavar="VERSION",
                      help="compare with this version's snapshot instead (no release rule)")
    diff.set_defaults(func=cmd_diff)
    for command in (snapshot, diff):
        command.add_argument("--pack-dir", default=pack_dir)
