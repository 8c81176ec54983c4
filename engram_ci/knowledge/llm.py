"""The one place engram-ci talks HTTP to a language model: Anthropic, OpenAI or Ollama.

Each provider is a small request builder plus a reply reader behind one interface,
`complete_json`, which asks for a strict JSON object and returns it parsed. Every failure a
caller should survive (no key, refused key, rate limits past the retries, timeouts, an answer
that is not JSON) is an `LLMError`; the extractor turns it into a warning and falls back to the
offline extractor. Keys travel only in request headers: they are registered with log.mask and
never appear in an error message.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from engram_ci.deadline import DeadlineExceeded, call_within, seconds_from_env
from engram_ci.errors import FatalError
from engram_ci.log import mask, register_secret

TIMEOUT_SECONDS = 60.0
MAX_RETRIES = 3
#: a server asking for a longer pause than this is treated as a failure, not waited out
MAX_RETRY_AFTER_SECONDS = 60.0
#: 529 is Anthropic's "overloaded"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})

JsonObject = dict[str, Any]


class LLMError(Exception):
    """Any failure of a model call; the message is one line and never holds a key."""


class MissingKeyError(LLMError):
    pass


class StalledError(LLMError):
    """No complete answer within the overall deadline: the next call would stall alike."""


def deadline_seconds() -> float:
    """One model call's overall deadline: ENGRAM_LLM_DEADLINE_SECONDS (clamped to 1-900)."""
    return seconds_from_env("ENGRAM_LLM_DEADLINE_SECONDS", 180.0, low=1.0, high=900.0)


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: JsonObject


@dataclass(frozen=True)
class Provider:
    name: str
    default_base: str
    default_model: str
    #: environment variable holding the API key; None when the provider needs none
    key_env: str | None
    build: Callable[[str, str | None, str, str, str], Request]
    read_text: Callable[[JsonObject], str]


def _anthropic_request(base: str, key: str | None, model: str, system: str, user: str) -> Request:
    return Request(
        url=f"{base}/v1/messages",
        headers={
            "x-api-key": key or "",
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        },
        body={
            "model": model,
            "max_tokens": 4096,
            "temperature": 0,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        },
    )


def _anthropic_text(reply: JsonObject) -> str:
    blocks = reply.get("content")
    if not isinstance(blocks, list):
        raise LLMError("the Anthropic reply has no content blocks")
    return "".join(
        b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
    )


def _openai_request(base: str, key: str | None, model: str, system: str, user: str) -> Request:
    # No temperature: OpenAI's reasoning models refuse any value but the default.
    return Request(
        url=f"{base}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        body={
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_object"},
        },
    )


def _openai_text(reply: JsonObject) -> str:
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("the OpenAI reply has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise LLMError("the OpenAI reply's message content is not text")
    return content


def _ollama_request(base: str, key: str | None, model: str, system: str, user: str) -> Request:
    return Request(
        url=f"{base}/api/chat",
        headers={"content-type": "application/json"},
        body={
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "stream": False,
            "format": "json",
            "options": {"temperature": 0},
        },
    )


def _ollama_text(reply: JsonObject) -> str:
    message = reply.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise LLMError("the Ollama reply has no message.content")
    return content


PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider(
        "anthropic",
        "https://api.anthropic.com",
        "claude-sonnet-4-5",
        "ANTHROPIC_API_KEY",
        _anthropic_request,
        _anthropic_text,
    ),
    "openai": Provider(
        "openai",
        "https://api.openai.com",
        "gpt-4o-mini",
        "OPENAI_API_KEY",
        _openai_request,
        _openai_text,
    ),
    "ollama": Provider(
        "ollama", "http://localhost:11434", "llama3.1", None, _ollama_request, _ollama_text
    ),
}


def get_provider(name: str) -> Provider:
    """The provider called `name`; an unknown name is the user's typo, not a model failure."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise FatalError(
            f"unknown provider {name!r}: use one of {', '.join(sorted(PROVIDERS))} or offline"
        ) from None


def resolve_base_url(provider: Provider, explicit: str | None = None) -> str:
    """--provider-url, else ENGRAM_LLM_URL, else OLLAMA_HOST (ollama), else the default."""
    url = explicit or os.environ.get("ENGRAM_LLM_URL") or ""
    if not url and provider.name == "ollama":
        url = os.environ.get("OLLAMA_HOST", "")
    url = url.strip() or provider.default_base
    if "://" not in url:  # OLLAMA_HOST is commonly written host:port
        url = f"http://{url}"
    return url.rstrip("/")


def resolve_key(provider: Provider) -> str | None:
    if provider.key_env is None:
        return None
    key = os.environ.get(provider.key_env, "").strip()
    if not key:
        raise MissingKeyError(
            f"{provider.key_env} is not set: set {provider.key_env} to use "
            f"--provider {provider.name}, or drop --provider to use the offline extractor"
        )
    register_secret(key)
    return key


def complete_json(
    provider_name: str,
    system: str,
    user: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_retries: int = MAX_RETRIES,
) -> tuple[JsonObject, str]:
    """Ask the provider for one JSON object; return it and the model that answered."""
    provider = get_provider(provider_name)
    key = resolve_key(provider)
    chosen_model = model or provider.default_model
    request = provider.build(resolve_base_url(provider, base_url), key, chosen_model, system, user)
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        reply = _post_with_retries(http, request, sleep=sleep, max_retries=max_retries)
    finally:
        if own_client:
            http.close()
    return parse_json_object(provider.read_text(reply)), chosen_model


def _post_with_retries(
    client: httpx.Client, request: Request, *, sleep: Callable[[float], None], max_retries: int
) -> JsonObject:
    deadline = deadline_seconds()
    for attempt in range(max_retries + 1):
        try:
            # never follow a redirect: the key header would go wherever the answer points
            response = call_within(
                deadline,
                lambda: client.post(
                    request.url,
                    headers=request.headers,
                    json=request.body,
                    timeout=TIMEOUT_SECONDS,
                    follow_redirects=False,
                ),
                cancel=client.close,
            )
        except DeadlineExceeded:
            raise StalledError(
                f"{request.url} sent no complete answer within {deadline:.0f}s "
                "(ENGRAM_LLM_DEADLINE_SECONDS sets the limit)"
            ) from None
        except httpx.TimeoutException:
            raise LLMError(f"{request.url} did not answer within {TIMEOUT_SECONDS:.0f} s") from None
        except httpx.HTTPError as exc:
            # type name only: some transport errors quote the request, headers included
            raise LLMError(f"cannot reach {request.url}: {type(exc).__name__}") from None
        if response.status_code in RETRYABLE_STATUS and attempt < max_retries:
            delay = _retry_delay(response, attempt)
            if delay is not None:
                sleep(delay)
                continue
        if response.status_code != 200:
            raise LLMError(_describe_failure(request.url, response))
        try:
            reply = response.json()
        except ValueError:
            raise LLMError(f"{request.url} answered with something that is not JSON") from None
        if not isinstance(reply, dict):
            raise LLMError(f"{request.url} answered with JSON that is not an object")
        return reply
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_delay(response: httpx.Response, attempt: int) -> float | None:
    """Seconds to wait before retrying: retry-after when given, else exponential backoff.

    None when the server asks for a pause longer than we are willing to wait.
    """
    header = response.headers.get("retry-after", "").strip()
    delay: float = float(2**attempt)
    if header:
        try:
            delay = float(header)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):  # the HTTP-date form
                delay = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
    delay = max(0.0, delay)
    return delay if delay <= MAX_RETRY_AFTER_SECONDS else None


def _describe_failure(url: str, response: httpx.Response) -> str:
    status = response.status_code
    detail = " ".join(response.text[:300].split())
    hint = {
        401: "the API key was refused: check it",
        403: "the API key lacks access to this model",
        404: "unknown model or endpoint: check --model and --provider-url",
        429: "rate limited past the retries: try again later",
    }.get(status, "server error" if status >= 500 else "request refused")
    return mask(f"{url} answered HTTP {status} ({hint}): {detail}")


_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def parse_json_object(text: str) -> JsonObject:
    """The JSON object in a model's answer: bare, fenced in ```json, or wrapped in prose."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise LLMError(f"the model's answer is not a JSON object: {' '.join(text[:120].split())!r}")
