"""The package's layout is the pipeline, and imports only point down it.

transcripts → knowledge → memory → sync, with the two faces (cli, action) on top. A module may
import from its own stage and from any stage listed before it; the base modules (errors, log,
progress) import nothing of ours. This test reads the imports from source, so a lazy import
inside a function counts too.
"""

from __future__ import annotations

import ast
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
    # the orchestration of ingest and export: it redacts extracted knowledge with sync's
    # redactor before anything derives from it, as every upload is redacted
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
    "ingest": "ingest",
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
