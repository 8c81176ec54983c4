"""The reader output types: what counts as a prompt, usage sums, stats merging."""

from __future__ import annotations

import os
import pickle
from collections import Counter
from pathlib import Path

import pytest

from engram_ci.transcripts.model import (
    ParseStats,
    Session,
    ToolCall,
    TranscriptGroup,
    Turn,
    Usage,
    child_path,
)


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


def test_a_group_holds_strings_and_hands_out_equal_paths(tmp_path: Path) -> None:
    main, agent = tmp_path / "s.jsonl", tmp_path / "s" / "subagents" / "agent-a.jsonl"
    from_paths = TranscriptGroup("s", "claude-code", main, (main, agent), tmp_path)
    from_strings = TranscriptGroup(
        "s", "claude-code", str(main), [str(main), str(agent)], str(tmp_path)
    )
    assert from_paths == from_strings and hash(from_paths) == hash(from_strings)
    assert from_strings.main == main and from_strings.parts == (main, agent)
    assert from_strings.folder == tmp_path and from_strings.part_paths == (str(main), str(agent))
    assert from_paths != from_paths.with_parts([main])
    assert from_paths.with_parts([main]).parts == (main,)
    assert from_paths != ("s", "claude-code") and "agent-a.jsonl" in repr(from_paths)


def test_a_group_is_immutable_and_survives_pickling(tmp_path: Path) -> None:
    group = TranscriptGroup("s", "codex", tmp_path / "r.jsonl", [tmp_path / "r.jsonl"], tmp_path)
    with pytest.raises(AttributeError, match="immutable"):
        group.session_id = "other"
    with pytest.raises(AttributeError, match="immutable"):
        del group.source
    # workers get their groups pickled
    assert pickle.loads(pickle.dumps(group)) == group  # noqa: S301 (our own bytes)


def test_a_child_of_the_filesystem_root_is_spelled_as_pathlib_does() -> None:
    assert child_path(os.sep, "x.jsonl") == str(Path(os.sep) / "x.jsonl")
    assert child_path(".", "x.jsonl") == str(Path(".") / "x.jsonl")
    assert child_path("/a/b", "x.jsonl") == str(Path("/a/b") / "x.jsonl")
