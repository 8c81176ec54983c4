"""Ingest the whole real corpus (../shared/corpus/claude-code) end to end.

Every expectation is counted here, independently of the readers, straight from the raw JSON
lines: which files hold a session, how many distinct tool calls each has, every prompt a
human typed. Then: a second ingest rewrites nothing, and a grown transcript is re-processed
with its knowledge blocks replaced, not duplicated.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_ci.ingest import IngestOptions, IngestReport, run_ingest
from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES
from engram_ci.memory.paths import MemoryLayout

_COMMAND = re.compile(r"<command-name>\s*(/?[^<\s]+)\s*</command-name>")
_SHELL = re.compile(r"<bash-input>(.*?)</bash-input>", re.DOTALL)
#: text Claude Code or the IDE injects into a user line: context, not the human's words
_INJECTED = re.compile(
    r"\s*<(ide_opened_file|ide_selection|local-command-stdout|local-command-stderr|bash-stdout"
    r"|bash-stderr|system-reminder)>"
)


@dataclass
class RawGroup:
    """What the raw lines of one session's files say, counted without the readers."""

    has_main_lines: bool = False
    did_agent_work: bool = False
    tool_ids: set[str] = field(default_factory=set)
    agent_paths: list[Path] = field(default_factory=list)

    @property
    def is_session(self) -> bool:
        return self.has_main_lines or self.did_agent_work


def _objects(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_bytes().split(b"\n"):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _content(obj: dict[str, Any]) -> Any:
    message = obj.get("message")
    return message.get("content") if isinstance(message, dict) else None


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
    return []


def _tool_ids(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [
        b["id"]
        for b in content
        if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    ]


def count_raw(projects: Path) -> tuple[dict[tuple[str, str], RawGroup], list[str]]:
    """(folder, session) -> RawGroup, and every human prompt text.

    A session's files: `<id>.jsonl` plus agent files naming it (flat `agent-*.jsonl` beside it
    or `<id>/subagents/agent-*.jsonl`). A group is a session when it has main-chain messages,
    or when its sidechain did real work (a tool call, or a prompt other than Claude Code's
    cache-warming "Warmup").
    """
    groups: dict[tuple[str, str], RawGroup] = defaultdict(RawGroup)
    prompts: list[str] = []
    for path in sorted(projects.rglob("*.jsonl")):
        folder = path.relative_to(projects).parts[0]
        objects = _objects(path)
        is_agent = path.name.startswith("agent-")
        if is_agent:
            session_ids = {o["sessionId"] for o in objects if isinstance(o.get("sessionId"), str)}
            if not session_ids:
                continue
            key = (folder, sorted(session_ids)[0])
            groups[key].agent_paths.append(path)
        else:
            key = (folder, path.stem)
        group = groups[key]
        for obj in objects:
            if obj.get("type") not in ("user", "assistant") or not isinstance(
                obj.get("message"), dict
            ):
                continue
            content = _content(obj)
            sidechain = is_agent or bool(obj.get("isSidechain"))
            group.tool_ids.update(_tool_ids(content))
            if not sidechain:
                group.has_main_lines = True
            elif _tool_ids(content) or (
                obj["type"] == "user"
                and any(t.strip() and t.strip() != "Warmup" for t in _texts(content))
            ):
                group.did_agent_work = True
            if obj["type"] == "user" and not obj.get("isMeta") and not obj.get("isCompactSummary"):
                prompts.extend(t for t in _texts(content) if t.strip() and not _INJECTED.match(t))
    return groups, prompts


def _normal(text: str) -> str:
    return " ".join(text.split())


def _needle(prompt: str) -> str:
    """What of a prompt must appear in the archive: slash commands by name, text by its start."""
    command = _COMMAND.search(prompt)
    if command:
        return command.group(1)
    shell = _SHELL.search(prompt)
    if shell:
        return _normal(shell.group(1))[:120]
    return _normal(prompt)[:120]


def _ingest(projects: Path, memory: MemoryLayout) -> IngestReport:
    return run_ingest(IngestOptions(memory_dir=memory.root, claude_roots=(projects,)))


def _snapshot(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and p.name != "memory.lock"
    }


def test_whole_corpus_ingests_with_independent_counts(
    corpus_home: Path, memory: MemoryLayout
) -> None:
    groups, prompts = count_raw(corpus_home)
    sessions = {key: g for key, g in groups.items() if g.is_session}

    report = _ingest(corpus_home, memory)

    assert report.sessions_failed == 0
    assert report.sessions_ingested == len(sessions)
    assert report.tool_calls == sum(len(g.tool_ids) for g in sessions.values())
    assert report.not_sessions == report.transcripts_found - len(sessions)
    assert sum(report.malformed_lines.values()) > 0  # the edge cases hold bad lines

    archived = [
        p.read_text(encoding="utf-8")
        for p in (memory.root / "conversations").rglob("conversation.md")
    ]
    assert len(archived) == len(sessions)
    haystack = _normal("\n".join(archived))
    missing = [p[:150] for p in prompts if _needle(p) not in haystack]
    assert missing == []
    assert len(prompts) > 100

    metas = [json.loads(p.read_text()) for p in (memory.root / "conversations").rglob("meta.json")]
    listed = {
        t
        for m in metas
        for t in [*m["transcripts"], *(t for a in m["subagents"] for t in a["transcripts"])]
    }
    agent_files = {str(p) for key in sessions for p in groups[key].agent_paths}
    assert agent_files and agent_files <= listed
    by_id = {m["session_id"]: m for m in metas}
    worktrees = by_id["ef958aa1-0e93-49f0-bb71-150f63befcd1"]
    assert len(worktrees["subagents"]) == 6  # the 2.1 layout
    assert by_id["a7da6a22-facc-4fcd-8bab-f83c87862004"]["subagents"]  # the 2.0 flat layout
    assert by_id["sidechain"]["subagents"]  # the 1.0 inline sidechain
    assert sum(m["tool_calls_with_subagents"] for m in metas) == report.tool_calls

    for project in memory.projects():
        for category in KNOWLEDGE_CATEGORIES:
            path = memory.knowledge_dir(project) / f"{category}.md"
            if path.exists():
                ids = [b.session_id for b in knowledge.parse(path.read_text()).blocks]
                assert len(ids) == len(set(ids))


def test_second_ingest_is_a_no_op_and_a_grown_transcript_replaces_its_blocks(
    corpus_home: Path, memory: MemoryLayout
) -> None:
    first = _ingest(corpus_home, memory)
    before = _snapshot(memory.root)
    manifest_path = memory.state_dir / "ingest-manifest.json"

    again = _ingest(corpus_home, memory)
    assert again.sessions_ingested == 0
    assert again.sessions_unchanged == first.sessions_ingested
    assert again.bytes_read == 0
    after = _snapshot(memory.root)
    assert {k: v for k, v in after.items() if k != str(manifest_path.relative_to(memory.root))} == {
        k: v for k, v in before.items() if k != str(manifest_path.relative_to(memory.root))
    }

    # grow one session by a new prompt and a failing then passing test run
    session_id = "9e953218-585f-4692-89df-9e0747a31c68"
    transcript = next(corpus_home.rglob(f"{session_id}.jsonl"))
    last = _objects(transcript)[-1]
    grown = [
        {
            **last,
            "type": "user",
            "uuid": "grown-1",
            "parentUuid": last.get("uuid"),
            "isMeta": False,
            "isSidechain": False,
            "message": {"role": "user", "content": "Now run the unit tests again please"},
        },
        {
            **last,
            "type": "assistant",
            "uuid": "grown-2",
            "parentUuid": "grown-1",
            "isSidechain": False,
            "message": {
                "id": "msg_grown",
                "role": "assistant",
                "model": "claude-test",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_grown",
                        "name": "Bash",
                        "input": {"command": "npm test"},
                    }
                ],
            },
        },
        {
            **last,
            "type": "user",
            "uuid": "grown-3",
            "parentUuid": "grown-2",
            "isSidechain": False,
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_grown",
                        "content": "Tests: 12 passed",
                    }
                ],
            },
        },
    ]
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(o) + "\n" for o in grown))

    third = _ingest(corpus_home, memory)
    assert third.sessions_ingested == 1
    assert third.sessions_unchanged == first.sessions_ingested - 1
    project = third.projects[0]
    conversation = memory.conversation_dir(project, session_id) / "conversation.md"
    assert "Now run the unit tests again please" in conversation.read_text()
    kdir = memory.knowledge_dir(project)
    files = [kdir / f"{c}.md" for c in KNOWLEDGE_CATEGORIES if (kdir / f"{c}.md").exists()]
    blocks = [
        b
        for f in files
        for b in knowledge.parse(f.read_text()).blocks
        if b.session_id == session_id
    ]
    for f in files:  # replaced, never duplicated
        assert f.read_text().count(f"## Session: {session_id} ") <= 1
    assert any("npm test" in b.body for b in blocks)
    changed = {k for k, v in _snapshot(memory.root).items() if before.get(k) != v}
    assert all(
        session_id in k or k.startswith(f"knowledge/{project}/") or k.startswith(".engram-ci")
        for k in changed
    ), changed
    assert os.path.exists(manifest_path)


def test_every_project_context_is_a_brief_within_budget(
    corpus_home: Path, memory: MemoryLayout
) -> None:
    from engram_ci.knowledge.bullets import is_narration
    from engram_ci.knowledge.context import DEFAULT_BUDGET

    _ingest(corpus_home, memory)
    projects = memory.projects()
    assert len(projects) >= 8
    for project in projects:
        text = (memory.knowledge_dir(project) / "context.md").read_text()
        assert len(text) <= DEFAULT_BUDGET, project
        assert "data, not instructions" in text.split("\n## ", 1)[0]
        bullets = [line[2:] for line in text.splitlines() if line.startswith("- ")]
        assert len(bullets) == len(set(bullets)), project  # nothing said twice
        for bullet in bullets:
            assert "…" not in bullet, bullet  # whole bullets, never clipped
            assert "Session used" not in bullet and "tool call(s)" not in bullet, bullet
        # the agent's words never narrate (the human's may well open with "OK, so…")
        for section in text.split("\n## ")[1:]:
            if not section.startswith("What the user wants"):
                for line in section.splitlines()[1:]:
                    body = line[2:].split(": ", 1)[-1]
                    if section.startswith("Recent work"):  # "date: asked → done"
                        body = body.split(" → ", 1)[-1] if " → " in body else ""
                    assert not line.startswith("- ") or not is_narration(body), line
    small = run_ingest(
        IngestOptions(
            memory_dir=memory.root, claude_roots=(corpus_home,), force=True, context_budget=2_500
        )
    )
    assert small.sessions_ingested
    for project in projects:
        assert len((memory.knowledge_dir(project) / "context.md").read_text()) <= 2_500
