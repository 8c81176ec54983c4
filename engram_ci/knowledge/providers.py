"""What each model provider is sent and what its answer looks like — and nothing else.

One `Provider` per API: a request builder that asks for an answer matching a fixed JSON
schema in the provider's own way, and a reply reader that returns that answer and the tokens
it cost. The HTTP itself (keys, retries, the deadline, checking the answer against the
schema) is llm.py's, the same for all of them.

- Anthropic Messages API: the schema is the input_schema of one tool the model must call
  (`tool_choice: {type: tool}`); the stable system prompt carries `cache_control: ephemeral`,
  which caches the tools and system prefix for the next session's request.
- OpenAI Chat Completions: `response_format: {type: json_schema, json_schema: {strict}}`.
- Ollama /api/chat: `format: <schema>`, `stream: false`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engram_ci.errors import FatalError
from engram_ci.transcripts.model import Usage

__all__ = ["PROVIDERS", "Prompt", "Provider", "ProviderError", "Reply", "Request", "get_provider"]

JsonObject = dict[str, Any]
ANTHROPIC_VERSION = "2023-06-01"
MAX_OUTPUT_TOKENS = 4096


class ProviderError(Exception):
    """The reply is not the shape the provider documents (or says the answer was cut)."""


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    schema: JsonObject
    #: names the schema (OpenAI) and the tool that answers (Anthropic): [a-zA-Z0-9_-]{1,64}
    schema_name: str


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: JsonObject


@dataclass(frozen=True)
class Reply:
    #: the structured answer when the API hands one over (Anthropic's tool input), else None
    answer: object | None
    #: the answer's text, to parse as JSON, when `answer` is None
    text: str
    usage: Usage


@dataclass(frozen=True)
class Provider:
    name: str
    default_base: str
    default_model: str
    #: environment variable holding the API key; None when the provider needs none
    key_env: str | None
    build: Callable[[str, str | None, str, Prompt], Request]
    read: Callable[[JsonObject, Prompt], Reply]


def _count(data: object, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# -- Anthropic ---------------------------------------------------------------------------------


def _anthropic_request(base: str, key: str | None, model: str, prompt: Prompt) -> Request:
    return Request(
        url=f"{base}/v1/messages",
        headers={
            "x-api-key": key or "",
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        },
        body={
            "model": model,
            "max_tokens": MAX_OUTPUT_TOKENS,
            "temperature": 0,
            # the cache prefix runs tools -> system -> messages: one breakpoint on the system
            # block caches both the schema and the instructions, identical for every session
            "system": [
                {"type": "text", "text": prompt.system, "cache_control": {"type": "ephemeral"}}
            ],
            "tools": [
                {
                    "name": prompt.schema_name,
                    "description": "Record the knowledge found in the session transcript.",
                    "input_schema": prompt.schema,
                }
            ],
            "tool_choice": {"type": "tool", "name": prompt.schema_name},
            "messages": [{"role": "user", "content": prompt.user}],
        },
    )


def _anthropic_reply(reply: JsonObject, prompt: Prompt) -> Reply:
    raw = reply.get("usage")
    usage = Usage(
        input_tokens=_count(raw, "input_tokens"),
        output_tokens=_count(raw, "output_tokens"),
        cache_read_tokens=_count(raw, "cache_read_input_tokens"),
        cache_creation_tokens=_count(raw, "cache_creation_input_tokens"),
    )
    blocks = reply.get("content")
    if not isinstance(blocks, list):
        raise ProviderError("the Anthropic reply has no content blocks")
    if reply.get("stop_reason") == "max_tokens":
        raise ProviderError(f"the Anthropic answer was cut at max_tokens ({MAX_OUTPUT_TOKENS})")
    for block in blocks:
        if (
            isinstance(block, dict)
            and block.get("type") == "tool_use"
            and block.get("name") == prompt.schema_name
        ):
            return Reply(block.get("input"), "", usage)
    # no tool call (a proxy without tool support): the text may still hold the JSON
    text = "".join(
        b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
    )
    return Reply(None, text, usage)


# -- OpenAI ------------------------------------------------------------------------------------


def _openai_request(base: str, key: str | None, model: str, prompt: Prompt) -> Request:
    # No temperature: OpenAI's reasoning models refuse any value but the default.
    return Request(
        url=f"{base}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        body={
            "model": model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": prompt.schema_name,
                    "strict": True,
                    "schema": prompt.schema,
                },
            },
        },
    )


def _openai_reply(reply: JsonObject, prompt: Prompt) -> Reply:
    raw = reply.get("usage")
    # prompt_tokens counts the cached ones too (prompt_tokens_details.cached_tokens): split
    # them out so "input" means the same uncached tokens as Anthropic's input_tokens
    cached = _count(
        raw.get("prompt_tokens_details") if isinstance(raw, dict) else None, "cached_tokens"
    )
    usage = Usage(
        input_tokens=max(0, _count(raw, "prompt_tokens") - cached),
        output_tokens=_count(raw, "completion_tokens"),
        cache_read_tokens=cached,
    )
    try:
        choice = reply["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError("the OpenAI reply has no choices[0].message") from None
    refusal = message.get("refusal") if isinstance(message, dict) else None
    if isinstance(refusal, str) and refusal:
        raise ProviderError(f"the model refused: {' '.join(refusal.split())[:200]}")
    if isinstance(choice, dict) and choice.get("finish_reason") == "length":
        raise ProviderError("the OpenAI answer was cut at the token limit")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ProviderError("the OpenAI reply's message content is not text")
    return Reply(None, content, usage)


# -- Ollama ------------------------------------------------------------------------------------


def _ollama_request(base: str, key: str | None, model: str, prompt: Prompt) -> Request:
    return Request(
        url=f"{base}/api/chat",
        headers={"content-type": "application/json"},
        body={
            "model": model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "stream": False,
            "format": prompt.schema,
            "options": {"temperature": 0},
        },
    )


def _ollama_reply(reply: JsonObject, prompt: Prompt) -> Reply:
    usage = Usage(
        input_tokens=_count(reply, "prompt_eval_count"), output_tokens=_count(reply, "eval_count")
    )
    if reply.get("done_reason") == "length":
        raise ProviderError("the Ollama answer was cut at the context or token limit")
    message = reply.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ProviderError("the Ollama reply has no message.content")
    return Reply(None, content, usage)


PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider(
        "anthropic",
        "https://api.anthropic.com",
        "claude-sonnet-4-5",
        "ANTHROPIC_API_KEY",
        _anthropic_request,
        _anthropic_reply,
    ),
    "openai": Provider(
        "openai",
        "https://api.openai.com",
        "gpt-4o-mini",
        "OPENAI_API_KEY",
        _openai_request,
        _openai_reply,
    ),
    "ollama": Provider(
        "ollama", "http://localhost:11434", "llama3.1", None, _ollama_request, _ollama_reply
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
