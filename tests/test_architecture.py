"""The library's layers import only in the allowed directions (docs/ARCHITECTURE.md).

Every module of ``actions/lib/workspaces_pack``, ``actions/*.py`` and ``sensors/*.py`` is parsed
(``ast``, nothing is imported), and every import in it, at module level or inside a function,
absolute or relative (``from ..flows import x``), or through ``importlib.import_module`` or
``__import__``, is checked against ``ALLOWED``. A broken arrow fails naming the module, the line
and the import; an import whose target is not a constant cannot be checked and fails too.
``__all__`` of each library module names only what the module itself defines, and every name other
code takes from a library module (``from workspaces_pack.x.y import name``) is in that module's
``__all__``.
"""

import ast
import os
import shutil
import tempfile
import unittest

from pack_test_support import PACK_DIR

LIBRARY = os.path.join(PACK_DIR, "actions", "lib", "workspaces_pack")
LAYERS = ("core", "archive", "workspaces_service", "sensing", "flows")
ALLOWED = {
    "core": set(),
    "archive": {"core"},
    "workspaces_service": {"core"},
    "sensing": {"core", "archive"},
    "flows": {"core", "archive", "workspaces_service"},
    "sensors": {"core", "archive", "sensing"},
    "actions": {"core", "archive", "workspaces_service", "flows"},
}
"""Which layers each layer may import besides itself (the table of docs/ARCHITECTURE.md)."""
ONLY = {"workspaces_pack.sensing.scanner": {"core"}}
"""Modules held to less than their layer: the scanner imports nothing of the sensors' plumbing."""


def _python_files(folder, recursive=False):
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in sorted(dirs) if name != "__pycache__" and recursive]
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def pack_modules(pack_dir=PACK_DIR):
    """Return ``[(dotted module name, layer, path)]`` for every module of the pack's code."""
    library = os.path.join(pack_dir, "actions", "lib", "workspaces_pack")
    modules = []
    for path in _python_files(library, recursive=True):
        parts = os.path.relpath(path, os.path.dirname(library))[:-3].split(os.sep)
        if parts[-1] == "__init__":
            parts[-1] = ""  # a package: relative imports start from itself
        layer = parts[1] if len(parts) > 2 else "core"
        modules.append((".".join(parts).rstrip("."), layer, path))
    for folder in ("actions", "sensors"):
        for path in _python_files(os.path.join(pack_dir, folder)):
            modules.append((os.path.basename(path)[:-3], folder, path))
    return modules


DYNAMIC = "<not a constant>"
"""What ``imports_of`` gives for ``importlib.import_module(name)`` with a computed name."""


def _dynamic_import(node):
    """The module a call ``importlib.import_module(...)``/``__import__(...)`` names, else None."""
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    target = node.args[0]
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        return target.value
    return DYNAMIC


def imports_of(source, package=""):
    """Return ``[(line, imported module, [names])]`` of every import in ``source``, anywhere.

    Relative imports are resolved against ``package`` (the module's own package); calls of
    ``importlib.import_module`` and ``__import__`` count as imports of the module they name.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            module = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                    if package else []
                module = ".".join(base + ([module] if module else [])) or "." * node.level
            if node.module is None and node.level:  # from . import x: each x is a module
                found.extend((node.lineno, "%s.%s" % (module, name), []) for name in names)
            else:
                found.append((node.lineno, module, names))
        elif isinstance(node, ast.Call):
            target = _dynamic_import(node)
            if target is not None:
                found.append((node.lineno, target, []))
    return found


def layer_of(imported, local_names):
    """The layer an imported module belongs to, or None when it is not the pack's."""
    parts = imported.split(".")
    if parts[0] == "workspaces_pack":
        return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"
    return local_names.get(parts[0])


def _package_of(module, path):
    if os.path.basename(path) == "__init__.py":
        return module
    return module.rpartition(".")[0]


def broken_arrows(module, layer, source, local_names, path=""):
    """Return one line per import of ``source`` that breaks an arrow."""
    allowed = ONLY.get(module, ALLOWED[layer])
    problems = []
    package = _package_of(module, path) if module.startswith("workspaces_pack") else ""
    for line, imported, names in imports_of(source, package):
        if imported == DYNAMIC or imported.startswith("."):
            problems.append("%s line %d imports %s: the arrows cannot be checked"
                            % (module, line, "a computed module" if imported == DYNAMIC
                               else "relatively outside the library"))
            continue
        if imported.split(".")[0] == "workspaces_devkit":
            problems.append("%s line %d imports %s: pack code never imports devkit"
                            % (module, line, imported))
            continue
        target = layer_of(imported, local_names)
        if target is None:
            continue
        if imported == "workspaces_pack" and names:  # from workspaces_pack import <layer>
            targets = [layer_of("%s.%s" % (imported, name), local_names) for name in names]
        else:
            targets = [target]
        for target in targets:
            same = target == layer and module not in ONLY
            if not same and target not in allowed:
                problems.append("%s (%s) line %d imports %s: %s may import only %s" % (
                    module, layer, line, imported, layer,
                    ", ".join(sorted(allowed)) or "nothing of the pack"))
    return problems


def _local_names(pack_dir=PACK_DIR):
    """Bare module names of actions/ and sensors/ (on one path under st2-run-pack-tests)."""
    return dict((module, layer) for module, layer, _ in pack_modules(pack_dir)
                if layer in ("actions", "sensors"))


def every_broken_arrow(pack_dir=PACK_DIR):
    """Return one line per import in the pack's code at ``pack_dir`` that breaks an arrow."""
    local = _local_names(pack_dir)
    problems = []
    for module, layer, path in pack_modules(pack_dir):
        problems.extend(broken_arrows(module, layer, _read(path), local, path))
    return problems


def _read(path):
    with open(path) as handle:
        return handle.read()


class ArrowsTest(unittest.TestCase):
    """No module imports a layer it may not."""

    def test_every_import_follows_the_arrows(self):
        problems = every_broken_arrow()
        self.assertEqual(problems, [], "\n".join(problems))

    def test_every_layer_has_modules(self):
        layers = set(layer for _, layer, _ in pack_modules())
        self.assertEqual(layers, set(ALLOWED))

    def test_a_broken_arrow_is_named(self):
        source = ("from workspaces_pack.core.config import PackConfig\n"
                  "def f():\n    from workspaces_pack.flows.preflight import run_preflight\n")
        self.assertEqual(
            broken_arrows("workspaces_pack.sensing.x", "sensing", source, {}),
            ["workspaces_pack.sensing.x (sensing) line 3 imports workspaces_pack.flows.preflight:"
             " sensing may import only archive, core"])

    def test_a_sensor_importing_an_action_module_or_flow_is_named(self):
        local = {"preflight": "actions"}
        self.assertEqual(len(broken_arrows("s", "sensors", "import preflight\n", local)), 1)
        self.assertEqual(len(broken_arrows(
            "s", "sensors", "from workspaces_pack import flows\n", local)), 1)
        self.assertEqual(broken_arrows(
            "s", "sensors", "from workspaces_pack.sensing import archive_watch\n", local), [])

    def test_relative_imports_and_importlib_against_the_arrows_are_named(self):
        source = ("import importlib\nfrom . import trace_tags\nfrom ..core import keys\n"
                  "from ..flows.preflight import run_preflight\nfrom .. import flows\n"
                  "def f(name):\n    importlib.import_module('workspaces_pack.flows.status')\n"
                  "    __import__(name)\n")
        self.assertEqual(
            broken_arrows("workspaces_pack.sensing.x", "sensing", source, {}, "sensing/x.py"),
            ["workspaces_pack.sensing.x (sensing) line %d imports %s: sensing may import only "
             "archive, core" % found
             for found in ((4, "workspaces_pack.flows.preflight"), (5, "workspaces_pack.flows"),
                           (7, "workspaces_pack.flows.status"))] +
            ["workspaces_pack.sensing.x line 8 imports a computed module: the arrows cannot be "
             "checked"])

    def test_a_relative_import_planted_in_a_copy_of_the_pack_fails_the_check(self):
        copy = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, copy)
        for folder in ("actions", "sensors"):
            shutil.copytree(os.path.join(PACK_DIR, folder), os.path.join(copy, folder),
                            ignore=shutil.ignore_patterns("__pycache__"))
        self.assertEqual(every_broken_arrow(copy), [])
        gate = os.path.join(copy, "actions", "lib", "workspaces_pack", "sensing", "trace_tags.py")
        source = _read(gate)
        lines = source.count("\n")
        with open(gate, "a") as handle:
            handle.write("\n\ndef _planted():\n    from ..flows.preflight import run_preflight\n"
                         "    return run_preflight\n")
        self.assertEqual(every_broken_arrow(copy), [
            "workspaces_pack.sensing.trace_tags (sensing) line %d imports "
            "workspaces_pack.flows.preflight: sensing may import only archive, core" % (lines + 4)])

    def test_the_scanner_imports_no_other_sensing_module(self):
        source = "from workspaces_pack.sensing.trace_tags import trace_tag\n"
        self.assertEqual(len(broken_arrows("workspaces_pack.sensing.scanner", "sensing", source,
                                           {})), 1)


MAX_PARAMETERS = 7
"""No function in actions/ or sensors/ takes more (``self`` counts; so do ``*args``, ``**kw``)."""


def _functions(node, prefix):
    """Yield ``(qualified name, FunctionDef)`` of every function under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield "%s.%s" % (prefix, child.name), child
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for found in _functions(child, "%s.%s" % (prefix, child.name)):
                yield found


def parameter_counts(pack_dir=PACK_DIR):
    """Return ``{"module.Class.function": number of parameters}`` of the pack's functions."""
    counts = {}
    for module, _, path in pack_modules(pack_dir):
        for name, node in _functions(ast.parse(_read(path)), module):
            arguments = node.args
            counts[name] = (len(arguments.posonlyargs) + len(arguments.args) +
                            len(arguments.kwonlyargs) + (arguments.vararg is not None) +
                            (arguments.kwarg is not None))
    return counts


class ParametersTest(unittest.TestCase):
    """Functions take few parameters: more than seven is a record waiting to be named."""

    def test_no_function_takes_more_than_seven_parameters(self):
        counts = parameter_counts()
        over = sorted("%s takes %d" % (name, count) for name, count in counts.items()
                      if count > MAX_PARAMETERS)
        self.assertEqual(over, [])


def _defined_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _declared_all(tree):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets):
            return ast.literal_eval(node.value)
    return None


class AllListsTest(unittest.TestCase):
    """``__all__`` lists what a module defines and what others take from it."""

    def library(self):
        found = {}
        for module, _, path in pack_modules():
            if module.startswith("workspaces_pack"):
                found[module] = ast.parse(_read(path))
        return found

    def test_all_names_only_what_the_module_defines(self):
        problems = []
        for module, tree in sorted(self.library().items()):
            declared = _declared_all(tree)
            if declared is None:
                continue
            extra = sorted(set(declared) - _defined_names(tree))
            if extra:
                problems.append("%s.__all__ names %s, not defined there" % (module, extra))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_what_others_import_is_in_all(self):
        library = self.library()
        users = [path for _, _, path in pack_modules()]
        for folder in ("tests", "bench", os.path.join("devkit", "workspaces_devkit")):
            users.extend(_python_files(os.path.join(PACK_DIR, folder), recursive=True))
        problems = []
        for path in users:
            for line, imported, names in imports_of(_read(path)):
                tree = library.get(imported)
                declared = _declared_all(tree) if tree is not None else None
                if declared is None:
                    continue
                for name in names:
                    if name not in declared:
                        problems.append("%s line %d imports %s from %s, not in its __all__"
                                        % (os.path.relpath(path, PACK_DIR), line, name, imported))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_every_library_module_with_code_declares_all(self):
        missing = [module for module, tree in sorted(self.library().items())
                   if _defined_names(tree) and _declared_all(tree) is None]
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
