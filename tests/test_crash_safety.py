"""Crash safety: `engram ingest` and `engram sync pull` killed with SIGKILL at random points.

After every kill each knowledge file must parse and hold only blocks of the old or the new
state (never a torn write), nothing but dot-named temp files may be left behind, and the next
run must finish the job: the end state equals an uninterrupted run's.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import KNOWN_KNOWLEDGE_FILES, MemoryLayout
from tests.conftest import ROOT
from tests.github_server import GitHubStandIn

from .repo_helpers import add_block, engram_env

SAMPLES = ROOT / "engram_ci" / "samples" / "claude-projects"
TOKEN = "ghp_CrashSafetyTestToken000000000000001"
P = "proj"
BUDGET_SECONDS = 20.0  # per test: as many kill/restart rounds as fit
MAX_ROUNDS = 25


def knowledge_files(root: Path) -> dict[str, str]:
    base = root / "knowledge"
    if not base.is_dir():
        return {}
    return {
        str(p.relative_to(base)): p.read_text()
        for p in base.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def archives(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in (root / "conversations").rglob("conversation.md")
    }


def blocks_of(text: str) -> set[tuple[str, str]]:
    return {(b.session_id, b.body) for b in knowledge.parse(text).blocks}


def assert_consistent(root: Path, old: dict[str, str], new: dict[str, str]) -> None:
    """Every visible file is whole: known name, parses, blocks only from old or new states."""
    base = root / "knowledge"
    for path in base.rglob("*") if base.is_dir() else []:
        if path.is_dir():
            continue
        if path.name.startswith("."):
            assert path.name.endswith(".tmp"), f"stray file {path}"
            continue
        assert path.name in KNOWN_KNOWLEDGE_FILES, f"unexpected file {path}"
        rel = str(path.relative_to(base))
        text = path.read_text()
        if path.name == "context.md":
            assert text in (old.get(rel), new.get(rel)) or text.startswith("#"), rel
            continue
        allowed = blocks_of(old.get(rel, "")) | blocks_of(new.get(rel, ""))
        assert blocks_of(text) <= allowed, f"{rel} holds a block of neither state"
        assert text.endswith("\n"), f"{rel} is cut short"


def timed(run: list[str], env: dict[str, str]) -> float:
    began = time.monotonic()
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - began


@pytest.mark.slow
def test_ingest_killed_anywhere_leaves_old_or_new_and_the_next_run_finishes(
    tmp_path: Path,
) -> None:
    sessions = tmp_path / "sessions"
    shutil.copytree(SAMPLES, sessions)
    memory = tmp_path / "memory"
    env = engram_env(ENGRAM_SESSIONS_DIR=str(sessions), ENGRAM_MEMORY_DIR=str(memory))
    ingest = [sys.executable, "-m", "engram_ci", "ingest"]

    # the reference: old = an empty memory, new = one uninterrupted ingest
    reference = tmp_path / "reference"
    timed(ingest, {**env, "ENGRAM_MEMORY_DIR": str(reference)})
    duration = timed(ingest, {**env, "ENGRAM_MEMORY_DIR": str(tmp_path / "timing")})
    new = knowledge_files(reference)
    assert new

    start = time.monotonic()
    rounds = 0
    rng = random.Random(99)
    while rounds < MAX_ROUNDS and time.monotonic() - start < BUDGET_SECONDS:
        shutil.rmtree(memory, ignore_errors=True)
        child = subprocess.Popen(ingest, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        rounds += 1
        assert_consistent(memory, {}, new)
        # the next run repairs: it ends exactly where an uninterrupted run ends
        if rounds % 3 == 0:
            timed(ingest, env)
            assert knowledge_files(memory) == new
            assert archives(memory) == archives(reference)
    assert rounds >= 5
    # what a kill mid-write leaves (one planted for sure): removed once it is an hour old
    memory.mkdir(exist_ok=True)  # the last kill may have come before the run made it
    fd, _ = tempfile.mkstemp(prefix=".context.md.", suffix=".tmp", dir=memory)
    os.close(fd)
    leftovers = list(memory.rglob(".*.tmp"))
    # an hour later: the leftovers are stale and the hourly sweep is due
    for path in [*leftovers, memory / ".engram-ci" / "swept"]:
        if path.exists():
            os.utime(path, (time.time() - 7200,) * 2)
    timed(ingest, env)
    assert leftovers and not list(memory.rglob(".*.tmp"))


@pytest.mark.slow
def test_pull_killed_anywhere_leaves_old_or_new_and_the_next_run_finishes(
    github_server: GitHubStandIn, tmp_path: Path
) -> None:
    github_server.add_token(TOKEN)
    # the remote: what another machine pushed
    other = MemoryLayout(tmp_path / "other")
    for i in range(30):
        for category in ("decisions", "solutions", "bugs"):
            add_block(
                other, P, f"remote-{i}", f"- remote note {i} " + "x" * 2000, category=category
            )
    env = engram_env(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=github_server.api_url)
    push = [sys.executable, "-m", "engram_ci", "sync", "push", P]
    timed(push, {**env, "ENGRAM_MEMORY_DIR": str(other.root)})
    gist_id = next(iter(github_server.gists))

    # local: the old state
    seed = MemoryLayout(tmp_path / "seed")
    for i in range(10):
        add_block(seed, P, f"local-{i}", f"- local note {i}", category="decisions")
    old = knowledge_files(seed.root)
    reference = tmp_path / "reference"
    shutil.copytree(seed.root, reference)
    pull = [sys.executable, "-m", "engram_ci", "sync", "pull", P, gist_id]
    duration = timed(pull, {**env, "ENGRAM_MEMORY_DIR": str(reference)})
    new = knowledge_files(reference)
    assert new != old

    memory = tmp_path / "memory"
    start = time.monotonic()
    rounds = 0
    rng = random.Random(7)
    while rounds < MAX_ROUNDS and time.monotonic() - start < BUDGET_SECONDS:
        shutil.rmtree(memory, ignore_errors=True)
        shutil.copytree(seed.root, memory)
        child = subprocess.Popen(
            pull,
            env={**env, "ENGRAM_MEMORY_DIR": str(memory)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.05, duration * 1.1))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        rounds += 1
        assert_consistent(memory, old, new)
        for rel, text in knowledge_files(memory).items():
            if rel.endswith("context.md"):
                continue
            assert text in (old.get(rel), new.get(rel)), f"{rel} is neither old nor new"
        if rounds % 3 == 0:
            timed(pull, {**env, "ENGRAM_MEMORY_DIR": str(memory)})
            assert knowledge_files(memory) == new
    assert rounds >= 5
