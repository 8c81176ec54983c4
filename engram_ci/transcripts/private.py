"""`<private>…</private>`: text the human marked as never to be remembered (engram's convention).

It is removed where transcript text enters the model — `lines.clip`, which every piece of text
a reader keeps passes through (prompts, replies, thinking, tool inputs and results, titles,
summaries) — so nothing downstream (archive, extraction, summaries, context, sync) ever sees
it. Removal errs on the side of forgetting:

- the tag is matched case-insensitively, with spaces allowed inside the brackets;
- nested tags count depth, so `<private>a <private>b</private> c</private>` hides all of it;
- an opening tag never closed hides everything after it in that piece of text;
- a closing tag never opened hides everything before it (its opening tag was in an earlier
  piece: a split message, a clipped line).

What was hidden becomes PRIVATE_MARK, so a reader sees that something was left out.

`scrub_session` is the safety net behind that: ingest runs it on every Session a reader
returns, so a reader that keeps some text without `clip` (a title, a joined reply) still
cannot let private text through. Turns a reader already spilled to disk (turnlog) are not
re-read for it: the readers that spill (Claude Code, Codex) clip everything they keep.
"""

from __future__ import annotations

import re
from typing import Any

from engram_ci.transcripts.model import Session

__all__ = ["PRIVATE_MARK", "scrub_session", "strip_private"]

PRIVATE_MARK = "[private]"
_TAG = re.compile(r"<\s*(/?)\s*private\s*>", re.IGNORECASE)


def strip_private(text: str) -> str:
    """`text` with every private part replaced by PRIVATE_MARK (unchanged when it has none)."""
    if "<" not in text:  # most text: one C-level scan, no regex
        return text
    kept: list[str] = []
    depth = 0
    position = 0
    for tag in _TAG.finditer(text):
        closing = bool(tag.group(1))
        if depth == 0 and closing:
            kept = [PRIVATE_MARK]  # a closer with no opener: what came before was private
        elif depth == 0:
            kept += [text[position : tag.start()], PRIVATE_MARK]
            depth = 1
        else:
            depth += -1 if closing else 1
        position = tag.end()
    if position == 0:
        return text
    if depth == 0:
        kept.append(text[position:])
    return "".join(kept)


def scrub_session(session: Session) -> None:
    """Drop private text from every text a Session holds (in place), subagents included."""
    if session.title is not None:
        session.title = strip_private(session.title)
    session.summaries = [strip_private(s) for s in session.summaries]
    if isinstance(session.turns, list):
        for turn in session.turns:
            turn.text = strip_private(turn.text)
            turn.thinking = strip_private(turn.thinking)
            for call in turn.tool_calls:
                call.input = _scrub_value(call.input)
                if call.result is not None:
                    call.result = strip_private(call.result)
    for agent in session.subagents:
        scrub_session(agent)


def _scrub_value(value: Any) -> Any:
    """`value` with private text dropped from its strings; the same object when it has none."""
    if isinstance(value, str):
        return strip_private(value)
    if isinstance(value, dict):
        scrubbed = {key: _scrub_value(item) for key, item in value.items()}
        same = all(scrubbed[key] is item for key, item in value.items())
        return value if same else scrubbed
    if isinstance(value, list):
        items = [_scrub_value(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
