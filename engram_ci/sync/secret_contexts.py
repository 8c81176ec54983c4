"""The redactor's context rules: a secret's name, a command-line flag, a header or a phrase
that says the value next to it is a secret, whatever the value looks like.

Each rule finds a candidate and hands the whole value to a judge, which asks secret_shapes.py
whether the name is a secret's name and the value a real one (not a placeholder, a reference,
a path or a word); the whole value is replaced.
"""

from __future__ import annotations

import re

from engram_ci.sync.secret_rules import Judge, Rule
from engram_ci.sync.secret_shapes import (
    GENERIC_NAMES,
    plausible_assigned,
    plausible_passphrase,
    plausible_secret,
    secret_name_kind,
)

__all__ = ["CONTEXT_RULES"]

_VALUE = (
    r"(?!=[\s=])(?:\\?\"((?:[^\"\\\n]|\\[^\"\n]){1,16384})\\?\""  # "double" (or \"escaped\")
    r"|'([^'\n]{1,16384})'"  # 'single'
    r"|`([^`\n]{1,16384})`"  # `backticks`
    r"|[\"'`]([^\"'`\s]{1,4096}…)"  # "a quoted value the extractor clipped…
    r"|([^\s\"'`]{1,16384}))"  # bare: trimmed by the engine (see redact._trim_bare)
)
_GLUED_VALUE = (
    r"(?:'([^'\n]{1,4096})'|\"([^\"\n]{1,4096})\"|`([^`\n]{1,4096})`|[\"'`]([^\"'`\s]{1,4096}…)"
    r"|([^\s\"'`]{1,4096}))"
)
_VALUES = (1, 2, 3, 4, 5)
#: the name and its value apart by words or spaces only ("password is X", "password `X`")
_PROSE_SEPARATOR = re.compile(r"[\w\]\"'`][ \t]+(?:(?:is|was|to|is now)[ \t]+)?$")
_ASSIGNED_KINDS = (
    "aws-secret-access-key",
    "aws-session-token",
    "private-key",
    "password",
    "secret",
    "credential",
    "token",
    "api-key",
)


def _name_of(candidate: str) -> str:
    return re.match(r"[-$<]*([\w.-]*)", candidate).group(1)  # type: ignore[union-attr]


def judge_assignment(candidate: str, value: str, quoted: bool) -> str | None:
    """`NAME = value` in any syntax: the name says secret and the value is not a stand-in."""
    name = _name_of(candidate)
    kind = secret_name_kind(name)
    if kind is None:
        return None
    head = candidate[: candidate.find(value)] if value in candidate else candidate
    if head.rstrip(" \t\"'`\\").endswith(",") and name != name.upper():
        return None  # Setenv("API_KEY", X) sets a variable; ["pass", X] is only a list
    prose = bool(_PROSE_SEPARATOR.search(head.rstrip("\"'`")))
    strict = prose or name.lower() in GENERIC_NAMES
    if kind == "password" and quoted and not strict and any(c.isspace() for c in value):
        return kind if plausible_passphrase(value) else None  # words, not one token
    # where a bare word is the value itself: a shell's, a .env file's or docker -e's
    # NAME=value, a flag's --name=value, and YAML's `name: value` (Python's `name = word`
    # and `name=word` name a variable)
    literal = not quoted and (
        (name.isupper() and head.endswith(f"{name}="))
        or head.startswith("-")
        or (head.rstrip(" \t").endswith(":") and head[:1] not in "\"'")
    )
    return (
        kind if plausible_assigned(value, quoted=quoted, strict=strict, literal=literal) else None
    )


def judge_flag(candidate: str, value: str, quoted: bool) -> str | None:
    """A command's password flag (`mysql -pX`, `sshpass -p X`, `curl -u user:X`)."""
    return "password" if plausible_assigned(value, quoted=quoted, literal=not quoted) else None


def judge_config_value(candidate: str, value: str, quoted: bool) -> str | None:
    """`git config github.token X`, `aws configure set aws_secret_access_key X`: the setting's
    name is the word before the value."""
    name = candidate[: candidate.rfind(value)].rstrip("\"'`").split()[-1]  # not the quote
    kind = secret_name_kind(name)
    strict = name.lower() in GENERIC_NAMES
    literal = not quoted  # a command's argument: a bare word is the value itself
    if not kind or not plausible_assigned(value, quoted=quoted, strict=strict, literal=literal):
        return None
    return kind


def judge_piped_as(kind: str) -> Judge:
    """`echo X | docker login --password-stdin` (a password), `... | gh auth login
    --with-token` (a token): the value echoed, judged as a flag's value, named `kind`."""

    def judge(candidate: str, value: str, quoted: bool) -> str | None:
        return kind if judge_flag(candidate, value, quoted) else None

    return judge


def judge_netrc(candidate: str, value: str, quoted: bool) -> str | None:
    return "netrc-password" if plausible_assigned(value, quoted=True) else None


_SCHEME_KINDS = {"bearer": "bearer-token", "basic": "basic-auth"}


def judge_authorization(candidate: str, value: str, quoted: bool) -> str | None:
    """The credential of an Authorization header, named by its scheme."""
    if not plausible_secret(value):
        return None
    scheme = re.search(r"(\w+)[ \t]+$", candidate[: len(candidate) - len(value)])
    return _SCHEME_KINDS.get(scheme.group(1).lower() if scheme else "", "authorization")


def judge_named_value(candidate: str, value: str, quoted: bool) -> str | None:
    """`- name: DB_PASSWORD` then `value: ...` (Kubernetes env, ECS task definitions)."""
    found = re.match(r"[\"']?name[\"']?\s*[:=]\s*[\"']?([\w.-]+)", candidate, re.IGNORECASE)
    kind = secret_name_kind(found.group(1)) if found else None
    literal = not quoted  # YAML or JSON: a bare word is the value itself
    return kind if kind and plausible_assigned(value, quoted=quoted, literal=literal) else None


def judge_xml(candidate: str, value: str, quoted: bool) -> str | None:
    kind = secret_name_kind(candidate[1 : candidate.index(">")])
    return kind if kind and plausible_assigned(value, quoted=True) else None


def judge_cookie(candidate: str, value: str, quoted: bool) -> str | None:
    pairs = re.findall(r"[\w.-]+=([^;\s]+)", value)
    return (
        "cookie" if any(plausible_assigned(v, quoted=False, strict=True) for v in pairs) else None
    )


_GLUED_SUFFIX = (
    r"(?:(?<!token)s|data|base|value|b64|base64|hex|str|string|raw|enc|pem|bytes)(?![a-z0-9])"
)
_SECRET_WORDS = (
    *("key", "secret", "token", "password", "passwd", "pwd", "pat"),
    *("credential", "auth", "passphrase", "pass", "pw"),
)
_SECRET_NAME = "(?:" + "|".join(_SECRET_WORDS) + ")"
#: after the secret word: nothing, a separated suffix (`_KEY_BASE`, `-key-data`) or a glued one
#: that keeps it a secret (`keyData`, `credentials`), then the separator: `path`, `tokens`,
#: `keyboard`, `author` fail here, before any Python runs
_ASSIGNMENT_AFTER_WORD = (
    r"(?:[_.-][\w.-]{0,40}?|" + _GLUED_SUFFIX + r")?(?:\\?[\"'])?\]?"
    r"(?:[ \t]{0,40}(?::=|=>|=|:(?![:/])|,(?=[ \t]*\\?[\"'`]))[ \t]{0,40}"
    r"|[ \t]+(?:is|was|to|is now)[ \t]+|[ \t]+(?=[\"'`]))"
)

CONTEXT_RULES: tuple[Rule, ...] = (
    Rule(
        "password",
        # one line or one token per line, as ~/.netrc is usually written
        r"machine[ \t]+\S+\s+login[ \t]+\S+\s+password[ \t]+" + _VALUE,
        value_groups=_VALUES,
        judge=judge_netrc,
        kinds=("netrc-password",),
    ),
    Rule(  # command-line options: --password hunter2, --api-key=..., -storepass ..., pass:X
        "password",
        r"-[a-z0-9-]{0,40}?(?:password|passwd|passphrase|pass|token|secret|api-?key)"
        r"(?:=|[ \t]+)" + _VALUE,
        value_groups=_VALUES,
        lowered=True,
        judge=judge_assignment,
        kinds=_ASSIGNED_KINDS,
    ),
    # a password glued to -p: mysql -pX, mysqldump -p'X', 7z a -pX (one rule per command: a
    # literal first is what keeps the scan fast)
    *(
        Rule(
            "password",
            command + r"(?:[ \t][^\n|;&]{0,200}?)?[ \t]-p" + _GLUED_VALUE,
            value_groups=_VALUES,
            judge=judge_flag,
        )
        for command in (r"mysql\w*", r"mariadb[\w-]*", "7z")
    ),
    # sshpass -p X, docker login -p X, redis-cli -a X, zip -P X, mongosh -p X,
    # ssh-keygen -N X (a new key's passphrase), openssl enc -k X
    *(
        Rule(
            "password",
            command + r"(?:[ \t][^\n|;&]{0,200}?)?[ \t]-" + flags + r"[ \t]+" + _VALUE,
            value_groups=_VALUES,
            judge=judge_flag,
        )
        for command, flags in (
            *((c, "[paP]") for c in ("sshpass", "login", "redis-cli", "zip", "unzip")),
            (r"mongo\w*", "p"),
            ("ssh-keygen", "[NP]"),
            ("openssl", "k"),
        )
    ),
    *(
        Rule(  # echo X | docker login --password-stdin, echo X | gh auth login --with-token
            kind,
            r"echo[ \t]+(?:-n[ \t]+)?" + _VALUE + r"[ \t]*\|[^\n|]{0,200}?" + flag,
            value_groups=_VALUES,
            judge=judge_piped_as(kind),
        )
        for flag, kind in (("--password-stdin", "password"), ("--with-token", "token"))
    ),
    Rule(  # git config [--global] github.token X, aws configure set aws_secret_access_key X,
        # npm/yarn/pnpm config set //host/:_authToken X, poetry config pypi-token.pypi X (the
        # command named: "the config token bec…" is prose)
        "secret",
        r"(?:git|aws|npm|pnpm|yarn|poetry|pip3?|bundle|composer)[ \t]+(?:--?[\w-]+[ \t]+)*"
        r"config(?:ure)?[ \t]+(?:--?[\w-]+[ \t]+)*(?:set[ \t]+)?(?:--?[\w-]+[ \t]+)*"
        r"[^\s=\"'`|;&]{1,200}[ \t]+" + _VALUE,
        value_groups=_VALUES,
        judge=judge_config_value,
        kinds=_ASSIGNED_KINDS,
    ),
    Rule(  # curl -u user:X, --user "ci:X", --proxy-user u:X
        "password",
        r"(?:-u|--user|--proxy-user)[ \t]+[\"']?[^\s:'\"]{1,64}:" + _GLUED_VALUE,
        value_groups=_VALUES,
        judge=judge_flag,
    ),
    Rule(  # smbclient -U user%X
        "password",
        r"-U[ \t]+[\"']?[^\s%'\"]{1,64}%" + _GLUED_VALUE,
        value_groups=_VALUES,
        judge=judge_flag,
    ),
    Rule(  # htpasswd -b [-c] FILE USER X
        "password",
        r"htpasswd[ \t]+(?:-[A-Za-z]+[ \t]+)*?-[A-Za-z]*b[A-Za-z]*[ \t]+(?:-[A-Za-z]+[ \t]+)*"
        r"\S+[ \t]+\S+[ \t]+" + _VALUE,
        value_groups=_VALUES,
        judge=judge_flag,
    ),
    Rule(  # Authorization: Bearer X, token X, Basic X, key=X, or the bare credential
        "authorization",
        r"authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
        r"(?:(?:bearer|token|basic|digest|apikey|api-key|key|sso-key|ssws)[ \t]+|key=)?"
        r"([a-z0-9._~+/:=-]{12,})",
        value_groups=(1,),
        lowered=True,
        judge=judge_authorization,
        kinds=("authorization", "bearer-token", "basic-auth"),
    ),
    Rule(
        "cookie",
        r"cookie:[ \t]*([^\r\n\"'\\]{8,4096})",
        value_groups=(1,),
        lead="(?:set-)?",
        lead_max=4,
        lowered=True,
        judge=judge_cookie,
    ),
    Rule(  # - name: DB_PASSWORD / value: X ; {"name": "DB_PASSWORD", "value": "X"}
        "secret",
        r"name[\"']?[ \t]*[:=][ \t]*[\"']?[\w.-]{1,80}[\"']?[ \t]*"
        r"(?:,[ \t]*|\r?\n[ \t]*(?:-[ \t]+)?)[\"']?value[\"']?[ \t]*:[ \t]*" + _VALUE,
        value_groups=_VALUES,
        lowered=True,
        judge=judge_named_value,
        kinds=_ASSIGNED_KINDS,
    ),
    Rule(  # <dbPassword>X</dbPassword>
        "secret",
        r"<[\w.:-]{0,40}?" + _SECRET_NAME + r"[\w.:-]{0,40}>([^<\n]{1,512})</",
        value_groups=(1,),
        word_start=False,
        lowered=True,
        judge=judge_xml,
        kinds=_ASSIGNED_KINDS,
    ),
    # KEY=..., key: ..., "key": "...", key = '...', key => ..., ENV['KEY'] = ...,
    # Setenv("KEY", "..."), "the password is ...", "set DB_PASSWORD to ...": one rule per
    # secret word, so each pattern starts with a literal the regex engine can skip ahead to
    *(
        Rule(
            "secret",
            word + _ASSIGNMENT_AFTER_WORD + _VALUE,
            value_groups=_VALUES,
            word_start=False,
            lead=r"[\w.$-]{0,64}",
            lead_max=64,
            lowered=True,
            judge=judge_assignment,
            kinds=_ASSIGNED_KINDS,
        )
        for word in _SECRET_WORDS
    ),
)
