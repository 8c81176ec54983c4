"""The redactor's vendor rules: formats with a documented prefix or shape (secret_contexts.py
holds the other kind: a secret's name, a command-line flag, a header next to a value).

Vendor prefixes count whatever the body's length (a token of an unusual length is still a
token); what guards against look-alikes is the validator (placeholders, fillers, EXAMPLE) and
`word_start` (a prefix glued to a longer word or a base64 blob is not one). Context rules hand
the whole value to a judge in secret_shapes.py, and the whole value is replaced.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engram_ci.sync.secret_shapes import (
    plausible_assigned,
    plausible_secret,
    plausible_url_password,
)

__all__ = ["VENDOR_RULES", "Judge", "Rule"]

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


def _random_user(value: str) -> bool:
    """A bare word where a user name or a login argument goes that is clearly random: a token
    (`git`, `oauth2`, `jenkins-deploy-bot` are names)."""
    return plausible_assigned(value, quoted=False, strict=True)


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
    Rule(  # a token as the URL's user, no password: https://<40-hex PAT>@github.com/o/r.git
        "url-credentials",
        r"https?://([A-Za-z0-9_-]{20,256})@(?=[\w\[])",
        group=1,
        valid=_random_user,
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
    Rule(  # vault login s.XXXX (older tokens have no hvs. prefix); -method=... flags skipped
        "vault-token",
        r"vault[ \t]+login[ \t]+(?:-[\w-]+(?:=\S*)?[ \t]+)*([A-Za-z0-9._-]{8,256})(?![\w.=-])",
        group=1,
        valid=_random_user,
    ),
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
