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


# A value spelled like an identifier (CorrectHorse7, SolarizedDark2) is a reference when bare
# (`-p $PW`'s cousin `-p dbPassword`) but a literal when quoted: each judge must tell the
# shape plausible_assigned whether its value was quoted, or where quoting cannot say (netrc,
# an XML element's text, a cookie) which reading holds.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # quoted after a flag: a literal password
            "sshpass -p 'CorrectHorse7' ssh deploy@host",
            "sshpass -p '[REDACTED:password]' ssh deploy@host",
        ),
        ('mysql -u root -p"CorrectHorse7" db', 'mysql -u root -p"[REDACTED:password]" db'),
        (  # netrc has no variables: its bare password is always a literal
            "machine api.example.com login deploy password CorrectHorse7",
            "machine api.example.com login deploy password [REDACTED:netrc-password]",
        ),
        (
            '- name: DB_PASSWORD\n  value: "CorrectHorse7"',
            '- name: DB_PASSWORD\n  value: "[REDACTED:password]"',
        ),
        ("<password>CorrectHorse7</password>", "<password>[REDACTED:password]</password>"),
    ],
)
def test_an_identifier_like_value_is_a_secret_where_it_is_a_literal(
    text: str, expected: str
) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sshpass -p CorrectHorse7 ssh deploy@host",  # bare after a flag: a name, not a password
        "mysql -u root -pCorrectHorse7 db",
        "- name: DB_PASSWORD\n  value: CorrectHorse7",
        # a cookie's values are never quoted: one spelled like a name is a setting
        "Cookie: theme=SolarizedDark2; lang=en",
    ],
)
def test_an_identifier_like_value_stays_where_it_reads_as_a_name(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # a quoted value is judged as quoted: capitals alone are a token, not a CONSTANT
        ('git config --global github.token "QWERTYUIOPASDFGHJKL"', True),
        ("git config --global github.token QWERTYUIOPASDFGHJKL", False),
        # a bare generic name takes only clearly random values
        ("npm config set key lowercase12345", False),
        ("npm config set _authToken lowercase12345", True),
        # the name is the word right before the value, wherever else the value occurs
        ("git config ab12cd34ef56gh78.token ab12cd34ef56gh78", True),
        ("aws configure set aws_session_token 'QWERTYUIOPASDFGHJKL'", True),
    ],
)
def test_a_config_setting_is_judged_by_its_name_and_how_its_value_is_written(
    text: str, redacted: bool
) -> None:
    assert ("[REDACTED:" in redact_text(text)) is redacted


@pytest.mark.parametrize(
    ("value", "kept_secret"),
    [
        ("horse battery", True),  # two words
        ("a1 b2 c3 d4 e5 f6 g7 h8", True),  # eight
        ("a1 b2 c3 d4 e5 f6 g7 h8 i9", False),  # nine: a sentence
        ("abc defg", True),  # 8 characters
        ("ab defg", False),  # 7
        ("w" * 60 + " " + "v" * 67, True),  # 128
        ("w" * 60 + " " + "v" * 68, False),  # 129
        # what stands in for a value: a variable, a template, a note
        ("$DB_PASS fallback", False),
        ("%PGPASS% fallback", False),
        ("<vaultpw> fallback", False),
        ("{db_pass} fallback", False),
        ("(vaultpw) fallback", False),
        ("wolf the, fence", False),  # a prose word, however it is punctuated
        ("wolf, fence. stone!", True),
    ],
)
def test_what_passes_for_a_passphrase(value: str, kept_secret: bool) -> None:
    out = redact_text(f'DB_PASSWORD="{value}"')
    assert (out == 'DB_PASSWORD="[REDACTED:password]"') is kept_secret


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('echo "QWERTYUIOPASDFGHJKL" | docker login -u ci --password-stdin', "password"),
        ("echo QWERTYUIOPASDFGHJKL | docker login -u ci --password-stdin", None),  # a CONSTANT
        ("echo Xk29dj3kslqP0wZ8 | gh auth login --with-token", "token"),
        ('echo "$CR_PAT" | docker login ghcr.io --password-stdin', None),
    ],
)
def test_a_secret_echoed_into_a_login_is_judged_as_it_is_written(
    text: str, kind: str | None
) -> None:
    out = redact_text(text)
    assert (f"[REDACTED:{kind}]" in out) if kind else out == text
