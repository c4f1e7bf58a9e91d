"""The house is layered: handlers -> bot -> storage, and nothing imports back up.

Parses the imports of every module (no import is run) and checks each layer against
the modules it must never reach.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The composition root wires every layer together, so it alone sits above handlers.
ROOTS = {"bot/app.py"}

# (package whose modules are checked, modules they must not import)
FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [
    ("storage", ("bot", "handlers", "telegram")),
    ("bot", ("handlers",)),
    ("bot/sources", ("bot.context", "bot.app", "bot.cli", "handlers")),
    ("bot/rules", ("bot.context", "bot.app", "bot.cli", "handlers", "telegram")),
    ("bot/commands", ("bot.cli",)),
]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


@pytest.mark.parametrize(("package", "forbidden"), FORBIDDEN, ids=[p for p, _ in FORBIDDEN])
def test_layer_imports_nothing_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found under {package}"
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        if str(path.relative_to(ROOT)) not in ROOTS
        for name in sorted(imported_modules(path))
        if any(reaches(name, bad) for bad in forbidden)
    ]
    assert wrong == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.cli import with_services\n", encoding="utf-8")
    assert any(reaches(name, "bot.cli") for name in imported_modules(module))


# The helpers handler modules share; every other handler module is a leaf that only
# handlers/__init__.py (the registry) imports.
SHARED_HANDLERS = {
    "handlers.common",
    "handlers.registry",
    "handlers.auth",
    "handlers.approval_cards",
}


def test_handler_modules_import_only_shared_helpers() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "handlers").glob("*.py"))
        if path.name != "__init__.py"
        for name in sorted(imported_modules(path))
        if reaches(name, "handlers")
        and name not in SHARED_HANDLERS
        and not any(name.startswith(f"{shared}.") for shared in SHARED_HANDLERS)
    ]
    assert wrong == []
