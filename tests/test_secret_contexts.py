"""secret_contexts.py's judges beyond the corpus: what a secret's name, flag, header or tag
says is a secret only when the value is one — and prose, lists and references are not."""

from __future__ import annotations

import pytest

from engram_ci.sync.redact import redact_text

VALUE = "Xk9mQ2vL7pRt4wZ8"


@pytest.mark.parametrize(
    "text",
    [
        'roles = ["pass", "Tr0ub4dor3xQ9"]',  # a list that happens to hold the word
        "the password is correct-horse",  # prose: only a clearly random value counts
        'the token is "expired-session"',
        "sshpass -p $SSHPASS ssh deploy@host",  # a reference, not a password
        "<password>${DB_PASSWORD}</password>",
        "- name: DB_PASSWORD\n  value: ${DB_PASSWORD}",
        "Cookie: theme=dark-mode; lang=english-us",  # cookies of words are not sessions
        # in prose and in cookies only a clearly random value counts: not letters then digits
        "the DB_PASSWORD is sessiondata2024x",
        'DB_PASSWORD is "sessiondata2024x"',
        "Cookie: theme=sessiondata2024x; lang=en",
    ],
)
def test_a_secret_s_context_with_a_value_that_is_not_one_stays(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'os.Setenv("API_KEY", "{VALUE}")', 'os.Setenv("API_KEY", "[REDACTED:api-key]")'),
        (f"the password is {VALUE}", "the password is [REDACTED:password]"),
        (f"sshpass -p {VALUE} ssh deploy@host", "sshpass -p [REDACTED:password] ssh deploy@host"),
        (f"<dbPassword>{VALUE}</dbPassword>", "<dbPassword>[REDACTED:password]</dbPassword>"),
        (f"<token>{VALUE}</token>", "<token>[REDACTED:token]</token>"),
        (
            f"- Name: DB_PASSWORD\n  Value: {VALUE}",
            "- Name: DB_PASSWORD\n  Value: [REDACTED:password]",
        ),
        (f"Cookie: session={VALUE}; theme=dark", "Cookie: [REDACTED:cookie]"),
    ],
)
def test_a_secret_in_its_context_is_replaced_and_named(text: str, expected: str) -> None:
    assert redact_text(text) == expected
