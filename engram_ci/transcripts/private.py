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
"""

from __future__ import annotations

import re

__all__ = ["PRIVATE_MARK", "strip_private"]

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
