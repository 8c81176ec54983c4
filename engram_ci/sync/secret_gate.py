"""Which redaction rules can match a text at all, decided by one scan for literals.

Ingest redacts every extraction (a thousand-odd short texts per history), and for a short
text the cost of redaction is not the regex scanning but trying a hundred-odd rules one by one
from Python. Almost every rule's pattern has literals of which any match must contain one
(`sk-`, `ghp_`/`gho_`/..., `password`); LiteralIndex finds, in one regex pass, which of all
the rules' literals occur in a text, and only the rules whose literal occurs are scanned.

The literals are derived from the patterns themselves by CPython's own regex parser, never
written by hand, and the derivation only ever proves "no match possible": every construct it
does not understand is treated as "could be anything" (the rule then always runs). So a
skipped rule is one whose finditer would have found nothing, and redaction's output cannot
change (tests/test_secret_gate.py holds the gated redactor to the ungated one). Parsing a
hundred-odd patterns at every start-up would cost more than the gate saves an ingest, so the
derived table is kept in secret_gate_table.py (`python -m engram_ci.sync.secret_gate` writes
it; the tests fail, naming that command, when a rule changes and the table does not).
"""

from __future__ import annotations

import importlib
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "GATE_CHARS",
    "LiteralIndex",
    "gate_table",
    "main",
    "pattern_key",
    "required_literals",
]

#: CPython's regex parser (the deprecated public name is sre_parse); private but unchanged in
#: shape since Python 2, and any surprise from it only makes a rule ungated (see _required)
_parser: Any = importlib.import_module("re._parser")

_CASE_FLAGS = 2 | 4  # re.IGNORECASE, re.LOCALE: literals would no longer be literal
_MAX_STRINGS = 64  # an alternation's spelled-out strings, beyond which we stop spelling
_MAX_COPIES = 3  # `x{2}` is spelled out, `x{5,}` is not
#: shorter literals (one capital letter...) occur in nearly every text: gating on them would
#: cost more than it saves
MIN_LITERAL = 2
#: literals are cut to this many characters (a prefix of a required literal is required too):
#: a smaller index regex, compiled faster, that rules out nearly as much
GATE_CHARS = 4


def pattern_key(pattern: str) -> str:
    """What secret_gate_table.py files a pattern's literals under: a rule whose pattern
    changed finds no entry and is simply not gated until the table is written again (and
    the tests fail until it is). CRC-32 and its length: zlib is loaded already, while
    hashlib would load OpenSSL, a quarter of this module's start-up."""
    return f"{zlib.crc32(pattern.encode()):08x}{len(pattern):04x}"


def gate_table(patterns: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """pattern_key -> the pattern's required literals cut to GATE_CHARS (gated ones only)."""
    table = {}
    for pattern in patterns:
        literals = required_literals(pattern)
        if literals is not None:
            table[pattern_key(pattern)] = tuple(sorted({lit[:GATE_CHARS] for lit in literals}))
    return table


class LiteralIndex:
    """Which keys' literals occur in a text, from one regex pass.

    The literals are compiled into a trie-shaped regex, so at any position it matches the
    LONGEST literal starting there; every other literal starting there is a prefix of that
    one, and `_closure` maps each literal to the keys of itself and of all its prefixes. The
    search then resumes one character later, so overlapping literals are all seen.
    """

    def __init__(self, keys_by_literal: Mapping[str, frozenset[int]]) -> None:
        self._closure = {
            literal: frozenset().union(
                *(keys for other, keys in keys_by_literal.items() if literal.startswith(other))
            )
            for literal in keys_by_literal
        }
        trie: dict[str, Any] = {}
        for literal in keys_by_literal:
            node = trie
            for char in literal:
                node = node.setdefault(char, {})
            node[""] = {}  # a literal ends here
        self._pattern = re.compile(_trie_regex(trie)) if trie else None

    def keys_in(self, text: str) -> set[int]:
        found: set[int] = set()
        if self._pattern is None:
            return found
        search, closure = self._pattern.search, self._closure
        match = search(text)
        while match is not None:
            found |= closure[match.group()]
            match = search(text, match.start() + 1)
        return found


def _trie_regex(node: dict[str, Any]) -> str:
    """`node`'s subtree as a regex: greedy, and the path through it fixed by the text (siblings
    differ in their first character), so it matches the longest literal it can."""
    children = [re.escape(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not children:
        return ""
    body = children[0] if len(children) == 1 else f"(?:{'|'.join(children)})"
    return f"(?:{body})?" if "" in node else body


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which every match of `pattern` contains at least one, or None when no such
    set could be proven (or only one holding the empty string, which proves nothing)."""
    try:
        parsed = _parser.parse(pattern)
    except Exception:  # any parser surprise: the rule is simply not gated
        return None
    if parsed.state.flags & _CASE_FLAGS:
        return None
    found = _required(list(parsed))
    if found is None or min(map(len, found)) < MIN_LITERAL:
        return None
    return frozenset(found)


def _name(op: Any) -> str:
    return str(getattr(op, "name", op))


def _exact(items: Iterable[tuple[Any, Any]]) -> set[str] | None:
    """Every string `items` can match, when that is a short list of fixed strings."""
    strings = {""}
    for op, av in items:
        options = _exact_item(_name(op), av)
        if options is None:
            return None
        strings = {s + o for s in strings for o in options}
        if len(strings) > _MAX_STRINGS:
            return None
    return strings


def _exact_item(name: str, av: Any) -> set[str] | None:
    if name == "LITERAL":
        return {chr(av)}
    if name == "IN":
        if all(_name(op) == "LITERAL" for op, _ in av) and len(av) <= 8:
            return {chr(code) for _, code in av}
        return None
    if name == "BRANCH":
        union: set[str] = set()
        for branch in av[1]:
            options = _exact(branch)
            if options is None:
                return None
            union |= options
        return union if len(union) <= _MAX_STRINGS else None
    if name == "SUBPATTERN":
        _group, add_flags, _del_flags, inner = av
        return None if add_flags & _CASE_FLAGS else _exact(inner)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, inner = av
        body = _exact(inner)
        if body is None or high > _MAX_COPIES:
            return None
        strings: set[str] = set()
        for copies in range(low, high + 1):
            spelled = {""}
            for _ in range(copies):
                spelled = {s + b for s in spelled for b in body}
            strings |= spelled
        return strings if len(strings) <= _MAX_STRINGS else None
    return None  # anchors, lookarounds, classes, categories, backreferences: not spelled


def _required(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The most selective any-of set that every match of the sequence `items` must contain."""
    candidates: list[set[str]] = []
    run: set[str] | None = None  # the strings of the current stretch of fixed items
    for op, av in items:
        name = _name(op)
        options = _exact_item(name, av)
        if options is not None:
            joined = options if run is None else {r + o for r in run for o in options}
            if len(joined) <= _MAX_STRINGS:
                run = joined
            else:  # too many spellings: the stretch so far is one candidate, a new one starts
                candidates.append(run or set())
                run = options
            continue
        if run is not None:
            candidates.append(run)
        run = None
        inner = _required_inside(name, av)
        if inner is not None:
            candidates.append(inner)
    if run is not None:
        candidates.append(run)
    useful = [c for c in candidates if "" not in c]
    if not useful:
        return None
    return max(useful, key=lambda strings: min(len(s) for s in strings))


def _required_inside(name: str, av: Any) -> set[str] | None:
    """What a group, a repeat of at least one, or an alternation requires of its text."""
    if name == "SUBPATTERN":
        _group, add_flags, _del_flags, inner = av
        return None if add_flags & _CASE_FLAGS else _required(list(inner))
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT", "ATOMIC_GROUP"):
        low = av[0] if name != "ATOMIC_GROUP" else 1
        inner = av[2] if name != "ATOMIC_GROUP" else av
        return _required(list(inner)) if low >= 1 else None
    if name == "BRANCH":
        union: set[str] = set()
        for branch in av[1]:
            found = _required(list(branch))
            if found is None:
                return None
            union |= found
        return union
    return None


def main() -> None:
    """Print secret_gate_table.py for the redactor's current rules."""
    from engram_ci.sync.secret_contexts import CONTEXT_RULES
    from engram_ci.sync.secret_rules import VENDOR_RULES

    table = gate_table(rule.pattern for rule in VENDOR_RULES + CONTEXT_RULES)
    print('"""Written by `python -m engram_ci.sync.secret_gate`: do not edit (secret_gate.py)."""')
    print()
    print('__all__ = ["GATE_LITERALS"]')
    print()
    print("# fmt: off")
    print("GATE_LITERALS: dict[str, tuple[str, ...]] = {")
    for key, literals in table.items():
        print(f"    {key!r}: {literals!r},")
    print("}")
    print("# fmt: on")


if __name__ == "__main__":
    main()
