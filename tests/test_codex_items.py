"""codex_items.py: Codex's item shapes as text — tool inputs in every form (a JSON string,
raw patch text, an object, nothing usable), message texts, outputs and their exit codes."""

from __future__ import annotations

from typing import Any

import pytest

from engram_ci.transcripts.codex_items import call_input, cwd_from_context, output_text, texts_of


@pytest.mark.parametrize(
    ("content", "texts"),
    [
        ("plain", ["plain"]),
        ([{"type": "input_text", "text": "a"}, {"type": "input_image"}, "b", {"text": 3}], ["a"]),
        (None, []),
        ({"text": "not a list"}, []),
    ],
)
def test_texts_of(content: Any, texts: list[str]) -> None:
    assert texts_of(content) == texts


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"type": "function_call", "arguments": '{"command": ["ls"]}'}, {"command": ["ls"]}),
        ({"type": "custom_tool_call", "input": "*** Begin Patch"}, {"input": "*** Begin Patch"}),
        ({"type": "function_call", "arguments": "[1, 2]"}, {"input": "[1, 2]"}),
        ({"type": "function_call", "arguments": {"path": "a.py"}}, {"path": "a.py"}),
        ({"type": "function_call", "arguments": ["a.py"]}, {}),  # no usable shape: nothing
        ({"type": "function_call"}, {}),
        ({"type": "local_shell_call", "action": {"command": ["make"]}}, {"command": ["make"]}),
        ({"type": "web_search_call", "action": "search"}, {}),
    ],
)
def test_call_inputs_in_every_shape(item: dict[str, Any], expected: dict[str, Any]) -> None:
    assert call_input(item, 1000) == expected


@pytest.mark.parametrize(
    ("output", "text", "failed"),
    [
        ("Process exited with code 2\nboom", "Process exited with code 2\nboom", True),
        ("Exit code: 0\nok", "Exit code: 0\nok", False),
        ('{"output": "x", "metadata": {"exit_code": 1}}', "x", True),
        ("{not json", "{not json", False),
        ({"content": "denied", "success": False}, "denied", True),
        ([{"type": "input_text", "text": "a"}, {"type": "input_image"}, None], "a\n[image]", False),
        (None, "", False),
    ],
)
def test_outputs_and_their_failures(output: Any, text: str, failed: bool) -> None:
    assert output_text(output, 1000) == (text, failed)


def test_the_working_directory_of_an_environment_context() -> None:
    assert (
        cwd_from_context("<environment_context><cwd>/x/app</cwd></environment_context>") == "/x/app"
    )
    assert cwd_from_context("Current working directory: /x/old \n") == "/x/old"
    assert cwd_from_context("<environment_context></environment_context>") is None
