"""Every LLM path over pytest-httpx: request shapes, parsing, retries, and the offline fallback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from engram_ci.knowledge import extract, llm
from engram_ci.knowledge.extract import extract_knowledge, extract_offline
from engram_ci.log import registered_secrets
from engram_ci.transcripts.model import Session
from tests.test_extract import fix_a_failing_test

ANTHROPIC_KEY = "sk-ant-api03-SECRETSECRETSECRET-anthropic"
OPENAI_KEY = "sk-proj-SECRETSECRETSECRET-openai"

ANSWER = {
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


@pytest.fixture(autouse=True)
def fresh_process_warnings() -> None:
    extract._said_once.clear()
    extract._stalled.clear()


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture engram_ci's records even when log.configure() turned propagation off."""
    logger = logging.getLogger("engram_ci")
    attach = not logger.propagate  # else the root handler already sees every record
    if attach:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="engram_ci")
    yield caplog
    if attach:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)


def anthropic_reply(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 20},
    }


def openai_reply(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def ollama_reply(text: str) -> dict[str, Any]:
    return {"model": "llama3.1", "message": {"role": "assistant", "content": text}, "done": True}


def body_of(request: httpx.Request) -> dict[str, Any]:
    value = json.loads(request.content)
    assert isinstance(value, dict)
    return value


def assert_fell_back(result: Any, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    assert result == extract_offline(session)
    assert "using the offline extractor" in caplog.text


# ---------------------------------------------------------------- request shapes and parsing


@pytest.mark.usefixtures("keys")
def test_anthropic_request_shape_and_answer(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://api.anthropic.com/v1/messages", json=anthropic_reply(json.dumps(ANSWER))
    )
    result = extract_knowledge(fix_a_failing_test(), provider="anthropic")

    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "POST"
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    body = body_of(request)
    assert body["model"] == "claude-sonnet-4-5"
    assert body["max_tokens"] > 0
    assert "ONE JSON object" in body["system"]
    assert "The add() test fails, please fix it." in body["messages"][0]["content"]
    assert "uv run pytest -q -> ERROR" in body["messages"][0]["content"]

    assert result.source == "anthropic:claude-sonnet-4-5"
    assert result.confidence == "high"
    assert result.entries == {
        "decisions": "- Use pytest for every test run.",
        "solutions": "- add() subtracted; changed `a - b` to `a + b` in src/calc.py.",
        "bugs": "- tests/test_calc.py::test_add failed: assert 0 == 4.",
        "questions": "- Should negative numbers get their own test?",
        "procedures": "- uv run pytest -q",
    }
    assert "## Summary\n\nFixed add() in src/calc.py; the suite passes." in result.summary
    assert result.summary.startswith("# The add() test fails")


@pytest.mark.usefixtures("keys")
def test_openai_request_shape_and_answer(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://api.openai.com/v1/chat/completions", json=openai_reply(json.dumps(ANSWER))
    )
    result = extract_knowledge(fix_a_failing_test(), provider="openai", model="gpt-4.1-mini")

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = body_of(request)
    assert body["model"] == "gpt-4.1-mini"
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "The add() test fails" in body["messages"][1]["content"]
    assert result.source == "openai:gpt-4.1-mini"
    assert result.entries["procedures"] == "- uv run pytest -q"


def test_ollama_needs_no_key_and_honours_ollama_host(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11500")
    httpx_mock.add_response(
        url="http://127.0.0.1:11500/api/chat", json=ollama_reply(json.dumps(ANSWER))
    )
    result = extract_knowledge(fix_a_failing_test(), provider="ollama")

    request = httpx_mock.get_request()
    assert request is not None
    assert "authorization" not in request.headers
    body = body_of(request)
    assert body["model"] == "llama3.1"
    assert body["stream"] is False
    assert body["format"] == "json"
    assert "The add() test fails" in body["messages"][1]["content"]
    assert result.source == "ollama:llama3.1"


def test_ollama_default_endpoint(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="http://localhost:11434/api/chat", json=ollama_reply(json.dumps(ANSWER))
    )
    assert extract_knowledge(fix_a_failing_test(), provider="ollama").source == "ollama:llama3.1"


@pytest.mark.usefixtures("keys")
def test_custom_provider_url_and_env_override(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx_mock.add_response(
        url="http://127.0.0.1:8080/proxy/v1/messages", json=anthropic_reply(json.dumps(ANSWER))
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


@pytest.mark.usefixtures("keys")
def test_fenced_json_with_prose_around_it(httpx_mock: HTTPXMock) -> None:
    text = "Here is the extraction:\n```json\n" + json.dumps(ANSWER, indent=2) + "\n```\nDone."
    httpx_mock.add_response(json=anthropic_reply(text))
    result = extract_knowledge(fix_a_failing_test(), provider="anthropic")
    assert result.source == "anthropic:claude-sonnet-4-5"
    assert result.entries["decisions"] == "- Use pytest for every test run."


@pytest.mark.usefixtures("keys")
def test_wrong_types_and_missing_keys_are_tolerated(httpx_mock: HTTPXMock) -> None:
    answer = {
        "decisions": "Keep SQLite.",
        "bugs": [{"error": "KeyError in load()", "file": "src/io.py"}, None, 42, "", "  "],
        "solutions": None,
        "procedures": ["- make test", "make test"],
        "summary": ["not", "a", "string"],
        "confidence": "certain",
    }
    httpx_mock.add_response(json=openai_reply(json.dumps(answer)))
    result = extract_knowledge(fix_a_failing_test(), provider="openai")
    assert result.entries == {
        "decisions": "- Keep SQLite.",
        "bugs": "- KeyError in load() — src/io.py\n- 42",
        "procedures": "- make test",
    }
    assert result.confidence == "medium"
    assert "## Summary" not in result.summary


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    "text",
    [
        "I could not find anything useful in this session.",
        '{"decisions": ["unterminated',
        "[1, 2, 3]",
        '{"unrelated": "keys only"}',
    ],
)
def test_garbage_answer_falls_back_with_a_warning(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture, text: str
) -> None:
    httpx_mock.add_response(json=anthropic_reply(text))
    session = fix_a_failing_test()
    result = extract_knowledge(session, provider="anthropic")
    assert_fell_back(result, session, warnings)
    assert "anthropic extraction failed for session s-1" in warnings.text


@pytest.mark.usefixtures("keys")
def test_reply_without_content_falls_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(json={"choices": []})
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="openai"), session, warnings)
    assert "no choices[0].message.content" in warnings.text


@pytest.mark.usefixtures("keys")
def test_non_json_http_body_falls_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(text="<html>gateway</html>")
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="openai"), session, warnings)
    assert "not JSON" in warnings.text


# ---------------------------------------------------------------- failures and retries


@pytest.mark.usefixtures("keys")
def test_401_falls_back_and_never_shows_the_key(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    # a hostile or buggy proxy echoing the key back must not leak it into the warning
    httpx_mock.add_response(
        status_code=401,
        json={"type": "error", "error": {"message": f"invalid x-api-key {ANTHROPIC_KEY}"}},
    )
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="anthropic"), session, warnings)
    assert "HTTP 401 (the API key was refused" in warnings.text
    assert ANTHROPIC_KEY not in warnings.text
    assert len(httpx_mock.get_requests()) == 1  # a refused key is not retried


@pytest.mark.usefixtures("keys")
def test_429_then_success_waits_for_retry_after(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "7"})
    httpx_mock.add_response(json=anthropic_reply(json.dumps(ANSWER)))
    slept: list[float] = []
    answer, model = llm.complete_json("anthropic", "sys", "user", sleep=slept.append)
    assert answer["decisions"] == ANSWER["decisions"]
    assert model == "claude-sonnet-4-5"
    assert slept == [7.0]


@pytest.mark.usefixtures("keys")
def test_429_then_success_through_extract_knowledge(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "0"})
    httpx_mock.add_response(json=openai_reply(json.dumps(ANSWER)))
    result = extract_knowledge(fix_a_failing_test(), provider="openai")
    assert result.source == "openai:gpt-4o-mini"
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.usefixtures("keys")
def test_retry_after_as_http_date(httpx_mock: HTTPXMock) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    httpx_mock.add_response(status_code=503, headers={"retry-after": when})
    httpx_mock.add_response(json=openai_reply(json.dumps(ANSWER)))
    slept: list[float] = []
    llm.complete_json("openai", "sys", "user", sleep=slept.append)
    assert len(slept) == 1 and 25 <= slept[0] <= 31


@pytest.mark.usefixtures("keys")
def test_5xx_backs_off_exponentially_then_gives_up(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, text="boom", is_reusable=True)
    slept: list[float] = []
    with pytest.raises(llm.LLMError, match="HTTP 500 \\(server error\\)") as caught:
        llm.complete_json("anthropic", "sys", "user", sleep=slept.append)
    assert slept == [1.0, 2.0, 4.0]
    assert len(httpx_mock.get_requests()) == llm.MAX_RETRIES + 1
    assert ANTHROPIC_KEY not in str(caught.value)


@pytest.mark.usefixtures("keys")
def test_500_exhausted_falls_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(status_code=529, headers={"retry-after": "0"}, is_reusable=True)
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="anthropic"), session, warnings)
    assert "HTTP 529" in warnings.text
    assert len(httpx_mock.get_requests()) == llm.MAX_RETRIES + 1


@pytest.mark.usefixtures("keys")
def test_retry_after_beyond_the_bound_is_not_waited_out(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "3600"})
    slept: list[float] = []
    with pytest.raises(llm.LLMError, match="HTTP 429 \\(rate limited"):
        llm.complete_json("openai", "sys", "user", sleep=slept.append)
    assert slept == []


@pytest.mark.usefixtures("keys")
def test_timeout_falls_back(httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("read timed out"))
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="openai"), session, warnings)
    assert "did not answer within 60 s" in warnings.text


def test_unreachable_server_falls_back(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider="ollama"), session, warnings)
    assert "cannot reach http://localhost:11434/api/chat: ConnectError" in warnings.text


@pytest.mark.parametrize(
    ("provider", "variable"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")]
)
def test_missing_key_falls_back_naming_the_variable(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture, provider: str, variable: str
) -> None:
    session = fix_a_failing_test()
    assert_fell_back(extract_knowledge(session, provider=provider), session, warnings)
    assert f"{variable} is not set: set {variable}" in warnings.text
    assert httpx_mock.get_requests() == []
    # every session of an ingest would say the same: it is said once
    extract_knowledge(session, provider=provider)
    assert warnings.text.count(f"{variable} is not set") == 1


@pytest.mark.usefixtures("keys")
def test_caller_client_is_used_and_left_open(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=anthropic_reply(json.dumps(ANSWER)))
    with httpx.Client() as client:
        extract_knowledge(fix_a_failing_test(), provider="anthropic", client=client)
        assert not client.is_closed


@pytest.mark.usefixtures("keys")
def test_keys_never_reach_logs_or_errors(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture
) -> None:
    for status in (400, 401, 403, 404, 500):
        httpx_mock.add_response(status_code=status, text=f"bad {OPENAI_KEY} {ANTHROPIC_KEY}")
    session = fix_a_failing_test()
    for provider in ("openai", "openai", "anthropic", "anthropic"):
        extract_knowledge(session, provider=provider)
    with pytest.raises(llm.LLMError) as caught:
        llm.complete_json("anthropic", "s", "u", sleep=lambda _: None, max_retries=0)
    text = warnings.text + str(caught.value)
    assert all(f"HTTP {status}" in text for status in (400, 401, 403, 404, 500))
    assert OPENAI_KEY not in text and ANTHROPIC_KEY not in text
    assert OPENAI_KEY in registered_secrets()


def test_parse_json_object_cases() -> None:
    assert llm.parse_json_object('{"a": 1}') == {"a": 1}
    assert llm.parse_json_object('```\n{"a": 1}\n```') == {"a": 1}
    assert llm.parse_json_object('Sure! {"a": {"b": 2}} hope that helps') == {"a": {"b": 2}}
    with pytest.raises(llm.LLMError, match="not a JSON object"):
        llm.parse_json_object("nothing here")


def test_the_prompt_is_bounded_and_keeps_both_ends() -> None:
    from engram_ci.knowledge import prompts
    from tests.test_extract import assistant, session, user

    long = session(
        user("FIRST PROMPT: build the parser"),
        *[assistant(f"step {i}: " + "x" * 500) for i in range(400)],
        assistant("FINAL: all done"),
    )
    text = prompts.render_session(long, budget=20_000)
    assert len(text) < 21_000
    assert "FIRST PROMPT" in text and "FINAL: all done" in text
    assert "lines omitted" in text


@pytest.mark.usefixtures("keys")
def test_cli_logging_prints_the_warning_without_the_key(httpx_mock: HTTPXMock) -> None:
    import io

    from engram_ci import log

    httpx_mock.add_response(status_code=401, text=f"invalid key {ANTHROPIC_KEY}")
    stream = io.StringIO()
    logger = logging.getLogger("engram_ci")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    log.configure(stream=stream)
    try:
        extract_knowledge(fix_a_failing_test(), provider="anthropic")
    finally:
        logger.handlers[:] = saved[0]
        logger.propagate, logger.level = saved[1], saved[2]
    printed = stream.getvalue()
    assert printed.startswith("warning: anthropic extraction failed for session s-1")
    assert "HTTP 401" in printed and ANTHROPIC_KEY not in printed


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.usefixtures("keys")
def test_a_redirect_is_not_followed_so_the_key_stays_with_its_host(
    httpx_mock: HTTPXMock, status: int
) -> None:
    """Issue 15: Anthropic's key travels in `x-api-key`, a header httpx would carry to any
    host a redirect names; the client follows none, falls back offline and says so."""
    httpx_mock.add_response(
        url="https://api.anthropic.com/v1/messages",
        status_code=status,
        headers={"Location": "https://collector.example.net/v1/messages"},
    )
    result = extract_knowledge(fix_a_failing_test(), provider="anthropic")
    assert result.source == "offline"
    assert [str(r.url.host) for r in httpx_mock.get_requests()] == ["api.anthropic.com"]


@pytest.mark.usefixtures("keys")
def test_what_a_model_is_sent_is_scrubbed_first(httpx_mock: HTTPXMock) -> None:
    """The session text leaves the machine for the model's API: ingest passes the redactor."""
    from engram_ci.sync.redact import redact_text

    httpx_mock.add_response(
        url="https://api.openai.com/v1/chat/completions", json=openai_reply(json.dumps(ANSWER))
    )
    session = fix_a_failing_test()
    token = "ghp_" + "Zq8vLx2mW9pT4kR7" * 2 + "abcd"
    session.turns[0].text += f"\nuse GITHUB_TOKEN={token}"
    extract_knowledge(session, provider="openai", scrub=redact_text)
    request = httpx_mock.get_request()
    assert request is not None and token not in request.content.decode()
