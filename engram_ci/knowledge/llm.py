"""The one place engram-ci talks HTTP to a language model: Anthropic, OpenAI or Ollama.

`complete_json` sends ONE request asking for an answer that matches a fixed JSON schema
(each provider's own way of holding a model to a schema: providers.py) and returns the
answer, the model and the tokens it cost. Every failure a caller should survive (no key,
refused key, rate limits past the retries, the deadline, a reply that is not JSON or does not
match the schema) is an `LLMError`; the extractor turns it into a warning and falls back to
the offline extractor. The whole call — retries and waits included — ends by its deadline,
and a reply is read a chunk at a time so a server trickling bytes cannot hold it past that.
Keys travel only in request headers: they are registered with log.mask and never appear in
an error message.
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
from engram_ci.knowledge.providers import (
    Prompt,
    Provider,
    ProviderError,
    Request,
    get_provider,
)
from engram_ci.log import mask, register_secret
from engram_ci.transcripts.model import Usage

__all__ = [
    "MAX_REPLY_BYTES",
    "MAX_RETRIES",
    "Completion",
    "LLMError",
    "MissingKeyError",
    "StalledError",
    "complete_json",
    "deadline_seconds",
    "get_provider",
    "parse_json_object",
    "schema_errors",
]

#: one attempt's wait for the server (connect, or the next bytes of the reply)
TIMEOUT_SECONDS = 60.0
#: the whole call: every attempt, every retry wait
DEADLINE_SECONDS = 180.0
MAX_RETRIES = 3
#: a server asking for a longer pause than this is treated as a failure, not waited out
MAX_RETRY_AFTER_SECONDS = 60.0
#: 529 is Anthropic's "overloaded"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})
#: a structured answer is a few KB; anything past this is not one
MAX_REPLY_BYTES = 4 * 1024 * 1024

JsonObject = dict[str, Any]


class LLMError(Exception):
    """Any failure of a model call; the message is one line and never holds a key."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        #: tokens the provider charged even though the answer was unusable
        self.usage = usage


class MissingKeyError(LLMError):
    pass


class StalledError(LLMError):
    """No complete answer within the overall deadline: the next call would stall alike."""


def deadline_seconds() -> float:
    """One model call's overall deadline: ENGRAM_LLM_DEADLINE_SECONDS (clamped to 1-900)."""
    return seconds_from_env("ENGRAM_LLM_DEADLINE_SECONDS", DEADLINE_SECONDS, low=1.0, high=900.0)


@dataclass(frozen=True)
class Completion:
    answer: JsonObject
    model: str
    usage: Usage


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
    prompt: Prompt,
    *,
    model: str | None = None,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_retries: int = MAX_RETRIES,
    deadline: float | None = None,
) -> Completion:
    """Ask the provider for one answer matching `prompt.schema`, within `deadline` seconds."""
    provider = get_provider(provider_name)
    key = resolve_key(provider)
    chosen_model = model or provider.default_model
    request = provider.build(resolve_base_url(provider, base_url), key, chosen_model, prompt)
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        reply = _post_with_retries(
            http,
            request,
            _Deadline(clock, deadline_seconds() if deadline is None else deadline),
            sleep=sleep,
            max_retries=max_retries,
        )
    finally:
        if own_client:
            http.close()
    try:
        read = provider.read(reply, prompt)
    except ProviderError as error:
        raise LLMError(str(error)) from None
    answer = read.answer if read.answer is not None else parse_json_object(read.text, read.usage)
    problems = schema_errors(answer, prompt.schema)
    if problems:
        raise LLMError(f"the answer does not match the schema: {problems[0]}", read.usage)
    assert isinstance(answer, dict)  # schema_errors checked the top-level type
    return Completion(answer, chosen_model, read.usage)


@dataclass
class _Deadline:
    clock: Callable[[], float]
    seconds: float

    def __post_init__(self) -> None:
        self.end = self.clock() + self.seconds

    def left(self) -> float:
        return self.end - self.clock()


def _post_with_retries(
    client: httpx.Client,
    request: Request,
    deadline: _Deadline,
    *,
    sleep: Callable[[float], None],
    max_retries: int,
) -> JsonObject:
    for attempt in range(max_retries + 1):
        status, headers, body = _post(client, request, deadline)
        if status in RETRYABLE_STATUS and attempt < max_retries:
            delay = _retry_delay(headers, attempt)
            if delay is not None and delay < deadline.left():
                sleep(delay)
                continue
        if status != 200:
            raise LLMError(_describe_failure(request.url, status, body))
        try:
            reply = json.loads(body)
        except ValueError:
            raise LLMError(f"{request.url} answered with something that is not JSON") from None
        if not isinstance(reply, dict):
            raise LLMError(f"{request.url} answered with JSON that is not an object")
        return reply
    raise AssertionError("unreachable: the last attempt returns or raises")


def _post(
    client: httpx.Client, request: Request, deadline: _Deadline
) -> tuple[int, httpx.Headers, bytes]:
    """One POST read whole, but never past the deadline nor past MAX_REPLY_BYTES.

    The body is read in chunks against the deadline; a server that trickles its status line
    or headers never reaches that loop, so the whole call also runs within the deadline
    (engram_ci.deadline) and the client is closed on it.
    """
    left = deadline.left()
    if left <= 0:
        raise StalledError(
            f"{request.url} gave no answer within the {deadline.seconds:.0f} s deadline"
        )
    try:
        return call_within(left, lambda: _read(client, request, deadline), cancel=client.close)
    except DeadlineExceeded:
        raise StalledError(
            f"{request.url} sent no complete answer within {deadline.seconds:.0f}s "
            "(ENGRAM_LLM_DEADLINE_SECONDS sets the limit)"
        ) from None


def _read(
    client: httpx.Client, request: Request, deadline: _Deadline
) -> tuple[int, httpx.Headers, bytes]:
    wait = min(TIMEOUT_SECONDS, deadline.left())
    chunks: list[bytes] = []
    size = 0
    try:
        # never follow a redirect: the key header would go wherever the answer points
        with client.stream(
            "POST",
            request.url,
            headers=request.headers,
            json=request.body,
            timeout=wait,
            follow_redirects=False,
        ) as response:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise LLMError(
                        f"{request.url} answered with more than {MAX_REPLY_BYTES:,} bytes"
                    )
                if deadline.left() <= 0:
                    late = f"the {deadline.seconds:.0f} s deadline"
                    raise StalledError(f"{request.url} was still answering at {late}")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)
    except httpx.TimeoutException:
        raise LLMError(f"{request.url} did not answer within {wait:.0f} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # type name only: some transport errors quote the request, headers included
        raise LLMError(f"cannot reach {request.url}: {type(exc).__name__}") from None


def _retry_delay(headers: httpx.Headers, attempt: int) -> float | None:
    """Seconds to wait before retrying: retry-after when given, else exponential backoff.

    None when the server asks for a pause longer than we are willing to wait.
    """
    header = headers.get("retry-after", "").strip()
    delay: float = float(2**attempt)
    if header:
        try:
            delay = float(header)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):  # the HTTP-date form
                delay = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
    delay = max(0.0, delay)
    return delay if delay <= MAX_RETRY_AFTER_SECONDS else None


def _describe_failure(url: str, status: int, body: bytes) -> str:
    detail = " ".join(body[:300].decode("utf-8", "replace").split())
    hint = {
        401: "the API key was refused: check it",
        403: "the API key lacks access to this model",
        404: "unknown model or endpoint: check --model and --provider-url",
        429: "rate limited past the retries: try again later",
    }.get(status, "server error" if status >= 500 else "request refused")
    return mask(f"{url} answered HTTP {status} ({hint}): {detail}")


_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def parse_json_object(text: str, usage: Usage | None = None) -> JsonObject:
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
    raise LLMError(
        f"the model's answer is not a JSON object: {' '.join(text[:120].split())!r}", usage
    )


def schema_errors(value: object, schema: JsonObject, where: str = "answer") -> list[str]:
    """Where `value` breaks `schema` (empty: it matches). The subset our schemas use: type
    object/array/string, properties, required, additionalProperties false, items, enum."""
    kind = schema.get("type")
    expected = {"object": dict, "array": list, "string": str}.get(str(kind))
    if expected is not None and not isinstance(value, expected):
        return [f"{where} is not a{'n' if kind in ('object', 'array') else ''} {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} is {value!r}, not one of {schema['enum']}"]
    problems: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{where} lacks {k!r}" for k in schema.get("required", ()) if k not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{where} has unexpected {k!r}" for k in value if k not in properties]
        for name, sub in properties.items():
            if name in value:
                problems += schema_errors(value[name], sub, f"{where}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += schema_errors(item, schema["items"], f"{where}[{index}]")
    return problems
