"""The package's layers: each module imports only from its own layer and those below it.

From the bottom: errors and safety (escaping, atomic files) <- values (kinds of
value, the calendar) <- the language <- the engine <- registers and renderers
<- analysis and the planner <- the facade (``policy_rules``, ``api``) <- the
service, the workbench, the store, the command line, the docs site, the
language server and the testing plugin. A module named ``command``,
``commands`` or ``*_command`` is its package's part of the command line and
sits at the top with it.

Every import counts, at module level or inside a function (a late import is
still a dependency, and was how the one import circle of the package hid);
only imports under ``if TYPE_CHECKING:`` do not, since they never run and
only name a type for annotations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "policy_rules"

#: Each layer: what it is called in a message, and the first parts of its modules' names after ``policy_rules`` ("" is the package itself).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors and safety", ("errors", "safety")),
    ("values", ("values",)),
    ("the language", ("language",)),
    ("the engine", ("engine",)),
    ("registers and renderers", ("registers", "renderers")),
    ("analysis and the planner", ("analysis", "planner")),
    ("the facade", ("api", "")),
    ("the service, workbench and command line", ("service", "workbench", "store", "cli", "docs", "lsp", "testing", "commands", "cluster")),
)


def layer_of(module: str) -> int:
    """The layer of a module ``policy_rules.X...``: its first part after the package's, or the command line's for a command module."""
    parts = module.split(".")
    last = parts[-1]
    part = "commands" if last in ("command", "commands") or last.endswith("_command") else (parts[1] if len(parts) > 1 else "")
    for number, (_title, names) in enumerate(LAYERS):
        if part in names:
            return number
    raise AssertionError(f"{module} is in no layer: add `{part}` to LAYERS")


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str, module: str) -> list[tuple[str, int]]:
    """The package's modules that ``source`` imports when it runs, with their lines; ``if TYPE_CHECKING:`` blocks are left out."""
    found: list[tuple[str, int]] = []
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    walk(other)
                continue
            if isinstance(child, ast.ImportFrom):
                name = child.module or ""
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    name = f"{base}.{name}" if name else base
                if name == "policy_rules" or name.startswith("policy_rules."):
                    found.append((name, child.lineno))
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names if a.name == "policy_rules" or a.name.startswith("policy_rules."))
            walk(child)

    walk(ast.parse(source))
    return found


def violations(source: str, module: str) -> list[str]:
    """Each import of ``source`` (as module ``module``) that reaches a layer above the module's own."""
    own = layer_of(module)
    return [
        f"{module}:{line} imports {target} ({LAYERS[layer_of(target)][0]}), a layer above {LAYERS[own][0]}"
        for target, line in imports_of(source, module)
        if layer_of(target) > own
    ]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_every_module_imports_only_from_its_layer_and_below() -> None:
    found = [v for name, path in _modules() for v in violations(path.read_text(encoding="utf-8"), name)]
    assert found == []


def test_every_module_has_a_layer() -> None:
    assert {layer_of(name) for name, _path in _modules()} == set(range(len(LAYERS)))


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "policy_rules.engine.evaluator",
            "from policy_rules.analysis.needed import symbolic_search",
            "policy_rules.engine.evaluator:1 imports policy_rules.analysis.needed (analysis and the planner), a layer above the engine",
        ),
        (
            "policy_rules.engine.decider",
            "def late():\n    import policy_rules.api",
            "policy_rules.engine.decider:2 imports policy_rules.api (the facade), a layer above the engine",
        ),
        (
            "policy_rules.language.checker",
            "from ..engine import lowering",
            "policy_rules.language.checker:1 imports policy_rules.engine (the engine), a layer above the language",
        ),
        ("policy_rules.values.dates", "from policy_rules.errors import PolicyError", None),
        ("policy_rules.analysis.diff_command", "from policy_rules.api import load_policy", None),
        ("policy_rules.engine.decider", "if TYPE_CHECKING:\n    from policy_rules.api import Policy", None),
    ],
)
def test_an_import_from_above_is_found(module: str, source: str, expected: str | None) -> None:
    """The check itself: an engine module importing the analysis or the facade is caught, late and relative imports too."""
    assert violations(source + "\n", module) == ([expected] if expected else [])
