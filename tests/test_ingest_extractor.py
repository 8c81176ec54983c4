"""engram_ci/ingest/extractor.py: nothing an extractor returns keeps a secret."""

from __future__ import annotations

from dataclasses import dataclass, field

from engram_ci.ingest.extractor import redacted
from engram_ci.transcripts.model import Usage

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2


@dataclass
class _Extraction:
    entries: dict[str, str] = field(default_factory=dict)
    confidence: str = "high"
    summary: str = ""
    source: str = "offline"
    usage: Usage | None = None


def test_entries_and_summary_lose_their_secrets_and_the_rest_is_kept() -> None:
    usage = Usage(input_tokens=3)
    clean = redacted(
        _Extraction(
            entries={"solutions": f"export GH_TOKEN={TOKEN}", "bugs": "plain"},
            summary=f"used {TOKEN}",
            source="anthropic:m",
            usage=usage,
        )
    )
    assert TOKEN not in clean.entries["solutions"]
    assert "[REDACTED:" in clean.entries["solutions"]
    assert clean.entries["bugs"] == "plain"
    assert TOKEN not in clean.summary
    assert (clean.confidence, clean.source, clean.usage) == ("high", "anthropic:m", usage)
