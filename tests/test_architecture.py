"""The library's layers import only in the allowed directions (docs/ARCHITECTURE.md).

Every module of ``actions/lib/workspaces_pack``, ``actions/*.py`` and ``sensors/*.py`` is parsed
(``ast``, nothing is imported), and every import in it, at module level or inside a function, is
checked against ``ALLOWED``. A broken arrow fails naming the module, the line and the import.
``__all__`` of each library module names only what the module itself defines, and every name other
code takes from a library module (``from workspaces_pack.x.y import name``) is in that module's
``__all__``.
"""

import ast
import os
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


def pack_modules():
    """Return ``[(dotted module name, layer, path)]`` for every module of the pack's code."""
    modules = []
    for path in _python_files(LIBRARY, recursive=True):
        parts = os.path.relpath(path, os.path.dirname(LIBRARY))[:-3].split(os.sep)
        if parts[-1] == "__init__":
            parts.pop()
        layer = parts[1] if len(parts) > 1 else "core"
        modules.append((".".join(parts), layer, path))
    for kind in ("actions", "sensors"):
        for path in _python_files(os.path.join(PACK_DIR, kind)):
            modules.append((os.path.basename(path)[:-3], kind, path))
    return modules


def imports_of(source):
    """Return ``[(line, imported module, [names])]`` of every import in ``source``, anywhere."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def layer_of(imported, local_names):
    """The layer an imported module belongs to, or None when it is not the pack's."""
    parts = imported.split(".")
    if parts[0] == "workspaces_pack":
        return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"
    return local_names.get(parts[0])


def broken_arrows(module, layer, source, local_names):
    """Return one line per import of ``source`` that breaks an arrow."""
    allowed = ONLY.get(module, ALLOWED[layer])
    problems = []
    for line, imported, names in imports_of(source):
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


def _local_names():
    """Bare module names of actions/ and sensors/ (on one path under st2-run-pack-tests)."""
    return dict((module, layer) for module, layer, _ in pack_modules()
                if layer in ("actions", "sensors"))


def _read(path):
    with open(path) as handle:
        return handle.read()


class ArrowsTest(unittest.TestCase):
    """No module imports a layer it may not."""

    def test_every_import_follows_the_arrows(self):
        local = _local_names()
        problems = []
        for module, layer, path in pack_modules():
            problems.extend(broken_arrows(module, layer, _read(path), local))
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
            "s", "sensors", "from workspaces_pack.sensing import table_gate\n", local), [])

    def test_the_scanner_imports_no_other_sensing_module(self):
        source = "from workspaces_pack.sensing.trace_tags import trace_tag\n"
        self.assertEqual(len(broken_arrows("workspaces_pack.sensing.scanner", "sensing", source,
                                           {})), 1)


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
