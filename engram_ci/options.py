"""Option values both faces accept, defined once: the CLI's argparse choices and the
Action's input validation read them from here, so `engram ingest --provider X` and
`provider: X` accept the same X and mean the same thing."""

from __future__ import annotations

__all__ = ["DEFAULT_PROVIDER", "PROVIDERS", "provider_or_none"]

#: knowledge extractors: `offline` needs no LLM; the others are knowledge.llm's providers
PROVIDERS = ("offline", "anthropic", "openai", "ollama")
DEFAULT_PROVIDER = "offline"


def provider_or_none(name: str | None) -> str | None:
    """The LLM provider to call, or None for the offline extractor."""
    return None if name in (None, "", DEFAULT_PROVIDER) else name
