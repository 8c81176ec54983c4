"""The pipeline's own promises: the memory lock is held for local reads and writes only
(never across a network wait), and nothing another writer adds meanwhile is lost — down to
real `engram ingest` processes racing `push-repo` and `pull-repo` on one memory."""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyrage import x25519

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout
from engram_ci.memory.projectfiles import metadata_json, read_local
from engram_ci.memory.syncstate import last_syncs
from engram_ci.sync import crypto, reposync, synced_base
from engram_ci.sync.backend import Backend, Conflict, Snapshot, Written
from engram_ci.sync.pipeline import BACKOFF_CAP, Pipeline, Retry, backoff, with_tombstones
from tests.conftest import ROOT

from .repo_helpers import add_block, bare_remote, engram_env, git

P = "proj"
SAMPLES = ROOT / "engram_ci" / "samples" / "claude-projects"


class MemoryStore(Backend):
    """A store in a dict, with hooks that run inside read() and write() — the network waits."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.version = 0
        self.during_read: Callable[[], object] = lambda: None
        self.during_write: Callable[[], object] = lambda: None

    key = property(lambda self: "memory-store")
    location = property(lambda self: "the test store")

    def read(self, project: str) -> Snapshot:
        self.during_read()
        return Snapshot(dict(self.files), str(self.version) if self.version else None)

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        self.during_write()
        self.files, self.version = dict(files), self.version + 1
        return Written(str(self.version))


class Busy(MemoryStore):
    """A store that always moved since it was read (compare-and-swap refuses every write)."""

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        raise Conflict("someone else wrote")


def one_block(tmp_path: Path) -> MemoryLayout:
    """A memory dir whose project holds one decision, `s1`."""
    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "s1", "- one")
    return layout


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
    layout = one_block(tmp_path)
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
    layout = one_block(tmp_path)
    store = MemoryStore()
    store.files = {"decisions.md": "# Decisions\n\n## Session: remote (2025-01-01)\n\n- r\n"}
    store.version = 1
    # an ingest lands while the push waits for the store
    store.during_write = lambda: add_block(layout, P, "ingested", "- arrived mid-push")
    Pipeline(layout, store).push(P)
    assert live(layout) == {"s1", "remote", "ingested"}
    assert read_local(layout, P)["context.md"].startswith(f"# Project context: {P}\n")
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
    layout = one_block(tmp_path)
    waits: list[float] = []
    retry = Retry(attempts=4, deadline_seconds=60, sleep=waits.append)
    with pytest.raises(FatalError, match=r"rejected 4 times.*local memory is unchanged"):
        Pipeline(layout, Busy(), retry=retry).push(P)
    assert len(waits) == 3
    clock = iter([0.0, 0.0, 100.0, 100.0])
    late = Retry(attempts=40, deadline_seconds=5, sleep=waits.append, clock=lambda: next(clock))
    with pytest.raises(FatalError, match="rejected"):
        Pipeline(layout, Busy(), retry=late).push(P)


def test_backoff_doubles_per_attempt_up_to_the_cap_scaled_by_the_jitter() -> None:
    def whole() -> float:
        return 1.0

    assert [backoff(n, whole) for n in (0, 1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert backoff(5, whole) == pytest.approx(BACKOFF_CAP)  # 3.2 capped
    assert backoff(40, whole) == pytest.approx(BACKOFF_CAP)
    assert backoff(2, lambda: 0.25) == pytest.approx(0.1)
    assert backoff(3, lambda: 0.0) == 0.0


def test_the_retry_deadline_comes_from_the_environment_clamped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENGRAM_SYNC_DEADLINE_SECONDS", raising=False)
    assert Retry.from_env().deadline_seconds == 300.0
    monkeypatch.setenv("ENGRAM_SYNC_DEADLINE_SECONDS", "42.5")
    assert Retry.from_env().deadline_seconds == 42.5
    monkeypatch.setenv("ENGRAM_SYNC_DEADLINE_SECONDS", "-5")
    assert Retry.from_env().deadline_seconds == 0.0
    monkeypatch.setenv("ENGRAM_SYNC_DEADLINE_SECONDS", "99999")
    assert Retry.from_env().deadline_seconds == 3600.0
    kept = Retry.from_env(attempts=3)
    assert (kept.attempts, kept.deadline_seconds) == (3, 3600.0)


class VersionedStore(MemoryStore):
    """A MemoryStore that keeps every version and records which project each call named."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[str, dict[str, str]] = {}
        self.asked: list[tuple[str, str | None]] = []

    def read(self, project: str) -> Snapshot:
        self.asked.append((project, None))
        return super().read(project)

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        written = super().write(project, files, expected=expected)
        self.versions[written.version] = dict(files)
        return written

    def read_version(self, project: str, ref: str) -> Snapshot:
        self.asked.append((project, ref))
        return Snapshot(dict(self.versions[ref]), ref)


def decisions(*sessions: str) -> dict[str, str]:
    blocks = "".join(
        f"\n## Session: {s} (2025-01-0{i + 1})\n\n- {s}\n" for i, s in enumerate(sessions)
    )
    return {"decisions.md": "# Decisions\n" + blocks}


def test_each_conflict_backs_off_longer_until_the_attempts_run_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layout = one_block(tmp_path)
    waits: list[float] = []
    retry = Retry(
        attempts=4, deadline_seconds=60, sleep=waits.append, jitter=lambda: 1.0, clock=lambda: 0.0
    )
    caplog.set_level(logging.INFO, logger="engram_ci")
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, Busy(), retry=retry).push(P)
    assert waits == pytest.approx([0.2, 0.4, 0.8])  # backoff(attempt), never shortened
    assert raised.value.title == "push rejected"
    assert str(raised.value) == (
        "push of proj to the test store was rejected 4 times in 0s (someone else wrote): the "
        "store kept moving; local memory is unchanged: run it again, or raise --attempts (or "
        "$ENGRAM_SYNC_DEADLINE_SECONDS)"
    )
    assert "the test store moved (someone else wrote): merging again in 0.20s" in caplog.messages


def test_a_wait_that_would_pass_the_deadline_is_not_started(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    waits: list[float] = []
    # the first wait (0.2 s) ends exactly at the deadline: allowed; the second would pass it
    retry = Retry(
        attempts=40, deadline_seconds=0.2, sleep=waits.append, clock=lambda: 0.0, jitter=lambda: 1.0
    )
    with pytest.raises(FatalError, match="rejected 2 times"):
        Pipeline(layout, Busy(), retry=retry).push(P)
    assert waits == pytest.approx([0.2])


class NoCompareAndSwap(VersionedStore):
    """Writes whatever it is given, and reports that each of its first `clobbering` writes
    overwrote another writer's state (a store without compare-and-swap, a writer racing us):
    a new block, `other<n>`, each time."""

    def __init__(self, clobbering: int) -> None:
        super().__init__()
        self.clobbering = clobbering

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        written = super().write(project, files, expected=expected)
        if self.version <= self.clobbering:
            return Written(written.version, clobbered=(decisions(f"other{self.version}"),))
        return written


def test_clobbered_writes_are_merged_back_after_a_short_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layout = one_block(tmp_path)
    add_block(layout, P, "b1", "- a bug", category="bugs")
    store = NoCompareAndSwap(clobbering=1)
    waits: list[float] = []
    retry = Retry(sleep=waits.append, jitter=lambda: 1.0)
    caplog.set_level(logging.INFO, logger="engram_ci")
    outcome = Pipeline(layout, store, retry=retry).push(P)
    assert waits == pytest.approx([0.02])  # a tenth of backoff(1): the store already moved on
    assert outcome.attempts == 2 and outcome.version == "2"
    # bugs.md went in the first write only: it still counts as sent
    assert outcome.files == ("bugs.md", "context.md", "decisions.md", "metadata.json")
    assert live(layout) == {"s1", "other1"}
    assert "other1" in store.files["decisions.md"]
    assert all(project == P for project, _ in store.asked) and len(store.asked) == 2
    assert (
        "the test store changed while pushing; merging 1 version(s) written meanwhile"
        in caplog.messages
    )


def test_a_store_that_keeps_being_overwritten_is_given_up_on(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    store = NoCompareAndSwap(clobbering=99)
    retry = Retry(attempts=3, sleep=lambda _: None, clock=lambda: 0.0)
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, store, retry=retry).push(P)
    assert str(raised.value).startswith(
        "push of proj to the test store was rejected 3 times in 0s (other writers kept "
        "changing it): the store kept moving; local memory is unchanged"
    )
    assert live(layout) == {"s1"}


def test_pull_of_a_version_replaces_local_knowledge_with_it(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    store = VersionedStore()
    store.versions = {"1": decisions("old"), "2": decisions("old", "new")}
    store.files, store.version = dict(store.versions["2"]), 2
    add_block(layout, P, "mine", "- local only")
    add_block(layout, P, "bug", "- local bug", category="bugs")
    outcome = Pipeline(layout, store).pull(P, version="1")
    assert store.asked == [(P, "1")]
    assert outcome.version == "1"
    assert live(layout) == {"old"}  # forced: the version as it is, no merge with local
    assert "bugs.md" not in read_local(layout, P)


def test_restore_makes_local_the_old_version_and_keeps_the_head_as_base(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    store = VersionedStore()
    store.versions = {"1": decisions("old"), "2": {**decisions("old", "new"), **bugs_file()}}
    store.files, store.version = dict(store.versions["2"]), 2
    add_block(layout, P, "old", "- old")
    add_block(layout, P, "stray", "- local", category="patterns")
    outcome = Pipeline(layout, store).restore(P, "1")
    assert (P, "1") in store.asked and (P, None) in store.asked
    assert all(project == P for project, _ in store.asked)
    assert (outcome.version, outcome.restored) == ("1", "1")
    files = read_local(layout, P)
    assert live(layout) == {"old"}
    assert knowledge.parse(files["decisions.md"]).is_tombstoned("new")
    assert knowledge.parse(files["bugs.md"]).is_tombstoned("b1")
    assert "patterns.md" not in files  # replaced: local files the version lacks go
    assert files["context.md"].startswith(f"# Project context: {P}\n")
    base = synced_base.read_base(layout, store.key, P)
    assert base is not None and base.version == "2"
    assert "new" in base.files["decisions.md"]
    assert "b1" in base.files["bugs.md"]


def test_restoring_an_empty_version_is_refused(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    store = VersionedStore()
    store.versions = {"1": {"metadata.json": "{}"}}
    add_block(layout, P, "s1", "- one")
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, store).restore(P, "1")
    assert raised.value.title == "empty version"
    assert str(raised.value) == (
        "version 1 of the test store holds no knowledge files: pick another with "
        "`engram sync history`"
    )
    assert live(layout) == {"s1"}


def test_pull_names_a_missing_project_and_refuses_a_store_without_knowledge(
    tmp_path: Path,
) -> None:
    layout = one_block(tmp_path)

    class Listing(VersionedStore):
        def list_projects(self) -> list[str]:
            return ["other"]

    store = Listing()
    with pytest.raises(FatalError) as missing:
        Pipeline(layout, store).pull(P)
    assert str(missing.value) == "project 'proj' is not in the test store: projects there: other"
    store.files, store.version = {"metadata.json": "{}", "notes.txt": "hi"}, 1
    with pytest.raises(FatalError) as empty:
        Pipeline(layout, store).pull(P)
    assert empty.value.title == "no knowledge"
    assert str(empty.value) == (
        "the test store holds no engram knowledge files (decisions.md, context.md, ...) for "
        "proj: check where you pull from"
    )
    assert live(layout) == {"s1"}


def test_pushing_a_project_without_knowledge_names_the_ones_there(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    store = VersionedStore()
    with pytest.raises(FatalError, match=r"\(projects here: none\)$") as raised:
        Pipeline(layout, store).push(P)
    assert raised.value.title == "nothing to push"
    assert f"no knowledge for project 'proj' in {layout.knowledge_dir(P)};" in str(raised.value)
    for n in range(25):
        layout.knowledge_dir(f"p{n:02d}").mkdir(parents=True)
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, store).push(P)
    shown = ", ".join(f"p{n:02d}" for n in range(20))  # the first twenty, sorted
    assert str(raised.value).endswith(f"run `engram ingest` first (projects here: {shown})")
    assert store.asked == []  # refused before the store is read


def test_a_store_that_lost_the_project_gets_all_of_it_back(tmp_path: Path) -> None:
    """The last-synced base belongs to a store state that is gone: it must not turn the
    blocks the empty store lacks into removals."""
    layout = one_block(tmp_path)
    add_block(layout, P, "s2", "- two")
    store = VersionedStore()
    first = Pipeline(layout, store).push(P)
    store.files, store.version = {}, 0  # emptied behind our back
    again = Pipeline(layout, store).push(P)
    assert again.created and again.changed
    assert live(layout) == {"s1", "s2"}
    assert {"s1", "s2"} <= {
        b.session_id for b in knowledge.parse(store.files["decisions.md"]).blocks
    }
    assert store.files["context.md"].startswith(f"# Project context: {P}\n")
    noop = Pipeline(layout, store).push(P)
    assert (noop.changed, noop.version, first.version) == (False, "1", "1")


def test_a_store_deletion_sticks_locally_when_an_ingest_lands_mid_push(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    add_block(layout, P, "s2", "- two")
    store = VersionedStore()
    Pipeline(layout, store).push(P)
    # another machine removed s2 (upstream engram deletes without a tombstone)
    kept = knowledge.parse(store.files["decisions.md"])
    store.files["decisions.md"] = knowledge.render(
        knowledge.KnowledgeFile(
            kept.preamble, tuple(b for b in kept.blocks if b.session_id == "s1")
        )
    )
    store.version += 1
    store.during_write = lambda: add_block(layout, P, "s3", "- ingested meanwhile")
    Pipeline(layout, store).push(P)
    assert live(layout) == {"s1", "s3"}


def test_a_push_gives_the_store_s_url_and_records_the_sync_for_status(tmp_path: Path) -> None:
    layout = one_block(tmp_path)

    class Gistlike(VersionedStore):
        name = "memory"
        url = property(lambda self: "https://gist.example/abc")

    gist = Gistlike()
    outcome = Pipeline(layout, gist).push(P)
    assert outcome.url == "https://gist.example/abc"
    assert [(r.kind, r.target) for r in last_syncs(layout, P)] == [
        ("memory", "https://gist.example/abc")
    ]
    base = synced_base.read_base(layout, "memory-store", P)
    assert base is not None and base.version == outcome.version == "1"
    plain = VersionedStore()
    plain.files, plain.version = dict(gist.files), 1
    Pipeline(layout, plain).pull(P)  # no url: the record names its location
    assert ("", "the test store") in [(r.kind, r.target) for r in last_syncs(layout, P)]


def test_a_sealed_store_without_a_key_is_one_error_naming_the_fix(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    store = VersionedStore()
    store.files = crypto.seal_files(decisions("s1"), age_cipher())
    store.version = 1
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, store).pull(P)
    assert raised.value.title == "encrypted remote"
    assert str(raised.value) == (
        "the test store is encrypted: decrypt it with a key given by --identity FILE (or "
        "$ENGRAM_AGE_IDENTITY), or set ENGRAM_PASSPHRASE"
    )
    assert "the `identity` input (or $ENGRAM_AGE_IDENTITY)" in raised.value.worded("action")
    wrong = crypto.Encryption(age_cipher())
    with pytest.raises(FatalError, match=r"^cannot decrypt the test store: none of your"):
        Pipeline(layout, store, encryption=wrong).pull(P)
    assert read_local(layout, P) == {}


def test_a_store_of_another_project_is_refused_unless_adopted(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    store = VersionedStore()
    store.files, store.version = {**decisions("theirs"), "metadata.json": metadata_json("other")}, 1
    with pytest.raises(FatalError) as raised:
        Pipeline(layout, store).push(P)
    assert raised.value.title == "store of another project"
    assert str(raised.value) == (
        "the test store belongs to project 'other', not 'proj': sync other with it, or pass "
        "--adopt to make it proj's"
    )
    # the Action has no adopt input: its log says what a workflow's author can do instead
    assert raised.value.worded("action") == (
        "the test store belongs to project 'other', not 'proj': set the `project` input to "
        "'other' to sync it, or make it proj's once from a terminal (the engram CLI's --adopt)"
    )
    Pipeline(layout, store, adopt=True).push(P)
    assert json.loads(store.files["metadata.json"])["project"] == P


def test_a_pull_merges_into_local_and_keeps_the_store_s_version_as_base(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "mine", "- local")
    store = VersionedStore()
    store.files, store.version = decisions("theirs"), 7
    outcome = Pipeline(layout, store).pull(P)
    assert (outcome.version, outcome.changed) == ("7", True)
    assert live(layout) == {"mine", "theirs"}
    assert read_local(layout, P)["context.md"].startswith(f"# Project context: {P}\n")
    base = synced_base.read_base(layout, store.key, P)
    assert base is not None and base.version == "7" and "theirs" in base.files["decisions.md"]


def test_a_sealed_upload_is_redacted_first_and_counts_its_secrets(tmp_path: Path) -> None:
    layout = MemoryLayout(tmp_path / "mem")
    secret = "ghp_" + "Zq8Wp7Lm6Kj5Hg4Fd3Sa2Qw1Er9Ty0Ui8Op7"
    add_block(layout, P, "s1", f"- deploy with {secret}")
    store = VersionedStore()
    keys = age_cipher()
    sealing = crypto.Encryption(keys, encrypt=True)
    first = Pipeline(layout, store, encryption=sealing).push(P)
    again = Pipeline(layout, store, encryption=sealing).push(P)  # the kept seal
    # once in the block, once in context.md's summary of it
    assert (first.secrets_redacted, again.secrets_redacted) == (2, 2)
    opened = crypto.open_files(store.files, keys)["decisions.md"]
    assert secret not in opened and "[REDACTED:github-pat]" in opened


def test_after_a_conflict_the_same_project_is_read_again(tmp_path: Path) -> None:
    layout = one_block(tmp_path)

    class BusyOnce(VersionedStore):
        def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
            if not self.versions and not self.asked[1:]:
                raise Conflict("someone else wrote")
            return super().write(project, files, expected=expected)

    store = BusyOnce()
    outcome = Pipeline(layout, store, retry=Retry(sleep=lambda _: None)).push(P)
    assert outcome.attempts == 2 and store.asked == [(P, None), (P, None)]


def bugs_file() -> dict[str, str]:
    return {"bugs.md": "# Bugs\n\n## Session: b1 (2025-01-05)\n\n- b1\n"}


def test_tombstones_are_stamped_with_the_utc_time_and_context_names_the_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a local-time stamp shows
    time.tzset()
    try:
        restored = with_tombstones(P, decisions("a"), decisions("a", "b"))
    finally:
        monkeypatch.undo()
        time.tzset()
    stone = knowledge.parse(restored["decisions.md"]).get("b")
    assert stone is not None and stone.is_tombstone
    stamp = datetime.strptime(stone.tag("deleted") or "", "%Y-%m-%dT%H:%M:%SZ")
    assert abs(stamp.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)
    assert restored["context.md"].startswith(f"# Project context: {P}\n")


def test_a_version_without_category_files_is_restored_as_it_is() -> None:
    only_context = {"context.md": "# proj\n\nnotes\n"}
    assert with_tombstones(P, only_context, {}) == only_context


def age_cipher() -> crypto.Cipher:
    identity = x25519.Identity.generate()
    return crypto.Cipher(recipients=(str(identity.to_public()),), identities=(str(identity),))


def test_a_store_sealed_with_age_keys_keeps_its_seal_while_unchanged(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    store = VersionedStore()
    keys = age_cipher()
    sealing = crypto.Encryption(keys, encrypt=True)
    first = Pipeline(layout, store, encryption=sealing).push(P)
    assert first.changed and store.version == 1
    assert set(store.files) == {crypto.MANIFEST_FILE, crypto.PAYLOAD_FILE, "metadata.json"}
    again = Pipeline(layout, store, encryption=sealing).push(P)
    assert not again.changed and store.version == 1  # same plaintext: the stored seal stays
    add_block(layout, P, "s2", "- two")
    Pipeline(layout, store, encryption=sealing).push(P)
    assert store.version == 2
    opened = crypto.open_files(store.files, keys)
    assert {b.session_id for b in knowledge.parse(opened["decisions.md"]).blocks} == {"s1", "s2"}
    # a sealed store stays sealed for a pusher that holds a key, even without --encrypt
    add_block(layout, P, "s3", "- three")
    Pipeline(layout, store, encryption=crypto.Encryption(keys, encrypt=False)).push(P)
    assert store.version == 3 and crypto.is_sealed(store.files)
    assert "s3" in crypto.open_files(store.files, keys)["decisions.md"]


def test_new_keys_reseal_an_unchanged_store_so_their_holder_can_read_it(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    store = VersionedStore()
    old, new = age_cipher(), age_cipher()
    Pipeline(layout, store, encryption=crypto.Encryption(old, encrypt=True)).push(P)
    team = crypto.Cipher(recipients=old.recipients + new.recipients, identities=old.identities)
    outcome = Pipeline(layout, store, encryption=crypto.Encryption(team, encrypt=True)).push(P)
    assert outcome.changed and store.version == 2
    reader = crypto.Cipher(identities=new.identities)
    assert "- one" in crypto.open_files(store.files, reader)["decisions.md"]


def test_a_key_at_hand_does_not_seal_a_plain_store(tmp_path: Path) -> None:
    layout = one_block(tmp_path)
    store = VersionedStore()
    Pipeline(layout, store, encryption=crypto.Encryption(age_cipher(), encrypt=False)).push(P)
    assert "decisions.md" in store.files and not crypto.is_sealed(store.files)


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
