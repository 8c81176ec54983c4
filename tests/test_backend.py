"""backend.py: the registry of sync backends — built-in ones load on demand, a missing
optional extra drops only its own backend, an unknown name is one line listing the known
ones; and a plugin backend's default `missing` names what the store holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engram_ci.errors import FatalError
from engram_ci.sync.backend import _REGISTRY as REGISTRY
from engram_ci.sync.backend import Backend, StoreNotFound, backend_class, register

from .repo_helpers import run_python


def test_built_in_backends_are_found_by_name() -> None:
    for name in ("gist", "repo", "s3"):
        assert backend_class(name).name == name


def test_an_unknown_backend_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(
        FatalError, match=r"unknown sync backend 'ftp': use one of .*gist.*repo.*s3"
    ):
        backend_class("ftp")


def test_a_missing_optional_extra_drops_only_its_backend() -> None:
    # boto3 unimportable, as when engram-ci is installed without its s3 extra
    script = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "from engram_ci.sync.backend import registered\n"
        "print(sorted(registered()))\n"
    )
    done = run_python("-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['gist',", "'repo']"]


def test_a_broken_backend_module_is_not_mistaken_for_a_missing_extra() -> None:
    # the backend module itself missing is a packaging bug: say so, do not hide the backend
    script = (
        "from engram_ci.sync import backend\n"
        "backend.BUILTIN_MODULES += ('engram_ci.sync.no_such_backend',)\n"
        "backend.registered()\n"
    )
    done = run_python("-c", script)
    assert done.returncode != 0
    assert "No module named 'engram_ci.sync.no_such_backend'" in done.stderr


@pytest.fixture
def shelf() -> Iterator[type[Backend]]:
    @register("test-shelf")
    class Shelf(Backend):
        @property
        def location(self) -> str:
            return "the shelf"

        def list_projects(self) -> list[str]:
            return [f"p{i}" for i in range(25)]

    yield Shelf
    del REGISTRY["test-shelf"]


def test_a_plugin_backend_names_what_the_store_holds(shelf: type[Backend]) -> None:
    assert backend_class("test-shelf") is shelf
    error = shelf().missing("shop")
    assert isinstance(error, StoreNotFound)
    assert str(error).startswith("project 'shop' is not in the shelf: projects there: p0, p1")
    assert "p19" in str(error) and "p20" not in str(error)  # the first 20, not a wall of names
