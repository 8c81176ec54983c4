"""repomerge.py: merging a knowledge repo's files and commits — metadata keeps the newest
sync, a file engram does not know conflicts rather than being guessed at, and the git merge
strategy declines (touching nothing) what it cannot resolve."""

from __future__ import annotations

import json
from pathlib import Path

from engram_ci.sync.git_repo import GitRepo
from engram_ci.sync.repomerge import STRATEGY_DECLINED, merge_file, run_strategy

from .repo_helpers import git


def _meta(synced_at: str) -> str:
    return json.dumps({"project": "proj", "synced_at": synced_at})


def test_metadata_keeps_the_newest_sync_and_a_damaged_side_loses() -> None:
    old, new = _meta("2026-01-01T00:00:00Z"), _meta("2026-02-01T00:00:00Z")
    assert merge_file("metadata.json", old, old, new) == new
    assert merge_file("metadata.json", old, new, old) == new
    assert merge_file("metadata.json", old, "{half written", old) == old
    assert merge_file("metadata.json", old, '["not", "an", "object"]', old) == old


def test_a_file_engram_does_not_know_is_a_conflict() -> None:
    assert merge_file("notes.txt", "base\n", "ours\n", "theirs\n") is None


def test_the_strategy_declines_refs_it_cannot_resolve(tmp_path: Path) -> None:
    path = tmp_path / "kr"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    (path / "README.md").write_text("kept\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "x")
    with GitRepo.open(path) as repo:
        code, message = run_strategy(repo, "HEAD", ["no-such-branch"])
    assert code == STRATEGY_DECLINED
    assert message == "engram: cannot resolve HEAD no-such-branch"
    assert git(path, "status", "--porcelain") == ""  # nothing touched: git tries the next one
