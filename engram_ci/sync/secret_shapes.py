"""What a secret looks like, as opposed to what only looks like one.

The redactor's rules (secret_rules.py) find candidates; the judges here decide. Two questions:
- is this NAME a secret's name? `DB_PASSWORD`, `SECRET_KEY_BASE`, `client-key-data`, `MYSQL_PWD`,
  `apiKey`, `AWS_BEARER_TOKEN_BEDROCK` are; `token_type`, `max_tokens`, `key_id`,
  `password_file`, `primary_key`, `keyboard` are not. A name is split into words (snake,
  kebab, dotted, camelCase); it is a secret's name when a word says key/secret/token/password/
  passwd/pwd/pat/credential/auth/passphrase, no later word says it is only *about* the secret
  (an id, a file, a type, a length...) and no earlier word makes it a non-secret key (public,
  primary, sort, cache, max...).
- is this VALUE a real secret or a placeholder, a reference, a path, a word? Placeholders
  (`<your-token>`, `${TOKEN}`, `xxxx`, `changeme`, EXAMPLE), references (`$VAR`, `%(pw)s`,
  `os.environ[...]`, `settings.SECRET_KEY`, YAML `*alias`), paths, numbers and plain words are
  not; anything else of secret-like length and mix of characters is, whatever characters it
  starts with (`&*!#` passwords included).
"""

from __future__ import annotations

import re

__all__ = [
    "GENERIC_NAMES",
    "is_placeholder",
    "plausible_assigned",
    "plausible_passphrase",
    "plausible_secret",
    "plausible_url_password",
    "secret_name_kind",
]

_PLACEHOLDER_PARTS = (
    "[redacted",
    "redacted",
    "example",
    "xxxx",
    "****",
    "...",
    "…",
    "your",
    "placeholder",
    "changeme",
    "change_me",
    "replace",
    "dummy",
    "<",
    ">",
    "${",
    "{{",
)
_SEQUENCES = ("0123456789", "123456789", "abcdefghij", "abcdefghijklmnop")


def is_placeholder(value: str) -> bool:
    lower = value.lower()
    return any(part in lower for part in _PLACEHOLDER_PARTS) or any(
        seq in lower for seq in _SEQUENCES
    )


def plausible_secret(value: str) -> bool:
    """False for fillers and placeholders: repeated chars, `xxxx`, `...`, `your-...`, EXAMPLE."""
    if is_placeholder(value):
        return False
    distinct = len(set(value))
    return distinct >= min(8, max(2, len(value) // 4))


_STOPWORDS = frozenset(
    # words that stand where a value goes in docs and code, never a real secret
    """password passwd passphrase secret secrets token tokens key apikey api_key changeme test
    testing dummy sample example placeholder null none nil true false undefined str string int
    bool bytes any required optional hidden redacted masked todo tbd env default value
    secretstr secret_value password123 inherit""".split()  # noqa: SIM905
)
#: the stock passwords of database images and docs (postgres:postgres@localhost, guest:guest)
_DEFAULT_PASSWORDS = frozenset(
    "pass pwd pw user username postgres root admin guest mysql redis mongo rabbitmq".split()  # noqa: SIM905
)
#: /run/secrets/db, ~/.ssh/id_ed25519, ./creds.json, /tmp (a random /8Dm4JnL... is no path)
_PATH = r"[~.]{0,2}(?:/[\w.~-]+){2,}/?|[~.]{0,2}/[a-z0-9_.-]*"
_REFERENCE = re.compile(
    # identifiers made of words (token, new_token, getToken, API_TOKEN), settings.SECRET_KEY,
    # calls and lookups: get_secret("db"), os.environ["PW"]
    r"[a-z_]+\d?|[A-Z_]+\d?|_*[A-Za-z][a-z]*(?:_*[A-Z][a-z]+)*_*\d?"
    r"|[A-Za-z_][A-Za-z_]*\d?(?:\.[A-Za-z_][A-Za-z_]*\d?)+"
    r"|[A-Za-z_][\w.]*[(\[].*"
    r"|\$\{?(?:[A-Z_][A-Z0-9_.]*|[a-z_][a-z0-9_.]*|[a-z]+(?:[A-Z][a-z0-9]+)+)\}?|\$\(.*\)"  # $VAR
    r"|%\(?[\w.]+\)?[sd]?%?|@\w+@"  # %(pw)s %PW% @pw@ (templates)
    r"|[&*][a-z_][a-z0-9_-]*|[&*](?:[A-Z][a-z]+)+|![A-Za-z]+"  # YAML &anchor *alias !Tag
    r"|" + _PATH + r"|[A-Za-z]:\\[\w.\\ -]*"  # paths
    r"|v?\d+(?:[.:]\d+)*[a-z]{0,2}"  # numbers, versions, durations
    r"|[a-z]+(?:[-_.][a-z]+)*"  # words and slugs: redis-password-file
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an email address
)
#: a word and a digit, as `[a-z_]+\d?` of _REFERENCE reads an identifier: in `NAME=value`
#: syntax, a password (`correcthorse9`); short ones (`oauth2`) name a scheme, and one that
#: says what it stands for (`token_value1`, `password1`, `test_key2`) is a stand-in
_LITERAL_WORD = re.compile(
    r"(?!.*(?:token|secret|key|pass|pwd|value|test|example|sample|dummy|default|fake))"
    r"[a-z_]{7,}\d"
)
_QUOTED_REFERENCE = re.compile(
    r"\$\{?(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*|[a-z]+(?:[A-Z][a-z0-9]+)+)\}?"  # $VAR
    r"|%\(?\w+\)?[sd]?%?|[a-z]+(?:[-_. ][a-z]+)*|\d+|" + _PATH  # %(pw)s, words, numbers, paths
)


def _classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() and c not in "-_." and not c.isspace() for c in value)
    )


def plausible_assigned(
    value: str, *, quoted: bool, strict: bool = False, literal: bool = False
) -> bool:
    """A value given to a secret's name: reject placeholders, references, paths and words.

    `strict` (prose, a bare generic name like `key:`): only clearly random values count.
    `literal`: the syntax makes a bare word the value itself, never a variable's name (a
    shell's `DB_PASSWORD=value` or `--password value`, YAML's `password: value`), so a word
    with a digit (`correcthorse9`) counts.
    A value that ends in `…` was clipped by the extractor: any real start of a secret counts.
    """
    if value.endswith("…") and not value.endswith(("...…", "……")):
        start = value[:-1]
        return bool(start) and not (
            start.lower() in _STOPWORDS
            or is_placeholder(start)
            or start.startswith(("$", "%", "<", "{", "(", "http"))
            or (strict and _REFERENCE.fullmatch(start) is not None)
            or (not quoted and _REFERENCE.fullmatch(start) is not None and len(start) > 4)
        )
    if len(value) < 6 or value.lower() in _STOPWORDS or "[REDACTED:" in value:
        return False
    if not plausible_secret(value) or value.startswith(("http://", "https://")):
        return False
    if quoted:
        if any(c.isspace() for c in value) or _QUOTED_REFERENCE.fullmatch(value):
            return False
    elif " " in value or (
        _REFERENCE.fullmatch(value) and not (literal and _LITERAL_WORD.fullmatch(value))
    ):
        return False
    classes = _classes(value)
    if strict:
        wordy = re.search(r"(?:^|[-_.])[A-Za-z][a-z]{2,}(?:[-_.]|$)", value) is not None
        return (
            len(value) >= 8
            and (classes >= 3 or (classes == 2 and len(value) >= 20))
            and not (wordy and classes < 4)
        )
    return classes >= 2 or len(value) >= 16


#: words of a sentence or a form's label, which a passphrase given in an assignment does not hold:
#: `PASSWORD="must be at least 12 characters"`, `password: "Enter the password"`
_PROSE_WORDS = frozenset(
    """a an the is are be been must should can will at least most of to for in on from with and
    or not no here please enter type set see use new old current password passphrase passwd
    characters chars long""".split()  # noqa: SIM905
)


def plausible_passphrase(value: str) -> bool:
    """A quoted value of a few words given to a password's name (`PGPASSWORD="correct horse
    battery staple"`): a passphrase, unless it reads as a sentence or a label, or stands in
    for one (`"<your password>"`, `"${DB_PASS} x"`). plausible_assigned refuses every value
    with a space, which is right for a token but would let such a passphrase through."""
    words = value.split()
    return (
        2 <= len(words) <= 8
        and 8 <= len(value) <= 128
        and not value.startswith(("$", "%", "{", "("))  # is_placeholder has `<…>`
        and not is_placeholder(value)
        and not any(word.lower().strip(".,;:!?'\"") in _PROSE_WORDS for word in words)
    )


def plausible_url_password(value: str) -> bool:
    """The password of `scheme://user:password@host`, unless a placeholder or a default."""
    if value.lower() in _STOPWORDS | _DEFAULT_PASSWORDS or "[REDACTED:" in value:
        return False
    if re.fullmatch(r"\$\{?\w+\}?|%\w+%|:+|\*+", value):
        return False
    return plausible_secret(value)


# --- names -----------------------------------------------------------------------------------

#: a word that IS one of these names a secret (as a whole word)
_SECRET_WORDS = frozenset(
    """key keys secret secrets token password passwd pwd pat credential credentials auth
    passphrase pass pw apikey secretkey accesskey privatekey authtoken authkey pin""".split()  # noqa: SIM905
)
#: ...and a word ENDING with one of these does too: PGPASSWORD, githubtoken, clientsecret
_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "credential",
    "credentials",
    "secretkey",
    "accesskey",
    "privatekey",
    "storepass",
    "keypass",
    # a key of an account, a client, an app... (not a primary, sort or cache key)
    "accountkey",
    "masterkey",
    "signingkey",
    "encryptionkey",
    "clientkey",
    "appkey",
    "servicekey",
    "storagekey",
    "authkey",
    "licensekey",
)
#: a later word that makes the name only ABOUT a secret: token_type, key_id, password_file
_ABOUT = frozenset(
    """id ids name names file files path paths dir folder url uri endpoint host hosts port type
    types kind length len size count counts limit limits max min env var vars variable header
    headers prefix suffix field fields format expiry expires expiration expired ttl lifetime
    timeout at time date location ref reference arn source policy rotation version ver hint
    label description desc help required enabled disabled mode method provider scope scopes
    usage index idx pattern regex fingerprint algorithm alg schema param params parameter
    option options prompt input output placeholder example sample manager service user
    username login email account owner error errors message msg check validator valid
    strength used remaining budget rate store vault command cmd script helper handler
    callback fn func function class struct map list set config cfg settings flag flags
    enable disable env_var exists present set_ missing policy""".split()  # noqa: SIM905
)
#: an earlier word that makes the name a non-secret key: primary_key, max_tokens, public_key
_NOT_SECRET_QUALIFIERS = frozenset(
    """public pub primary foreign sort partition range hash cache idempotency dedup dedupe
    unique lookup page next continuation pagination sync keyboard hot shortcut max min num
    total input output prompt completion cached reasoning context request response has is
    no use with sign signed verify verification license map dict object sorting group
    registry media ssh_public row column composite natural surrogate i18n translation""".split()  # noqa: SIM905
)
#: a bare name this generic (`key:`, `auth:`) only counts for a clearly random value
GENERIC_NAMES = frozenset("key keys auth pass pw pwd pat pin".split())  # noqa: SIM905


def name_words(name: str) -> list[str]:
    """`SECRET_KEY_BASE` `client-key-data` `dbPassword` `process.env.API_KEY` -> words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _is_secret_word(word: str) -> bool:
    return word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS)


def secret_name_kind(name: str) -> str | None:
    """The kind of secret a name holds, or None when the name is not a secret's name."""
    words = name_words(name)
    last = max((i for i, w in enumerate(words) if _is_secret_word(w)), default=None)
    if last is None:
        return None
    if any(w in _ABOUT for w in words[last + 1 :]):
        return None
    if any(w in _NOT_SECRET_QUALIFIERS for w in words[:last]) or (words[last] == "pin" and last):
        return None
    joined = "".join(words)
    if "secretaccesskey" in joined or ("aws" in words and "secret" in joined):
        return "aws-secret-access-key"
    if "aws" in words and "session" in words:
        return "aws-session-token"
    for word, kind in (
        ("private", "private-key"),
        ("pass", "password"),
        ("password", "password"),  # PGPASSWORD, dbpassword: one word, no `pass` at its start
        ("passwd", "password"),
        ("passphrase", "password"),
        ("pwd", "password"),
        ("pw", "password"),
        ("secret", "secret"),
        ("credential", "credential"),
        ("token", "token"),
        ("auth", "credential"),
    ):
        if any(w.startswith(word) or w.endswith(word) for w in words[: last + 1]):
            return kind
    return "api-key"
