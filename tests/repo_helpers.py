"""Helpers for the git repository sync tests: real git, real repos in tmp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout

from .conftest import ROOT


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60, env=env
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.rstrip()


def add_block(
    layout: MemoryLayout,
    project: str,
    session: str,
    body: str,
    *,
    category: str = "decisions",
    timestamp: str = "2025-01-01T00:00:00Z",
) -> None:
    """Add one `## Session:` block to a local knowledge file."""
    path = layout.knowledge_dir(project) / f"{category}.md"
    current = knowledge.parse(path.read_text()) if path.exists() else knowledge.empty_file(category)
    block = knowledge.Block(session, timestamp, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(knowledge.render(knowledge.replace_blocks(current, [block])))


def sessions_in(text: str) -> set[str]:
    return {b.session_id for b in knowledge.parse(text).live_blocks()}


def show(repo: Path, rev: str, path: str) -> str:
    return git(repo, "show", f"{rev}:{path}")


def engram_env(**extra: str) -> dict[str, str]:
    """Environment for `python -m engram_ci` subprocesses: this checkout importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def engram_bin(tmp: Path) -> Path:
    """A PATH directory with `engram` and `git-merge-engram` running THIS checkout — what
    `pip install` puts on PATH, which git needs to find the merge driver and strategy."""
    where = tmp / "bin"
    where.mkdir(exist_ok=True)
    scripts = {"engram": "engram_ci", "git-merge-engram": "engram_ci.cli.git_strategy"}
    for name, module in scripts.items():
        script = where / name
        script.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m {module} "$@"\n')
        script.chmod(0o755)
    return where


def installed_env(tmp: Path, **extra: str) -> dict[str, str]:
    """engram_env with engram_bin first on PATH: git finds our driver and strategy."""
    path = f"{engram_bin(tmp)}{os.pathsep}{os.environ.get('PATH', '')}"
    return engram_env(PATH=path, **extra)


def run_engram(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "engram_ci", *args, env=env)


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python ARGS` with this checkout importable (`-c SCRIPT` runs code in a fresh process)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env or engram_env(),
        check=False,
        timeout=120,
    )


def bare_remote(tmp: Path, name: str = "remote.git") -> Path:
    remote = tmp / name
    git(tmp, "init", "-q", "--bare", "-b", "main", str(remote))
    return remote
