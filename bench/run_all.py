"""Run every benchmark of the pack and print one table of figures, ratios and memory.

Each ``bench/bench_*.py`` module has ``run(quick=False)`` returning rows
(``benchmark``, ``figure``, ``value``, ``unit``, ``baseline``, ``ratio``). Each module runs in its
own subprocess so that its peak memory (max RSS) is its own. Usage::

    make bench                                     # everything, file trees of 1,000,000 files
    .venv/bin/python bench/run_all.py              # everything, file trees of 100,000 files
    .venv/bin/python bench/run_all.py --quick      # smaller inputs, for a smoke run
    .venv/bin/python bench/run_all.py --markdown   # the table as README markdown
"""

import argparse
import glob
import importlib
import json
import os
import resource
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PACK_DIR = os.path.dirname(BENCH_DIR)


def setup_path():
    """Put the pack, the devkit and (when StackStorm is absent) the stand-ins on sys.path."""
    for path in (os.path.join(PACK_DIR, "actions", "lib"), os.path.join(PACK_DIR, "actions"),
                 os.path.join(PACK_DIR, "sensors"), os.path.join(PACK_DIR, "devkit"),
                 os.path.join(PACK_DIR, "tests"), BENCH_DIR):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        import st2tests.base  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(PACK_DIR, "devkit", "stand_ins"))


def modules():
    """Return the benchmark module names, sorted."""
    paths = glob.glob(os.path.join(BENCH_DIR, "bench_*.py"))
    return sorted(os.path.basename(p)[:-3] for p in paths)


def run_one(name, quick):
    """Run one benchmark module in this process and print its rows and peak RSS as JSON."""
    setup_path()
    started = time.time()
    rows = importlib.import_module(name).run(quick=quick)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "peak_rss_mib": round(peak_kib / 1024.0, 1),
                      "seconds": round(time.time() - started, 1)}))


def machine():
    """Describe the machine: cores, CPU model, Python, file system of the benchmark trees."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    filesystem = "unknown"
    try:
        trees = os.environ.get("WORKSPACES_BENCH_TREES", "/tmp/bench-trees")
        with open("/proc/mounts") as mounts:
            points = [line.split()[1:3] for line in mounts]
        filesystem = max((p for p in points if trees.startswith(p[0])), key=lambda p: len(p[0]))[1]
    except (OSError, ValueError):
        pass
    return "machine: %d cores, %s, Python %s, %s" % (
        os.cpu_count() or 0, model, sys.version.split()[0], filesystem)


def fmt(value):
    """Format a number for the table."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.4g" % value
    return str(value)


def main():
    """Run all (or the named) benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--million", action="store_true",
                        help="file trees of 1,000,000 files (several minutes, ~4 GB of /tmp)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args()
    if args.one:
        return run_one(args.one, args.quick)
    if args.million:
        os.environ["WORKSPACES_BENCH_FILES"] = "1000000"
    print(machine(), file=sys.stderr)
    table = []
    for name in args.names or modules():
        cmd = [sys.executable, os.path.abspath(__file__), "--one", name]
        if args.quick:
            cmd.append("--quick")
        print("running %s ..." % name, file=sys.stderr)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, universal_newlines=True, cwd=PACK_DIR)
        if proc.returncode != 0:
            table.append([name, "FAILED (exit %d)" % proc.returncode, "", "", "", "", "", ""])
            continue
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        for row in report["rows"]:
            table.append([row["benchmark"], row["figure"], fmt(row["value"]), row.get("unit", ""),
                          fmt(row.get("baseline")), fmt(row.get("ratio")),
                          fmt(report["peak_rss_mib"]), name])
    header = ["benchmark", "figure", "value", "unit", "baseline", "ratio", "peak RSS MiB", "module"]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(str(c) for c in row) + " |")
        return None
    widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
    for row in [header] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return None


if __name__ == "__main__":
    main()
