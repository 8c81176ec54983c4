"""Redaction is idempotent: sync redacts again what ingest already redacted, and a second pass
that changed an uploaded file would make every push see a change (issue 15).

The texts are the benchmark corpus's own (tests/redaction_corpus/generator.py: ~900 secrets in
~80 contexts, and the clean look-alikes), repeated, mixed and glued by the separators that made
the first pass and the second disagree: nothing, `:`, `=`, a newline, an escaped `\\n`...
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engram_ci.sync import redact
from engram_ci.sync.redact import redact_text
from tests.redaction_corpus.generator import (
    HELD_OUT_SEED,
    TUNING_SEED,
    Case,
    corpus,
    secret_gone,
)

_TUNING = corpus(TUNING_SEED, secrets=300, clean=120)
_HELD_OUT = corpus(HELD_OUT_SEED, secrets=300, clean=120)
CASES = _TUNING.secrets + _HELD_OUT.secrets
CLEAN = _TUNING.clean + _HELD_OUT.clean
#: a Google Analytics cookie (`_ga=GA1.<n>.<n>...`) is a visitor id, not a credential: kept
LINES = [
    "Cookie: _ga=GA1.2.3; theme=dark",
    "Cookie: _ga=GA1.2.3",
    "_ga=GA1.2.3",
    "Authorization: Bearer $TOKEN",
    "export GITHUB_TOKEN=<your-token>",
    "users:\n- name: admin\n  user:\n    token: ",
    "https://api.internal/v1/items?page=2",
]
SEPARATORS = ["", "\n", " ", ":", "=", "; ", "\\n", "\t", '"', ", ", "\n\n", "&"]

#: The counterexample that opened the issue: the first pass read `pypi-…Authorization` as one
#: bearer token and left `: _ga=GA1.2.3`; the second read its own marker `[REDACTED:pypi-token]`
#: as the name `token` and redacted `_ga=GA1.2.3` as its value.
PYPI = (
    "pypi-AgEIcHlwaS5vcmcaVAR5q0QVbQB2TsqGfKFe4cW_T9jn_czN1j1OcOppVvtsNzEmbtqba7nbDbcM0ueiVFS38"
    "k1wkVhLd"
)
ISSUE_TEXT = (
    f"Authorization: Bearer {PYPI}Authorization: Bearer {PYPI}Cookie: _ga=GA1.2.3; theme=dark"
)


def _pieces() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(CASES).map(lambda case: case.text),
        st.sampled_from(CLEAN),
        st.sampled_from(LINES),
    )


@st.composite
def _texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(_pieces(), min_size=1, max_size=5))
    repeated = [p for part in parts for p in [part] * draw(st.integers(1, 2))]
    return "".join(part + draw(st.sampled_from(SEPARATORS)) for part in repeated)


def _assert_fixed_point(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    rules = range(len(redact._RULES))  # the gate decides nothing differently on either pass
    assert redact._hits(once, rules) == redact._hits(once, rules, gated=False) == []


@settings(
    max_examples=300,
    derandomize=True,  # the same texts on every run: CI is stable, a failure reproducible
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(ISSUE_TEXT)
@given(_texts())
def test_redacting_twice_changes_nothing(text: str) -> None:
    _assert_fixed_point(text)


@st.composite
def _cases_among_lines(draw: st.DrawFn) -> tuple[list[Case], str]:
    cases = draw(st.lists(st.sampled_from(CASES), min_size=1, max_size=4))
    filler = draw(st.lists(st.sampled_from(CLEAN + LINES), max_size=3))
    lines = [case.text for case in cases] * draw(st.integers(1, 2)) + filler
    return cases, "\n".join(draw(st.permutations(lines)))


_ALONE_GONE = {case.text for case in CASES if secret_gone(case, redact_text(case.text))}


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_cases_among_lines())
def test_no_secret_survives_among_other_lines(drawn: tuple[list[Case], str]) -> None:
    """A secret redacted on its own is redacted among other lines, repeated or not, and the
    result is a fixed point."""
    cases, text = drawn
    once = redact_text(text)
    for case in cases:
        if case.text in _ALONE_GONE:  # pieces the other lines hold too are no evidence
            among = Case(text, case.secret, case.format, case.context)
            assert secret_gone(among, once), (case.format, case.context)
    assert redact_text(once) == once


def test_the_issue_counterexample_keeps_the_analytics_cookie() -> None:
    once = redact_text(ISSUE_TEXT)
    assert PYPI[:20] not in once
    assert "_ga=GA1.2.3; theme=dark" in once
    assert redact_text(once) == once


def test_every_kind_s_marker_is_seen_as_one() -> None:
    for kind in redact.KINDS:
        marker = f"[REDACTED:{kind}]"
        assert redact._marker_edges(f"x {marker} y") == [2, 2 + len(marker)], kind


def test_a_marker_lends_no_rule_its_name() -> None:
    """`[REDACTED:api-key]: x` is not `key: x`, nor `[REDACTED:pypi-token]=x` `token=x`."""
    for marker in ("[REDACTED:pypi-token]", "[REDACTED:api-key]", "[REDACTED:password]"):
        for glue in (": ", "=", ":", " = "):
            text = f"{marker}{glue}Xq7Lm2Rt9Vb4Nc8Kd3Wz"
            assert redact_text(text) == text, text


def test_a_secret_hidden_by_a_refused_overlap_is_caught_in_one_call() -> None:
    """The netrc rule's first match runs into the second `machine` line, and the first is
    inside a longer bearer token: one pass leaves the second password, redact_text does not."""
    text = (
        f"Authorization: Bearer {PYPI}=machine github.com login octocat password Q5Gzae7PY#"
        "machine github.com login octocat password Q5Gzae7PY#"
    )
    once = redact_text(text)
    assert once.endswith("password [REDACTED:netrc-password]")
    assert redact_text(once) == once


def test_the_clean_corpus_is_kept_whole_when_mixed() -> None:
    text = "\n".join(CLEAN + LINES)
    assert redact_text(text) == text


def test_a_candidate_ending_inside_a_marker_is_no_secret() -> None:
    """The cookie rule's match runs to the end of the line, a marker's `]`: a candidate that
    ends inside a marker (its `]` included) is skipped, so the redacted line is kept."""
    text = "Set-Cookie: sid=x; Secure=Password: [REDACTED:password]"
    assert redact_text(text) == text


def test_a_secret_after_markers_is_still_redacted() -> None:
    for markers in (1, 2, 3):
        before = "[REDACTED:password] and " * markers
        text = f"{before}password: Xk9#mQ2zLp"
        assert redact_text(text) == f"{before}password: [REDACTED:password]", markers
