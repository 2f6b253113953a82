"""The colour model's layering: plitka.colour lies below measuring (plitka.analysis) and re-colouring
(plitka.lock), which each import it and never each other (plitka.evaluation is where both meet)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "plitka"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module that `source` (the text of `module`, dotted) imports, function bodies included,
    relative imports resolved; `from plitka import lock` counts as plitka.lock."""
    package = module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _imports_of_room(room: str) -> dict[str, set[str]]:
    """Module name -> imported modules, for every module of plitka.<room>."""
    imports = {}
    for path in sorted((PACKAGE / room).rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)  # __init__ kept: a level
        imports[module] = imported_modules(path.read_text(), module)
    return imports


def _within(module: str, room: str) -> bool:
    return module == f"plitka.{room}" or module.startswith(f"plitka.{room}.")


def _offending(room: str, allowed) -> dict[str, list[str]]:
    found = {
        module: sorted(name for name in names if name.startswith("plitka.") and not allowed(name))
        for module, names in _imports_of_room(room).items()
    }
    return {module: names for module, names in found.items() if names}


@pytest.mark.parametrize(("room", "other"), [("analysis", "lock"), ("lock", "analysis")])
def test_measuring_and_recolouring_never_import_each_other(room: str, other: str) -> None:
    assert _offending(room, lambda name: not _within(name, other)) == {}


def test_the_colour_model_imports_only_itself_and_the_palette() -> None:
    assert _offending("colour", lambda name: _within(name, "colour") or _within(name, "palette")) == {}


@pytest.mark.parametrize(
    "source",
    [
        "import plitka.lock.lock",
        "from plitka.lock import lock_colours",
        "from plitka import lock",
        "def f():\n    from plitka.lock.quota import assign_colours",
        "from ..lock.quota import assign_colours",
    ],
)
def test_the_import_reader_sees_every_form_of_import(source: str) -> None:
    names = imported_modules(source, "plitka.analysis.measure")
    assert any(_within(name, "lock") for name in names)
