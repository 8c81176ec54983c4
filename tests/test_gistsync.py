"""Gist sync end to end against the stand-in: differential push, merging, pull, clone, list."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from unittest.mock import ANY

import pytest

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import gistsync, synced_base
from tests.github_server import TRUNCATE_BYTES, GitHubStandIn

TOKEN = "ghp_GistSyncTestToken000000000000000001"
SECRET = "ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wp7Lm6Kj5Hg4F9a"


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN)


def block(session: str, body: str = "") -> str:
    return f"## Session: {session} (2025-01-01T00:00:00Z)\n\n- {body or 'note of ' + session}\n"


def write(layout: MemoryLayout, project: str, name: str, *blocks: str) -> None:
    directory = layout.knowledge_dir(project)
    directory.mkdir(parents=True, exist_ok=True)
    title = name.removesuffix(".md").capitalize()
    (directory / name).write_text(f"# {title}\n\n" + "\n".join(blocks))


def sessions(text: str) -> set[str]:
    """The live blocks' session ids (a restore leaves tombstones for what came later)."""
    return {b.session_id for b in knowledge.parse(text).live_blocks()}


def local_sessions(layout: MemoryLayout, project: str, name: str = "decisions.md") -> set[str]:
    return sessions((layout.knowledge_dir(project) / name).read_text())


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_push_creates_a_secret_gist_with_engrams_flat_files(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    write(memory, "proj", "bugs.md", block("s2"))
    result = gistsync.push(memory.root, "proj")
    assert result.created and result.changed
    stored = gh.gists[result.gist_id]
    assert stored.public is False
    assert stored.description == "engram knowledge: proj"
    files = gh.files(result.gist_id)
    assert set(files) == {"decisions.md", "bugs.md", "context.md", "metadata.json"}
    meta = json.loads(files["metadata.json"])
    assert set(meta) >= {"project", "synced_at", "tool", "version"}
    assert meta["project"] == "proj"
    assert result.revision == stored.head.version
    assert result.blocks_added == 2
    assert gistsync.remembered_gist(memory.root, "proj") == result.gist_id


def test_a_no_op_push_is_one_request_and_no_revision(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj")
    for _ in range(2):
        gh.clear_log()
        again = gistsync.push(memory.root, "proj")
        assert not again.changed and again.files_synced == ()
        assert len(gh.requests) == 1
        assert gh.count("PATCH") == 0
    assert gh.requests[0].status == 304  # the remembered ETag still matches
    assert gh.revisions(first.gist_id) == 1


def test_push_sends_only_changed_files_and_metadata_only_with_them(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    write(memory, "proj", "bugs.md", block("b1"))
    first = gistsync.push(memory.root, "proj")
    write(memory, "proj", "decisions.md", block("s1"), block("s2"))
    gh.clear_log()
    result = gistsync.push(memory.root, "proj")
    assert result.files_synced == ("context.md", "decisions.md", "metadata.json")
    assert (result.blocks_added, result.blocks_removed) == (1, 0)
    assert [r.method for r in gh.requests] == ["GET", "PATCH"]
    assert gh.revisions(first.gist_id) == 2
    assert sessions(gh.files(first.gist_id)["decisions.md"]) == {"s1", "s2"}


def test_push_merges_blocks_another_machine_pushed(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    write(memory, "proj", "decisions.md", block("mine-1"))
    first = gistsync.push(memory.root, "proj")
    theirs = gh.files(first.gist_id)["decisions.md"] + "\n" + block("theirs-1")
    gh.write(first.gist_id, {"decisions.md": theirs, "questions.md": "# Q\n\n" + block("q1")})
    write(memory, "proj", "decisions.md", block("mine-1"), block("mine-2"))
    gistsync.push(memory.root, "proj")
    assert sessions(gh.files(first.gist_id)["decisions.md"]) == {"mine-1", "mine-2", "theirs-1"}
    assert local_sessions(memory, "proj") == {"mine-1", "mine-2", "theirs-1"}
    assert local_sessions(memory, "proj", "questions.md") == {"q1"}


def test_a_write_between_read_and_patch_is_merged_back(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    """Gists have no compare-and-swap: our PATCH overwrites decisions.md written meanwhile,
    so the push must notice the foreign version and put its block back."""
    write(memory, "proj", "decisions.md", block("base"))
    gist_id = gistsync.push(memory.root, "proj").gist_id
    foreign = gh.files(gist_id)["decisions.md"] + "\n" + block("sneaky")
    gh.before("PATCH", gist_id, lambda: gh.write(gist_id, {"decisions.md": foreign}))
    write(memory, "proj", "decisions.md", block("base"), block("mine"))
    gistsync.push(memory.root, "proj")
    assert sessions(gh.files(gist_id)["decisions.md"]) == {"base", "mine", "sneaky"}
    assert gh.count("PATCH") == 2
    assert local_sessions(memory, "proj") == {"base", "mine", "sneaky"}


def test_push_finds_the_projects_gist_despite_a_custom_description(
    gh: GitHubStandIn, memory: MemoryLayout, tmp_path: Path
) -> None:
    gh.create_gist({"metadata.json": json.dumps({"project": "other"}), "a.md": "x"})
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj", description="my team's notes")
    gh.create_gist({"notes.txt": "unrelated"})
    elsewhere = MemoryLayout(tmp_path / "elsewhere")
    write(elsewhere, "proj", "decisions.md", block("s2"))
    second = gistsync.push(elsewhere.root, "proj")
    assert second.gist_id == first.gist_id and not second.created
    assert len(gh.gists) == 3
    assert sessions(gh.files(first.gist_id)["decisions.md"]) == {"s1", "s2"}


def test_description_updates_an_existing_gist_and_only_when_it_differs(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj")
    gh.clear_log()
    again = gistsync.push(memory.root, "proj", description="team notes")
    assert gh.gists[first.gist_id].description == "team notes"
    assert again.changed and gh.count("PATCH") == 1
    assert gh.files(first.gist_id)["decisions.md"]  # files untouched
    gh.clear_log()
    same = gistsync.push(memory.root, "proj", description="team notes")
    assert not same.changed and gh.count("PATCH") == 0


def test_a_lost_create_answer_leaves_one_gist(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    gh.fail(502, method="POST", after=True)
    result = gistsync.push(memory.root, "proj")
    assert list(gh.gists) == [result.gist_id]
    assert gh.count("POST") == 1


def test_a_deleted_remembered_gist_is_replaced(
    gh: GitHubStandIn, memory: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj")
    del gh.gists[first.gist_id]
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        second = gistsync.push(memory.root, "proj")
    assert second.created and second.gist_id != first.gist_id
    assert "is gone" in caplog.text


def test_explicit_unknown_gist_id_is_a_clear_error(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    with pytest.raises(FatalError, match=r"Gist not found: abc123; .*engram sync list proj"):
        gistsync.push(memory.root, "proj", gist_id="abc123")


def test_secrets_are_redacted_before_upload_and_counted(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1", f"used token {SECRET} for the API"))
    result = gistsync.push(memory.root, "proj")
    assert result.secrets_redacted >= 1  # in decisions.md and the context.md made from it
    uploaded = "".join(gh.files(result.gist_id).values())
    assert SECRET not in uploaded
    assert "[REDACTED:" in uploaded


def test_push_failing_past_the_retry_budget_touches_nothing_local(
    gh: GitHubStandIn, memory: MemoryLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", "0.3")
    write(memory, "proj", "decisions.md", block("s1"))
    gist_id = gistsync.push(memory.root, "proj").gist_id
    gh.write(gist_id, {"bugs.md": "# Bugs\n\n" + block("remote-bug")})
    write(memory, "proj", "decisions.md", block("s1"), block("s2"))
    before = snapshot(memory.root)
    gh.fail(503, method="PATCH", count=1000)
    with pytest.raises(FatalError, match="nothing was changed locally"):
        gistsync.push(memory.root, "proj")
    assert snapshot(memory.root) == before


def test_pull_into_an_empty_project_writes_only_known_files(
    gh: GitHubStandIn, memory: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    gist_id = gh.create_gist(
        {
            "decisions.md": "# Decisions\n\n" + block("s1"),
            "context.md": "# Context from engram\n",
            "metadata.json": json.dumps({"project": "proj"}),
            "evil.sh": "rm -rf /",
            "..": "x",
        }
    )
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        result = gistsync.pull(memory.root, "proj", gist_id)
    directory = memory.knowledge_dir("proj")
    assert sorted(p.name for p in directory.iterdir()) == ["context.md", "decisions.md"]
    assert (directory / "context.md").read_text() == "# Context from engram\n"
    assert result.changed and result.blocks_added == 1
    assert "evil.sh" in caplog.text
    assert not list(memory.root.glob("*.sh"))


def test_pull_merges_and_force_replaces(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    gist_id = gh.create_gist({"decisions.md": "# Decisions\n\n" + block("remote")})
    write(memory, "proj", "decisions.md", block("local"))
    write(memory, "proj", "bugs.md", block("local-bug"))
    merged = gistsync.pull(memory.root, "proj", gist_id)
    assert local_sessions(memory, "proj") == {"local", "remote"}
    assert (merged.blocks_added, merged.blocks_removed) == (1, 0)
    forced = gistsync.pull(memory.root, "proj", gist_id, force=True)
    assert local_sessions(memory, "proj") == {"remote"}
    assert not (memory.knowledge_dir("proj") / "bugs.md").exists()
    assert "bugs.md" in forced.files_synced


def test_pull_gets_files_over_1mb_whole_including_the_spill_over(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    big = "# Decisions\n\n" + block("big", "y" * (TRUNCATE_BYTES + 100))
    questions = "# Questions\n\n" + block("after-the-big-one")
    gist_id = gh.create_gist({"decisions.md": big, "questions.md": questions})
    gistsync.pull(memory.root, "proj", gist_id)
    assert (memory.knowledge_dir("proj") / "decisions.md").read_text() == big
    assert local_sessions(memory, "proj", "questions.md") == {"after-the-big-one"}


def test_pull_a_version_and_the_seeds_literal_version_sha(
    gh: GitHubStandIn, memory: MemoryLayout, tmp_path: Path
) -> None:
    write(memory, "proj", "decisions.md", block("v1"))
    first = gistsync.push(memory.root, "proj")
    write(memory, "proj", "decisions.md", block("v1"), block("v2"))
    gistsync.push(memory.root, "proj")
    # `engram sync pull P <version-sha>`: the remembered gist's version, restored
    restored = gistsync.pull(memory.root, "proj", first.revision)
    assert restored.gist_id == first.gist_id and restored.revision == first.revision
    assert local_sessions(memory, "proj") == {"v1"}
    other = MemoryLayout(tmp_path / "other")
    gistsync.pull(other.root, "proj", first.gist_id, version=first.revision)
    assert local_sessions(other, "proj") == {"v1"}
    with pytest.raises(FatalError, match="Gist not found"):
        gistsync.pull(memory.root, "proj", "f" * 40)


def test_clone_into_a_new_project_only(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    gist_id = gh.create_gist({"decisions.md": "# Decisions\n\n" + block("s1")})
    memory.knowledge_dir("empty").mkdir(parents=True)
    gistsync.clone(memory.root, gist_id, "empty")
    assert local_sessions(memory, "empty") == {"s1"}
    # a clone is independent: the origin is lineage only, its first push makes its own gist
    assert gistsync.remembered_gist(memory.root, "empty") is None
    assert synced_base.read_lineage(memory, "empty") == {
        "origin": f"gist {gist_id}",
        "version": ANY,
    }
    own = gistsync.push(memory.root, "empty")
    assert own.created and own.gist_id != gist_id
    assert gh.revisions(gist_id) == 1
    with pytest.raises(FatalError, match="already has knowledge"):
        gistsync.clone(memory.root, gist_id, "empty")


def test_list_and_history(gh: GitHubStandIn, memory: MemoryLayout) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    mine = gistsync.push(memory.root, "proj")
    custom = gh.create_gist(
        {"metadata.json": json.dumps({"project": "proj"}), "decisions.md": "x"},
        description="renamed by hand",
    )
    gh.create_gist({"metadata.json": json.dumps({"project": "other"}), "a.md": "x"})
    gh.create_gist({"a.md": "x"}, description="engram knowledge: proj but no metadata")
    listed = gistsync.list_gists("proj")
    assert {g.id for g in listed} == {mine.gist_id, custom}
    assert all(g.url and g.updated_at and g.files for g in listed)

    write(memory, "proj", "decisions.md", block("s1"), block("s2"))
    second = gistsync.push(memory.root, "proj")
    hist = gistsync.history(mine.gist_id, version=mine.revision)
    assert [v.version for v in hist.versions] == [second.revision, mine.revision]
    assert hist.versions[0].additions > 0 and hist.versions[0].author == "octocat"
    assert set(hist.files) == {"context.md", "decisions.md", "metadata.json"}
    assert all(size > 0 for size in hist.files.values())


def test_pull_of_an_oversized_gist_writes_nothing(
    gh: GitHubStandIn, memory: MemoryLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    gist_id = gh.create_gist(
        {"metadata.json": json.dumps({"project": "proj"}), "decisions.md": "# D\n" + "x" * 5000}
    )
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", "4096")
    with pytest.raises(FatalError, match="over the 4,096-byte limit for one file"):
        gistsync.pull(memory.root, "proj", gist_id)
    assert not memory.knowledge_dir("proj").exists()


@pytest.mark.parametrize("memo", ["{not json", '{"url": "no id"}', '["abc"]'])
def test_an_unreadable_remembered_gist_is_found_again(
    memo: str, gh: GitHubStandIn, memory: MemoryLayout, caplog: pytest.LogCaptureFixture
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj")
    (memory.state_dir / "gists" / "proj.json").write_text(memo)
    write(memory, "proj", "decisions.md", block("s1"), block("s2"))
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        second = gistsync.push(memory.root, "proj")
    assert "ignoring unreadable" in caplog.text
    assert second.gist_id == first.gist_id and not second.created  # no second gist
    assert list(gh.gists) == [first.gist_id]
    assert sessions(gh.files(first.gist_id)["decisions.md"]) == {"s1", "s2"}


def test_a_gist_without_knowledge_files_is_refused_and_nothing_written(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    meta = json.dumps({"project": "proj"})
    gist_id = gh.create_gist({"metadata.json": meta, "notes.txt": "not engram's"})
    with pytest.raises(FatalError, match=r"holds no engram knowledge files .* for proj"):
        gistsync.pull(memory.root, "proj", gist_id)
    empty = gh.write(gist_id, {"notes.txt": "still nothing"})
    write(memory, "proj", "decisions.md", block("s1"))
    before = snapshot(memory.root)
    with pytest.raises(FatalError, match="pick another with `engram sync history`"):
        gistsync.restore(memory.root, "proj", empty, gist_id=gist_id)
    assert snapshot(memory.root) == before


def test_a_description_is_set_even_when_the_gist_was_read_from_cache(
    gh: GitHubStandIn, memory: MemoryLayout
) -> None:
    write(memory, "proj", "decisions.md", block("s1"))
    first = gistsync.push(memory.root, "proj")
    gistsync.pull(memory.root, "proj", first.gist_id)  # remembers the gist's ETag
    gh.clear_log()
    again = gistsync.push(memory.root, "proj", description="team notes")
    assert gh.gists[first.gist_id].description == "team notes"
    assert again.changed and gh.count("PATCH") == 1
    gh.clear_log()
    assert not gistsync.push(memory.root, "proj", description="team notes").changed
    assert gh.count("PATCH") == 0
