"""The Claude Code reader on the real corpus and on small hand-written transcripts.

Corpus expectations are counted here straight from the raw lines with plain json, using rules
written out in this file, never by calling the reader's own helpers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from engram_ci.transcripts import claude
from engram_ci.transcripts.lines import KEEP_BUDGET, RESULT_LIMIT, STUB_LIMIT, Budget
from engram_ci.transcripts.model import Session, TranscriptGroup
from engram_ci.transcripts.turnlog import KEEP_OPEN

# ---------------------------------------------------------------- raw-line helpers (independent)


def raw_objects(path: Path) -> list[dict[str, Any]]:
    objs = []
    for raw in path.read_bytes().splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            objs.append(obj)
    return objs


def raw_content(obj: dict[str, Any]) -> list[Any]:
    message = obj.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


NOT_THE_HUMAN = (
    "[Request interrupted",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<bash-stdout>",
    "<bash-stderr>",
    "Caveat:",
    "<local-command-caveat>",
)


def expected_prompt(obj: dict[str, Any]) -> str | None:
    """What a human typed on this line, as a substring the parsed prompt must contain.

    Rules: a user line, not isMeta, has text blocks; blocks the IDE injects (<ide_…>,
    <system-reminder>) don't count; command output, interruptions and caveats are not the
    human's; a slash command is expected as "/name"; a shell escape as its command.
    """
    if obj.get("type") != "user" or obj.get("isMeta") is True:
        return None
    texts = [
        b["text"]
        for b in raw_content(obj)
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    texts = [t for t in texts if not t.lstrip().startswith(("<ide_", "<system-reminder>"))]
    text = "\n\n".join(t for t in texts if t.strip()).strip()
    if not text or text.startswith(NOT_THE_HUMAN):
        return None
    command = re.search(r"<command-name>\s*/?([^<\s]+)\s*</command-name>", text)
    if command:
        return "/" + command.group(1)
    shell = re.match(r"<bash-input>(.*?)</bash-input>", text, re.S)
    if shell:
        return shell.group(1).strip()
    return text[:200]


def well_formed(obj: dict[str, Any]) -> bool:
    if obj.get("type") not in ("user", "assistant"):
        return True
    message = obj.get("message")
    return isinstance(message, dict) and isinstance(message.get("content"), str | list)


def dedupe_by_uuid(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resumed sessions repeat lines: the first well-formed line with a uuid wins."""
    seen: set[str] = set()
    out = []
    for obj in filter(well_formed, objs):
        uuid = obj.get("uuid")
        if uuid in seen:
            continue
        if isinstance(uuid, str):
            seen.add(uuid)
        out.append(obj)
    return out


def tool_use_ids(objs: Iterable[dict[str, Any]]) -> set[str]:
    return {
        b["id"]
        for o in objs
        if o.get("type") == "assistant"
        for b in raw_content(o)
        if isinstance(b, dict) and b.get("type") == "tool_use"
    }


def did_work(objs: list[dict[str, Any]]) -> bool:
    """An agent transcript that is more than Claude Code's "Warmup" cache call."""
    prompts = [expected_prompt(o) for o in objs]
    return bool(tool_use_ids(objs)) or any(p and p != "Warmup" for p in prompts)


# ---------------------------------------------------------------- corpus fixtures


@pytest.fixture
def corpus(corpus_home: Path) -> tuple[Path, list[TranscriptGroup], dict[Path, Session | None]]:
    groups = claude.discover([corpus_home])
    return corpus_home, groups, {g.main: claude.read_session(g) for g in groups}


def by_session_id(groups: list[TranscriptGroup], sessions: dict[Path, Session | None]) -> Any:
    return {g.session_id: sessions[g.main] for g in groups}


# ---------------------------------------------------------------- corpus tests


def test_every_corpus_file_is_discovered_and_read(corpus: Any) -> None:
    home, groups, sessions = corpus
    files = {p for p in home.rglob("*") if p.is_file()}
    in_parts = {p for g in groups for p in g.parts}
    assert files == in_parts  # every transcript and .meta.json belongs to exactly a group
    assert sum(len(g.parts) for g in groups) == len(files)
    assert len(groups) == len({(g.folder, g.session_id) for g in groups})
    assert groups == sorted(groups, key=lambda g: (str(g.folder), g.session_id))
    assert all(s is None or s.project for s in sessions.values())


def test_agent_files_belong_to_their_parent_never_to_themselves(corpus: Any) -> None:
    _home, groups, _ = corpus
    for group in groups:
        for part in group.parts:
            if part.name.startswith("agent-") and part.suffix == ".jsonl":
                parents = {o.get("sessionId") for o in raw_objects(part)}
                assert parents == {group.session_id}, part
        if group.main.name.startswith("agent-"):  # an orphan: its parent file is missing
            assert not (group.folder / f"{group.session_id}.jsonl").exists()


def test_every_human_prompt_is_in_its_session(corpus: Any) -> None:
    _home, groups, sessions = corpus
    checked = 0
    for group in groups:
        session = sessions[group.main]
        if group.main.name.startswith("agent-"):
            continue
        objs = dedupe_by_uuid(raw_objects(group.main))
        main_expected = [
            p for o in objs if not o.get("isSidechain") and (p := expected_prompt(o)) is not None
        ]
        side_expected = [
            p for o in objs if o.get("isSidechain") and (p := expected_prompt(o)) is not None
        ]
        if session is None:
            assert not main_expected, group.main
            continue
        prompts = session.prompts
        assert len(prompts) == len(main_expected), group.main
        for want, got in zip(main_expected, prompts, strict=True):
            assert want in got, (group.main, want)
        inline = [p for agent in session.subagents for p in agent.prompts]
        for want in side_expected:
            assert any(want in got for got in inline), (group.main, want)
        checked += len(main_expected)
    assert checked >= 110  # the corpus holds over a hundred human prompts


def test_tool_calls_match_an_independent_count(corpus: Any) -> None:
    _home, groups, sessions = corpus
    total = 0
    for group in groups:
        session = sessions[group.main]
        if session is None:
            continue
        if not group.main.name.startswith("agent-"):
            objs = raw_objects(group.main)
            main_ids = tool_use_ids(o for o in objs if not o.get("isSidechain"))
            assert {c.id for c in session.tool_calls} == main_ids, group.main
            assert len(session.tool_calls) == len(main_ids), group.main
        agent_ids = set()
        for part in group.parts:
            if part.name.startswith("agent-") and part.suffix == ".jsonl":
                agent_ids |= tool_use_ids(raw_objects(part))
        if not group.main.name.startswith("agent-"):
            agent_ids |= tool_use_ids(o for o in raw_objects(group.main) if o.get("isSidechain"))
        assert {c.id for a in session.subagents for c in a.tool_calls} == agent_ids
        total += len(session.tool_calls) + sum(len(a.tool_calls) for a in session.subagents)
    assert total >= 800


def test_tool_results_and_errors_are_paired(corpus: Any) -> None:
    home, _groups, sessions = corpus
    errors_raw: set[str] = set()
    for path in home.rglob("*.jsonl"):
        for obj in raw_objects(path):
            for b in raw_content(obj):
                if isinstance(b, dict) and b.get("type") == "tool_result" and b.get("is_error"):
                    errors_raw.add(b["tool_use_id"])
    calls = [
        c
        for s in sessions.values()
        if s is not None
        for c in [*s.tool_calls, *(c for a in s.subagents for c in a.tool_calls)]
    ]
    errors_read = {c.id for c in calls if c.is_error}
    assert errors_read == errors_raw & {c.id for c in calls}
    assert len(errors_read) >= 10
    with_result = [c for c in calls if c.result is not None]
    assert len(with_result) >= 0.95 * len(calls)
    assert all(len(c.result or "") <= RESULT_LIMIT + 60 for c in calls)


def test_subagents_of_all_three_layouts_are_attached(corpus: Any) -> None:
    home, groups, sessions = corpus
    sid = by_session_id(groups, sessions)
    # 2.0.x flat agent-<id>.jsonl: every agent that did work is under its parent
    flat = list(home.glob("*/agent-*.jsonl"))
    assert len(flat) >= 40
    for path in flat:
        objs = raw_objects(path)
        parent = sid.get(objs[0]["sessionId"])
        if not did_work(objs):
            continue
        assert parent is not None, path
        assert path.stem.removeprefix("agent-") in {a.agent_id for a in parent.subagents}
    # 2.1.x <session>/subagents/agent-<id>.jsonl with .meta.json
    worktrees = sid["ef958aa1-0e93-49f0-bb71-150f63befcd1"]
    assert len(worktrees.subagents) == 6
    assert {a.agent_type for a in worktrees.subagents} == {"general-purpose"}
    assert "Research Claude Code plan mode" in {a.title for a in worktrees.subagents}
    assert all(a.session_id == worktrees.session_id for a in worktrees.subagents)
    assert all(a.project == worktrees.project == "worktrees" for a in worktrees.subagents)
    assert [a.agent_id for a in sid["29ccd257-68b1-427f-ae5f-6524b7cb6f20"].subagents] == [
        "a2271d1"
    ]
    # 1.0.x inline isSidechain lines: split out of the main conversation
    inline = sid["sidechain"]
    assert inline.prompts == []
    assert inline.subagents[0].prompts[0].startswith("I need to debug a failing test")
    assert len(inline.subagents) == 1  # a run whose parent line was cut stays in its run
    # an orphan: the parent transcript 741790a4 is not in the corpus, its 9 agents are
    orphan = sid["741790a4-4fe2-4644-9a51-fb4482074060"]
    assert orphan.turns == [] and len(orphan.subagents) == 9
    assert orphan.project == "coderabbit-review-helper"


def test_warmup_only_parents_are_not_sessions(corpus: Any) -> None:
    _home, groups, sessions = corpus
    sid = by_session_id(groups, sessions)
    # empty parent file + two "Warmup" agents: nothing a human did
    assert sid["1ca217c4-f55d-4f6e-a994-b7e2231336f0"] is None
    # a real session keeps its warmup agents attached
    assert any(
        a.prompts == ["Warmup"] for a in sid["5ed31c36-bca8-40fd-8d24-f1a1f0af7901"].subagents
    )


def test_empty_summary_only_and_snapshot_only_files_are_not_sessions(corpus: Any) -> None:
    _home, groups, sessions = corpus
    sid = by_session_id(groups, sessions)
    assert sid["4fe49c7c-ff82-4ac7-b3f2-79c22036bd58"] is None  # empty
    assert sid["4e27c414-a885-46a0-b5c8-d58e1417377d"] is None  # one summary line
    assert sid["a95fea4a-b88a-4e49-ac07-4cc323d8700c"] is None  # file-history-snapshot only


def test_session_fields_from_a_real_2_1_session(corpus: Any) -> None:
    home, groups, sessions = corpus
    s = by_session_id(groups, sessions)["ef958aa1-0e93-49f0-bb71-150f63befcd1"]
    raw = raw_objects(
        home / "-experiments-worktrees" / "ef958aa1-0e93-49f0-bb71-150f63befcd1.jsonl"
    )
    stamps = sorted(
        o["timestamp"] for o in raw if o.get("type") in ("user", "assistant") and "timestamp" in o
    )
    assert (s.started_at, s.ended_at) == (stamps[0], stamps[-1])
    assert s.cwd == next(o["cwd"] for o in raw if "cwd" in o)
    assert s.models == ["claude-opus-4-7"]
    assert s.version and s.git_branch
    assert s.usage.total > 0
    assert s.source == "claude-code" and s.transcripts[0].name.startswith("ef958aa1")


def test_usage_counts_each_message_once(corpus: Any) -> None:
    home, groups, sessions = corpus
    path = home / "-src-deep-manifest" / "a7da6a22-facc-4fcd-8bab-f83c87862004.jsonl"
    best: dict[str, int] = {}
    for o in dedupe_by_uuid(raw_objects(path)):
        if o.get("type") == "assistant" and not o.get("isSidechain"):
            usage = o["message"].get("usage") or {}
            mid = o["message"]["id"]
            best[mid] = max(best.get(mid, 0), usage.get("output_tokens", 0))
    session = by_session_id(groups, sessions)["a7da6a22-facc-4fcd-8bab-f83c87862004"]
    assert session.usage.output_tokens == sum(best.values())
    assert len([t for t in session.turns if t.role == "assistant"]) == len(best)


def test_edge_cases_folder(corpus: Any) -> None:
    _home, groups, sessions = corpus
    sid = by_session_id(groups, sessions)
    edge = sid["edge_cases"]
    assert dict(edge.stats.malformed) == {"not_object": 3, "missing_type": 1, "bad_shape": 2}
    failing = next(c for c in edge.tool_calls if c.name == "FailingTool")
    assert failing.is_error and "Command not found" in (failing.result or "")
    assert "/test-command --verbose --output /tmp/test.log" in edge.prompts
    assert any("中文" in p and "🎉" in p for p in edge.prompts)
    assert edge.summaries and edge.summaries[0].startswith("Tested various edge cases")
    # rewinds and resumes: every branch's prompts, in file order
    assert sid["dag_fork"].prompts == [
        "Start",
        "Middle",
        "Last in s1",
        "Continue from e",
        "End of s2",
        "Fork from c",
        "End of s3",
    ]
    assert sid["dag_resume"].usage.output_tokens == 5 + 8 + 10
    image = sid["debug_image_message"]
    assert image.turns[0].images == 2 and image.turns[0].is_prompt
    hooks = sid["hook_attachments"]
    assert hooks.prompts == ["Run the test suite"] and not hooks.stats.unknown_types


# ---------------------------------------------------------------- hand-written transcripts


def line(kind: str, uuid: str | None = None, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": kind,
        "sessionId": "s-1",
        "cwd": "/home/me/code/my-app",
        "timestamp": f"2025-08-01T10:00:{len(uuid or ''):02d}.000Z",
    }
    if uuid:
        obj["uuid"] = uuid
    obj.update(fields)
    return obj


def user(uuid: str, content: Any, **fields: Any) -> dict[str, Any]:
    return line("user", uuid, message={"role": "user", "content": content}, **fields)


def assistant(
    uuid: str, mid: str, blocks: list[Any], usage: Any = None, **kw: Any
) -> dict[str, Any]:
    message = {"id": mid, "role": "assistant", "model": "claude-opus-4-7", "content": blocks}
    if usage is not None:
        message["usage"] = usage
    return line("assistant", uuid, message=message, **kw)


def write(path: Path, lines: Iterable[dict[str, Any] | bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for item in lines:
            if isinstance(item, dict):
                fh.write(json.dumps(item).encode())
            elif isinstance(item, str):
                fh.write(item.encode())
            else:
                fh.write(item)
            fh.write(b"\n")
    return path


def read_one(tmp_path: Path, lines: Iterable[Any], **kw: Any) -> Session | None:
    root = tmp_path / "projects"
    write(root / "-home-me-code-my-app" / "s-1.jsonl", lines)
    groups = claude.discover([root])
    assert [g.session_id for g in groups] == ["s-1"]
    return claude.read_session(groups[0], **kw)


def must_read(tmp_path: Path, lines: Iterable[Any], **kw: Any) -> Session:
    session = read_one(tmp_path, lines, **kw)
    assert session is not None
    return session


def test_assistant_blocks_merge_by_message_id_and_usage_counts_once(tmp_path: Path) -> None:
    s = must_read(
        tmp_path,
        [
            user("u1", "fix the login bug"),
            assistant(
                "a1",
                "msg_1",
                [{"type": "thinking", "thinking": "look at auth"}],
                {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 100},
            ),
            assistant(
                "a2",
                "msg_1",
                [{"type": "text", "text": "Reading the file."}],
                {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100},
            ),
            assistant(
                "a3",
                "msg_1",
                [
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "Read",
                        "input": {"file_path": "auth.py"},
                    }
                ],
                {"input_tokens": 10, "output_tokens": 9, "cache_read_input_tokens": 100},
            ),
            user(
                "u2", [{"type": "tool_result", "tool_use_id": "t1", "content": "def login(): ..."}]
            ),
            # the same reply continues after its tool result
            assistant(
                "a4",
                "msg_1",
                [{"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "pytest"}}],
                {"input_tokens": 10, "output_tokens": 12, "cache_read_input_tokens": 100},
            ),
            user(
                "u3",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "is_error": True,
                        "content": [{"type": "text", "text": "1 failed"}],
                    }
                ],
            ),
            assistant(
                "a5",
                "msg_2",
                [{"type": "text", "text": "Fixed."}],
                {"input_tokens": 3, "output_tokens": 4},
            ),
        ],
    )
    assert [t.role for t in s.turns] == ["user", "assistant", "assistant"]
    reply = s.turns[1]
    assert reply.text == "Reading the file." and reply.thinking == "look at auth"
    assert [c.name for c in reply.tool_calls] == ["Read", "Bash"]
    read, bash = reply.tool_calls
    assert read.result == "def login(): ..." and not read.is_error
    assert bash.result == "1 failed" and bash.is_error
    assert s.prompts == ["fix the login bug"]  # tool-result lines are not prompts
    assert s.usage.input_tokens == 13 and s.usage.output_tokens == 16
    assert s.usage.cache_read_tokens == 100
    assert s.models == ["claude-opus-4-7"]


def test_meta_compact_commands_and_injected_text(tmp_path: Path) -> None:
    s = must_read(
        tmp_path,
        [
            user(
                "u1",
                "Caveat: The messages below were generated by the user while running "
                "local commands.",
                isMeta=True,
            ),
            user(
                "u2",
                "<command-name>/model</command-name>\n<command-message>model"
                "</command-message>\n<command-args>opus</command-args>",
            ),
            user(
                "u3",
                "<local-command-stdout>Set model to \x1b[1mopus\x1b[22m</local-command-stdout>",
            ),
            user(
                "u4",
                [
                    {
                        "type": "text",
                        "text": "<ide_opened_file>The user opened a.py</ide_opened_file>",
                    },
                    {"type": "text", "text": "why is this slow?"},
                ],
            ),
            user("u5", [{"type": "text", "text": "[Request interrupted by user for tool use]"}]),
            user("u6", "<bash-input>make test</bash-input>"),
            user(
                "u7",
                "This session is being continued from a previous conversation.",
                isCompactSummary=True,
                isVisibleInTranscriptOnly=True,
            ),
            user("u8", [{"type": "text", "text": "<ide_selection>line 3</ide_selection>"}]),
        ],
    )
    kinds = [(t.text, t.is_meta, t.is_compact_summary, t.command) for t in s.turns]
    assert kinds == [
        (
            "Caveat: The messages below were generated by the user while running local commands.",
            True,
            False,
            None,
        ),
        ("/model opus", False, False, "/model"),
        ("Set model to opus", True, False, None),
        ("why is this slow?", False, False, None),
        ("[Request interrupted by user for tool use]", True, False, None),
        ("! make test", False, False, None),
        ("This session is being continued from a previous conversation.", False, True, None),
        ("<ide_selection>line 3</ide_selection>", True, False, None),
    ]
    assert s.prompts == ["/model opus", "why is this slow?", "! make test"]


def test_malformed_lines_are_counted_never_fatal(tmp_path: Path) -> None:
    s = must_read(
        tmp_path,
        [
            b'{"type": "user", "message": {"content": "unterminated',
            b'{"type":"user","uuid":"x","message":{"role":"user","content":"caf\xe9"}}',
            b'"a bare string"',
            b"42",
            b"[1, 2]",
            b"null",
            {"uuid": "no-type"},
            line("user", "bad1", message="not an object"),
            line("assistant", "bad2", message={"id": "m", "content": 7}),
            line("summary", summary=["not", "text"]),
            b"   ",
            line("some-future-type", "f1", payload={"x": 1}),
            line("system", "sys1", subtype="turn_duration", durationMs=5),
            user("ok", "still read after all that"),
        ],
    )
    assert dict(s.stats.malformed) == {
        "bad_json": 1,
        "invalid_utf8": 1,
        "not_object": 4,
        "missing_type": 1,
        "bad_shape": 3,
    }
    assert dict(s.stats.unknown_types) == {"some-future-type": 1}
    assert s.prompts == ["still read after all that"]
    assert s.stats.lines == 14


def test_a_too_long_line_is_skipped_in_chunks(tmp_path: Path) -> None:
    huge = user("big", "x" * 50_000)
    s = must_read(tmp_path, [user("u1", "before"), huge, user("u2", "after")], max_line_bytes=4096)
    assert s.stats.malformed == {"too_long": 1}
    assert s.prompts == ["before", "after"]
    assert s.stats.bytes == sum(
        len(json.dumps(o)) + 1 for o in [user("u1", "before"), huge, user("u2", "after")]
    )


def test_a_too_long_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-p" / "s-1.jsonl"
    write(path, [user("u1", "first")])
    with path.open("ab") as fh:
        fh.write(json.dumps(user("u2", "y" * 10_000)).encode())  # no trailing newline
    group = claude.discover([tmp_path / "projects"])[0]
    s = claude.read_session(group, max_line_bytes=1000)
    assert s is not None and s.prompts == ["first"] and s.stats.malformed == {"too_long": 1}


def test_resumed_lines_are_deduplicated_by_uuid(tmp_path: Path) -> None:
    first = [
        user("u1", "start"),
        assistant(
            "a1", "m1", [{"type": "text", "text": "hi"}], {"input_tokens": 1, "output_tokens": 1}
        ),
    ]
    s = must_read(tmp_path, [*first, *first, user("u2", "go on")])
    assert s.stats.duplicates == 2
    assert s.prompts == ["start", "go on"] and s.usage.output_tokens == 1


def test_images_unknown_blocks_and_big_payloads(tmp_path: Path) -> None:
    big_input = {"file_path": "a.txt", "content": "z" * 100_000}
    s = must_read(
        tmp_path,
        [
            user(
                "u1",
                [
                    {"type": "image", "source": {"type": "base64", "data": "iVBOR"}},
                    {"type": "text", "text": "what is this?"},
                    {"type": "hologram", "x": 1},
                    "a bare string block",
                ],
            ),
            assistant(
                "a1",
                "m1",
                [
                    {"type": "tool_use", "id": "t1", "name": "Write", "input": big_input},
                    {"type": "mystery_block"},
                    {"type": "thinking", "thinking": "t" * 20_000},
                ],
            ),
            user("u2", [{"type": "tool_result", "tool_use_id": "t1", "content": "r" * 200_000}]),
            user("u3", [{"type": "tool_result", "tool_use_id": "never-called", "content": "?"}]),
        ],
    )
    prompt, reply = s.turns
    assert prompt.images == 1 and prompt.is_prompt and prompt.text == "what is this?"
    assert dict(prompt.unknown_blocks) == {"hologram": 1, "not_object": 1}
    assert dict(reply.unknown_blocks) == {"mystery_block": 1}
    call = reply.tool_calls[0]
    assert call.input["file_path"] == "a.txt" and len(call.input["content"]) < 3000
    assert "100,000 chars" in call.input["content"]
    assert call.result is not None and len(call.result) < 5000 and "200,000 chars" in call.result
    assert len(reply.thinking) < 5000
    assert s.stats.orphan_results == 1


def test_heavy_lines_are_skipped_but_nested_lookalikes_are_parsed(tmp_path: Path) -> None:
    s = must_read(
        tmp_path,
        [
            {"parentUuid": None, "cwd": "/w/app", "type": "progress", "data": {"type": "x"}},
            {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
            # a nested "type":"progress" before the top-level type: must be parsed as a user line
            {
                "message": {
                    "role": "user",
                    "content": [{"type": "progress"}, {"type": "text", "text": "hi"}],
                },
                "uuid": "n1",
                "type": "user",
                "cwd": "/w/app",
            },
            b'{"cwd":"/w/{odd}","type":"progress","data":{}}',
        ],
    )
    assert s.prompts == ["hi"] and dict(s.turns[0].unknown_blocks) == {"progress": 1}
    assert not s.stats.malformed and not s.stats.unknown_types


def test_titles_and_summaries(tmp_path: Path) -> None:
    s = must_read(
        tmp_path,
        [
            {"type": "summary", "summary": "Fixing login", "leafUuid": "u1"},
            user("u1", "hello"),
            {"type": "ai-title", "aiTitle": "Login bug", "sessionId": "s-1"},
            {"type": "custom-title", "customTitle": "My login fix", "sessionId": "s-1"},
            {"type": "ai-title", "aiTitle": "Login bug, later", "sessionId": "s-1"},
            {"type": "summary", "summary": "Fixing login", "leafUuid": "u1"},
        ],
    )
    assert s.title == "My login fix" and s.summaries == ["Fixing login"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        ([{"type": "summary", "summary": "old", "leafUuid": "x"}], None),
        ([{"type": "file-history-snapshot", "messageId": "m", "snapshot": {}}], None),
        ([user("u1", "only injected", isMeta=True)], None),
        ([line("system", "s1", content="limit reached", level="warning")], None),
    ],
)
def test_files_without_conversation_are_not_sessions(
    tmp_path: Path, lines: list[Any], expected: None
) -> None:
    assert read_one(tmp_path, lines) is expected


@pytest.mark.parametrize(
    ("cwd", "project"),
    [
        ("/home/me/code/my-app", "my-app"),
        ("/home/me/code/my-app/", "my-app"),
        ("e:\\Workspace\\src\\claude-code-log", "claude-code-log"),
        ("/srv/.hidden", "hidden"),
        ("/srv/..", "my-app"),  # unusable: fall back to the folder name
        ("/", "my-app"),
        ("/srv/a\x07b", "a-b"),
    ],
)
def test_project_is_the_cwd_last_component_made_safe(
    tmp_path: Path, cwd: str, project: str
) -> None:
    s = must_read(tmp_path, [user("u1", "hi", cwd=cwd)])
    assert s.project == project


def test_project_without_cwd_uses_the_hint_then_the_folder(tmp_path: Path) -> None:
    no_cwd = {"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}
    assert must_read(tmp_path, [no_cwd]).project == "my-app"  # from -home-me-code-my-app
    assert must_read(tmp_path, [no_cwd], project_hint="given").project == "given"


def test_discover_layouts_orphans_and_nameless_agents(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    folder = root / "-w-app"
    write(folder / "p1.jsonl", [user("u1", "parent one")])
    write(folder / "agent-aaa.jsonl", [user("x1", "task A", isSidechain=True, sessionId="p1")])
    write(folder / "agent-bbb.jsonl", [user("x2", "task B", isSidechain=True, sessionId="gone")])
    write(folder / "agent-ccc.jsonl", [b"not json", {"type": "user", "isSidechain": True}])
    write(
        folder / "p1" / "subagents" / "agent-ddd.jsonl",
        [user("x3", "task D", isSidechain=True, sessionId="p1")],
    )
    (folder / "p1" / "subagents" / "agent-ddd.meta.json").write_text(
        json.dumps({"agentType": "Explore", "description": "Map the code"})
    )
    (folder / "p1" / "subagents" / "notes.txt").write_text("not a transcript")
    groups = claude.discover([root, root])  # a root given twice is read once
    assert [(g.session_id, [p.name for p in g.parts]) for g in groups] == [
        ("gone", ["agent-bbb.jsonl"]),
        ("p1", ["p1.jsonl", "agent-aaa.jsonl", "agent-ddd.jsonl", "agent-ddd.meta.json"]),
    ]
    orphan, parent = (claude.read_session(g) for g in groups)
    assert parent is not None and orphan is not None
    assert [(a.agent_id, a.prompts, a.agent_type, a.title) for a in parent.subagents] == [
        ("aaa", ["task A"], None, None),
        ("ddd", ["task D"], "Explore", "Map the code"),
    ]
    assert orphan.turns == [] and orphan.subagents[0].prompts == ["task B"]
    assert orphan.project == "my-app"


def test_discover_tolerates_missing_roots_and_a_root_that_is_a_project(tmp_path: Path) -> None:
    assert claude.discover([tmp_path / "nope"]) == []
    write(tmp_path / "single" / "s9.jsonl", [user("u1", "x")])
    assert [g.session_id for g in claude.discover([tmp_path / "single"])] == ["s9"]


def test_inline_sidechains_group_by_parent_chain(tmp_path: Path) -> None:
    side = {"isSidechain": True}
    s = must_read(
        tmp_path,
        [
            user("u1", "use two agents"),
            assistant(
                "a1",
                "m1",
                [{"type": "tool_use", "id": "task1", "name": "Task", "input": {"prompt": "look"}}],
            ),
            user("s1", "look left", parentUuid=None, **side),
            assistant("s2", "m2", [{"type": "text", "text": "left done"}], parentUuid="s1", **side),
            user("t1", "look right", parentUuid=None, **side),
            assistant(
                "t2", "m3", [{"type": "text", "text": "right done"}], parentUuid="t1", **side
            ),
            assistant(
                "s3", "m4", [{"type": "text", "text": "left again"}], parentUuid="s2", **side
            ),
            user("u2", [{"type": "tool_result", "tool_use_id": "task1", "content": "both done"}]),
        ],
    )
    assert s.prompts == ["use two agents"] and s.tool_calls[0].result == "both done"
    runs = {a.agent_id: [t.text for t in a.turns] for a in s.subagents}
    assert runs == {
        "sidechain-s1": ["look left", "left done", "left again"],
        "sidechain-t1": ["look right", "right done"],
    }


def test_a_long_session_keeps_bounded_text_but_every_prompt(tmp_path: Path) -> None:
    """Past readers.KEEP_BUDGET chars, results shrink to stubs; prompts stay whole."""
    lines: list[Any] = []
    for n in range(1100):
        lines.append(user(f"p{n}", f"prompt {n} " + "p" * 3000))
        tool = {"type": "tool_use", "id": f"t{n}", "name": "Read", "input": {"file_path": "a"}}
        lines.append(assistant(f"a{n}", f"m{n}", [tool]))
        result = {"type": "tool_result", "tool_use_id": f"t{n}", "content": "r" * 5000}
        lines.append(user(f"r{n}", [result]))
    s = must_read(tmp_path, lines)
    assert len(s.prompts) == 1100 and all(len(p) > 3000 for p in s.prompts)
    sizes = [len(c.result or "") for c in s.tool_calls]
    assert sizes[0] > RESULT_LIMIT and sizes[-1] < 400  # the note of the full size included
    assert sum(sizes) < KEEP_BUDGET + 1100 * 400


def test_budget_unit() -> None:
    budget = Budget(10)
    assert budget.clip("abcdefgh", 100) == "abcdefgh" and budget.left == 2
    assert budget.clip("x" * 50, 100).startswith("x" * 50)
    assert budget.left < 0 and budget.limit(1000) == STUB_LIMIT and budget.limit(1000, 500) == 500


def test_tool_use_result_is_skipped_only_when_that_is_sound(tmp_path: Path) -> None:
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
    result = [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt"}]
    ordinary = user("r1", result, toolUseResult={"stdout": "a.txt", "stderr": ""})
    # message after toolUseResult: the cut would lose it, so the whole line is parsed
    late = {"type": "user", "uuid": "r2", "toolUseResult": {"x": 1}}
    late["message"] = {"role": "user", "content": "typed after a result"}
    # damage confined to toolUseResult (never read) does not cost the line
    damaged = json.dumps(user("r3", "still a prompt"))[:-1] + ',"toolUseResult":{"a": \xff}'
    # the key nested inside message: the cut would leave brackets open, so no cut
    nested = user("r4", "nested key", extra={"k": 1})
    nested["message"]["note"] = {"x": 1, "toolUseResult": {"y": 2}}
    s = must_read(
        tmp_path,
        [
            user("u1", "list files"),
            assistant("a1", "m1", [call]),
            ordinary,
            late,
            damaged.encode("latin-1"),
            nested,
        ],
    )
    assert s.tool_calls[0].result == "a.txt"
    assert s.prompts == ["list files", "typed after a result", "still a prompt", "nested key"]
    assert not s.stats.malformed


# ---------------------------------------------------------------- spilling to disk


def test_spilling_turns_to_disk_changes_nothing_on_the_corpus(corpus: Any) -> None:
    """hot_chars=1 spills every session with more than KEEP_OPEN turns as it is read: its
    archive, numbers and knowledge must be the same bytes as when it stays in memory."""
    from engram_ci.knowledge.extract import extract_offline
    from engram_ci.memory import archive
    from engram_ci.transcripts.turnlog import TurnLog

    _, groups, sessions = corpus
    spilled = 0
    for group in groups:
        kept, moved = sessions[group.main], claude.read_session(group, hot_chars=1)
        if kept is None:
            assert moved is None
            continue
        assert moved is not None
        spilled += isinstance(moved.turns, TurnLog)
        assert archive.render_conversation(moved) == archive.render_conversation(kept)
        assert archive.session_meta(moved) == archive.session_meta(kept)
        assert extract_offline(moved) == extract_offline(kept), group.main
    assert spilled >= 3


def test_a_result_arriving_after_its_call_spilled_is_still_paired(tmp_path: Path) -> None:
    tool = {"type": "tool_use", "id": "t-late", "name": "Bash", "input": {"command": "make"}}
    lines: list[Any] = [user("u0", "build it"), assistant("a0", "m0", [tool])]
    for n in range(1, 3 * KEEP_OPEN):
        lines += [user(f"u{n}", f"prompt {n}"), assistant(f"a{n}", f"m{n}", [text_block(n)])]
    result = {"type": "tool_result", "tool_use_id": "t-late", "content": "boom", "is_error": True}
    lines.append(user("r-late", [result]))
    in_memory = must_read(tmp_path, lines)
    spilled = must_read(tmp_path, lines, hot_chars=1)
    assert type(spilled.turns).__name__ == "TurnLog"
    for session in (in_memory, spilled):
        (call,) = session.tool_calls
        assert (call.result, call.is_error) == ("boom", True)
        assert session.stats.orphan_results == 0 and len(session.turns) == 2 * 3 * KEEP_OPEN


def text_block(n: int) -> dict[str, Any]:
    return {"type": "text", "text": f"reply {n}"}


def test_discovery_skips_what_only_looks_like_a_transcript(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "projects" / "-home-me-code-my-app"
    convo = [user("u1", "hi"), assistant("a1", "m1", [{"type": "text", "text": "hello"}])]
    write(folder / "s-1.jsonl", convo)
    (folder / "looks-like.jsonl").mkdir()  # a folder named like a transcript
    # a flat agent file whose first 50 lines name no session: not guessed at
    write(folder / "agent-x.jsonl", [{"type": "summary", "summary": "…"}] * 60 + convo)
    (folder / "s-2").mkdir()
    (folder / "s-2" / "subagents").write_text("a file where the folder should be")
    # an orphaned subagent folder holding only a .meta.json: nothing to read
    write(folder / "s-3" / "subagents" / "agent-a.meta.json", [{"agentType": "Explore"}])
    with caplog.at_level("WARNING", logger="engram_ci"):
        groups = claude.discover([tmp_path / "projects"])
    assert [g.session_id for g in groups] == ["s-1"]
    assert "agent-x.jsonl: an agent transcript that names no parent session" in caplog.text


def test_an_orphaned_subagent_with_a_damaged_meta_is_read_without_its_type(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "projects" / "-home-me-code-my-app" / "s-1" / "subagents"
    write(
        folder / "agent-a1.jsonl",
        [
            user("u1", "find callers"),
            assistant(
                "a1",
                "m1",
                [{"type": "tool_use", "id": "t1", "name": "Grep", "input": {"pattern": "f("}}],
            ),
        ],
    )
    (folder / "agent-a1.meta.json").write_text('["Explore", "find callers"]')
    (group,) = claude.discover([tmp_path / "projects"])
    assert group.session_id == "s-1"  # the parent transcript is gone, the agent's work is not
    session = claude.read_session(group)
    assert session is not None
    (agent,) = session.subagents
    assert (agent.agent_id, agent.agent_type) == ("a1", None)


def test_a_session_of_subagents_only_has_their_working_directory(tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "-home-me-code-my-app" / "s-1" / "subagents"
    read: dict[str, Any] = {"type": "tool_use", "id": "t1", "name": "Read"}
    read["input"] = {"file_path": "/home/me/code/my-app/src/app.py"}
    write(
        folder / "agent-a1.jsonl",
        [
            user("u1", "read the app", cwd="/home/me/code/my-app"),
            assistant("a1", "m1", [read], cwd="/home/me/code/my-app"),
        ],
    )
    (group,) = claude.discover([tmp_path / "projects"])
    session = claude.read_session(group)
    assert session is not None and session.turns == []
    # the parent transcript is gone: the session's directory is its subagents', so what
    # they touched is named relative to it, as in any other session
    assert session.cwd == "/home/me/code/my-app" == session.subagents[0].cwd
    assert session.project == "my-app"


def test_discovery_spells_paths_as_pathlib_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # discovery builds strings, not Paths; the manifest keys on them, so a string must be
    # exactly str() of the Path the reader will open, from any root
    folder = tmp_path / "-home-dev-app"
    (folder / "s1" / "subagents" / "workflows" / "wf_1").mkdir(parents=True)
    (folder / "s1.jsonl").write_text(json.dumps({"sessionId": "s1"}) + "\n")
    (folder / "agent-flat.jsonl").write_text(json.dumps({"sessionId": "s1"}) + "\n")
    (folder / "s1" / "subagents" / "agent-b.jsonl").write_text("{}\n")
    (folder / "s1" / "subagents" / "agent-b.meta.json").write_text("{}")
    (folder / "s1" / "subagents" / "workflows" / "wf_1" / "agent-w.jsonl").write_text("{}\n")
    for root, cwd in ((tmp_path, None), (Path("."), tmp_path), (Path("."), folder)):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        (group,) = claude.discover([root])
        for spelled in (group.main_path, group.folder_path, *group.part_paths):
            assert spelled == str(Path(spelled))
        assert [p.name for p in group.parts] == [
            "s1.jsonl",
            "agent-flat.jsonl",
            "agent-b.jsonl",
            "agent-b.meta.json",
            "agent-w.jsonl",
        ]
        assert all((root / p).is_file() for p in group.parts)


def test_discovery_skips_what_is_not_a_transcript_and_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    folder = root / "-home-dev-app"
    folder.mkdir(parents=True)
    (folder / "0-notes.txt").write_text("not a transcript, sorted first\n")
    (root / ".cache").mkdir()  # a dot folder under the root is no project
    (root / ".cache" / "s9.jsonl").write_text("{}\n")
    sessions = [f"s{n}" for n in range(8)]
    for sid in sessions:
        (folder / f"{sid}.jsonl").write_text("{}\n")
    for n in range(8):  # is_file() raises ELOOP on each: skipped like a missing file (and
        loop = folder / f"loop-{n}.jsonl"  # listed, surely, before some session: none lost)
        loop.symlink_to(loop)
    assert [g.session_id for g in claude.discover([root])] == sessions


@pytest.mark.parametrize("name", [".jsonl", "..jsonl", "a.jsonl", "a.b.jsonl", "agent-x.jsonl"])
def test_a_transcripts_stem_is_pathlibs(name: str) -> None:
    assert claude._stem(name) == Path(name).stem
