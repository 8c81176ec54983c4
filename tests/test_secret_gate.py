"""The redaction gate (secret_gate.py) may only skip rules that could not have matched: the
gated redactor must give exactly the ungated one's answer, on planted secrets, look-alikes and
random text alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engram_ci.sync import redact, secret_gate, secret_gate_table
from engram_ci.sync.secret_contexts import CONTEXT_RULES
from engram_ci.sync.secret_gate import LiteralIndex, gate_table, required_literals
from engram_ci.sync.secret_gate_table import GATE_LITERALS
from engram_ci.sync.secret_rules import VENDOR_RULES
from tests.redaction_corpus.generator import HELD_OUT_SEED, TUNING_SEED, corpus


def _both(text: str) -> tuple[list[redact._Hit], list[redact._Hit]]:
    rules = range(len(redact._RULES))
    return redact._hits(text, rules), redact._hits(text, rules, gated=False)


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"ghp_[A-Za-z0-9]{8,}", {"ghp_"}),
        (r"gh[pousr]_[A-Za-z0-9]{8,}", {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}),
        (r"https?://x", {"http://x", "https://x"}),
        (r"sk-(?:proj|admin)-\w+", {"sk-proj-", "sk-admin-"}),
        (r"[A-Z]{4}key=(\d+)", {"key="}),  # the longest stretch wins, wherever it is
        (r"(?:ab|\d+)cd", {"cd"}),  # a branch that spells nothing: the literal after it
        (r"x+(?:token|secret)", {"token", "secret"}),
        (r"\d+(sk-\w+)", {"sk-"}),  # inside a group that spells nothing as a whole
        (r"(?:\d+sk-)+\w", {"sk-"}),  # inside repeats of at least one, of every kind
        (r"(?:\d+sk-)+?", {"sk-"}),
        (r"(?:\d+sk-)++", {"sk-"}),
        (r"(?:\d+sk-){1,9}", {"sk-"}),
        (r"(?>\d+sk-)", {"sk-"}),
        (r"(?:\d+sk-)*xyz", {"xyz"}),  # a repeat that may be absent requires nothing
        (r"(?:\d+ab|\w+cd)\d", {"ab", "cd"}),  # each alternative's own literal
        (r"(?:\d+ab|\w+)xy", {"xy"}),
        (r"[abcdefgh]xy", {f"{c}xy" for c in "abcdefgh"}),  # a class of up to 8 is spelled
        (r"[abcdefghi]xy", {"xy"}),
        (r"(?:ab){3}", {"ababab"}),  # up to 3 copies are spelled
        (r"(?:ab){4}", {"ab"}),
        (r"xb{1,2}y", {"xby", "xbby"}),
        (r"x(?:ab){1,2}?y", {"xaby", "xababy"}),  # lazy and possessive repeats alike
        (r"x(?:ab){1,2}+y", {"xaby", "xababy"}),
        (r"ab?c", {"ac", "abc"}),
        # 8 x 8 x 8 spellings are too many: the first two classes' 64 stand for the stretch
        (r"[abcdefgh][abcdefgh][abcdefgh]", {a + b for a in "abcdefgh" for b in "abcdefgh"}),
        # a group or an alternation of exactly 64 spellings is still spelled
        (r"([abcdefgh][abcdefgh])xy", {a + b + "xy" for a in "abcdefgh" for b in "abcdefgh"}),
        (r"(?:[abcdefgh][abcdefgh]|ab)xy", {a + b + "xy" for a in "abcdefgh" for b in "abcdefgh"}),
        (r"[abcdefgh]{2}xy", {a + b + "xy" for a in "abcdefgh" for b in "abcdefgh"}),  # a repeat
        # one spelling more: the alternation is required through its alternatives, the repeat
        # through its body, and the stretch after them is spelled on its own
        (
            r"(?:[abcdefgh][abcdefgh]|xy|zw)\d",
            {a + b for a in "abcdefgh" for b in "abcdefgh"} | {"xy", "zw"},
        ),
        (r"[abcdefgh]{2,3}xy", {"xy"}),
        # the stretch that overflowed starts again at the item that overflowed it, so the class
        # before `xyz` still sharpens it
        (r"[abcdefgh][abcdefgh][abcdefgh]xyz", {c + "xyz" for c in "abcdefgh"}),
    ],
)
def test_required_literals_are_what_every_match_contains(pattern: str, literals: set[str]) -> None:
    assert required_literals(pattern) == frozenset(literals)


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?i)ghp_\w+",  # case-insensitive: `GHP_` matches too
        r"(?i:ghp)_\w+x",  # the same, scoped (only `_` and `x` remain: shorter than the minimum)
        r"[MNO]\w{20}",  # one letter: gating on it would cost more than it saves
        r"abc|\d+",  # a top-level alternative that spells nothing
        r"(?:ab)?\w+",  # optional
        r"(",  # not even a regex: never gated, never an error
    ],
)
def test_what_cannot_be_proven_is_not_gated(pattern: str) -> None:
    assert required_literals(pattern) is None


def test_the_written_table_is_the_one_the_rules_give() -> None:
    assert redact._RULES == VENDOR_RULES + CONTEXT_RULES  # what the table's writer reads
    assert gate_table(rule.pattern for rule in redact._RULES) == GATE_LITERALS, (
        "a rule changed: python -m engram_ci.sync.secret_gate > engram_ci/sync/secret_gate_table.py"
    )


def test_the_table_is_what_its_command_writes(capsys: pytest.CaptureFixture[str]) -> None:
    secret_gate.main()
    written = capsys.readouterr().out
    namespace: dict[str, object] = {}
    exec(written, namespace)  # noqa: S102 - our own generated module
    assert namespace["GATE_LITERALS"] == GATE_LITERALS
    # byte for byte what secret_gate_table.py holds: regenerating it changes nothing
    assert Path(secret_gate_table.__file__).read_text() == written


def test_a_rule_missing_from_the_table_is_always_tried() -> None:
    always, plain, lowered = redact._literal_indexes({})
    assert always == frozenset(range(len(redact._RULES)))
    assert plain.keys_in("ghp_x sk-ant- password") == lowered.keys_in("password") == set()
    assert redact._hits("token = 'hunter2hunter2hunter2'", range(len(redact._RULES)))


def test_the_index_sees_overlapping_and_nested_literals() -> None:
    keys = {"sk-": {1}, "sk-ant-": {2}, "ant": {3}, "xy": {4}}
    index = LiteralIndex({literal: frozenset(ix) for literal, ix in keys.items()})
    assert index.keys_in("a sk-ant-x") == {1, 2, 3}  # `sk-` and `ant` inside `sk-ant-`
    assert index.keys_in("sk-an") == {1}
    assert index.keys_in("ssk-") == {1}
    # the next literal may start one character after the last one's start
    assert LiteralIndex({"ab": frozenset({5}), "bc": frozenset({6})}).keys_in("abc") == {5, 6}
    assert index.keys_in("nothing here") == set()
    assert LiteralIndex({}).keys_in("sk-") == set()


@pytest.mark.parametrize(
    "literals", [("ghp_", "gho_"), ("ghp_", "gho_", "ghs_"), ("sk-", "xy"), ("ab", "abc", "abd")]
)
def test_the_index_sees_every_branch_of_its_trie(literals: tuple[str, ...]) -> None:
    index = LiteralIndex({literal: frozenset({n}) for n, literal in enumerate(literals)})
    for literal in literals:
        expected = {m for m, other in enumerate(literals) if literal.startswith(other)}
        assert index.keys_in(f"x {literal} y") == expected, literal


@pytest.mark.parametrize("index", range(len(redact._RULES)))
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_of_a_rule_contains_one_of_its_literals(
    index: int, data: st.DataObject
) -> None:
    rule = redact._RULES[index]
    literals = required_literals(rule.pattern)
    if literals is None:
        return
    text = data.draw(st.from_regex(re.compile(rule.pattern)))
    match = re.search(rule.pattern, text)
    assert match is not None
    assert any(literal in match.group() for literal in literals), (rule.pattern, match.group())


@pytest.mark.parametrize("seed", [TUNING_SEED, HELD_OUT_SEED])
def test_the_gated_redactor_equals_the_ungated_one_on_the_corpus(seed: int) -> None:
    data = corpus(seed)
    for text in [case.text for case in data.secrets] + list(data.clean):
        gated, ungated = _both(text)
        assert gated == ungated, text


_SECRETS = [case.text for case in corpus(TUNING_SEED, secrets=300, clean=0).secrets]
_PIECES = st.sampled_from(
    [*_SECRETS, "password=", "token: ", "Bearer ", "sk-", "-----BEGIN ", " -p", "key-", "M", "\n"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=8))
def test_the_gated_redactor_equals_the_ungated_one_on_random_text(parts: list[str]) -> None:
    text = "".join(parts)
    gated, ungated = _both(text)
    assert gated == ungated


def test_every_rule_compiles_though_compiled_only_when_first_tried() -> None:
    assert all(
        redact._compiled(index).pattern == rule.pattern for index, rule in enumerate(redact._RULES)
    )
    assert all(
        (redact._lead(index) is None) == (not rule.lead) for index, rule in enumerate(redact._RULES)
    )
