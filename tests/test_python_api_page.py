"""docs/STACKSTORM_PYTHON_API.md cannot drift from StackStorm's code.

The page's method tables each follow a marker line ``<!-- api-table: <module>.<Class> [| doubles:
<module>.<Class>, ...] [| inherits: <module>.<Class>] -->`` (on one line) and have the columns
``signature | returns | raises | what it does | source``. A signature cell is ``name(parameters)``
as Python writes them (defaults as literals), or a bare ``name`` for a property; the source cell is
``path:line`` of the method's ``def``. ``doubles`` are test doubles that must offer the same rows;
``inherits`` names the table whose rows the class inherits (rows of its own replace those of the
same name).

Inside StackStorm (``st2-run-pack-tests``, the real-StackStorm tier) every table is checked against
StackStorm's own classes: each row's parameters, kinds and defaults equal ``inspect.signature`` of
the method, every public method and property of the class (along its StackStorm base classes) has a
row, and the cited source line holds that method's ``def``; and every StackStorm file the page cites
exists in the installed StackStorm, with at least the cited number of lines.

A cited path is a path of the StackStorm/st2 repository at v3.9.0; it maps to the installed file so:
``st2X/st2X/<rest>`` (a component: st2common, st2reactor, st2tests, st2client, st2api, st2actions)
-> ``<rest>`` in the installed package ``st2X``; ``contrib/runners/<runner>/<runner>/<rest>`` ->
``<rest>`` in the installed package ``<runner>`` (e.g. ``python_runner``);
``<component>/bin/<script>`` -> the script of that name on ``PATH`` or beside the running
Python. (The 3.9.0 wheels hold the tag's files unchanged, so the line numbers are the tag's.)

In the normal suite the devkit's stand-ins answer as st2common/st2reactor/st2tests: the same tables
are checked against the stand-in classes that hold those names (the sensor and action services
through their test doubles), each table against at least one of them. The page's worked example (a
sensor, its metadata and its test) runs in both.
"""

import ast
import importlib
import importlib.util
import inspect
import io
import os
import re
import shutil
import sys
import tempfile
import unittest

import pytest

from conftest import PACK_DIR, STAND_INS_DIR, USING_STAND_INS

PAGE = os.path.join(PACK_DIR, "docs", "STACKSTORM_PYTHON_API.md")
MARKER = re.compile(r"^<!-- api-table: (.+?) -->$", re.M)
CITATION = re.compile(r"`((?:st2[a-z]*|contrib)/[\w./-]+?)(?::(\d+)(?:-(\d+))?)?`")
NO_DEFAULT = "(no default)"
STACKSTORM_PACKAGES = ("st2", "python_runner")


def _page():
    with open(PAGE) as handle:
        return handle.read()


# --- reading the page -------------------------------------------------------------------------

def read_tables(text):
    """Return ``{class path: table}`` for every method table of ``text``; a table is a dict with
    ``doubles`` (list), ``inherits`` (class path or None) and ``rows`` (``{name: row}``, a row
    being ``{"signature", "source"}``)."""
    tables = {}
    for marker in MARKER.finditer(text):
        fields = [field.strip() for field in marker.group(1).split("|")]
        options = dict(field.split(":", 1) for field in fields[1:])
        table = {"doubles": [d.strip() for d in options.get("doubles", "").split(",") if d.strip()],
                 "inherits": options.get("inherits", "").strip() or None, "rows": {}}
        lines = text[marker.end():].lstrip("\n").split("\n")
        assert lines[0].startswith("| signature | returns | raises | what it does | source |"), \
            "the table after %s has other columns: %s" % (marker.group(0), lines[0])
        for line in lines[2:]:
            if not line.startswith("|"):
                break
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            signature, source = cells[0].strip("`"), cells[-1].strip("`")
            table["rows"][signature.split("(")[0]] = {"signature": signature, "source": source}
        tables[fields[0]] = table
    return tables


def rows_of(tables, class_path):
    """The rows that describe ``class_path``: its table's, over those of the table it inherits."""
    table = tables[class_path]
    rows = dict(rows_of(tables, table["inherits"])) if table["inherits"] else {}
    rows.update(table["rows"])
    return rows


def documented_parameters(signature):
    """``[(name, kind, default)]`` of a signature cell; None for a property (no parentheses)."""
    if "(" not in signature:
        return None
    args = ast.parse("def %s: pass" % signature).body[0].args
    out = []
    positional = getattr(args, "posonlyargs", []) + args.args
    defaults = [NO_DEFAULT] * (len(positional) - len(args.defaults)) + [
        ast.literal_eval(node) for node in args.defaults]
    kinds = ["positional_only"] * len(getattr(args, "posonlyargs", [])) + [
        "positional_or_keyword"] * len(args.args)
    out += [(arg.arg, kind, default) for arg, kind, default in zip(positional, kinds, defaults)]
    if args.vararg:
        out.append((args.vararg.arg, "var_positional", NO_DEFAULT))
    out += [(arg.arg, "keyword_only", NO_DEFAULT if node is None else ast.literal_eval(node))
            for arg, node in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append((args.kwarg.arg, "var_keyword", NO_DEFAULT))
    return out


# --- reading the code -------------------------------------------------------------------------

def actual_parameters(cls, name):
    """``[(name, kind, default)]`` of method ``name`` of ``cls`` without ``self``; None for a
    property; raises AttributeError when there is no such attribute."""
    if isinstance(inspect.getattr_static(cls, name), property):
        return None
    parameters = list(inspect.signature(getattr(cls, name)).parameters.values())[1:]
    return [(p.name, p.kind.name.lower(),
             NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
            for p in parameters]


def _render(parameters):
    """``a, b=1, *args, **kwargs`` (or ``property``) for messages."""
    if parameters is None:
        return "property"
    stars = {"var_positional": "*", "var_keyword": "**"}
    return ", ".join("%s%s%s" % (stars.get(kind, ""), name,
                                 "" if default == NO_DEFAULT else "=%r" % (default,))
                     for name, kind, default in parameters)


def public_members(cls):
    """Public methods and properties of ``cls`` and of its StackStorm base classes."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(STACKSTORM_PACKAGES):
            continue
        names.update(name for name, value in vars(klass).items() if not name.startswith("_") and (
            inspect.isfunction(value) or isinstance(value, property)))
    return names


def import_class(class_path):
    """The class at ``module.Class``, or None when its module cannot be imported here."""
    module_name, _, class_name = class_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, class_name)


def installed_path(repo_path):
    """The installed file of a StackStorm repository path (the mapping of the module docstring)."""
    parts = repo_path.split("/")
    if len(parts) == 3 and parts[1] == "bin":
        beside_python = os.path.join(os.path.dirname(sys.executable), parts[2])
        return shutil.which(parts[2]) or beside_python
    package, rest = (parts[3], parts[4:]) if parts[0] == "contrib" else (parts[1], parts[2:])
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], *rest)


# --- the checks -------------------------------------------------------------------------------

def table_problems(tables, class_path, cls, complete=True, check_sources=False):
    """Problems (one line each) of ``cls`` against the rows of ``class_path``'s table."""
    problems = []
    rows = rows_of(tables, class_path)
    for name, row in sorted(rows.items()):
        try:
            actual = actual_parameters(cls, name)
        except AttributeError:
            problems.append("%s has no %s (page: %s)" % (cls.__qualname__, name, row["signature"]))
            continue
        documented = documented_parameters(row["signature"])
        if documented != actual:
            problems.append("%s.%s: the page says (%s), the code has (%s)" % (
                cls.__qualname__, name, _render(documented), _render(actual)))
        if check_sources and name in tables[class_path]["rows"]:
            problems += source_problems(name, row["source"])
    if complete:
        for name in sorted(public_members(cls) - set(rows)):
            problems.append("%s.%s has no row in the page's table" % (cls.__qualname__, name))
    return problems


def source_problems(name, source):
    """A problem unless the cited line of the installed file holds ``def <name>(``."""
    path, _, line = source.partition(":")
    installed = installed_path(path)
    if not installed or not os.path.isfile(installed):
        return ["%s: cited source %s is not installed" % (name, source)]
    with open(installed) as handle:
        lines = handle.read().split("\n")
    number = int(line.split("-")[0])
    if number > len(lines) or not lines[number - 1].strip().startswith("def %s(" % name):
        return ["%s: line %s of %s is not its def" % (name, line, path)]
    return []


def stackstorm_problems(text):
    """Every table against StackStorm's own classes and their doubles (real-StackStorm tier)."""
    tables = read_tables(text)
    problems = []
    for class_path, table in sorted(tables.items()):
        cls = import_class(class_path)
        if cls is None:
            problems.append("%s cannot be imported" % class_path)
            continue
        problems += table_problems(tables, class_path, cls, check_sources=True)
        for double_path in table["doubles"]:
            double = import_class(double_path)
            problems += (["%s cannot be imported" % double_path] if double is None else
                         table_problems(tables, class_path, double, complete=False))
    return problems


def stand_in_problems(text):
    """Every table against the stand-ins that hold its names (normal suite)."""
    tables = read_tables(text)
    problems = []
    for class_path, table in sorted(tables.items()):
        checked = 0
        for path in [class_path] + table["doubles"]:
            cls = import_class(path)
            if cls is None or not inspect.getfile(cls).startswith(STAND_INS_DIR):
                continue
            checked += 1
            problems += table_problems(tables, class_path, cls, complete=path == class_path)
        if not checked:
            problems.append("no stand-in answers for %s or its doubles" % class_path)
    return problems


def environment_problems(text):
    return stand_in_problems(text) if USING_STAND_INS else stackstorm_problems(text)


# --- the tests --------------------------------------------------------------------------------

real_tier_only = pytest.mark.skipif(
    USING_STAND_INS, reason="needs StackStorm's own st2common/st2reactor/st2tests/python_runner "
    "(the real-StackStorm tier, devkit/bin/test-st2); the stand-ins are checked by "
    "test_the_stand_ins_match_the_pages_tables")
stand_ins_only = pytest.mark.skipif(
    not USING_STAND_INS, reason="StackStorm's own classes answer here (checked by "
    "test_the_pages_tables_match_stackstorm); the devkit's stand-ins are not importable")


def test_the_page_has_its_method_tables():
    tables = read_tables(_page())
    assert {"st2reactor.container.sensor_wrapper.SensorService",
            "python_runner.python_action_wrapper.ActionService",
            "st2reactor.sensor.base.Sensor", "st2reactor.sensor.base.PollingSensor",
            "st2common.runners.base_action.Action", "st2tests.base.BaseSensorTestCase",
            "st2tests.base.BaseActionTestCase"} <= set(tables)
    assert all(table["rows"] for table in tables.values())


@real_tier_only
def test_the_pages_tables_match_stackstorm():
    problems = stackstorm_problems(_page())
    assert not problems, "\n".join(problems)


@real_tier_only
def test_every_cited_stackstorm_file_is_installed_with_the_cited_line():
    problems = []
    citations = CITATION.findall(_page())
    assert len(citations) > 100
    for path, first, last in sorted(set(citations)):
        installed = installed_path(path)
        if not installed or not os.path.isfile(installed):
            problems.append("%s: not in the installed StackStorm (looked for %s)" % (
                path, installed))
            continue
        with open(installed) as handle:
            count = len(handle.read().split("\n"))
        if int(last or first or 0) > count:
            problems.append("%s:%s: the file has %d lines" % (path, last or first, count))
    assert not problems, "\n".join(problems)


@stand_ins_only
def test_the_stand_ins_match_the_pages_tables():
    problems = stand_in_problems(_page())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("change", [
    ("`list_values(local=True, prefix=None, limit=None, offset=None)`",
     "`list_values(local=True, prefix=None, limit=None, offset=0)`", "list_values"),
    ("| `cleanup()` |", "| `cleanup(now=True)` |", "cleanup"),
    ("| `cleanup()` |", "| `cleanup_everything()` |", "cleanup"),
], ids=["a changed default", "an invented parameter", "a missing method"])
def test_a_page_that_differs_from_the_code_is_caught(change):
    old, new, method = change
    text = _page()
    assert old in text
    mutated = text.replace(old, new, 1)
    assert not environment_problems(text)
    problems = environment_problems(mutated)
    assert problems and all(method in problem for problem in problems), problems


def _example_files(text):
    return re.findall(r"^<!-- example: (\S+) -->\n```\w+\n(.*?)^```$", text, re.M | re.S)


def test_the_worked_example_runs(tmp_path, monkeypatch):
    pack = tmp_path / "examples"
    files = _example_files(_page())
    assert [name for name, _ in files] == [
        "sensors/new_file_sensor.yaml", "sensors/new_file_sensor.py",
        "tests/test_new_file_sensor.py"]
    for name, body in files:
        (pack / os.path.dirname(name)).mkdir(parents=True, exist_ok=True)
        (pack / name).write_text(body)
    (pack / "pack.yaml").write_text("ref: examples\nname: examples\nversion: 0.1.0\n")
    monkeypatch.syspath_prepend(str(pack / "sensors"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delitem(sys.modules, "new_file_sensor", raising=False)
    spec = importlib.util.spec_from_file_location(
        "example_test_new_file_sensor", str(pack / "tests" / "test_new_file_sensor.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output = io.StringIO()
    result = unittest.TextTestRunner(stream=output).run(
        unittest.defaultTestLoader.loadTestsFromModule(module))
    sys.modules.pop("new_file_sensor", None)
    assert result.testsRun == 1 and result.wasSuccessful(), output.getvalue()
