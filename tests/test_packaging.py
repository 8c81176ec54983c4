"""Runtime dependencies are exactly what the package imports (no more, no less).

Third-party imports are read from the source (lazy ones inside functions included) and mapped
to distributions with importlib.metadata; pyproject's `dependencies` (and each optional extra
other than `test`) must name exactly those distributions.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from .conftest import ROOT


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def imported_distributions() -> set[str]:
    top_level: set[str] = set()
    for path in (ROOT / "engram_ci").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                top_level.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top_level.add(node.module.split(".")[0])
    third_party = top_level - set(sys.stdlib_module_names) - {"engram_ci"}
    mapping = packages_distributions()
    missing = sorted(m for m in third_party if m not in mapping)
    assert not missing, f"imported but not installed: {missing}"
    return {_normalise(mapping[m][0]) for m in third_party}


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra != "test":
            declared |= {_requirement_name(r) for r in requirements}
    return declared


def test_runtime_dependencies_are_exactly_the_imports() -> None:
    assert imported_distributions() == declared_distributions()
