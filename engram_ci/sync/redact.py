"""Secret redaction: every secret in a text becomes `[REDACTED:<kind>]` before it leaves.

Knowledge is distilled from transcripts full of tokens, keys and connection strings, so sync
runs every file through `redact_files` before upload. The rules below are tried in ONE
combined regex pass (they run over every uploaded file); a rule that matches is then checked
by a small validator, because the hard part is not finding secrets but leaving alone what only
looks like one: placeholders (`sk-...`, `ghp_xxxx`, `<your-token>`, `${GITHUB_TOKEN}`,
`os.environ[...]`, `YOUR_API_KEY`, `****`), code (`token = args.token`, `password: str`) and
vendors' documented examples (anything containing EXAMPLE, like AWS's `AKIAIOSFODNN7EXAMPLE`:
public, and redacting it would only damage documentation-like knowledge).

Idempotent (sync redacts again what ingest redacted, and a second pass that changed a file
would make every push see a change): a marker is opaque. No candidate may begin or end inside
one, so its text never lends a rule a name (`[REDACTED:pypi-token]: x` is not `token: x`) or
a value; validators refuse any value containing `[REDACTED:`. And redact_text scans a text
it changed again until a pass finds nothing, so what it returns holds no hit: a fixed point
(tests/test_redact_idempotence.py searches for counterexamples).
Publishable keys (Stripe `pk_live_`, SSH/age *public* keys) are public by design: kept.
"""

from __future__ import annotations

import bisect
import functools
import re
import string
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from engram_ci.sync.secret_contexts import CONTEXT_RULES
from engram_ci.sync.secret_gate import LiteralIndex, pattern_key
from engram_ci.sync.secret_gate_table import GATE_LITERALS
from engram_ci.sync.secret_rules import VENDOR_RULES, Rule

__all__ = ["KINDS", "RedactionReport", "redact_files", "redact_text"]

MARKER = "[REDACTED:{kind}]"
_MARKER_PATTERN = re.compile(r"\[REDACTED:[a-z0-9-]{1,64}\]")


@dataclass
class RedactionReport:
    counts: Counter[str] = field(default_factory=Counter)  # kind -> how many replaced

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_RULES = VENDOR_RULES + CONTEXT_RULES


@functools.cache
def _compiled(index: int) -> re.Pattern[str]:
    """Rule `index`'s regex, compiled the first time the gate lets it be tried: compiling all
    118 at import was most of this module's start-up, and a typical ingest tries a few."""
    return re.compile(_RULES[index].pattern)


@functools.cache
def _lead(index: int) -> re.Pattern[str] | None:
    lead = _RULES[index].lead
    return re.compile(f"(?:{lead})\\Z") if lead else None


def _literal_indexes(
    table: Mapping[str, tuple[str, ...]] = GATE_LITERALS,
) -> tuple[frozenset[int], LiteralIndex, LiteralIndex]:
    """(rules that always run, the literal index of the other plain rules, of the lowered)."""
    always: set[int] = set()
    needing: tuple[dict[str, set[int]], dict[str, set[int]]] = ({}, {})
    for index, rule in enumerate(_RULES):
        literals = table.get(pattern_key(rule.pattern))
        if literals is None:  # not gated, or its pattern changed since the table was written
            always.add(index)
        for literal in literals or ():
            needing[rule.lowered].setdefault(literal, set()).add(index)
    plain, lowered = (
        LiteralIndex({literal: frozenset(ix) for literal, ix in table.items()}) for table in needing
    )
    return frozenset(always), plain, lowered


#: secret_gate.py: a rule none of whose required literals is in a text cannot match it
_UNGATED, _PLAIN_LITERALS, _LOWERED_LITERALS = _literal_indexes()

#: every kind a marker can name
KINDS: frozenset[str] = frozenset().union(*(rule.all_kinds() for rule in _RULES))

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/=")  # a blob's characters


def _ascii_lower(text: str) -> str:
    """Lowercase without changing any offset (str.lower can grow some non-ASCII letters)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _glued(text: str, start: int, end: int) -> bool:
    """True when the candidate is part of a longer word or of a base64 blob (an image, say)."""
    before = text[start - 1] if start > 0 else " "
    if before.isalnum() or before == "_":
        # ...unless it follows an escape like `\n` in JSON text
        return not (before in "ntr" and start >= 2 and text[start - 2] == "\\")
    # no blob holds a `_` or `-`: beside those a `/` is a path's (`/v1/ghp_…`)
    return _BASE64.issuperset(text[start:end]) and _in_blob(text, start, end)


#: base64 characters running on from a candidate that make it part of a blob: an image is
#: kilobytes of them, while a path (`s3/AKIA…`, `/home/me/keys/AKIA…`) breaks at `.-_ `
_BLOB_REACH = 64


def _in_blob(text: str, start: int, end: int) -> bool:
    """At least _BLOB_REACH base64 characters run on from the candidate, either side
    together (counted no further than that, so a huge blob costs no more)."""
    reach = 0
    index = start - 1
    while index >= 0 and reach < _BLOB_REACH and text[index] in _BASE64:
        reach, index = reach + 1, index - 1
    index = end
    while index < len(text) and reach < _BLOB_REACH and text[index] in _BASE64:
        reach, index = reach + 1, index + 1
    return reach >= _BLOB_REACH


@dataclass(frozen=True)
class _Hit:
    end: int  # where its match ends
    secret: tuple[int, int]  # the span replaced
    kind: str


def _lead_start(index: int, text: str, start: int) -> int | None:
    """Where rule `index`'s candidate begins, given its match begins at `start`."""
    lead = _lead(index)
    if lead is None:
        return start
    found = lead.search(text, max(0, start - _RULES[index].lead_max), start)
    return None if found is None else found.start()


_NEXT_PAIR = re.compile(r"[;&][\w .-]{1,40}=|\\[nrt\"]")  # query/connection-string pair, escape
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _trim_bare(value: str) -> str:
    """A bare value ends before the next `;key=`/`&key=` pair, a `\\n` escape, and a trailing
    `,` `;` `.` or a closing bracket it never opened (`f(password=X)`, `{ key: X }`)."""
    cut = _NEXT_PAIR.search(value, 1)
    if cut is not None:
        value = value[: cut.start()]
    while value and (
        value[-1] in ",;"
        or (value[-1] in _CLOSERS and value.count(_CLOSERS[value[-1]]) < value.count(value[-1]))
    ):
        value = value[:-1]
    return value


def _value_span(rule: Rule, match: re.Match[str]) -> tuple[int, int, bool]:
    """(start, end, quoted) of a context rule's value."""
    group = next(g for g in rule.value_groups if match.group(g) is not None)
    start, end = match.span(group)
    quoted = group != rule.value_groups[-1] or len(rule.value_groups) == 1
    if not quoted:
        end = start + len(_trim_bare(match.string[start:end]))
    return start, end, quoted


def _accept(index: int, text: str, start: int, match: re.Match[str]) -> _Hit | None:
    """The hit, if rule `index`'s match is a real-looking secret rather than a look-alike."""
    rule = _RULES[index]
    if rule.word_start and _glued(text, start, match.end()):
        return None
    if rule.judge is not None:
        value_start, value_end, quoted = _value_span(rule, match)
        value = text[value_start:value_end]
        kind = rule.judge(text[start:value_end], value, quoted)
        if kind is None:
            return None
        inner = _specific_secret_in(value)  # a vendor token as the value: name it by its kind
        return _Hit(value_end, (value_start, value_end), inner or kind)
    group = rule.group
    if not rule.valid(text[match.start(group) : match.end(group)]):
        return None
    kind = rule.kind if isinstance(rule.kind, str) else rule.kind(text[start : match.end()])
    if kind is None:
        return None
    if group == 0:
        return _Hit(match.end(), (start, match.end()), kind)
    inner = _specific_secret_in(text[match.start(group) : match.end(group)])  # a token as password
    return _Hit(match.end(), match.span(group), inner or kind)


def _hits(text: str, rules: range, *, gated: bool = True) -> list[_Hit]:
    """Accepted secrets in `text`, leftmost first (then the first rule listed), none overlapping.
    gated=False tries every rule (what the gate must never differ from: the tests' yardstick)."""
    lowered = _ascii_lower(text)
    if gated:
        possible = _PLAIN_LITERALS.keys_in(text) | _LOWERED_LITERALS.keys_in(lowered) | _UNGATED
    else:
        possible = set(rules)
    candidates: list[tuple[int, int, re.Match[str]]] = []
    for index in rules:
        if index not in possible:
            continue  # finditer would find nothing (secret_gate.py): skipped in C, not tried
        subject = lowered if _RULES[index].lowered else text
        for match in _compiled(index).finditer(subject):
            start = _lead_start(index, text, match.start())
            if start is not None:
                candidates.append((start, index, match))
    candidates.sort(key=lambda c: (c[0], c[1]))
    markers = _marker_edges(text) if candidates else []
    hits: list[_Hit] = []
    taken = 0  # text before this offset belongs to an accepted secret
    for start, index, match in candidates:
        if start < taken or _cuts_a_marker(markers, start, match.end()):
            continue
        hit = _accept(index, text, start, match)
        if hit is not None:
            hits.append(hit)
            taken = hit.end
    return hits


def _marker_edges(text: str) -> list[int]:
    """[start, end, start, end...] of the markers already in `text` (sorted, disjoint)."""
    if "[REDACTED:" not in text:
        return []
    return [edge for found in _MARKER_PATTERN.finditer(text) for edge in found.span()]


def _cuts_a_marker(edges: list[int], start: int, end: int) -> bool:
    """True when the candidate text[start:end] begins or ends inside a marker (at its `[` or
    its `]` included): a marker's text is no name, lead or value (`[REDACTED:api-key]: x` is
    not `key: x`). A candidate holding a whole marker is left to the validators."""
    if not edges:
        return False
    # an odd insertion point: the offset is past a marker's start and not past its end
    return bisect.bisect_right(edges, start) % 2 == 1 or bisect.bisect_left(edges, end) % 2 == 1


def _specific_secret_in(value: str) -> str | None:
    hits = _hits(value, range(len(VENDOR_RULES)))
    return hits[0].kind if hits else None


def redact_text(text: str, report: RedactionReport | None = None) -> str:
    """Replace every secret in `text` with `[REDACTED:kind]`: a text with no secret left, so
    redacting it again changes nothing.

    One pass is not always enough: a pass skips every candidate that overlaps an accepted
    secret, and what it skipped can stand alone once that secret is a marker (a rule's next
    match hidden inside its own overlapping one, a name glued to the end of a PEM block). So
    a text with secrets is scanned again until a pass finds none. It ends: each pass turns
    text outside markers into a marker, and no hit begins inside one. A text without secrets
    (nearly all) is scanned once.
    """
    hits = _hits(text, range(len(_RULES)))
    for _ in range(_MAX_PASSES):
        if not hits:
            break
        text = _replace(text, hits, report)
        hits = _hits(text, range(len(_RULES)))
    return text


#: among 6,000 glued and repeated mixtures of the corpus, one text needed a second replacing
#: pass and none a third; the bound only keeps a rule that matched its own marker (none does:
#: tests/test_redact.py) from looping forever
_MAX_PASSES = 8


def _replace(text: str, hits: list[_Hit], report: RedactionReport | None) -> str:
    pieces: list[str] = []
    copied = 0  # text[:copied] is already in pieces
    for hit in hits:
        pieces.append(text[copied : hit.secret[0]])
        pieces.append(MARKER.format(kind=hit.kind))
        copied = hit.secret[1]
        if report is not None:
            report.counts[hit.kind] += 1
    pieces.append(text[copied:])
    return "".join(pieces)


def redact_files(files: Mapping[str, str]) -> tuple[dict[str, str], RedactionReport]:
    report = RedactionReport()
    return {name: redact_text(text, report) for name, text in files.items()}, report
