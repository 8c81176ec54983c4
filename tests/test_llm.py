"""The model call itself over pytest-httpx: retries, the deadline, the schema check, tokens,
and the offline fallback on any failure. Request/reply shapes per provider: test_providers.py.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from engram_ci.knowledge import llm, prompts
from engram_ci.knowledge.extract import extract_knowledge
from engram_ci.knowledge.providers import Prompt
from engram_ci.log import registered_secrets
from engram_ci.transcripts.model import Usage
from tests.llm_helpers import (  # noqa: F401  (fixtures)
    ANSWER,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    anthropic_reply,
    assert_fell_back,
    fresh_process_warnings_fixture,
    keys_fixture,
    openai_reply,
    warnings_fixture,
)
from tests.test_extract import fix_a_failing_test

PROMPT = Prompt("sys", "user", prompts.KNOWLEDGE_SCHEMA, prompts.SCHEMA_NAME)


# ---------------------------------------------------------------- the answer's shape


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in ANSWER.items() if k != key}


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({**ANSWER, "decisions": "Keep SQLite."}, "answer.decisions is not an array"),
        ({**ANSWER, "bugs": ["ok", 42]}, "answer.bugs[1] is not a string"),
        ({**ANSWER, "confidence": "certain"}, "answer.confidence is 'certain', not one of"),
        ({**ANSWER, "summary": None}, "answer.summary is not a string"),
        ({**ANSWER, "extra": []}, "answer has unexpected 'extra'"),
        (_without("solutions"), "answer lacks 'solutions'"),
    ],
)
def test_an_answer_off_the_schema_falls_back_and_its_tokens_still_count(
    httpx_mock: HTTPXMock, warnings: pytest.LogCaptureFixture, answer: dict[str, Any], said: str
) -> None:
    httpx_mock.add_response(json=anthropic_reply(answer))
    session = fix_a_failing_test()
    result = extract_knowledge(session, provider="anthropic")
    assert_fell_back(result, session, warnings)
    assert f"does not match the schema: {said}" in warnings.text
    assert result.usage == Usage(1200, 310, cache_read_tokens=900)


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
    httpx_mock.add_response(json=openai_reply(text))
    session = fix_a_failing_test()
    result = extract_knowledge(session, provider="openai")
    assert_fell_back(result, session, warnings)
    assert "openai extraction failed for session s-1" in warnings.text


@pytest.mark.usefixtures("keys")
def test_items_become_one_line_bullets_without_repeats(httpx_mock: HTTPXMock) -> None:
    answer = {**ANSWER, "procedures": ["- make test", "make test", "  ", "run\n  `make lint`"]}
    httpx_mock.add_response(json=openai_reply(json.dumps(answer)))
    result = extract_knowledge(fix_a_failing_test(), provider="openai")
    assert result.entries["procedures"] == "- make test\n- run `make lint`"


def test_schema_errors() -> None:
    schema = prompts.KNOWLEDGE_SCHEMA
    assert llm.schema_errors(ANSWER, schema) == []
    assert llm.schema_errors([], schema) == ["answer is not an object"]
    assert llm.schema_errors({**ANSWER, "patterns": [["x"]]}, schema) == [
        "answer.patterns[0] is not a string"
    ]


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
    httpx_mock.add_response(json=anthropic_reply(ANSWER))
    slept: list[float] = []
    done = llm.complete_json("anthropic", PROMPT, sleep=slept.append)
    assert done.answer["decisions"] == ANSWER["decisions"]
    assert done.model == "claude-sonnet-4-5"
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
    llm.complete_json("openai", PROMPT, sleep=slept.append)
    assert len(slept) == 1 and 25 <= slept[0] <= 31


@pytest.mark.usefixtures("keys")
def test_5xx_backs_off_exponentially_then_gives_up(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, text="boom", is_reusable=True)
    slept: list[float] = []
    with pytest.raises(llm.LLMError, match="HTTP 500 \\(server error\\)") as caught:
        llm.complete_json("anthropic", PROMPT, sleep=slept.append)
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
        llm.complete_json("openai", PROMPT, sleep=slept.append)
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
    httpx_mock.add_response(json=anthropic_reply(ANSWER))
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
        llm.complete_json("anthropic", PROMPT, sleep=lambda _: None, max_retries=0)
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


# ---------------------------------------------------------------- the deadline


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.usefixtures("keys")
def test_a_retry_wait_past_the_deadline_is_not_taken(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "30"})
    slept: list[float] = []
    with pytest.raises(llm.LLMError, match="HTTP 429"):
        llm.complete_json("openai", PROMPT, sleep=slept.append, deadline=20)
    assert slept == [] and len(httpx_mock.get_requests()) == 1


@pytest.mark.usefixtures("keys")
def test_waits_count_against_the_deadline(httpx_mock: HTTPXMock) -> None:
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.now += seconds

    httpx_mock.add_response(status_code=503, headers={"retry-after": "8"}, is_reusable=True)
    with pytest.raises(llm.LLMError, match="HTTP 503"):
        llm.complete_json("openai", PROMPT, sleep=sleep, clock=clock, deadline=20)
    # 8 s, 8 s, then a third wait would end past 20 s: the last answer stands
    assert clock.now == 1016.0 and len(httpx_mock.get_requests()) == 3


@pytest.mark.usefixtures("keys")
def test_each_attempt_waits_no_longer_than_the_time_left(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=anthropic_reply(ANSWER))
    llm.complete_json("anthropic", PROMPT, deadline=12)
    (request,) = httpx_mock.get_requests()
    timeout = request.extensions["timeout"]
    assert 0 < timeout["read"] <= 12 and 0 < timeout["connect"] <= 12


@pytest.mark.usefixtures("keys")
def test_a_server_trickling_its_answer_is_cut_at_the_deadline(httpx_mock: HTTPXMock) -> None:
    clock = FakeClock()

    def trickle() -> Any:
        for _ in range(100):
            clock.now += 5  # every chunk arrives within the read timeout, the whole does not
            yield b" "

    httpx_mock.add_callback(lambda request: httpx.Response(200, content=trickle()))
    with pytest.raises(llm.LLMError, match="still answering at the 60 s deadline"):
        llm.complete_json("openai", PROMPT, clock=clock, deadline=60)


@pytest.mark.usefixtures("keys")
def test_a_huge_reply_is_refused(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(content=b"x" * (llm.MAX_REPLY_BYTES + 1))
    with pytest.raises(llm.LLMError, match="more than"):
        llm.complete_json("openai", PROMPT)


# ---------------------------------------------------------------- tokens in the ingest report


@pytest.mark.usefixtures("keys")
def test_ingest_json_reports_model_sessions_fallbacks_and_tokens(
    httpx_mock: HTTPXMock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engram_ci.cli import app as cli

    # three sample sessions: two answered, one answer off the schema (its tokens still count)
    httpx_mock.add_response(json=anthropic_reply(ANSWER))
    httpx_mock.add_response(json=anthropic_reply({**ANSWER, "confidence": "sure"}))
    httpx_mock.add_response(json=anthropic_reply(ANSWER))
    code = cli.main(
        ["ingest", "--samples", "--provider", "anthropic", "--json", "--no-codex",
         "--memory-dir", str(tmp_path / "memory")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["llm"] == {
        "provider": "anthropic",
        "sessions": 2,
        "fallbacks": 1,
        "tokens": {"input": 3600, "output": 930, "cache_read": 2700, "cache_write": 0},
    }
    assert len(httpx_mock.get_requests()) == 3  # one request per session


def test_offline_ingest_reports_no_model_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engram_ci.cli import app as cli

    assert cli.main(["ingest", "--samples", "--json", "--memory-dir", str(tmp_path / "m")]) == 0
    llm_part = json.loads(capsys.readouterr().out)["llm"]
    assert llm_part == {
        "provider": "offline",
        "sessions": 0,
        "fallbacks": 0,
        "tokens": {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0},
    }


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


@pytest.mark.usefixtures("keys")
def test_an_unusable_provider_url_falls_back(warnings: pytest.LogCaptureFixture) -> None:
    session = fix_a_failing_test()
    result = extract_knowledge(session, provider="openai", provider_url="http://[::1")
    assert_fell_back(result, session, warnings)
    assert "InvalidURL" in warnings.text
