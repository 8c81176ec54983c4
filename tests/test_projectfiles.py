"""The shared read -> merge -> write step of every sync backend."""

from __future__ import annotations

import json
import os

import pytest

from engram_ci.memory import projectfiles
from engram_ci.memory.paths import MemoryLayout


def _decisions(*sessions: str) -> str:
    blocks = "".join(
        f"\n\n## Session: {s} (2025-01-0{i + 1})\n\n- decided {s}\n" for i, s in enumerate(sessions)
    )
    return "# Decisions\n" + blocks


def test_merge_filesets_unions_blocks_and_regenerates_context() -> None:
    ours = {"decisions.md": _decisions("a"), "context.md": "stale"}
    theirs = {
        "decisions.md": _decisions("b"),
        "bugs.md": "# Bugs\n\n\n## Session: b (2025)\n\n- x\n",
    }
    merged = projectfiles.merge_filesets("proj", ours, theirs)
    assert set(merged) == {"decisions.md", "bugs.md", "context.md"}
    assert "## Session: a" in merged["decisions.md"] and "## Session: b" in merged["decisions.md"]
    assert merged["context.md"].startswith("# Project context: proj")
    assert "decided a" in merged["context.md"] and "decided b" in merged["context.md"]
    assert merged == projectfiles.merge_filesets("proj", theirs, ours)


def test_a_context_only_project_keeps_its_context() -> None:
    merged = projectfiles.merge_filesets("p", {"context.md": "# written by engram\n"})
    assert merged == {"context.md": "# written by engram\n"}


def test_write_local_writes_only_what_changed(memory: MemoryLayout) -> None:
    files = projectfiles.merge_filesets("p", {"decisions.md": _decisions("a")})
    first = projectfiles.write_local(memory, "p", files)
    assert set(first.written) == {"decisions.md", "context.md"}
    assert first.diff.added == 1
    second = projectfiles.write_local(memory, "p", files)
    assert second.written == ()
    assert projectfiles.read_local(memory, "p") == files


def test_context_is_written_after_the_category_files(memory: MemoryLayout) -> None:
    # engram regenerates (with a paid model call) a context.md older than the categories
    directory = memory.knowledge_dir("p")
    files = projectfiles.merge_filesets("p", {"decisions.md": _decisions("a")})
    projectfiles.write_local(memory, "p", files)
    context_time = (directory / "context.md").stat().st_mtime_ns
    assert context_time >= (directory / "decisions.md").stat().st_mtime_ns
    old = 1_000_000_000
    for name in ("decisions.md", "context.md", "bugs.md"):
        if (directory / name).exists():
            os.utime(directory / name, ns=(old, old))
    # a new block whose context digest happens to be unchanged still touches context.md
    grown = dict(files, **{"bugs.md": "# Bugs\n"})
    assert projectfiles.write_local(memory, "p", grown).written == ("bugs.md",)
    context_time = (directory / "context.md").stat().st_mtime_ns
    assert context_time > old
    assert context_time >= (directory / "bugs.md").stat().st_mtime_ns


def test_write_local_refuses_unknown_names(memory: MemoryLayout) -> None:
    with pytest.raises(ValueError, match="unknown knowledge file"):
        projectfiles.write_local(memory, "p", {"../../etc/passwd": "x"})


def test_read_local_skips_symlinks_and_unknown_files(memory: MemoryLayout, tmp_path) -> None:  # type: ignore[no-untyped-def]
    directory = memory.knowledge_dir("p")
    directory.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    os.symlink(secret, directory / "bugs.md")
    (directory / "notes.txt").write_text("not knowledge")
    (directory / "decisions.md").write_text(_decisions("a"))
    assert set(projectfiles.read_local(memory, "p")) == {"decisions.md"}


def test_split_known_separates_hostile_names() -> None:
    known, unknown = projectfiles.split_known(
        ["decisions.md", "../x.md", "/etc/passwd", "metadata.json", "context.md"], source="test"
    )
    assert known == ["context.md", "decisions.md"]
    assert set(unknown) == {"../x.md", "/etc/passwd", "metadata.json"}


def test_metadata_json_has_engrams_fields() -> None:
    data = json.loads(projectfiles.metadata_json("p"))
    assert {"project", "synced_at", "tool", "version"} <= set(data)
    assert data["project"] == "p"


def test_for_upload_leaves_expired_blocks_out() -> None:
    from datetime import UTC, datetime

    files = {
        "decisions.md": "# Decisions\n\n\n## Session: a (2025-01-01T00:00:00Z) [ttl:1d]\n\n- old\n"
        "\n\n## Session: b (2025-01-01T00:00:00Z)\n\n- kept\n",
        "bugs.md": "# Bugs\n\n\n## Session: c (2025-01-01)  \n\n- exact bytes\n",
        "context.md": "# Project context\n",
    }
    upload = projectfiles.for_upload(files, now=datetime(2025, 1, 5, tzinfo=UTC))
    assert "old" not in upload["decisions.md"] and "- kept" in upload["decisions.md"]
    assert upload["bugs.md"] == files["bugs.md"] and upload["context.md"] == files["context.md"]
    later = projectfiles.for_upload(files, now=datetime(2025, 1, 1, 12, tzinfo=UTC))
    assert later == files


@pytest.mark.parametrize(
    ("metadata", "project"),
    [
        ('{"project": "shop", "tool": "engram-ci"}', "shop"),
        ('{"project": ["shop"]}', None),
        ('["shop"]', None),
        ("{half written", None),
        (None, None),
    ],
)
def test_the_project_a_store_names_or_none(metadata: str | None, project: str | None) -> None:
    files = {"decisions.md": "# Decisions\n"}
    if metadata is not None:
        files["metadata.json"] = metadata
    assert projectfiles.project_of(files) == project
