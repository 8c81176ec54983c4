"""The knowledge extractor an ingest runs, and the redaction every extraction goes through.

The extractor is injectable (tests pass fakes; Extractor is its shape); default_extractor is
the real one (offline or a model, per --provider). Whatever extracted, `redacted` replaces
every secret before anything — blocks, context.md, the summary — derives from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from engram_ci.ingest.options import IngestOptions
from engram_ci.transcripts.model import Session, Usage

__all__ = ["ExtractionLike", "Extractor", "default_extractor", "redacted"]


class ExtractionLike(Protocol):
    """What engram_ci.knowledge.extract.Extraction provides."""

    @property
    def entries(self) -> Mapping[str, str]: ...
    @property
    def confidence(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def usage(self) -> Usage | None: ...


Extractor = Callable[[Session], ExtractionLike]


@dataclass(frozen=True)
class _RedactedExtraction:
    """An extraction with every secret in its text replaced (see `redacted`)."""

    entries: dict[str, str]
    confidence: str
    summary: str
    source: str
    usage: Usage | None


def redacted(extraction: ExtractionLike) -> ExtractionLike:
    """The extraction with every secret replaced, before anything derives from it.

    Knowledge blocks, context.md (synthesised from the blocks) and the session summary all
    come from here: a private key the extractor copied whole is one marker before synthesis
    could split it into bullets, and a command the extractor clipped mid-password loses the
    part it kept (the redactor treats a value cut by `…` as the whole value). Sync redacts
    again what it uploads.
    """
    # loaded with the extractor (see run.py's make_extract): an unchanged re-ingest never needs it
    from engram_ci.sync.redact import redact_text

    return _RedactedExtraction(
        entries={category: redact_text(body) for category, body in extraction.entries.items()},
        confidence=extraction.confidence,
        summary=redact_text(extraction.summary),
        source=extraction.source,
        usage=extraction.usage,
    )


def default_extractor(options: IngestOptions) -> Extractor:
    """The real extractor for the options' --provider/--provider-url/--model."""
    from engram_ci.knowledge.extract import extract_knowledge
    from engram_ci.sync.redact import redact_text

    def run(session: Session) -> ExtractionLike:
        return extract_knowledge(
            session,
            provider=options.provider,
            provider_url=options.provider_url,
            model=options.model,
            scrub=redact_text,  # what a model is sent leaves the machine too
        )

    return run
