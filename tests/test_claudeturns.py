"""Turn assembly from parsed Claude Code lines, without files (test_claude.py reads files)."""

from __future__ import annotations

from typing import Any

import pytest

from engram_ci.transcripts.claude_text import classify_user_text
from engram_ci.transcripts.claude_turns import Transcript
from engram_ci.transcripts.model import ParseStats


def reply(mid: str, block: dict[str, Any], output_tokens: int) -> dict[str, Any]:
    usage = {"input_tokens": 3, "output_tokens": output_tokens}
    return {
        "uuid": f"u-{mid}-{output_tokens}",
        "message": {"id": mid, "content": [block], "usage": usage},
    }


def test_a_reply_split_over_lines_is_one_turn_with_its_usage_counted_once() -> None:
    t = Transcript()
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "make"}}
    assert t.add_assistant(reply("m1", {"type": "text", "text": "Building."}, 5))
    assert t.add_assistant(reply("m1", call, 9))
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": False}
    assert t.add_user({"uuid": "r1", "message": {"content": [result]}}, ParseStats())
    session = t.to_session("s", "p", [], ParseStats())
    (turn,) = session.turns  # the tool result line is not a turn of its own
    assert turn.text == "Building." and [c.result for c in turn.tool_calls] == ["ok"]
    assert (session.usage.input_tokens, session.usage.output_tokens) == (3, 9)


@pytest.mark.parametrize(
    ("texts", "obj", "expected"),
    [
        (["fix the bug"], {}, ("fix the bug", False, None)),
        (["note"], {"isMeta": True}, ("note", True, None)),
        (
            ["<system-reminder>x</system-reminder>"],
            {},
            ("<system-reminder>x</system-reminder>", True, None),
        ),
        (
            ["<command-name>/model</command-name><command-args>opus</command-args>"],
            {},
            ("/model opus", False, "/model"),
        ),
        (["<bash-input>ls -la</bash-input>"], {}, ("! ls -la", False, None)),
        (["<local-command-stdout>done</local-command-stdout>"], {}, ("done", True, None)),
        (["[Request interrupted by user]"], {}, ("[Request interrupted by user]", True, None)),
    ],
)
def test_what_the_human_typed_and_what_was_injected(
    texts: list[str], obj: dict[str, Any], expected: tuple[str, bool, str | None]
) -> None:
    assert classify_user_text(texts, obj) == expected


def test_a_reply_in_several_blocks_is_one_text_in_paragraphs() -> None:
    t = Transcript()
    blocks = [("thinking", "First thought."), ("text", "Part one.")]
    blocks += [("thinking", "Second."), ("text", "Part two.")]
    for k, (kind, text) in enumerate(blocks):
        t.add_assistant(reply("m1", {"type": kind, kind: text}, k + 1))
    (turn,) = t.to_session("s", "p", [], ParseStats()).turns
    assert turn.text == "Part one.\n\nPart two."
    assert turn.thinking == "First thought.\n\nSecond."
