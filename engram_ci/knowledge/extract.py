"""Knowledge from one parsed session: offline heuristics, or a model through llm.py.

`extract_knowledge` is what ingest calls. Without a provider (or when the model fails in any
way) it uses `extract_offline`, which needs no key and reads the session's structure rather
than guessing at prose: the commands that ran, the errors they met and the edit + re-run that
made them pass, the files touched, the choices the human stated or answered. Prose heuristics
(decision and root-cause sentences) fill in around them. The same session always gives
byte-identical output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from engram_ci.knowledge import offline, phrases, prompts, signals
from engram_ci.knowledge.blocks import KNOWLEDGE_CATEGORIES
from engram_ci.transcripts.model import Session, Usage

if TYPE_CHECKING:
    import httpx

__all__ = ["Extraction", "extract_knowledge", "extract_offline"]

logger = logging.getLogger("engram_ci")
#: warnings already given in this process that would only repeat (a missing key)
_said_once: set[str] = set()
#: providers that stalled past their deadline in this process
_stalled: set[str] = set()
#: a model may say more than the offline extractor, but a knowledge block stays a digest
MODEL_ITEMS_CAP = 12


@dataclass(frozen=True)
class Extraction:
    """What an extractor drew from one session: knowledge bullets and a summary."""

    #: category -> markdown bullets; only categories that have something
    entries: dict[str, str]
    confidence: str  # "high" | "medium" | "low"
    #: "offline" or "<provider>:<model>"
    source: str
    #: markdown for summaries/{project}/{session}.md
    summary: str
    #: tokens a model was paid for this session (also when its answer was unusable)
    usage: Usage | None = None


def extract_knowledge(
    session: Session,
    *,
    provider: str | None = None,
    provider_url: str | None = None,
    model: str | None = None,
    client: httpx.Client | None = None,
    scrub: Callable[[str], str] = str,
) -> Extraction:
    """The model's extraction when a provider is named, else (or on any failure) offline's.

    `scrub` cleans the session text a model is sent (ingest passes the redactor: a model's
    API is off this machine)."""
    if not provider or provider == "offline" or provider in _stalled:
        return extract_offline(session)
    # imported only here: httpx (and the CLI tools it pulls in) is a tenth of a second of
    # start-up that an offline ingest never needs
    from engram_ci.knowledge import llm
    from engram_ci.knowledge.providers import Prompt

    llm.get_provider(provider)  # an unknown name is a FatalError, not a fallback
    prompt = Prompt(
        prompts.SYSTEM,
        scrub(prompts.render_session(session)),
        prompts.KNOWLEDGE_SCHEMA,
        prompts.SCHEMA_NAME,
    )
    try:
        done = llm.complete_json(
            provider, prompt, model=model, base_url=provider_url, client=client
        )
    except llm.StalledError as exc:
        # a provider that stalled once would hold every later session as long: stop asking
        _stalled.add(provider)
        logger.warning("%s; using the offline extractor for the rest of this run", exc)
        return extract_offline(session)
    except llm.MissingKeyError as exc:
        # the same for every session of an ingest: say it once, not a hundred times
        if str(exc) not in _said_once:
            _said_once.add(str(exc))
            logger.warning("%s; using the offline extractor", exc)
        return extract_offline(session)
    except llm.LLMError as exc:
        logger.warning(
            "%s extraction failed for session %s (%s); using the offline extractor",
            provider,
            session.session_id,
            exc,
        )
        return replace(extract_offline(session), usage=exc.usage)
    return _from_model_answer(session, done.answer, f"{provider}:{done.model}", done.usage)


def extract_offline(session: Session) -> Extraction:
    found = offline.digest(session)  # one walk over the turns for the entries and the summary
    return Extraction(found.entries, found.confidence, "offline", found.summary())


def _from_model_answer(
    session: Session, answer: dict[str, object], source: str, usage: Usage
) -> Extraction:
    """An answer llm.complete_json checked against prompts.KNOWLEDGE_SCHEMA."""
    entries: dict[str, str] = {}
    for category in KNOWLEDGE_CATEGORIES:
        items = _as_items(answer[category])
        if items:
            entries[category] = "\n".join(f"- {item}" for item in items)
    narrative = str(answer["summary"]).strip()
    return Extraction(
        entries=entries,
        confidence=str(answer["confidence"]),
        source=source,
        summary=offline.render_summary(session, narrative or None),
        usage=usage,
    )


def _as_items(value: object) -> list[str]:
    """A list of strings as one-line bullets: markers stripped, blanks and repeats dropped."""
    items = []
    for item in value if isinstance(value, list) else []:
        text = phrases.one_line(str(item)).lstrip("-*• ").strip()
        if text:
            items.append(text)
    return signals.dedupe(items, MODEL_ITEMS_CAP)
