"""Many writers, one branch: 8 separate processes push different sessions to one bare remote
at the same moment. Every push must land (retry with jitter, never force) and no block may
be lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import reposync

from .repo_helpers import add_block, bare_remote, engram_env, git, sessions_in

WRITERS = 8
P = "shared-project"


def _race(tmp_path: Path, round_: int) -> None:
    remote = bare_remote(tmp_path, f"remote-{round_}.git")
    seed = tmp_path / f"seed-{round_}"
    reposync.init_repo(seed)
    git(seed, "push", "-q", str(remote), "main")
    commands = []
    for n in range(WRITERS):
        clone = tmp_path / f"clone-{round_}-{n}"
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        memory = MemoryLayout(tmp_path / f"memory-{round_}-{n}")
        add_block(memory, P, f"writer-{n}", f"- found by writer {n}")
        add_block(memory, P, f"writer-{n}", f"- pattern {n}", category="patterns")
        commands.append(
            [
                sys.executable,
                "-m",
                "engram_ci",
                "--memory-dir",
                str(memory.root),
                "sync",
                "push-repo",
                P,
                str(clone),
                "--push-remote",
                "--json",
            ]
        )
    env = engram_env()
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for c in commands
    ]
    outcomes = [(p.wait(timeout=180), *p.communicate()) for p in processes]
    for status, _, err in outcomes:
        assert status == 0, err
    everyone = {f"writer-{n}" for n in range(WRITERS)}
    for name in ("decisions.md", "patterns.md"):
        assert sessions_in(git(remote, "show", f"main:{P}/{name}")) == everyone
    assert git(remote, "rev-list", "--count", "--merges", "main") == "0"  # linear history
    assert int(git(remote, "rev-list", "--count", "main")) == 1 + WRITERS


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_eight_concurrent_pushers_all_land(tmp_path: Path, round_: int) -> None:
    _race(tmp_path, round_)
