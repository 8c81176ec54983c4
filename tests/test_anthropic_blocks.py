"""anthropic_blocks.py: one Anthropic-style message onto a SessionBuilder — text, thinking,
calls and results (beside their calls or in the next user message), and the human's words told
from the text an agent injects."""

from __future__ import annotations

from typing import Any

from engram_ci.transcripts.anthropic_blocks import add_message
from engram_ci.transcripts.chat_store import SessionBuilder


def test_an_assistant_message_keeps_text_thinking_and_calls() -> None:
    builder = SessionBuilder("test")
    add_message(
        builder,
        "assistant",
        [
            {"type": "thinking", "thinking": "the test fails on rounding"},
            {"type": "reasoning", "thinking": "check cart.py"},
            {"type": "text", "text": "Running the tests."},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest"}},
            "a stray string",
            None,
            {"type": "image", "source": {}},
            {"type": "text", "text": 42},  # not text: skipped, not str()'d
        ],
        "2026-01-05T10:00:00Z",
        model="claude-sonnet-4-5",
    )
    (turn,) = builder.turns
    assert turn.role == "assistant"
    assert turn.text == "Running the tests."
    assert turn.thinking == "the test fails on rounding\ncheck cart.py"
    assert turn.model == "claude-sonnet-4-5"
    (call,) = turn.tool_calls
    assert (call.id, call.name, call.kind, call.input) == (
        "t1",
        "Bash",
        "shell",
        {"command": "pytest"},
    )


def test_a_result_beside_its_call_is_paired() -> None:
    builder = SessionBuilder("test")
    add_message(
        builder,
        "assistant",
        [
            {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.py"}},
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": "no such file",
                "is_error": True,
            },
        ],
    )
    (call,) = builder.turns[0].tool_calls
    assert (call.result, call.is_error) == ("no such file", True)
    assert builder.turns[0].thinking == ""


def test_a_user_message_pairs_results_and_keeps_the_prompt() -> None:
    builder = SessionBuilder("test")
    add_message(builder, "assistant", [{"type": "tool_use", "id": "t1", "name": "ls"}])
    add_message(
        builder,
        "user",
        [
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [{"type": "text", "text": "a.py"}],
            },
            {"type": "tool_result", "tool_use_id": "t9", "content": "orphan"},
            {"type": "image", "source": {}},
            "stray",
            {"type": "text", "text": "now fix a.py"},
        ],
        "2026-01-05T10:00:02Z",
    )
    call = builder.turns[0].tool_calls[0]
    assert call.result == "a.py" and not call.is_error
    assert call.input == {"input": None}  # a call without input still records one
    assert builder.stats.orphan_results == 1
    prompt = builder.turns[1]
    assert (prompt.role, prompt.text, prompt.timestamp) == (
        "user",
        "now fix a.py",
        "2026-01-05T10:00:02Z",
    )
    assert not prompt.is_meta


def test_string_content_is_one_text_block() -> None:
    builder = SessionBuilder("test")
    add_message(builder, "user", "fix the cart")
    add_message(builder, "assistant", "done")
    assert [(t.role, t.text) for t in builder.turns] == [
        ("user", "fix the cart"),
        ("assistant", "done"),
    ]


def test_other_roles_are_ignored() -> None:
    builder = SessionBuilder("test")
    for role in ("system", None, "tool"):
        add_message(builder, role, "You are a helpful agent")
    assert builder.turns == []


def test_injected_text_is_marked_and_prompts_are_unwrapped() -> None:
    builder = SessionBuilder("test")
    add_message(
        builder,
        "user",
        [
            {"type": "text", "text": "<task>\nfix the cart\n</task>"},
            {"type": "text", "text": "<environment_details>cwd</environment_details>"},
        ],
        is_injected=lambda text: text.startswith("<environment_details>"),
        clean_prompt=lambda text: text.removeprefix("<task>\n").removesuffix("\n</task>"),
    )
    prompt, injected = builder.turns
    assert (prompt.text, prompt.is_meta) == ("fix the cart", False)
    assert injected.is_meta and "environment_details" in injected.text


def test_an_agent_names_its_own_result_fields() -> None:
    def amp_like(block: dict[str, Any]) -> tuple[str | None, Any, bool]:
        return block.get("toolUseID"), block.get("output"), block.get("status") == "error"

    builder = SessionBuilder("test")
    add_message(
        builder, "assistant", [{"type": "tool_use", "id": "x", "name": "Bash", "input": {}}]
    )
    add_message(
        builder,
        "user",
        [{"type": "tool_result", "toolUseID": "x", "output": "exit 1", "status": "error"}],
        result_fields=amp_like,
    )
    call = builder.turns[0].tool_calls[0]
    assert (call.result, call.is_error) == ("exit 1", True)
