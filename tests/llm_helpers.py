"""Replies shaped as the providers document them, and fixtures the LLM tests share
(imported by their *_fixture names, registered under the short ones).

- Anthropic Messages API: `content` blocks, a forced tool's answer as a `tool_use` block
  {id, name, input}, `stop_reason`, and `usage` with input_tokens, output_tokens,
  cache_creation_input_tokens, cache_read_input_tokens.
- OpenAI Chat Completions: `choices[0].message` {role, content, refusal}, `finish_reason`,
  `usage` {prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details.cached_tokens}.
- Ollama /api/chat (stream false): `message` {role, content}, `done`, `done_reason`,
  prompt_eval_count, eval_count.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engram_ci.knowledge import extract
from engram_ci.knowledge.extract import extract_offline
from engram_ci.transcripts.model import Session

ANTHROPIC_KEY = "sk-ant-api03-SECRETSECRETSECRET-anthropic"
OPENAI_KEY = "sk-proj-SECRETSECRETSECRET-openai"

ANSWER: dict[str, Any] = {
    "decisions": ["Use pytest for every test run."],
    "solutions": ["add() subtracted; changed `a - b` to `a + b` in src/calc.py."],
    "patterns": [],
    "bugs": ["tests/test_calc.py::test_add failed: assert 0 == 4."],
    "insights": [],
    "questions": ["Should negative numbers get their own test?"],
    "procedures": ["uv run pytest -q"],
    "summary": "Fixed add() in src/calc.py; the suite passes.",
    "confidence": "high",
}


def anthropic_reply(
    answer: dict[str, Any] | None = None,
    *,
    text: str | None = None,
    stop_reason: str = "tool_use",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if answer is not None:
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "record_session_knowledge",
                "input": answer,
            }
        )
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason if answer is not None else "end_turn",
        "stop_sequence": None,
        "usage": usage
        or {
            "input_tokens": 1200,
            "output_tokens": 310,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 900,
        },
    }


def openai_reply(
    text: str | None, *, refusal: str | None = None, finish_reason: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 1500,
            "completion_tokens": 200,
            "total_tokens": 1700,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def ollama_reply(text: str, *, done_reason: str = "stop") -> dict[str, Any]:
    return {
        "model": "llama3.1",
        "created_at": "2025-06-01T10:00:00.000000Z",
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": done_reason,
        "total_duration": 5191566416,
        "prompt_eval_count": 800,
        "eval_count": 150,
    }


def body_of(request: httpx.Request) -> dict[str, Any]:
    value = json.loads(request.content)
    assert isinstance(value, dict)
    return value


def assert_fell_back(result: Any, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    offline = extract_offline(session)
    assert (result.entries, result.summary, result.source) == (
        offline.entries,
        offline.summary,
        "offline",
    )
    assert "using the offline extractor" in caplog.text


@pytest.fixture(name="fresh_process_warnings", autouse=True)
def fresh_process_warnings_fixture() -> None:
    extract._said_once.clear()
    extract._stalled.clear()


@pytest.fixture(name="warnings")
def warnings_fixture(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture engram_ci's records even when log.configure() turned propagation off."""
    logger = logging.getLogger("engram_ci")
    attach = not logger.propagate  # else the root handler already sees every record
    if attach:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="engram_ci")
    yield caplog
    if attach:
        logger.removeHandler(caplog.handler)


@pytest.fixture(name="keys")
def keys_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
