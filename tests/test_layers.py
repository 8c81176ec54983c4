"""The package's layout is the pipeline, and imports only point down it.

transcripts → knowledge → memory → sync, with the two faces (cli, action) on top. A module may
import from its own stage and from any stage listed before it; the base modules (errors, log,
progress) import nothing of ours. This test reads the imports from source, so a lazy import
inside a function counts too.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "engram_ci"

#: lower stages first; a module may import its own stage or any earlier one
ORDER = [
    "base",  # errors, log, progress, __init__
    "transcripts",
    "knowledge",
    "memory",
    "sync",
    # the orchestration of ingest (the engram_ci/ingest/ package) and export: it redacts
    # extracted knowledge with sync's redactor before anything derives from it, as every
    # upload is redacted
    "ingest",
    "faces",  # cli, action, __main__
]
STAGE_OF_TOP_LEVEL = {
    "__init__": "base",
    "errors": "base",
    "log": "base",
    "progress": "base",
    "workers": "base",
    "deadline": "base",
    "options": "faces",  # the option table both faces read (its parsers use lower stages)
    "export": "ingest",
    "importer": "ingest",
    "__main__": "faces",
    "cli": "faces",
    "action": "faces",
}


def stage_of(module: str) -> str:
    """`engram_ci.sync.gistsync` → "sync"; top-level modules by the table above."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    if head in ORDER:
        return head
    return STAGE_OF_TOP_LEVEL[head]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engram_ci"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("engram_ci"))
    return names


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_pipeline(path: Path) -> None:
    here = stage_of(module_name(path))
    upward = [
        name
        for name in imported_modules(path)
        if name != "engram_ci" and ORDER.index(stage_of(name)) > ORDER.index(here)
    ]
    assert not upward, f"{path.relative_to(ROOT)} ({here}) imports a later stage: {upward}"


def test_every_top_level_module_has_a_stage() -> None:
    for path in PACKAGE.glob("*.py"):
        assert stage_of(module_name(path)) in ORDER
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            assert stage_of(f"engram_ci.{path.name}") in ORDER, path.name


# -- the public surface: every module says what it exports, and nobody reaches past that --------

MODULES = {module_name(path): path for path in SOURCES}
#: a module's own attributes, never part of anything's surface
_DUNDERS = {"__file__", "__name__", "__path__", "__doc__", "__spec__"}


def declared_all(path: Path) -> list[str] | None:
    """The literal `__all__` the module assigns at its top level, or None."""
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        targets = node.targets if isinstance(node, ast.Assign) else [target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            assert isinstance(node, ast.Assign | ast.AnnAssign)  # the only nodes with targets
            value = node.value
            assert isinstance(value, ast.List | ast.Tuple), f"{path}: __all__ is no literal list"
            return [ast.literal_eval(e) for e in value.elts]
    return None


def names_taken(path: Path) -> Iterator[tuple[str, str]]:
    """(module, name) for every name `path` takes from another engram_ci module: imported
    from it, or read as an attribute of the module imported under a name."""
    tree = ast.parse(path.read_text())
    here = module_name(path) if path.is_relative_to(PACKAGE) else None
    bound: dict[str, str] = {}  # local name -> the engram_ci module it is
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("engram_ci"):
            assert node.module is not None
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif node.module != here:
                    yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("engram_ci") and alias.asname:
                    bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = bound.get(node.value.id)
            if module and module != here and f"{module}.{node.attr}" not in MODULES:
                yield module, node.attr


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_declares_its_public_names(path: Path) -> None:
    declared = declared_all(path)
    assert declared is not None, f"{path.relative_to(ROOT)} has no __all__"
    assert len(set(declared)) == len(declared), "a name listed twice"
    if path.name == "__main__.py":  # runs when imported; exports nothing
        assert declared == []
        return
    module = importlib.import_module(module_name(path))
    missing = [name for name in declared if not hasattr(module, name)]
    assert not missing, f"{path.relative_to(ROOT)}: __all__ names what it lacks: {missing}"


def test_no_module_takes_a_name_another_does_not_export() -> None:
    """engram_ci's modules take only what a module exports; a test may also reach a private
    helper (`_name`) it must pin, never a public name left out of `__all__`."""
    exported = {name: declared_all(path) or [] for name, path in MODULES.items()}
    tests = sorted((ROOT / "tests").rglob("*.py"))
    reached = []
    for path in [*SOURCES, *tests]:
        in_package = path.is_relative_to(PACKAGE)
        for module, name in names_taken(path):
            if name in _DUNDERS or name in exported.get(module, [name]):
                continue
            if not in_package and name.startswith("_"):
                continue
            reached.append(f"{path.relative_to(ROOT)}: {module}.{name}")
    assert not reached, "taken but not in the module's __all__:\n" + "\n".join(reached)
