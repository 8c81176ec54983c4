"""`engram demo`: the README's first command, offline, end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engram_ci.cli import app as cli


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def test_demo_goes_from_samples_to_a_knowledge_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "demo"
    assert cli.main(["demo", "--dir", str(base)]) == 0
    out = capsys.readouterr().out
    assert "weather-api: committed" in out and "invoice-cli: committed" in out

    repo = base / "knowledge-repo"
    tracked = _git(repo, "ls-files").split()
    assert "weather-api/decisions.md" in tracked and "invoice-cli/context.md" in tracked
    assert "## Session: " in (repo / "weather-api" / "bugs.md").read_text()
    assert (base / "memory" / "knowledge" / "weather-api" / "context.md").is_file()
    commits = _git(repo, "rev-list", "--count", "HEAD")

    # a second run changes nothing: no new commits, nothing re-ingested
    assert cli.main(["demo", "--dir", str(base)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert _git(repo, "rev-list", "--count", "HEAD") == commits
