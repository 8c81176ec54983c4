"""Each provider's documented request and reply shapes, through extract_knowledge."""

from __future__ import annotations

import json

import pytest
from pytest_httpx import HTTPXMock

from engram_ci.knowledge import prompts
from engram_ci.knowledge.extract import extract_knowledge
from engram_ci.transcripts.model import Usage
from tests.llm_helpers import (  # noqa: F401  (fixtures)
    ANSWER,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    anthropic_reply,
    assert_fell_back,
    body_of,
    fresh_process_warnings_fixture,
    keys_fixture,
    ollama_reply,
    openai_reply,
    warnings_fixture,
)
from tests.test_extract import fix_a_failing_test

EXPECTED_ENTRIES = {
    "decisions": "- Use pytest for every test run.",
    "solutions": "- add() subtracted; changed `a - b` to `a + b` in src/calc.py.",
    "bugs": "- tests/test_calc.py::test_add failed: assert 0 == 4.",
    "questions": "- Should negative numbers get their own test?",
    "procedures": "- uv run pytest -q",
}


@pytest.mark.usefixtures("keys")
def test_anthropic_forces_one_tool_with_the_schema_and_caches_the_system_prompt(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(
        url="https://api.anthropic.com/v1/messages", json=anthropic_reply(ANSWER)
    )
    result = extract_knowledge(fix_a_failing_test(), provider="anthropic")

    (request,) = httpx_mock.get_requests()
    assert request.method == "POST"
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = body_of(request)
    assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] > 0
    (system,) = body["system"]
    assert system == {
        "type": "text",
        "text": prompts.SYSTEM,
        "cache_control": {"type": "ephemeral"},
    }
    (tool,) = body["tools"]
    assert tool["name"] == "record_session_knowledge"
    assert tool["input_schema"] == prompts.KNOWLEDGE_SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "record_session_knowledge"}
    (message,) = body["messages"]
    assert message["role"] == "user"
    assert "The add() test fails, please fix it." in message["content"]
    assert "uv run pytest -q -> ERROR" in message["content"]

    assert result.source == "anthropic:claude-sonnet-4-5"
    assert result.confidence == "high"
    assert result.entries == EXPECTED_ENTRIES
    assert "## Summary\n\nFixed add() in src/calc.py; the suite passes." in result.summary
    assert result.usage == Usage(1200, 310, cache_read_tokens=900, cache_creation_tokens=0)


@pytest.mark.usefixtures("keys")
def test_the_cached_prefix_is_the_same_for_every_session(httpx_mock: HTTPXMock) -> None:
    from tests.test_extract import assistant, session, user

    httpx_mock.add_response(json=anthropic_reply(ANSWER), is_reusable=True)
    extract_knowledge(fix_a_failing_test(), provider="anthropic")
    extract_knowledge(session(user("another task"), assistant("done")), provider="anthropic")
    first, second = (body_of(r) for r in httpx_mock.get_requests())
    for key in ("system", "tools", "tool_choice", "model"):
        assert first[key] == second[key]
    assert first["messages"] != second["messages"]


@pytest.mark.usefixtures("keys")
def test_anthropic_text_answer_without_the_tool_is_still_read(httpx_mock: HTTPXMock) -> None:
    text = "Here is the extraction:\n```json\n" + json.dumps(ANSWER, indent=2) + "\n```\nDone."
    httpx_mock.add_response(json=anthropic_reply(text=text))
    result = extract_knowledge(fix_a_failing_test(), provider="anthropic")
    assert result.source == "anthropic:claude-sonnet-4-5"
    assert result.entries == EXPECTED_ENTRIES


@pytest.mark.usefixtures("keys")
def test_anthropic_answer_cut_at_max_tokens_falls_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(json=anthropic_reply(ANSWER, stop_reason="max_tokens"))
    session = fix_a_failing_test()
    result = extract_knowledge(session, provider="anthropic")
    assert_fell_back(result, session, warnings)
    assert "cut at max_tokens" in warnings.text


@pytest.mark.usefixtures("keys")
def test_openai_strict_json_schema(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://api.openai.com/v1/chat/completions", json=openai_reply(json.dumps(ANSWER))
    )
    result = extract_knowledge(fix_a_failing_test(), provider="openai", model="gpt-4.1-mini")

    (request,) = httpx_mock.get_requests()
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = body_of(request)
    assert body["model"] == "gpt-4.1-mini"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "record_session_knowledge",
            "strict": True,
            "schema": prompts.KNOWLEDGE_SCHEMA,
        },
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == prompts.SYSTEM
    assert "The add() test fails" in body["messages"][1]["content"]
    assert result.source == "openai:gpt-4.1-mini"
    assert result.entries == EXPECTED_ENTRIES
    # prompt_tokens includes the cached ones: input is the uncached rest
    assert result.usage == Usage(1500 - 1024, 200, cache_read_tokens=1024)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (openai_reply(None, refusal="I can't help with that."), "the model refused"),
        (openai_reply('{"decisions": [', finish_reason="length"), "cut at the token limit"),
        ({"choices": []}, "no choices[0].message"),
    ],
)
def test_openai_refusals_and_cut_answers_fall_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture, reply: dict[str, object], said: str
) -> None:
    httpx_mock.add_response(json=reply)
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="openai"), session, warnings)
    assert said in warnings.text


def test_strict_schema_rules_hold_for_openai() -> None:
    """OpenAI's strict mode refuses a schema unless every object lists all its properties as
    required and sets additionalProperties false."""

    def check(schema: dict[str, object]) -> None:
        if schema.get("type") == "object":
            properties = schema["properties"]
            assert isinstance(properties, dict)
            assert schema["required"] == list(properties)
            assert schema["additionalProperties"] is False
            for sub in properties.values():
                check(sub)
        if schema.get("type") == "array":
            items = schema["items"]
            assert isinstance(items, dict)
            check(items)

    check(prompts.KNOWLEDGE_SCHEMA)
    properties = prompts.KNOWLEDGE_SCHEMA["properties"]
    assert isinstance(properties, dict)
    assert set(properties) >= set(prompts.CATEGORY_MEANINGS)


def test_ollama_sends_the_schema_as_format_and_needs_no_key(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11500")
    httpx_mock.add_response(
        url="http://127.0.0.1:11500/api/chat", json=ollama_reply(json.dumps(ANSWER))
    )
    result = extract_knowledge(fix_a_failing_test(), provider="ollama")

    (request,) = httpx_mock.get_requests()
    assert "authorization" not in request.headers
    body = body_of(request)
    assert body["model"] == "llama3.1" and body["stream"] is False
    assert body["format"] == prompts.KNOWLEDGE_SCHEMA
    assert "The add() test fails" in body["messages"][1]["content"]
    assert result.source == "ollama:llama3.1"
    assert result.usage == Usage(800, 150)


def test_ollama_default_endpoint_and_a_cut_answer(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(
        url="http://localhost:11434/api/chat", json=ollama_reply(json.dumps(ANSWER))
    )
    assert extract_knowledge(fix_a_failing_test(), provider="ollama").source == "ollama:llama3.1"
    httpx_mock.add_response(json=ollama_reply('{"decisions": [', done_reason="length"))
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="ollama"), session, warnings)


@pytest.mark.usefixtures("keys")
def test_custom_provider_url_and_env_override(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx_mock.add_response(
        url="http://127.0.0.1:8080/proxy/v1/messages", json=anthropic_reply(ANSWER)
    )
    result = extract_knowledge(
        fix_a_failing_test(), provider="anthropic", provider_url="http://127.0.0.1:8080/proxy/"
    )
    assert result.source == "anthropic:claude-sonnet-4-5"

    monkeypatch.setenv("ENGRAM_LLM_URL", "http://127.0.0.1:9090")
    httpx_mock.add_response(
        url="http://127.0.0.1:9090/v1/chat/completions", json=openai_reply(json.dumps(ANSWER))
    )
    assert extract_knowledge(fix_a_failing_test(), provider="openai").source.startswith("openai:")
