"""The pipeline's own promises: the memory lock is held for local reads and writes only
(never across a network wait), and nothing another writer adds meanwhile is lost — down to
real `engram ingest` processes racing `push-repo` and `pull-repo` on one memory."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest

from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.projectfiles import read_local
from engram_ci.sync import reposync
from engram_ci.sync.backend import Backend, Snapshot, Written
from engram_ci.sync.pipeline import Pipeline, Retry, with_tombstones
from tests.conftest import ROOT

from .repo_helpers import add_block, bare_remote, engram_env, git

P = "proj"
SAMPLES = ROOT / "engram_ci" / "samples" / "claude-projects"


class MemoryStore(Backend):
    """A store in a dict, with hooks that run inside read() and write() — the network waits."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.version = 0
        self.during_read = lambda: None
        self.during_write = lambda: None

    key = property(lambda self: "memory-store")
    location = property(lambda self: "the test store")

    def read(self, project: str) -> Snapshot:
        self.during_read()
        return Snapshot(dict(self.files), str(self.version) if self.version else None)

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        self.during_write()
        self.files, self.version = dict(files), self.version + 1
        return Written(str(self.version))


def lock_is_free(layout: MemoryLayout) -> bool:
    layout.lock_file.parent.mkdir(parents=True, exist_ok=True)
    with layout.lock_file.open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True


def live(layout: MemoryLayout, name: str = "decisions.md") -> set[str]:
    return {b.session_id for b in knowledge.parse(read_local(layout, P)[name]).live_blocks()}


def test_the_memory_lock_is_free_while_the_store_is_waited_for(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "s1", "- one")
    store = MemoryStore()
    seen: list[bool] = []

    def check() -> None:  # runs in the push's own thread, mid network wait
        result: list[bool] = []
        other = threading.Thread(target=lambda: result.append(lock_is_free(layout)))
        other.start()
        other.join()
        seen.extend(result)

    store.during_read = store.during_write = check
    Pipeline(layout, store).push(P)
    Pipeline(layout, store).pull(P)
    assert seen == [True, True, True]


def test_blocks_written_during_the_upload_are_kept(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "s1", "- one")
    store = MemoryStore()
    store.files = {"decisions.md": "# Decisions\n\n## Session: remote (2025-01-01)\n\n- r\n"}
    store.version = 1
    # an ingest lands while the push waits for the store
    store.during_write = lambda: add_block(layout, P, "ingested", "- arrived mid-push")
    Pipeline(layout, store).push(P)
    assert live(layout) == {"s1", "remote", "ingested"}
    store.during_write = lambda: None
    Pipeline(layout, store).push(P)  # and the next push takes it up
    assert "ingested" in store.files["decisions.md"]


def test_restore_marks_later_blocks_as_tombstones() -> None:
    old = {"decisions.md": "# Decisions\n\n## Session: a (2025-01-01)\n\n- a\n"}
    head = {
        "decisions.md": old["decisions.md"] + "\n## Session: b (2025-01-02)\n\n- b\n",
        "bugs.md": "# Bugs\n\n## Session: c (2025-01-03)\n\n- c\n",
    }
    restored = with_tombstones(P, old, head)
    decisions = knowledge.parse(restored["decisions.md"])
    assert [b.session_id for b in decisions.live_blocks()] == ["a"]
    assert decisions.get("b") is not None and decisions.get("b").is_tombstone  # type: ignore[union-attr]
    assert knowledge.parse(restored["bugs.md"]).live_blocks() == ()
    assert "- b" not in restored["context.md"]


def test_a_conflicting_store_is_retried_within_attempts(tmp_path: Path) -> None:
    from engram_ci.errors import FatalError
    from engram_ci.sync.backend import Conflict

    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "s1", "- one")

    class Busy(MemoryStore):
        def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
            raise Conflict("someone else wrote")

    waits: list[float] = []
    retry = Retry(attempts=4, deadline_seconds=60, sleep=waits.append)
    with pytest.raises(FatalError, match=r"rejected 4 times.*local memory is unchanged"):
        Pipeline(layout, Busy(), retry=retry).push(P)
    assert len(waits) == 3
    clock = iter([0.0, 0.0, 100.0, 100.0])
    late = Retry(attempts=40, deadline_seconds=5, sleep=waits.append, clock=lambda: next(clock))
    with pytest.raises(FatalError, match="rejected"):
        Pipeline(layout, Busy(), retry=late).push(P)


# -- real processes: ingest racing push-repo and pull-repo on one memory ------------------------


def _blocks(root: Path, project: str) -> set[tuple[str, str]]:
    folder = root / "knowledge" / project
    return {
        (path.name, b.session_id)
        for path in folder.glob("*.md")
        if path.name != "context.md"
        for b in knowledge.parse(path.read_text()).live_blocks()
    }


def _stage_sessions(tmp_path: Path, count: int) -> tuple[Path, list[Path]]:
    """An empty transcripts root for invoice-cli, and `count` distinct sessions to drop in
    one by one (copies of a sample with new session ids)."""
    project_dir = "-home-dev-src-invoice-cli"
    sample = SAMPLES / project_dir / "c7a2e815-4d9b-4f36-8e0c-51b7d2a9f4e6.jsonl"
    text = sample.read_text()
    staged = tmp_path / "staged"
    staged.mkdir()
    copies = []
    for n in range(count):
        new_id = str(uuid.UUID(int=0xC0FFEE00 + n))
        copy = staged / f"{new_id}.jsonl"
        copy.write_text(text.replace("c7a2e815-4d9b-4f36-8e0c-51b7d2a9f4e6", new_id))
        copies.append(copy)
    root = tmp_path / "sessions"
    (root / project_dir).mkdir(parents=True)
    return root / project_dir, copies


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(2))
def test_ingest_racing_push_repo_and_pull_repo_loses_nothing(tmp_path: Path, round_: int) -> None:
    """Ingest lands session after session while another process pull-repos and push-repos
    the same project of the same memory in a loop, each waiting on a slow remote; every
    block ingest wrote must survive (without the memory lock around the write-back, a push
    that read memory before an ingest writes its merge over the ingest's blocks)."""
    project = "invoice-cli"
    inbox, copies = _stage_sessions(tmp_path, 5)
    env = engram_env(ENGRAM_SESSIONS_DIR=str(inbox.parent))
    ingest = [sys.executable, "-m", "engram_ci", "ingest"]
    reference = tmp_path / "reference"
    for copy in copies:
        shutil.copy(copy, inbox)
    subprocess.run(ingest, env={**env, "ENGRAM_MEMORY_DIR": str(reference)}, check=True)
    for copy in copies:
        (inbox / copy.name).unlink()
    expected = _blocks(reference, project)
    assert len(expected) >= 5

    # the knowledge repo's remote answers fetches slowly: a network wait inside every sync
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    git(seed, "push", "-q", str(remote), "main")
    repo = tmp_path / "kr"
    git(tmp_path, "clone", "-q", str(remote), str(repo))
    slow = tmp_path / "slow-upload-pack"
    slow.write_text('#!/bin/sh\nsleep 0.3\nexec git-upload-pack "$@"\n')
    slow.chmod(0o755)
    git(repo, "config", "remote.origin.uploadpack", str(slow))
    elsewhere = MemoryLayout(tmp_path / "elsewhere")
    memory = MemoryLayout(tmp_path / "memory")
    for category in ("decisions", "bugs", "patterns", "solutions", "insights", "procedures"):
        add_block(elsewhere, project, f"remote-{category}", "- pushed elsewhere", category=category)
        add_block(memory, project, f"local-{category}", "- was here first", category=category)
    reposync.push_repo(elsewhere.root, project, repo, branch="shared", push_remote=True)

    done = tmp_path / "ingest-done"
    sync = [sys.executable, "-m", "engram_ci", "--memory-dir", str(memory.root), "sync"]
    loop = (
        f"i=0; while [ ! -e {done} ] && [ $i -lt 60 ]; do i=$((i+1)); "
        f'"$@" pull-repo {project} {repo} --branch shared --fetch-remote >/dev/null || exit 1; '
        f'"$@" push-repo {project} {repo} --branch shared --push-remote >/dev/null || exit 1; '
        "done"
    )
    racers = [
        subprocess.Popen(
            ["sh", "-c", loop, "sh", *sync], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(1)  # one racer: a second one would push a lost block back
    ]
    for copy in copies:  # one session at a time: every ingest is a write that could be lost
        shutil.copy(copy, inbox)
        subprocess.run(
            ingest,
            env={**env, "ENGRAM_MEMORY_DIR": str(memory.root)},
            check=True,
            capture_output=True,
        )
    done.touch()
    for process in racers:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    got = _blocks(memory.root, project)
    assert expected <= got, f"lost: {sorted(expected - got)}"
    # and a last push carries all of it to the branch
    reposync.push_repo(memory.root, project, repo, branch="shared", push_remote=True)
    shown = git(remote, "show", f"shared:{project}/decisions.md")
    assert "local-decisions" in shown and "remote-decisions" in shown


def test_a_sync_writes_the_local_context_at_the_users_budget(tmp_path: Path) -> None:
    """A merge synthesises context.md at the default size, which is what the store keeps
    (so two budgets never make a revision each); local memory gets the size asked for."""
    from engram_ci.knowledge.blocks import CONTEXT_FILE
    from engram_ci.knowledge.context import DEFAULT_BUDGET

    layout = MemoryLayout(tmp_path / "pusher")
    for n in range(80):
        body = f"- Decided to keep module {n} flat because the reviewers asked for it twice"
        add_block(layout, P, f"s{n}", body, timestamp=f"2025-01-{n % 28 + 1:02d}T00:00:00Z")
    store = MemoryStore()
    Pipeline(layout, store, context_budget=1_000).push(P)
    stored = store.files[CONTEXT_FILE]
    assert 1_000 < len(stored) <= DEFAULT_BUDGET
    assert len(read_local(layout, P)[CONTEXT_FILE]) <= 1_000
    Pipeline(layout, store, context_budget=1_000).push(P)
    assert store.version == 1  # the local size is no change to upload

    puller = MemoryLayout(tmp_path / "puller")
    Pipeline(puller, store, context_budget=1_500).pull(P)
    assert 1_000 < len(read_local(puller, P)[CONTEXT_FILE]) <= 1_500
    Pipeline(puller, store).pull(P, force=True)
    assert read_local(puller, P)[CONTEXT_FILE] == stored
