"""The reader output types: what counts as a prompt, usage sums, stats merging."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from engram_ci.transcripts.model import ParseStats, Session, ToolCall, Turn, Usage


def test_is_prompt_excludes_meta_compact_assistant_and_blank() -> None:
    assert Turn("user", "fix it").is_prompt
    assert not Turn("user", "hook output", is_meta=True).is_prompt
    assert not Turn("user", "summary of before", is_compact_summary=True).is_prompt
    assert not Turn("assistant", "done").is_prompt
    assert not Turn("user", "  \n").is_prompt
    assert Turn("user", "/clear", command="/clear").is_prompt


def test_usage_add_and_total() -> None:
    usage = Usage(1, 2, 3, 4)
    usage.add(Usage(10, 20, 30, 40))
    assert usage == Usage(11, 22, 33, 44) and usage.total == 110


def test_parse_stats_merge_sums_every_counter() -> None:
    a = ParseStats(lines=2, bytes=10, malformed=Counter(bad_json=1), duplicates=1)
    b = ParseStats(
        lines=3,
        bytes=5,
        malformed=Counter(bad_json=2, too_long=1),
        unknown_types=Counter({"x": 1}),
        duplicates=2,
        orphan_results=4,
    )
    a.merge(b)
    assert (a.lines, a.bytes, a.duplicates, a.orphan_results) == (5, 15, 3, 4)
    assert a.malformed == Counter(bad_json=3, too_long=1) and a.unknown_types == Counter(x=1)


def test_session_prompts_and_tool_calls_span_turns_in_order() -> None:
    call_a, call_b = ToolCall("a", "Read", {}), ToolCall("b", "Bash", {"command": "ls"})
    session = Session(
        "s",
        "claude-code",
        "p",
        [Path("s.jsonl")],
        turns=[
            Turn("user", "one"),
            Turn("assistant", "", tool_calls=[call_a]),
            Turn("user", "meta", is_meta=True),
            Turn("assistant", "", tool_calls=[call_b]),
            Turn("user", "two"),
        ],
    )
    assert session.prompts == ["one", "two"]
    assert session.tool_calls == [call_a, call_b]
    assert session.subagents == [] and session.agent_id is None and session.agent_type is None
