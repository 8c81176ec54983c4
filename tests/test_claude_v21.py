"""Claude Code 2.1 on samples of our own (tests/claude_samples, laid out like ~/.claude/projects).

The main session (-home-ana-code-kite) holds: a BOM, prompts queued while Claude was busy in
both forms (queue-operation enqueue, attachment queued_command) and delivered again as a user
line, a peer agent and a task notification speaking as "user", new and unknown line types, a
cut-off line, a resumed duplicate; its subagents folder holds an Explore agent, a /compact run
and a Workflow-tool agent; a CI runner staged one more of its subagents under another folder;
a second session ran in a git worktree of the same repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engram_ci.ingest import IngestOptions, run_ingest
from engram_ci.memory.manifest import MANIFEST_NAME
from engram_ci.memory.paths import MemoryLayout
from engram_ci.transcripts import claude
from engram_ci.transcripts.lines import sniff_type
from engram_ci.transcripts.model import Session
from engram_ci.transcripts.registry import get_reader, merge_groups
from tests.reader_helpers import copy_store, read_sessions

SAMPLES = Path(__file__).parent / "claude_samples"
SID = "5e0c9a12-7b3d-4f81-9c2e-1a6b8d4f3e70"
WORKTREE_SID = "8c41d7e2-3f9a-4b06-a5d8-2e7f1c9b0a64"


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    return copy_store(SAMPLES, tmp_path / "projects")


def _sessions(root: Path) -> dict[str, Session]:
    return read_sessions(get_reader("claude-code"), [root])


def test_queued_prompts_in_both_forms_are_human_turns_in_order_and_count_once(
    projects: Path,
) -> None:
    s = _sessions(projects)[SID]
    assert s.prompts == [
        "Add retry with backoff to the uploader",
        "Also log each retry",  # enqueued, then delivered as a user line: one turn
        "And cap the wait at 30 seconds",  # enqueued, then attached: one turn
        "Then open a PR",  # only ever an attachment
    ]
    queued = next(t for t in s.turns if t.text == "Also log each retry")
    assert queued.timestamp == "2026-03-02T09:00:05.000Z"  # where it was typed
    assert queued.uuid == "u4"  # completed by the delivering user line


def test_origin_and_prompt_source_decide_who_spoke(projects: Path) -> None:
    s = _sessions(projects)[SID]
    meta = [t.text for t in s.turns if t.role == "user" and t.is_meta]
    assert "Reviewer agent: the backoff constant looks high" in meta  # origin.kind peer
    assert "Background job 7 finished: lint clean" in meta  # promptSource task-notification
    assert any("lint finished" in text for text in meta)  # a queued task notification


def test_bom_unknown_types_and_bad_lines_are_harmless_and_counted(projects: Path) -> None:
    s = _sessions(projects)[SID]
    assert s.prompts[0] == "Add retry with backoff to the uploader"  # the BOM line still read
    assert dict(s.stats.unknown_types) == {"mystery-line-from-the-future": 1}
    assert dict(s.stats.malformed) == {"bad_json": 1}
    assert s.stats.duplicates == 1  # the resumed copy of the first prompt
    assert [c.name for c in s.tool_calls] == ["Bash", "Edit"]
    assert s.tool_calls[0].is_error and s.tool_calls[0].kind == "shell"


def test_unknown_types_are_skipped_before_parsing() -> None:
    assert sniff_type(b'{"type":"mystery","x":{"y":1}}\n') == b"mystery"
    assert sniff_type(b'{"parentUuid":null,"cwd":"/x","type":"user","message":{}}') == b"user"
    # a "type" after a nested value may belong to it: unsure, so the line is parsed
    assert sniff_type(b'{"message":{"type":"message"},"type":"assistant"}') is None
    assert sniff_type(b'{"a":"\\"type\\":\\"x\\"","type":"tag"}') == b"tag"
    assert sniff_type(b"[1]") is None


def test_skipped_line_types_need_no_valid_json(projects: Path) -> None:
    with (projects / "-home-ana-code-kite" / f"{SID}.jsonl").open("ab") as fh:
        fh.write(b'{"type":"progress","data":{"cut off\n')
        fh.write(b'{"type":"zz-newer-line","data":[\n')
        fh.write(b'{"type":"attachment","attachment":{"type":"hook_success","content":"x\n')
    s = _sessions(projects)[SID]
    assert s.stats.unknown_types["zz-newer-line"] == 1
    assert dict(s.stats.malformed) == {"bad_json": 1}  # only the sample's own cut-off line


def test_subagents_workflow_agents_and_compaction_runs(projects: Path) -> None:
    s = _sessions(projects)[SID]
    agents = {a.agent_id: a for a in s.subagents}
    assert set(agents) == {"a7f31c", "b51e0d", "c0ffee"}  # no acompact among them
    assert (agents["a7f31c"].agent_type, agents["a7f31c"].title) == (
        "Explore",
        "Find callers of upload",
    )
    assert agents["b51e0d"].agent_type == "workflow"  # its .meta.json names no type
    assert agents["b51e0d"].prompts == ["Run the lint step of the release workflow"]
    assert s.summaries == [
        "The user asked for retry with backoff in the uploader; it now retries with "
        "exponential backoff, logs each retry and caps the wait at 30 seconds."
    ]
    assert all(a.session_id == SID and a.project == "kite" for a in s.subagents)


def test_a_session_staged_in_two_folders_is_one_session(projects: Path) -> None:
    groups = claude.discover([projects])
    assert sum(g.session_id == SID for g in groups) == 2  # the main folder and the staged one
    merged = [g for g in merge_groups(groups) if g.session_id == SID]
    assert len(merged) == 1 and merged[0].main.name == f"{SID}.jsonl"
    s = claude.read_session(merged[0])
    assert s is not None and len(s.prompts) == 4  # the main session's prompts kept
    assert "c0ffee" in {a.agent_id for a in s.subagents}


def test_copies_of_one_history_merge_and_dedupe_by_uuid(tmp_path: Path) -> None:
    for machine in ("laptop", "runner"):
        shutil.copytree(SAMPLES / "-home-ana-code-kite", tmp_path / machine / "-home-ana-code-kite")
    (tmp_path / "runner" / "-home-ana-code-kite" / f"{SID}.jsonl").open("a").write(
        '{"type":"user","message":{"role":"user","content":"One more thing from the runner"},'
        '"uuid":"u99","timestamp":"2026-03-02T09:30:00.000Z","cwd":"/home/ana/code/kite"}\n'
    )
    groups = merge_groups(claude.discover([tmp_path / "laptop", tmp_path / "runner"]))
    assert len(groups) == 1
    s = claude.read_session(groups[0])
    assert s is not None
    assert s.prompts[-1] == "One more thing from the runner" and len(s.prompts) == 5
    assert sorted(a.agent_id or "" for a in s.subagents) == ["a7f31c", "b51e0d"]
    assert len(s.summaries) == 1


def test_ingest_archives_a_session_found_twice_once(projects: Path, tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    report = run_ingest(
        IngestOptions(memory_dir=memory, claude_roots=(projects,), skip_knowledge=True, jobs=1)
    )
    assert sorted(report.sessions) == [("kite", SID), ("kite", WORKTREE_SID)]
    archived = (memory / "conversations" / "kite" / SID / "conversation.md").read_text()
    assert "Add retry with backoff" in archived and "Check the changelog" in archived


def test_worktree_sessions_join_their_repository_unless_kept_apart(
    projects: Path, tmp_path: Path
) -> None:
    assert _sessions(projects)[WORKTREE_SID].project == "kite"
    memory = tmp_path / "memory"
    options = IngestOptions(
        memory_dir=memory, claude_roots=(projects,), skip_knowledge=True, keep_worktrees=True
    )
    report = run_ingest(options)
    assert sorted(report.sessions) == [("feat-retry", WORKTREE_SID), ("kite", SID)]


def test_a_relative_sessions_dir_keys_the_manifest_by_absolute_paths(
    projects: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = tmp_path / "memory"
    monkeypatch.chdir(projects.parent)
    first = run_ingest(
        IngestOptions(memory_dir=memory, claude_roots=(Path("projects"),), skip_knowledge=True)
    )
    assert first.sessions_ingested == 2
    keys = (MemoryLayout(memory).state_dir / MANIFEST_NAME).read_text()
    assert f'"claude-code:{projects}/' in keys
    monkeypatch.chdir(projects)  # the same folder, named another way
    again = run_ingest(
        IngestOptions(memory_dir=memory, claude_roots=(Path("."),), skip_knowledge=True)
    )
    assert (again.sessions_ingested, again.sessions_unchanged) == (0, 2)
