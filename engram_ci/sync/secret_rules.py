"""The redactor's rules: vendor formats (a documented prefix or shape) and contexts (a secret's
name, a command-line flag, a header) that say the value next to them is a secret.

Vendor prefixes count whatever the body's length (a token of an unusual length is still a
token); what guards against look-alikes is the validator (placeholders, fillers, EXAMPLE) and
`word_start` (a prefix glued to a longer word or a base64 blob is not one). Context rules hand
the whole value to a judge in secret_shapes.py, and the whole value is replaced.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engram_ci.sync.secret_shapes import (
    GENERIC_NAMES,
    plausible_assigned,
    plausible_secret,
    plausible_url_password,
    secret_name_kind,
)

__all__ = ["CONTEXT_RULES", "VENDOR_RULES", "Rule"]

Validator = Callable[[str], bool]
#: names the kind from the candidate's text (lead included); None: not a secret after all
KindOf = Callable[[str], "str | None"]
#: context rules: (candidate text, value, quoted) -> kind, or None when not a secret
Judge = Callable[[str, str, bool], "str | None"]


@dataclass(frozen=True)
class Rule:
    """One secret format, replaced by `[REDACTED:kind]`.

    Every pattern starts with a literal (or a small character class), so CPython's regex engine
    can skip ahead to candidates instead of trying every rule at every character: that is what
    makes redaction fast. Formats whose distinctive part sits in the middle (`...-us12`,
    `...Q~...`) match from there, and `lead` claims the characters before it.
    """

    kind: str | KindOf
    pattern: str
    group: int = 0  # the part replaced (0: the whole match)
    valid: Validator = plausible_secret
    word_start: bool = True  # refuse a candidate glued to a word or a base64 blob
    lead: str = ""  # regex for the text right before the match that belongs to the secret
    lead_max: int = 0
    lowered: bool = False  # matched against the ASCII-lowercased text: case-insensitive, fast
    value_groups: tuple[int, ...] = ()  # context rules: quoted value groups, then the bare one
    judge: Judge | None = None  # context rules: decides and names the kind
    kinds: tuple[str, ...] = ()  # every kind a callable `kind` or a judge can name

    def all_kinds(self) -> frozenset[str]:
        if self.judge is not None:
            return frozenset(self.kinds or (self.kind,))  # type: ignore[arg-type]
        return frozenset((self.kind,) if isinstance(self.kind, str) else self.kinds)


def _table(table: Mapping[str, str], default: str, pick: Callable[[str], str]) -> KindOf:
    def kind(candidate: str) -> str:
        return table.get(pick(candidate).lower(), default)

    return kind


_B64U = r"[A-Za-z0-9_-]"
_END = r"(?![A-Za-z0-9_-])"  # the token ends here: no more token characters follow

_GITHUB_KINDS = {
    "p": "github-pat",
    "o": "github-oauth-token",
    "u": "github-user-token",
    "s": "github-app-token",
    "r": "github-refresh-token",
}
_ANTHROPIC_KINDS = {"api": "anthropic-api-key", "admin": "anthropic-admin-key"}
_OPENAI_KINDS = {
    "proj": "openai-project-key",
    "svcacct": "openai-service-account-key",
    "admin": "openai-admin-key",
}
_SLACK_KINDS = {"b": "slack-bot-token", "p": "slack-user-token"}
_URL_KINDS = {
    "postgres": "postgres-url",
    "postgresql": "postgres-url",
    "mysql": "mysql-url",
    "mariadb": "mysql-url",
    "mongodb": "mongodb-url",
    "mongodb+srv": "mongodb-url",
    "redis": "redis-url",
    "rediss": "redis-url",
    "amqp": "amqp-url",
    "amqps": "amqp-url",
}
_PEM_KINDS = {"openssh": "ssh-private-key", "pgp": "pgp-private-key"}

_PEM_BODY = (
    r"(?:(?:\s|\\[rn])*(?:[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Version|Comment):[^\n\\]*))+"
    r"(?:(?:\s|\\[rn]|[A-Za-z0-9+/=])*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?"
)


def _encoded_private_key(candidate: str) -> bool:
    """base64 of a PEM block (kubeconfig `client-key-data`): a private key, not a certificate."""
    head = candidate[:64]
    try:
        decoded = base64.b64decode(head[: len(head) // 4 * 4], validate=False)
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY" in decoded


# Order matters only between rules that can start at the same character: first listed wins.
VENDOR_RULES: tuple[Rule, ...] = (
    Rule(
        _table(_PEM_KINDS, "private-key", lambda c: c[11:].split(" ")[0]),
        r"-----BEGIN (?:(?:OPENSSH|RSA|DSA|EC|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
        + _PEM_BODY,
        valid=lambda text: plausible_secret(text.split("-----", 3)[2][:200]),
        kinds=("private-key", *_PEM_KINDS.values()),
    ),
    Rule(  # a key block an extractor clipped before 16 characters of body: still a key
        "private-key",
        r"-----BEGIN [A-Z0-9 ]{0,20}PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[rn]|[A-Za-z0-9+/=])*…",
        valid=lambda text: True,
    ),
    Rule("private-key", r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{60,}={0,2}", valid=_encoded_private_key),
    Rule("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20,}"),
    Rule("sentry-dsn", r"https?://([0-9a-f]{32}(?::[0-9a-f]{32})?)@[\w.-]+/\d+", group=1),
    Rule(
        _table(_URL_KINDS, "url-credentials", lambda c: c.split("://")[0]),
        r"://[^\s:/?#@'\"<>\[\]]{0,128}:([^\s/?#@'\"<>]{1,256})@(?=[\w\[])",
        group=1,
        valid=plausible_url_password,
        word_start=False,
        lead=r"[a-zA-Z][a-zA-Z0-9+.-]{0,20}",
        lead_max=21,
        kinds=("url-credentials", *_URL_KINDS.values()),
    ),
    Rule(
        "slack-webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_-]{20,})",
        group=1,
    ),
    Rule(
        "discord-webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/(\d{5,30}/[\w-]{40,})",
        group=1,
    ),
    Rule(
        "teams-webhook",
        r"https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/([A-Za-z0-9@/_-]{40,})",
        group=1,
    ),
    Rule(
        _table(_GITHUB_KINDS, "github-token", lambda c: c[2]),
        r"gh[pousr]_[A-Za-z0-9]{8,251}" + _END,
        kinds=tuple(_GITHUB_KINDS.values()),
    ),
    Rule("github-fine-grained-pat", r"github_pat_[A-Za-z0-9_]{8,255}" + _END),
    Rule(
        _table(_ANTHROPIC_KINDS, "anthropic-oauth-token", lambda c: c[7:].split("-")[0][:-2]),
        r"sk-ant-(?:api|admin|oat|ort|sid)\d\d-" + _B64U + r"{8,}" + _END,
        kinds=("anthropic-oauth-token", *_ANTHROPIC_KINDS.values()),
    ),
    Rule("openrouter-api-key", r"sk-or-(?:v\d-)?[A-Za-z0-9]{8,}" + _END),
    Rule(
        _table(_OPENAI_KINDS, "openai-api-key", lambda c: c.split("-")[1]),
        r"sk-(?:proj|svcacct|admin|None)-" + _B64U + r"{8,}" + _END,
        kinds=("openai-api-key", *_OPENAI_KINDS.values()),
    ),
    Rule("openai-api-key", r"sk-[A-Za-z0-9]{32,}" + _END),
    Rule("stripe-secret-key", r"sk_(?:live|test)_[A-Za-z0-9]{8,}" + _END),
    Rule("stripe-restricted-key", r"rk_(?:live|test)_[A-Za-z0-9]{8,}" + _END),
    Rule("stripe-webhook-secret", r"whsec_[A-Za-z0-9+/=]{8,}" + _END),
    Rule("aws-access-key-id", r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    Rule("aws-bedrock-api-key", r"ABSK[A-Za-z0-9+/]{20,}={0,2}(?![\w+/=])"),
    Rule("aws-bedrock-api-key", r"bedrock-api-key-[A-Za-z0-9+/]{20,}={0,2}(?![\w+/=])"),
    Rule("google-api-key", r"AIza" + _B64U + r"{20,}" + _END),
    Rule("google-oauth-client-secret", r"GOCSPX-" + _B64U + r"{8,}" + _END),
    Rule("google-oauth-token", r"ya29\." + _B64U + r"{16,}" + _END),
    Rule("google-refresh-token", r"1//0[A-Za-z0-9_-]{20,}" + _END, word_start=False),
    Rule(
        _table(_SLACK_KINDS, "slack-token", lambda c: c[3]),
        r"xox[bpaoesrc]-[A-Za-z0-9-]{8,}" + _END,
        kinds=("slack-token", *_SLACK_KINDS.values()),
    ),
    Rule("slack-app-token", r"xapp-\d-[A-Za-z0-9-]{8,}" + _END),
    Rule("gitlab-pat", r"glpat-" + _B64U + r"{8,}" + _END),
    Rule("gitlab-token", r"gl(?:rt|ptt|dt|cbt|imt|oas|soat|ft|agent)-" + _B64U + r"{8,}" + _END),
    Rule("gitlab-token", r"GR1348941" + _B64U + r"{20,}" + _END),
    Rule("npm-token", r"npm_[A-Za-z0-9]{8,}" + _END),
    Rule("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{16,}" + _END),
    Rule("docker-pat", r"dckr_(?:pat|oat)_" + _B64U + r"{8,}" + _END),
    Rule(
        "fly-token",
        r"fm[12][ar]?_[A-Za-z0-9+/=]{20,}(?:,fm[12][ar]?_[A-Za-z0-9+/=]+)*",
        lead="(?:FlyV1 )?",
        lead_max=6,
    ),
    Rule("fly-token", r"fo1_" + _B64U + r"{20,}" + _END),
    Rule("neon-api-key", r"napi_[A-Za-z0-9]{16,}" + _END),
    Rule("resend-api-key", r"re_[A-Za-z0-9]{6,}_[A-Za-z0-9_]{12,}" + _END),
    Rule("bitbucket-app-password", r"ATBB[A-Za-z0-9]{24,}" + _END),
    Rule("atlassian-api-token", r"AT(?:ATT|CTT)3[A-Za-z0-9_=-]{20,}"),
    Rule("dropbox-token", r"sl\.(?:u\.)?[A-Za-z0-9_-]{60,}" + _END),
    Rule("twilio-api-key", r"SK[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    Rule("sendgrid-api-key", r"SG\." + _B64U + r"{16,}\." + _B64U + r"{16,}" + _END),
    Rule("mailgun-api-key", r"key-[0-9a-f]{32}(?![0-9A-Za-z])"),
    Rule("mailchimp-api-key", r"-us\d{1,2}(?![0-9A-Za-z])", lead=r"[0-9a-f]{32}", lead_max=32),
    Rule("heroku-api-key", r"HRKU-" + _B64U + r"{16,}" + _END),
    Rule("digitalocean-token", r"do[por]_v1_[a-f0-9]{16,}(?![0-9A-Za-z])"),
    Rule("shopify-token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{16,}(?![0-9A-Za-z])"),
    Rule("azure-storage-key", r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})", group=1),
    Rule("azure-shared-access-key", r"SharedAccessKey=([A-Za-z0-9+/]{40,}=*)", group=1),
    Rule(
        "azure-sas-token",
        r"sig=([A-Za-z0-9%+/]{30,}(?:=|%3D)*)",
        group=1,
        word_start=False,
        lead=r"[?&]",
        lead_max=1,
    ),
    Rule(
        "azure-client-secret",
        r"Q~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])",
        lead=r"[A-Za-z0-9_~.-]{3}\d",
        lead_max=4,
    ),
    Rule("huggingface-token", r"hf_[A-Za-z0-9]{20,}" + _END),
    Rule("databricks-token", r"dapi[a-f0-9]{32}(?:-\d)?(?![0-9A-Za-z])"),
    Rule("discord-bot-token", r"[MNO][A-Za-z0-9_-]{23,25}\.[\w-]{6}\.[\w-]{27,38}" + _END),
    Rule(  # the bot id may follow `bot` in API URLs: https://api.telegram.org/bot<id>:<secret>/
        "telegram-bot-token",
        r":AA" + _B64U + r"{33}" + _END,
        word_start=False,
        lead=r"(?<!\d)\d{8,10}",
        lead_max=10,
    ),
    Rule("square-token", r"EAAA" + _B64U + r"{40,}" + _END),
    Rule("square-token", r"sq0(?:atp|csp|idp)-" + _B64U + r"{16,}" + _END),
    Rule("facebook-access-token", r"EAA[A-Za-z0-9]{80,}" + _END),
    Rule("linear-api-key", r"lin_(?:api|oauth)_[A-Za-z0-9]{16,}"),
    Rule("notion-token", r"secret_[A-Za-z0-9]{43}(?![A-Za-z0-9])"),
    Rule("notion-token", r"ntn_[A-Za-z0-9]{20,}"),
    Rule("supabase-token", r"sbp_[a-f0-9]{20,}(?![A-Za-z0-9])"),
    Rule("supabase-token", r"sb_secret_" + _B64U + r"{16,}" + _END),
    Rule("sentry-auth-token", r"sntry[su]_[A-Za-z0-9+/=_-]{40,}"),
    Rule("groq-api-key", r"gsk_[A-Za-z0-9]{20,}"),
    Rule("replicate-token", r"r8_[A-Za-z0-9]{20,}(?![A-Za-z0-9])"),
    Rule("perplexity-api-key", r"pplx-[A-Za-z0-9]{20,}(?![A-Za-z0-9])"),
    Rule("xai-api-key", r"xai-[A-Za-z0-9]{40,}"),
    Rule("grafana-token", r"glc_[A-Za-z0-9+/]{32,}={0,2}"),
    Rule("grafana-token", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    Rule(
        "doppler-token",
        r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[A-Za-z0-9]{20,}",
    ),
    Rule("postman-api-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    Rule(
        "terraform-token",
        r"\.atlasv1\." + _B64U + r"{40,}",
        lead=r"[A-Za-z0-9]{14}",
        lead_max=14,
    ),
    Rule("onepassword-token", r"ops_eyJ[A-Za-z0-9+/=_-]{100,}"),
    Rule("netlify-token", r"nfp_[A-Za-z0-9]{20,}"),
    Rule("pulumi-token", r"pul-[a-f0-9]{40}(?![A-Za-z0-9])"),
    Rule("newrelic-api-key", r"NRAK-[A-Z0-9]{27}(?![A-Za-z0-9])"),
    Rule("mapbox-secret-token", r"sk\.eyJ" + _B64U + r"{20,}\." + _B64U + r"{20,}"),
    Rule("vault-token", r"hv[sb]\." + _B64U + r"{24,}"),
    Rule("alibaba-access-key-id", r"LTAI[A-Za-z0-9]{20}(?![A-Za-z0-9])"),
    Rule("langsmith-api-key", r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}"),
    Rule("tailscale-key", r"tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]+-[A-Za-z0-9]{20,}"),
    Rule("planetscale-token", r"pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_.-]{32,}"),
    Rule("airtable-pat", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}"),
    Rule("figma-token", r"figd_" + _B64U + r"{40,}"),
    Rule("pinecone-api-key", r"pcsk_[A-Za-z0-9]{5,}_[A-Za-z0-9]{40,}"),
    Rule("firebase-fcm-key", r"AAAA[A-Za-z0-9_-]{7}:" + _B64U + r"{140}"),
    Rule("jwt", r"eyJ" + _B64U + r"{8,}\.eyJ" + _B64U + r"{8,}\." + _B64U + r"{16,}" + _END),
    Rule("bearer-token", r"bearer[ \t]+([a-z0-9._~+/-]{20,}=*)", group=1, lowered=True),
)


# --- context rules ------------------------------------------------------------------------------

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
    return kind if plausible_assigned(value, quoted=quoted, strict=strict) else None


def judge_flag(candidate: str, value: str, quoted: bool) -> str | None:
    """A command's password flag (`mysql -pX`, `sshpass -p X`, `curl -u user:X`)."""
    return "password" if plausible_assigned(value, quoted=quoted) else None


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
    return kind if kind and plausible_assigned(value, quoted=quoted) else None


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
        r"machine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+" + _VALUE,
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
    # sshpass -p X, docker login -p X, redis-cli -a X, zip -P X
    *(
        Rule(
            "password",
            command + r"(?:[ \t][^\n|;&]{0,200}?)?[ \t]-[paP][ \t]+" + _VALUE,
            value_groups=_VALUES,
            judge=judge_flag,
        )
        for command in ("sshpass", "login", "redis-cli", "zip", "unzip")
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
