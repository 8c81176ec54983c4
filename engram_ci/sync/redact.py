"""Secret redaction: every secret in a text becomes `[REDACTED:<kind>]` before it leaves.

Knowledge is distilled from transcripts full of tokens, keys and connection strings, so sync
runs every file through `redact_files` before upload. The rules below are tried in ONE
combined regex pass (they run over every uploaded file); a rule that matches is then checked
by a small validator, because the hard part is not finding secrets but leaving alone what only
looks like one: placeholders (`sk-...`, `ghp_xxxx`, `<your-token>`, `${GITHUB_TOKEN}`,
`os.environ[...]`, `YOUR_API_KEY`, `****`), code (`token = args.token`, `password: str`) and
vendors' documented examples (anything containing EXAMPLE, like AWS's `AKIAIOSFODNN7EXAMPLE`:
public, and redacting it would only damage documentation-like knowledge).

Idempotent by construction: no rule matches the marker, and validators refuse any candidate
containing `[REDACTED:`, so redacting twice changes nothing.
Publishable keys (Stripe `pk_live_`, SSH/age *public* keys) are public by design: kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MARKER = "[REDACTED:{kind}]"


@dataclass
class RedactionReport:
    counts: Counter[str] = field(default_factory=Counter)  # kind -> how many replaced

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- validators: is this candidate a real-looking secret, or a placeholder? ------------------

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


def plausible_secret(value: str) -> bool:
    """False for fillers and placeholders: repeated chars, `xxxx`, `...`, `your-...`, EXAMPLE."""
    lower = value.lower()
    if any(part in lower for part in _PLACEHOLDER_PARTS):
        return False
    if any(seq in lower for seq in _SEQUENCES):
        return False
    distinct = len(set(value))
    return distinct >= min(8, max(2, len(value) // 4))


_STOPWORDS = frozenset(
    # words that stand where a value goes in docs and code, never a real secret
    """password passwd passphrase secret secrets token tokens key apikey api_key changeme test
    testing dummy sample example placeholder null none nil true false undefined str string int
    bool bytes any required optional hidden redacted masked todo tbd env default value
    secretstr secret_value password123""".split()  # noqa: SIM905
)
#: the stock passwords of database images and docs (postgres:postgres@localhost, guest:guest)
_DEFAULT_PASSWORDS = frozenset(
    "pass pwd pw user username postgres root admin guest mysql redis mongo rabbitmq".split()  # noqa: SIM905
)
_CODE_REFERENCE = re.compile(
    # an identifier made of words (token, new_token, getToken, API_TOKEN): a variable
    r"[a-z_]+|[A-Z_]+|_*[A-Za-z][a-z]*(?:_*[A-Z][a-z]+)*_*"
    r"|[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+"  # attribute access: settings.SECRET_KEY
    r"|\d+(?:\.\d+)?"  # numbers: max_tokens: 4096
)


def plausible_assigned(value: str, *, quoted: bool) -> bool:
    """A value assigned to a secret-named key: reject placeholders, code and prose."""
    if len(value) < 6 or " " in value or value.lower() in _STOPWORDS:
        return False
    if value[0] in "$%@!&*#([{~\\" or "(" in value or "[" in value:
        return False
    if not plausible_secret(value):
        return False
    if not quoted and _CODE_REFERENCE.fullmatch(value):
        return False
    if quoted and re.fullmatch(r"\d+", value):
        return False
    # a secret inside (e.g. "token": "ghp_...") is left to the rule that knows its kind
    return _specific_secret_in(value) is None


def plausible_url_password(value: str) -> bool:
    """The password of `scheme://user:password@host`, unless a placeholder or a default."""
    if value.lower() in _STOPWORDS | _DEFAULT_PASSWORDS:
        return False
    if value[0] in "$%<{*:" or not plausible_secret(value):
        return False
    return _specific_secret_in(value) is None  # a token as password: its own rule names it


# --- rules ------------------------------------------------------------------------------------

Validator = Callable[[str], bool]
#: names the kind from the candidate's text (lead included); None: not a secret after all
KindOf = Callable[[str], "str | None"]


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
    value_groups: tuple[int, ...] = ()  # assignments: quoted value groups, then the bare one
    kinds: tuple[str, ...] = ()  # every kind a callable `kind` can name

    def all_kinds(self) -> frozenset[str]:
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

# Order matters only between rules that can start at the same character: first listed wins.
_SPECIFIC_RULES: tuple[Rule, ...] = (
    Rule(
        _table(_PEM_KINDS, "private-key", lambda c: c[11:].split(" ")[0]),
        r"-----BEGIN (?:(?:OPENSSH|RSA|DSA|EC|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
        + _PEM_BODY,
        valid=lambda text: plausible_secret(text.split("-----", 3)[2][:200]),
        kinds=("private-key", *_PEM_KINDS.values()),
    ),
    Rule("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
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
        r"gh[pousr]_[A-Za-z0-9]{36,251}" + _END,
        kinds=tuple(_GITHUB_KINDS.values()),
    ),
    Rule("github-fine-grained-pat", r"github_pat_[A-Za-z0-9_]{50,255}" + _END),
    Rule(
        _table(_ANTHROPIC_KINDS, "anthropic-oauth-token", lambda c: c[7:].split("-")[0][:-2]),
        r"sk-ant-(?:api|admin|oat|ort|sid)\d\d-" + _B64U + r"{20,}" + _END,
        kinds=("anthropic-oauth-token", *_ANTHROPIC_KINDS.values()),
    ),
    Rule(
        _table(_OPENAI_KINDS, "openai-api-key", lambda c: c.split("-")[1]),
        r"sk-(?:proj|svcacct|admin|None)-" + _B64U + r"{20,}" + _END,
        kinds=("openai-api-key", *_OPENAI_KINDS.values()),
    ),
    Rule("openai-api-key", r"sk-[A-Za-z0-9]{32,}" + _END),
    Rule("stripe-secret-key", r"sk_(?:live|test)_[A-Za-z0-9]{20,}" + _END),
    Rule("stripe-restricted-key", r"rk_(?:live|test)_[A-Za-z0-9]{20,}" + _END),
    Rule("stripe-webhook-secret", r"whsec_[A-Za-z0-9+/=]{24,}" + _END),
    Rule("aws-access-key-id", r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    Rule("google-api-key", r"AIza" + _B64U + r"{35}" + _END),
    Rule("google-oauth-client-secret", r"GOCSPX-" + _B64U + r"{28}" + _END),
    Rule("google-oauth-token", r"ya29\." + _B64U + r"{30,}" + _END),
    Rule(
        _table(_SLACK_KINDS, "slack-token", lambda c: c[3]),
        r"xox[bpaoesr]-[A-Za-z0-9-]{10,}" + _END,
        kinds=("slack-token", *_SLACK_KINDS.values()),
    ),
    Rule("slack-app-token", r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}" + _END),
    Rule("gitlab-pat", r"glpat-" + _B64U + r"{20,}" + _END),
    Rule("gitlab-token", r"gl(?:rt|ptt|dt|cbt|imt|oas|soat|ft|agent)-" + _B64U + r"{20,}" + _END),
    Rule("gitlab-token", r"GR1348941" + _B64U + r"{20,}" + _END),
    Rule("npm-token", r"npm_[A-Za-z0-9]{36}" + _END),
    Rule("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{60,}" + _END),
    Rule("docker-pat", r"dckr_(?:pat|oat)_" + _B64U + r"{27,}" + _END),
    Rule("twilio-api-key", r"SK[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    Rule("sendgrid-api-key", r"SG\." + _B64U + r"{22}\." + _B64U + r"{43}" + _END),
    Rule("mailgun-api-key", r"key-[0-9a-f]{32}(?![0-9A-Za-z])"),
    Rule("mailchimp-api-key", r"-us\d{1,2}(?![0-9A-Za-z])", lead=r"[0-9a-f]{32}", lead_max=32),
    Rule("heroku-api-key", r"HRKU-" + _B64U + r"{30,}" + _END),
    Rule("digitalocean-token", r"do[por]_v1_[a-f0-9]{64}(?![0-9A-Za-z])"),
    Rule("shopify-token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}(?![0-9A-Za-z])"),
    Rule("atlassian-api-token", r"ATATT3[A-Za-z0-9_=-]{100,}"),
    Rule("azure-storage-key", r"AccountKey=([A-Za-z0-9+/]{86}==)", group=1),
    Rule("azure-shared-access-key", r"SharedAccessKey=([A-Za-z0-9+/]{40,}=*)", group=1),
    Rule("azure-sas-token", r"[?&]sig=([A-Za-z0-9%+/]{30,}(?:=|%3D)*)", group=1, word_start=False),
    Rule(
        "azure-client-secret",
        r"Q~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])",
        lead=r"[A-Za-z0-9_~.-]{3}\d",
        lead_max=4,
    ),
    Rule("huggingface-token", r"hf_[A-Za-z0-9]{34,}" + _END),
    Rule("databricks-token", r"dapi[a-f0-9]{32}(?:-\d)?(?![0-9A-Za-z])"),
    Rule("discord-bot-token", r"[MNO][A-Za-z0-9_-]{23,25}\.[\w-]{6}\.[\w-]{27,38}" + _END),
    Rule(  # the bot id may follow `bot` in API URLs: https://api.telegram.org/bot<id>:<secret>/
        "telegram-bot-token",
        r":AA" + _B64U + r"{33}" + _END,
        word_start=False,
        lead=r"(?<!\d)\d{8,10}",
        lead_max=10,
    ),
    Rule("square-token", r"EAAA" + _B64U + r"{60}" + _END),
    Rule("square-token", r"sq0(?:atp|csp|idp)-" + _B64U + r"{22,43}" + _END),
    Rule("facebook-access-token", r"EAA[A-Za-z0-9]{80,}" + _END),
    Rule("linear-api-key", r"lin_(?:api|oauth)_[A-Za-z0-9]{40,}"),
    Rule("notion-token", r"secret_[A-Za-z0-9]{43}(?![A-Za-z0-9])"),
    Rule("notion-token", r"ntn_[A-Za-z0-9]{40,}"),
    Rule("supabase-token", r"sbp_[a-f0-9]{40}(?![A-Za-z0-9])"),
    Rule("supabase-token", r"sb_secret_" + _B64U + r"{20,}" + _END),
    Rule("sentry-auth-token", r"sntry[su]_[A-Za-z0-9+/=_]{40,}"),
    Rule("groq-api-key", r"gsk_[A-Za-z0-9]{48,}"),
    Rule("replicate-token", r"r8_[A-Za-z0-9]{37}(?![A-Za-z0-9])"),
    Rule("perplexity-api-key", r"pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9])"),
    Rule("xai-api-key", r"xai-[A-Za-z0-9]{70,}"),
    Rule("grafana-token", r"glc_[A-Za-z0-9+/]{32,}={0,2}"),
    Rule("grafana-token", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    Rule("doppler-token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    Rule("postman-api-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    Rule(
        "terraform-token",
        r"\.atlasv1\." + _B64U + r"{60,}",
        lead=r"[A-Za-z0-9]{14}",
        lead_max=14,
    ),
    Rule("onepassword-token", r"ops_eyJ[A-Za-z0-9+/=_-]{100,}"),
    Rule("netlify-token", r"nfp_[A-Za-z0-9]{36,}"),
    Rule("pulumi-token", r"pul-[a-f0-9]{40}(?![A-Za-z0-9])"),
    Rule("newrelic-api-key", r"NRAK-[A-Z0-9]{27}(?![A-Za-z0-9])"),
    Rule("mapbox-secret-token", r"sk\.eyJ" + _B64U + r"{20,}\." + _B64U + r"{20,}"),
    Rule("vault-token", r"hv[sb]\." + _B64U + r"{90,}"),
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
    Rule(
        "basic-auth",
        r"authorization[\"']?[ \t]*[:=][ \t]*[\"']?basic[ \t]+([a-z0-9+/]{8,}={0,2})",
        group=1,
        lowered=True,
    ),
)

_KEY_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "_pass",
    ".pass",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "auth_key",
    "authkey",
    "private_key",
    "privatekey",
    "secret_key",
    "secretkey",
    "account_key",
    "accountkey",
    "encryption_key",
    "signing_key",
    "master_key",
)
_ASSIGNED_KINDS = (
    "aws-secret-access-key",
    "aws-session-token",
    "private-key",
    "password",
    "secret",
    "token",
    "api-key",
)


def _assigned_kind(candidate: str) -> str | None:
    """The kind of a `KEY = value` secret, named from the whole key; None: not a secret key."""
    key = re.match(r"-*([\w.-]*)", candidate)
    name = (key.group(1) if key else "").lower().replace("-", "_")
    if name != "pass" and not name.endswith(_KEY_ENDINGS):
        return None
    if ("aws" in name and "secret" in name) or "secretaccesskey" in name.replace("_", ""):
        return "aws-secret-access-key"
    if "aws" in name and "session" in name:
        return "aws-session-token"
    for word, kind in (("private", "private-key"), ("pass", "password"), ("secret", "secret")):
        if word in name:
            return kind
    return "token" if "token" in name else "api-key"


_VALUE = (
    r"(?!=)(?:\\?\"((?:[^\"\\\n]|\\[^\"\n]){1,4096})\\?\""  # "double" (or \"escaped\")
    r"|'([^'\n]{1,512})'"  # 'single'
    r"|([^\s\"'`,;&|()\[\]{}<>]{1,512}))"  # bare
)
_KEY_LEAD = r"[\w.-]{0,64}"

_CONTEXT_RULES: tuple[Rule, ...] = (
    Rule(
        "netrc-password",
        r"machine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(\S+)",
        group=1,
        valid=lambda value: plausible_assigned(value, quoted=True),
    ),
    Rule(  # command-line options: --password hunter2, --api-key=...
        _assigned_kind,
        r"--[a-z0-9-]*?(?:password|passwd|passphrase|token|secret|api-key|apikey)"
        r"(?:=|[ \t]+)" + _VALUE,
        value_groups=(1, 2, 3),
        word_start=False,
        lowered=True,
        kinds=_ASSIGNED_KINDS,
    ),
    Rule(  # KEY=..., key: ..., "key": "...", key = '...', key => ...
        _assigned_kind,
        r"(?:password|passwd|passphrase|pass|secret|token|key)\\?[\"']?[ \t]{0,3}(?::=|=>|=|:)"
        r"[ \t]{0,3}" + _VALUE,
        value_groups=(1, 2, 3),
        word_start=False,
        lead=_KEY_LEAD,
        lead_max=64,
        lowered=True,
        kinds=_ASSIGNED_KINDS,
    ),
)

_RULES = _SPECIFIC_RULES + _CONTEXT_RULES
_COMPILED = tuple(re.compile(rule.pattern) for rule in _RULES)
_LEADS = tuple(re.compile(f"(?:{rule.lead})\\Z") if rule.lead else None for rule in _RULES)

#: every kind a marker can name
KINDS: frozenset[str] = frozenset().union(*(rule.all_kinds() for rule in _RULES))

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


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
    if before in "+/" and start >= 2 and text[start - 2].isalnum():
        return True
    return end + 1 < len(text) and text[end] in "+/" and text[end + 1].isalnum()


@dataclass(frozen=True)
class _Hit:
    start: int  # where the candidate begins (lead included)
    end: int  # where its match ends
    secret: tuple[int, int]  # the span replaced
    kind: str


def _lead_start(index: int, text: str, start: int) -> int | None:
    """Where rule `index`'s candidate begins, given its match begins at `start`."""
    lead = _LEADS[index]
    if lead is None:
        return start
    found = lead.search(text, max(0, start - _RULES[index].lead_max), start)
    return None if found is None else found.start()


def _accept(index: int, text: str, start: int, match: re.Match[str]) -> _Hit | None:
    """The hit, if rule `index`'s match is a real-looking secret rather than a look-alike."""
    rule = _RULES[index]
    if rule.word_start and _glued(text, start, match.end()):
        return None
    if rule.value_groups:
        group = next(g for g in rule.value_groups if match.group(g) is not None)
        value = text[match.start(group) : match.end(group)]
        if not plausible_assigned(value, quoted=group != rule.value_groups[-1]):
            return None
    else:
        group = rule.group
        if not rule.valid(text[match.start(group) : match.end(group)]):
            return None
    kind = rule.kind if isinstance(rule.kind, str) else rule.kind(text[start : match.end()])
    if kind is None:
        return None
    secret = (start, match.end()) if group == 0 else match.span(group)
    return _Hit(start, match.end(), secret, kind)


def _hits(text: str, rules: range) -> list[_Hit]:
    """Accepted secrets in `text`, leftmost first (then the first rule listed), none overlapping."""
    lowered: str | None = None
    candidates: list[tuple[int, int, re.Match[str]]] = []
    for index in rules:
        if _RULES[index].lowered:
            lowered = _ascii_lower(text) if lowered is None else lowered
            subject = lowered
        else:
            subject = text
        for match in _COMPILED[index].finditer(subject):
            start = _lead_start(index, text, match.start())
            if start is not None:
                candidates.append((start, index, match))
    candidates.sort(key=lambda c: (c[0], c[1]))
    hits: list[_Hit] = []
    taken = 0  # text before this offset belongs to an accepted secret
    for start, index, match in candidates:
        if start < taken:
            continue
        hit = _accept(index, text, start, match)
        if hit is not None:
            hits.append(hit)
            taken = hit.end
    return hits


def _specific_secret_in(value: str) -> str | None:
    hits = _hits(value, range(len(_SPECIFIC_RULES)))
    return hits[0].kind if hits else None


def redact_text(text: str, report: RedactionReport | None = None) -> str:
    """Replace every secret in `text` with `[REDACTED:kind]`."""
    hits = _hits(text, range(len(_RULES)))
    if not hits:
        return text
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
