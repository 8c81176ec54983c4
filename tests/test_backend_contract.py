"""The contract every sync backend keeps, run against each registered one through the pipeline.

A backend is one module plus a registration (engram_ci/sync/backend.py says what it must do);
its test fixture `<name>_harness` (tests/backend_harness.py) gives this suite a real store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import METADATA_FILE, MemoryLayout
from engram_ci.memory.projectfiles import metadata_json, read_local
from engram_ci.sync import crypto
from engram_ci.sync.backend import (
    Backend,
    Conflict,
    Snapshot,
    VersionNotFound,
    Written,
    match_version,
    registered,
)
from engram_ci.sync.pipeline import Pipeline, PullOutcome, PushOutcome, Retry
from tests.backend_harness import Harness, gist_harness, repo_harness, s3_harness  # noqa: F401

from .repo_helpers import add_block

P = "proj"
HEADER = b"# Questions\n\n## Session: {} (2025-01-01T00:00:00Z)\n\n"
SECRET = "ghp_C0ntr4ctS3cr3tV4lu3Xy9Zq8Wp7Lm6Kj5Hg4"


@pytest.fixture(params=sorted(registered()))
def harness(request: pytest.FixtureRequest) -> Harness:
    """Each registered backend's harness; a backend without one fails here, by design."""
    return request.getfixturevalue(f"{request.param}_harness")  # type: ignore[no-any-return]


def machine(tmp_path: Path, name: str, *sessions: str) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    for session in sessions:
        add_block(layout, P, session, f"- learned in {session}")
    return layout


def run(
    harness: Harness,
    layout: MemoryLayout,
    action: Callable[[Pipeline], Any],
    *,
    wrap: Callable[[Backend], Backend] = lambda b: b,
    **options: Any,
) -> Any:
    with harness.backend(layout, P) as backend:
        retry = Retry(attempts=40, deadline_seconds=120, sleep=lambda s: None)
        return action(Pipeline(layout, wrap(backend), retry=retry, **options))


def push(harness: Harness, layout: MemoryLayout, **options: Any) -> PushOutcome:
    return run(harness, layout, lambda p: p.push(P), **options)  # type: ignore[no-any-return]


def pull(harness: Harness, layout: MemoryLayout, **options: Any) -> PullOutcome:
    return run(harness, layout, lambda p: p.pull(P), **options)  # type: ignore[no-any-return]


def live(layout: MemoryLayout, name: str = "decisions.md") -> set[str]:
    text = read_local(layout, P).get(name, "")
    return {b.session_id for b in knowledge.parse(text).live_blocks()}


def stored_live(harness: Harness, name: str = "decisions.md") -> set[str]:
    text = harness.stored(P).get(name, b"").decode()
    return {b.session_id for b in knowledge.parse(text).live_blocks()}


def drop(layout: MemoryLayout, session: str) -> None:
    """Delete a block by hand, as upstream engram does: no tombstone."""
    path = layout.knowledge_dir(P) / "decisions.md"
    kf = knowledge.parse(path.read_text())
    kept = tuple(b for b in kf.blocks if b.session_id != session)
    path.write_text(knowledge.render(knowledge.KnowledgeFile(kf.preamble, kept)))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- the contract ------------------------------------------------------------------------------


def test_push_then_pull_elsewhere(harness: Harness, tmp_path: Path) -> None:
    a = machine(tmp_path, "a", "s1", "s2")
    add_block(a, P, "b1", "- a bug", category="bugs")
    first = push(harness, a)
    assert first.created and first.changed and first.blocks_added == 3
    b = MemoryLayout(tmp_path / "b")
    pulled = pull(harness, b)
    assert pulled.version and pulled.changed
    assert live(b) == {"s1", "s2"} and live(b, "bugs.md") == {"b1"}


def test_a_no_op_push_writes_nothing(harness: Harness, tmp_path: Path) -> None:
    a = machine(tmp_path, "a", "s1")
    push(harness, a)
    before = harness.writes()
    again = push(harness, a)
    assert not again.changed and again.files == ()
    b = MemoryLayout(tmp_path / "b")
    pull(harness, b)
    assert not push(harness, b).changed
    assert harness.writes() == before


def test_concurrent_writers_lose_no_block(harness: Harness, tmp_path: Path) -> None:
    push(harness, machine(tmp_path, "seed", "seed"))
    writers = [machine(tmp_path, f"w{n}", f"writer-{n}") for n in range(4)]
    errors: list[BaseException] = []

    def go(layout: MemoryLayout) -> None:
        try:
            push(harness, layout)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=go, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    everyone = {"seed"} | {f"writer-{n}" for n in range(4)}
    assert stored_live(harness) == everyone
    reader = MemoryLayout(tmp_path / "reader")
    pull(harness, reader)
    assert live(reader) == everyone


def test_deletions_on_either_side_stick(harness: Harness, tmp_path: Path) -> None:
    a = machine(tmp_path, "a", "s1", "s2", "s3")
    push(harness, a)
    b = MemoryLayout(tmp_path / "b")
    pull(harness, b)
    drop(a, "s1")  # deleted by hand on A
    push(harness, a)
    assert stored_live(harness) == {"s2", "s3"}
    add_block(b, P, "s4", "- from b")  # B still holds s1, unchanged
    push(harness, b)
    assert stored_live(harness) == {"s2", "s3", "s4"}
    assert live(b) == {"s2", "s3", "s4"}
    # deleted remotely (another tool rewrote the file without s2)
    text = harness.stored(P)["decisions.md"].decode()
    kf = knowledge.parse(text)
    kept = tuple(blk for blk in kf.blocks if blk.session_id != "s2")
    harness.external_write(P, {"decisions.md": knowledge.render(kf.__class__(kf.preamble, kept))})
    pull(harness, a)
    assert live(a) == {"s3", "s4"}


def test_restore_sticks_and_takes_version_prefixes(harness: Harness, tmp_path: Path) -> None:
    a = machine(tmp_path, "a", "v1")
    first = push(harness, a)
    add_block(a, P, "v2", "- later")
    push(harness, a)
    restored = run(harness, a, lambda p: p.restore(P, first.version[:7]))
    assert restored.restored == first.version
    assert live(a) == {"v1"}
    push(harness, a)
    assert stored_live(harness) == {"v1"}  # v2 not merged back
    b = MemoryLayout(tmp_path / "b")
    pull(harness, b)
    assert live(b) == {"v1"}
    with pytest.raises(VersionNotFound, match="version deadbee not found"):
        run(harness, a, lambda p: p.restore(P, "deadbee"))
    with pytest.raises(VersionNotFound, match="at least 7"):
        run(harness, a, lambda p: p.restore(P, first.version[:5]))


def test_hostile_content_is_contained(harness: Harness, tmp_path: Path) -> None:
    a = machine(tmp_path, "a", "s1")
    huge = "- " + "y" * (2 * 1024 * 1024)
    add_block(a, P, "huge", huge, category="patterns")
    push(harness, a)
    harness.external_write(
        P,
        {
            "questions.md": HEADER.replace(b"{}", b"q1") + b"- caf\xe9 \xff\n",
            "../../escape.md": "# Decisions\n\n## Session: evil (2025-01-01T00:00:00Z)\n\n- x\n",
            "evil.sh": "rm -rf /\n",
        },
    )
    b = MemoryLayout(tmp_path / "b")
    pull(harness, b)
    files = read_local(b, P)
    assert knowledge.parse(files["patterns.md"]).get("huge").body.strip() == huge  # type: ignore[union-attr]
    assert "q1" in files["questions.md"]
    written = tree(b.root)
    knowledge_files = [n for n in written if n.startswith("knowledge/")]
    assert all(n.startswith(f"knowledge/{P}/") and n.endswith(".md") for n in knowledge_files)
    assert not any("escape" in n or n.endswith(".sh") for n in written)
    assert not (tmp_path / "escape.md").exists()


@pytest.mark.parametrize("kind", ["500", "timeout"])
def test_faults_are_one_line_errors_and_touch_nothing(
    harness: Harness, tmp_path: Path, kind: str
) -> None:
    a = machine(tmp_path, "a", "s1")
    push(harness, a)
    add_block(a, P, "s2", "- new")
    before = tree(a.root)
    harness.break_store(kind)
    with pytest.raises(FatalError) as failed:
        push(harness, a)
    assert "\n" not in str(failed.value) and str(failed.value)
    with pytest.raises(FatalError):
        pull(harness, a)
    assert tree(a.root) == before


def test_a_write_on_a_stale_snapshot_is_refused_or_reported(
    harness: Harness, tmp_path: Path
) -> None:
    a = machine(tmp_path, "a", "s1")
    push(harness, a)
    with harness.backend(a, P) as backend:
        seen = backend.read(P)
        text = (
            harness.stored(P)["decisions.md"].decode() + "\n## Session: other (2025-01-02)\n\n- x\n"
        )
        harness.external_write(P, {"decisions.md": text})
        files = {**seen.files, "bugs.md": "# Bugs\n\n## Session: b (2025-01-03)\n\n- y\n"}
        files[METADATA_FILE] = metadata_json(P)
        try:
            written = backend.write(P, files, expected=seen)
        except Conflict:
            return
        assert any("other" in c.get("decisions.md", "") for c in written.clobbered)


class _Racing(Backend):
    """A backend whose store gets another writer's block just before our first write."""

    def __init__(self, inner: Backend, before_write: Callable[[], None]) -> None:
        self.inner, self.before_write, self.raced = inner, before_write, False

    key = property(lambda self: self.inner.key)
    location = property(lambda self: self.inner.location)
    url = property(lambda self: self.inner.url)

    def read(self, project: str) -> Snapshot:
        return self.inner.read(project)

    def write(self, project: str, files: Mapping[str, str], *, expected: Snapshot) -> Written:
        if not self.raced:
            self.raced = True
            self.before_write()
        return self.inner.write(project, files, expected=expected)

    def synced(self, project: str) -> None:
        self.inner.synced(project)


def test_a_writer_between_our_read_and_write_loses_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    a = machine(tmp_path, "a", "s1")
    push(harness, a)
    add_block(a, P, "mine", "- mine")

    def sneak() -> None:
        text = harness.stored(P)["decisions.md"].decode()
        harness.external_write(
            P, {"decisions.md": text + "\n## Session: sneaky (2025-01-02T00:00:00Z)\n\n- s\n"}
        )

    push(harness, a, wrap=lambda b: _Racing(b, sneak))
    assert stored_live(harness) == {"s1", "mine", "sneaky"}
    assert live(a) == {"s1", "mine", "sneaky"}


def test_a_store_of_another_project_is_refused_unless_adopted(
    harness: Harness, tmp_path: Path
) -> None:
    other = "## Session: theirs (2025-01-01T00:00:00Z)\n\n- theirs\n"
    harness.external_write(
        P, {"decisions.md": "# Decisions\n\n" + other, METADATA_FILE: metadata_json("alpha")}
    )
    a = machine(tmp_path, "a", "mine")
    with pytest.raises(FatalError, match=r"belongs to project 'alpha', not 'proj'.*--adopt"):
        push(harness, a)
    with pytest.raises(FatalError, match="belongs to project 'alpha'"):
        pull(harness, a)
    assert live(a) == {"mine"}
    push(harness, a, adopt=True)
    assert stored_live(harness) == {"mine", "theirs"}
    assert b'"project": "proj"' in harness.stored(P)[METADATA_FILE]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_planted_secret_never_leaves_and_stays_local(
    harness: Harness, tmp_path: Path, encrypted: bool
) -> None:
    keys = crypto.Encryption(crypto.Cipher(passphrase="pass phrase 1"), True) if encrypted else None
    a = machine(tmp_path, "a", "s1")
    add_block(a, P, "leak", f"- deployed with token {SECRET} today")
    first = push(harness, a, encryption=keys)
    assert first.secrets_redacted >= 1
    add_block(a, P, "leak2", f"- rotated, still {SECRET}")  # an update, not a create
    push(harness, a, encryption=keys)
    raw = b"".join(harness.stored(P).values())
    assert SECRET.encode() not in raw
    b = MemoryLayout(tmp_path / "b")
    pull(harness, b, encryption=keys)
    assert SECRET not in "".join(read_local(b, P).values())
    assert "[REDACTED:" in read_local(b, P)["decisions.md"]
    pull(harness, a, encryption=keys)  # the redacted copy never replaces the local original
    assert read_local(a, P)["decisions.md"].count(SECRET) == 2


def test_versions_are_named_whole_or_by_a_unique_prefix_of_seven() -> None:
    versions = ["abcdef01aa", "abcdef02bb", "1234567890"]
    assert match_version("1234567", versions, where="w") == "1234567890"
    assert match_version("ABCDEF01AA", versions, where="w") == "abcdef01aa"
    for ref, why in (
        ("abcdef0", "ambiguous|not found"),
        ("abcdef", "at least 7"),
        ("zzzzzzz", "hex"),
    ):
        with pytest.raises(VersionNotFound, match=why):
            match_version(ref, versions, where="w")


def test_history_lists_the_versions_newest_first_and_projects_are_listed(
    harness: Harness, tmp_path: Path
) -> None:
    a = machine(tmp_path, "a", "v1")
    first = push(harness, a)
    add_block(a, P, "v2", "- later")
    second = push(harness, a)
    with harness.backend(MemoryLayout(tmp_path / "b"), P) as backend:
        versions = [v.version for v in backend.history(P)]
        assert versions[:2] == [second.version, first.version]
        assert P in backend.list_projects()
        assert backend.read_version(P, first.version).files.keys() >= {"decisions.md"}
        missing = backend.missing("no-such-project")
    assert isinstance(missing, FatalError) and "no-such-project" in str(missing)
