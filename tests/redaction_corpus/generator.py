# ruff: noqa: E501  (the format table reads best one format per line)
"""A seeded corpus of realistic secrets in realistic places, and clean look-alikes.

Every secret is generated here with a random body (nothing real is stored in the repo, so no
secret scanner trips on it), in one of ~90 formats whose prefixes and shapes follow the vendors'
documentation, and placed in one of ~35 contexts people paste into an agent's session: env
files, shell, YAML, JSON, code in ten languages, CLI flags, HTTP headers and cookies, URLs,
kubeconfig and docker config, XML, connection strings, prose. The clean half holds what only
looks like a secret: hashes, UUIDs, git SHAs, placeholders, base64 images, code that names a
secret without holding one.

`corpus(seed)` is deterministic. The benchmark and the tests tune on TUNING_SEED and report
HELD_OUT_SEED separately: the held-out corpus draws other bodies, key names, formats and
context pairings, and was not looked at while the redactor's rules were written.
"""

from __future__ import annotations

import base64
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["HELD_OUT_SEED", "TUNING_SEED", "Case", "Corpus", "corpus", "secret_gone"]

TUNING_SEED = 15
HELD_OUT_SEED = 2026

ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
SYMBOLS = "!@#$%^&*-_+=.?~"


@dataclass(frozen=True)
class Case:
    text: str
    secret: str  # the part that must be gone, whole
    format: str
    context: str


@dataclass(frozen=True)
class Corpus:
    secrets: list[Case]
    clean: list[str]


class _Draw:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def between(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def pick(self, options: list[str] | tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def password(self) -> str:
        """What people pick or generators produce: symbols anywhere, sometimes first."""
        n = self.between(10, 24)
        body = [self.rng.choice(ALNUM) for _ in range(n)]
        for _ in range(self.between(1, 4)):
            body[self.rng.randrange(n)] = self.rng.choice(SYMBOLS)
        body[self.rng.randrange(n)] = self.rng.choice(string.digits)
        body[self.rng.randrange(n)] = self.rng.choice(string.ascii_uppercase)
        if self.rng.random() < 0.25:
            body[0] = self.rng.choice("&*!#")
        return "".join(body)

    def pem(self, label: str) -> str:
        lines = [self.s(B64, 64) for _ in range(self.between(6, 14))]
        return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


# --- formats: name -> (value maker, natural key names, kind of value) ----------------------
# kind "token": has a vendor prefix or shape; "password": an opaque value only its key or flag
# tells apart; "block": multi-line; "url": a URL with credentials inside


def _flex(d: _Draw, n: int) -> int:
    """Vendor bodies of unusual length happen (new formats, truncation): vary some."""
    return n if d.rng.random() < 0.7 else max(8, n + d.between(-n // 2, n // 2))


_Maker = Callable[[_Draw], str]
FORMATS: dict[str, tuple[_Maker, tuple[str, ...], str]] = {
    "github-classic": (
        lambda d: "ghp_" + d.s(ALNUM, _flex(d, 36)),
        ("GITHUB_TOKEN", "GH_TOKEN", "github_token"),
        "token",
    ),
    "github-oauth": (
        lambda d: "gho_" + d.s(ALNUM, 36),
        ("GITHUB_OAUTH_TOKEN", "oauth_token"),
        "token",
    ),
    "github-user-to-server": (lambda d: "ghu_" + d.s(ALNUM, 36), ("GH_USER_TOKEN",), "token"),
    "github-app-installation": (
        lambda d: "ghs_" + d.s(ALNUM, 36),
        ("INSTALLATION_TOKEN",),
        "token",
    ),
    "github-refresh": (lambda d: "ghr_" + d.s(ALNUM, 76), ("GITHUB_REFRESH_TOKEN",), "token"),
    "github-fine-grained": (
        lambda d: "github_pat_" + d.s(ALNUM, _flex(d, 22)) + "_" + d.s(ALNUM, _flex(d, 59)),
        ("GITHUB_PAT", "GH_PAT", "githubPat"),
        "token",
    ),
    "slack-bot": (
        lambda d: (
            f"xoxb-{d.s(string.digits, 12)}-{d.s(string.digits, 13)}-{d.s(ALNUM, _flex(d, 24))}"
        ),
        ("SLACK_BOT_TOKEN", "slack_token"),
        "token",
    ),
    "slack-user": (
        lambda d: (
            f"xoxp-{d.s(string.digits, 12)}-{d.s(string.digits, 12)}-{d.s(string.digits, 13)}-{d.s(HEX, 32)}"
        ),
        ("SLACK_USER_TOKEN",),
        "token",
    ),
    "slack-app": (
        lambda d: f"xapp-1-A{d.s(UPPER_ALNUM, 10)}-{d.s(string.digits, 13)}-{d.s(HEX, 64)}",
        ("SLACK_APP_TOKEN",),
        "token",
    ),
    "slack-webhook": (
        lambda d: (
            f"https://hooks.slack.com/services/T{d.s(UPPER_ALNUM, 8)}/B{d.s(UPPER_ALNUM, 10)}/{d.s(ALNUM, 24)}"
        ),
        ("SLACK_WEBHOOK_URL",),
        "token",
    ),
    "openai-legacy": (lambda d: "sk-" + d.s(ALNUM, 48), ("OPENAI_API_KEY", "openai_key"), "token"),
    "openai-project": (
        lambda d: "sk-proj-" + d.s(B64URL, _flex(d, 156)),
        ("OPENAI_API_KEY", "openaiApiKey"),
        "token",
    ),
    "openai-service-account": (
        lambda d: "sk-svcacct-" + d.s(B64URL, 156),
        ("OPENAI_API_KEY",),
        "token",
    ),
    "anthropic-api": (
        lambda d: "sk-ant-api03-" + d.s(B64URL, _flex(d, 93)) + "AA",
        ("ANTHROPIC_API_KEY", "anthropic_api_key"),
        "token",
    ),
    "anthropic-oauth": (
        lambda d: "sk-ant-oat01-" + d.s(B64URL, 95) + "AA",
        ("CLAUDE_CODE_OAUTH_TOKEN",),
        "token",
    ),
    "openrouter": (
        lambda d: "sk-or-v1-" + d.s(HEX, _flex(d, 64)),
        ("OPENROUTER_API_KEY",),
        "token",
    ),
    "deepseek": (lambda d: "sk-" + d.s(HEX, 32), ("DEEPSEEK_API_KEY",), "token"),
    "flyio-macaroon": (
        lambda d: "FlyV1 fm2_" + d.s(B64, _flex(d, 180)) + ",fm2_" + d.s(B64, 120),
        ("FLY_API_TOKEN",),
        "token",
    ),
    "flyio-org": (lambda d: "fo1_" + d.s(B64URL, 43), ("FLY_ACCESS_TOKEN",), "token"),
    "neon": (lambda d: "napi_" + d.s(LOWER_ALNUM, _flex(d, 64)), ("NEON_API_KEY",), "token"),
    "resend": (
        lambda d: "re_" + d.s(ALNUM, 8) + "_" + d.s(ALNUM, 24),
        ("RESEND_API_KEY",),
        "token",
    ),
    "bitbucket-app-password": (
        lambda d: "ATBB" + d.s(ALNUM, 32) + d.s(HEX.upper(), 8),
        ("BITBUCKET_APP_PASSWORD",),
        "token",
    ),
    "bitbucket-access-token": (
        lambda d: "ATCTT3xFfGN0" + d.s(B64URL, 180) + "=" + d.s(HEX.upper(), 8),
        ("BITBUCKET_ACCESS_TOKEN",),
        "token",
    ),
    "atlassian-api": (
        lambda d: "ATATT3xFfGF0" + d.s(B64URL, 170) + "=" + d.s(HEX.upper(), 8),
        ("JIRA_API_TOKEN",),
        "token",
    ),
    "dropbox-short-lived": (
        lambda d: "sl." + d.pick(("B", "u.A", "C")) + d.s(B64URL, _flex(d, 135)),
        ("DROPBOX_ACCESS_TOKEN",),
        "token",
    ),
    "google-refresh": (
        lambda d: "1//0" + d.pick(("4", "g", "9", "e")) + d.s(B64URL, _flex(d, 98)),
        ("GOOGLE_REFRESH_TOKEN", "refresh_token"),
        "token",
    ),
    "google-api-key": (
        lambda d: "AIza" + d.s(B64URL, 35),
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        "token",
    ),
    "google-oauth-secret": (
        lambda d: "GOCSPX-" + d.s(B64URL, 28),
        ("GOOGLE_CLIENT_SECRET", "client_secret"),
        "token",
    ),
    "google-access-token": (
        lambda d: "ya29." + d.s(B64URL, _flex(d, 160)),
        ("GOOGLE_ACCESS_TOKEN", "access_token"),
        "token",
    ),
    "aws-access-key-id": (
        lambda d: "AKIA" + d.s(UPPER_ALNUM, 16),
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        "token",
    ),
    "aws-secret-access-key": (
        lambda d: d.s(B64, 40),
        ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "secretAccessKey"),
        "password",
    ),
    "aws-session-token": (
        lambda d: "IQoJb3JpZ2luX2Vj" + d.s(B64, _flex(d, 300)),
        ("AWS_SESSION_TOKEN", "aws_session_token"),
        "password",
    ),
    "aws-bedrock-long-term": (
        lambda d: "ABSKQmVkcm9ja0FQSUtleS" + d.s(B64, _flex(d, 110)) + "=",
        ("AWS_BEARER_TOKEN_BEDROCK",),
        "token",
    ),
    "aws-bedrock-short-term": (
        lambda d: "bedrock-api-key-" + d.s(B64, _flex(d, 600)),
        ("AWS_BEARER_TOKEN_BEDROCK",),
        "token",
    ),
    "stripe-secret": (
        lambda d: "sk_live_" + d.s(ALNUM, _flex(d, 99)),
        ("STRIPE_SECRET_KEY", "stripeSecretKey"),
        "token",
    ),
    "stripe-test-secret": (lambda d: "sk_test_" + d.s(ALNUM, 24), ("STRIPE_API_KEY",), "token"),
    "stripe-restricted": (
        lambda d: "rk_live_" + d.s(ALNUM, 99),
        ("STRIPE_RESTRICTED_KEY",),
        "token",
    ),
    "stripe-webhook": (lambda d: "whsec_" + d.s(ALNUM, 32), ("STRIPE_WEBHOOK_SECRET",), "token"),
    "twilio-api-key": (lambda d: "SK" + d.s(HEX, 32), ("TWILIO_API_KEY",), "token"),
    "twilio-auth-token": (
        lambda d: d.s(HEX, 32),
        ("TWILIO_AUTH_TOKEN", "twilioAuthToken"),
        "password",
    ),
    "sendgrid": (
        lambda d: "SG." + d.s(B64URL, 22) + "." + d.s(B64URL, 43),
        ("SENDGRID_API_KEY",),
        "token",
    ),
    "npm": (lambda d: "npm_" + d.s(ALNUM, _flex(d, 36)), ("NPM_TOKEN", "NODE_AUTH_TOKEN"), "token"),
    "pypi": (
        lambda d: "pypi-AgEIcHlwaS5vcmc" + d.s(B64URL, _flex(d, 150)),
        ("PYPI_TOKEN", "TWINE_PASSWORD"),
        "token",
    ),
    "dockerhub": (
        lambda d: "dckr_pat_" + d.s(B64URL, 27),
        ("DOCKERHUB_TOKEN", "DOCKER_PASSWORD"),
        "token",
    ),
    "gitlab-pat": (
        lambda d: "glpat-" + d.s(B64URL, _flex(d, 20)),
        ("GITLAB_TOKEN", "CI_JOB_TOKEN"),
        "token",
    ),
    "gitlab-runner": (lambda d: "glrt-" + d.s(B64URL, 20), ("RUNNER_TOKEN",), "token"),
    "huggingface": (
        lambda d: "hf_" + d.s(ALNUM, 34),
        ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        "token",
    ),
    "groq": (lambda d: "gsk_" + d.s(ALNUM, 52), ("GROQ_API_KEY",), "token"),
    "xai": (lambda d: "xai-" + d.s(ALNUM, 80), ("XAI_API_KEY",), "token"),
    "perplexity": (lambda d: "pplx-" + d.s(ALNUM, 48), ("PERPLEXITY_API_KEY",), "token"),
    "replicate": (lambda d: "r8_" + d.s(ALNUM, 37), ("REPLICATE_API_TOKEN",), "token"),
    "digitalocean": (lambda d: "dop_v1_" + d.s(HEX, 64), ("DIGITALOCEAN_TOKEN",), "token"),
    "heroku": (lambda d: "HRKU-" + d.s(B64URL, 60), ("HEROKU_API_KEY",), "token"),
    "shopify": (lambda d: "shpat_" + d.s(HEX, 32), ("SHOPIFY_ACCESS_TOKEN",), "token"),
    "mailgun": (lambda d: "key-" + d.s(HEX, 32), ("MAILGUN_API_KEY",), "token"),
    "mailchimp": (
        lambda d: d.s(HEX, 32) + "-us" + str(d.between(1, 21)),
        ("MAILCHIMP_API_KEY",),
        "token",
    ),
    "databricks": (lambda d: "dapi" + d.s(HEX, 32), ("DATABRICKS_TOKEN",), "token"),
    "linear": (lambda d: "lin_api_" + d.s(ALNUM, 40), ("LINEAR_API_KEY",), "token"),
    "notion": (lambda d: "ntn_" + d.s(ALNUM, 46), ("NOTION_TOKEN",), "token"),
    "sentry-auth": (lambda d: "sntrys_eyJ" + d.s(B64URL, 150), ("SENTRY_AUTH_TOKEN",), "token"),
    "supabase-access": (lambda d: "sbp_" + d.s(HEX, 40), ("SUPABASE_ACCESS_TOKEN",), "token"),
    "supabase-secret": (
        lambda d: "sb_secret_" + d.s(B64URL, 31),
        ("SUPABASE_SECRET_KEY",),
        "token",
    ),
    "vault": (lambda d: "hvs." + d.s(B64URL, 95), ("VAULT_TOKEN",), "token"),
    "doppler": (lambda d: "dp.st.prd." + d.s(ALNUM, 43), ("DOPPLER_TOKEN",), "token"),
    "terraform-cloud": (
        lambda d: d.s(ALNUM, 14) + ".atlasv1." + d.s(B64URL, 67),
        ("TFE_TOKEN",),
        "token",
    ),
    "onepassword-service": (
        lambda d: "ops_eyJ" + d.s(B64, 250),
        ("OP_SERVICE_ACCOUNT_TOKEN",),
        "token",
    ),
    "age-identity": (
        lambda d: "AGE-SECRET-KEY-1" + d.s("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
        ("SOPS_AGE_KEY", "age_identity"),
        "token",
    ),
    "telegram-bot": (
        lambda d: d.s(string.digits, 10) + ":AA" + d.s(B64URL, 33),
        ("TELEGRAM_BOT_TOKEN",),
        "token",
    ),
    "discord-bot": (
        lambda d: "M" + d.s(B64URL, 25) + "." + d.s(B64URL, 6) + "." + d.s(B64URL, 38),
        ("DISCORD_TOKEN",),
        "token",
    ),
    "azure-client-secret": (
        lambda d: d.s(ALNUM, 3) + str(d.between(0, 9)) + "Q~" + d.s(ALNUM + "_~.-", 34),
        ("AZURE_CLIENT_SECRET",),
        "token",
    ),
    "azure-storage-key": (
        lambda d: d.s(B64, 86) + "==",
        ("AZURE_STORAGE_KEY", "AccountKey", "storageAccountKey"),
        "password",
    ),
    "azure-devops-pat": (
        lambda d: d.s("abcdefghijklmnopqrstuvwxyz234567", 52),
        ("AZURE_DEVOPS_PAT", "ADO_PAT"),
        "password",
    ),
    "square": (lambda d: "EAAA" + d.s(B64URL, 60), ("SQUARE_ACCESS_TOKEN",), "token"),
    "jwt": (
        lambda d: (
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ"
            + d.s(B64URL, _flex(d, 60))
            + "."
            + d.s(B64URL, 43)
        ),
        ("ID_TOKEN", "jwt", "SUPABASE_SERVICE_ROLE_KEY"),
        "token",
    ),
    "cloudflare-api-token": (
        lambda d: d.s(B64URL, 40),
        ("CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"),
        "password",
    ),
    "mistral": (lambda d: d.s(ALNUM, 32), ("MISTRAL_API_KEY",), "password"),
    "cohere": (lambda d: d.s(ALNUM, 40), ("COHERE_API_KEY", "CO_API_KEY"), "password"),
    "rails-secret-key-base": (lambda d: d.s(HEX, 128), ("SECRET_KEY_BASE",), "password"),
    "laravel-app-key": (
        lambda d: "base64:" + base64.b64encode(d.rng.randbytes(32)).decode(),
        ("APP_KEY",),
        "password",
    ),
    "django-secret-key": (
        lambda d: "django-insecure-" + d.s(LOWER_ALNUM + "!@#$%^&*(-_=+)", 50),
        ("DJANGO_SECRET_KEY", "SECRET_KEY"),
        "password",
    ),
    "generic-password": (
        lambda d: d.password(),
        (
            "DB_PASSWORD",
            "MYSQL_PWD",
            "POSTGRES_PASSWORD",
            "REDIS_PASS",
            "SMTP_PASSWD",
            "adminPassword",
            "password",
            "PGPASSWORD",
            "keystorePass",
            "db_pass",
        ),
        "password",
    ),
    "generic-secret": (
        lambda d: d.s(B64URL, d.between(24, 48)),
        (
            "JWT_SECRET",
            "SESSION_SECRET",
            "webhookSecret",
            "ENCRYPTION_KEY",
            "NEXTAUTH_SECRET",
            "signing_key",
            "MASTER_KEY",
            "client-secret",
        ),
        "password",
    ),
    "generic-credential": (
        lambda d: d.s(ALNUM, d.between(20, 40)),
        ("SERVICE_CREDENTIAL", "api_credentials", "PARTNER_AUTH", "X_API_KEY", "apiKey"),
        "password",
    ),
    "basic-auth": (
        lambda d: base64.b64encode(
            f"{d.s(string.ascii_lowercase, 6)}:{d.password()}".encode()
        ).decode(),
        ("auth",),
        "password",
    ),
    "private-key-rsa": (lambda d: d.pem("RSA PRIVATE KEY"), ("PRIVATE_KEY",), "block"),
    "private-key-pkcs8": (lambda d: d.pem("PRIVATE KEY"), ("private_key",), "block"),
    "private-key-ec": (lambda d: d.pem("EC PRIVATE KEY"), ("EC_KEY",), "block"),
    "private-key-openssh": (
        lambda d: d.pem("OPENSSH PRIVATE KEY"),
        ("SSH_PRIVATE_KEY", "DEPLOY_KEY"),
        "block",
    ),
    "private-key-encrypted": (lambda d: d.pem("ENCRYPTED PRIVATE KEY"), ("SIGNING_KEY",), "block"),
    "pgp-private-key": (lambda d: d.pem("PGP PRIVATE KEY BLOCK"), ("GPG_PRIVATE_KEY",), "block"),
}

_DB_URLS = (
    ("postgres", "postgresql://{user}:{pw}@db.internal:5432/app"),
    ("mysql", "mysql://{user}:{pw}@10.0.3.7:3306/shop"),
    ("mongodb", "mongodb+srv://{user}:{pw}@cluster0.ab1cd.mongodb.net/prod?retryWrites=true"),
    ("redis", "redis://default:{pw}@redis-12345.cloud.example.net:6379"),
    ("amqp", "amqps://{user}:{pw}@rabbit.internal/vhost"),
    ("http", "https://{user}:{pw}@registry.internal/simple"),
)


def _always(text: str) -> _Maker:
    """A maker that draws nothing: `text` as it stands."""
    return lambda d: text


for _scheme, _template in _DB_URLS:
    FORMATS[f"url-{_scheme}"] = (
        _always(_template),
        ("DATABASE_URL", "REDIS_URL", "connectionString"),
        "url",
    )


# --- contexts ---------------------------------------------------------------------------------


def _camel(name: str) -> str:
    parts = name.lower().replace("-", "_").split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def _upper(name: str) -> str:
    if name.isupper() or "_" in name:
        return name.upper().replace("-", "_")
    out = "".join("_" + c if c.isupper() else c for c in name).upper().lstrip("_")
    return out.replace("-", "_")


_Context = Callable[[_Draw, str, str], str]  # (draw, key name, value) -> text
KV_CONTEXTS: dict[str, _Context] = {
    "env-file": lambda d, k, v: f"# .env\nNODE_ENV=production\n{_upper(k)}={v}\nPORT=3000",
    "env-file-quoted": lambda d, k, v: f'{_upper(k)}="{v}"\nLOG_LEVEL=debug',
    "shell-export": lambda d, k, v: f"$ export {_upper(k)}='{v}'\n$ npm run deploy",
    "shell-export-bare": lambda d, k, v: f"export {_upper(k)}={v}",
    "shell-inline": lambda d, k, v: f"{_upper(k)}={v} ./scripts/migrate.sh --env staging",
    "yaml": lambda d, k, v: f"service:\n  name: billing\n  {k.lower()}: {v}\n  replicas: 2",
    "yaml-quoted": lambda d, k, v: f'database:\n  host: db.internal\n  {_camel(k)}: "{v}"',
    "json": lambda d, k, v: (
        f'{{\n  "region": "eu-west-1",\n  "{_camel(k)}": "{v}",\n  "debug": false\n}}'
    ),
    "json-escaped": lambda d, k, v: (
        f'{{"type":"tool_result","content":"{{\\n  \\"{k}\\": \\"{v}\\"\\n}}"}}'
    ),
    "python": lambda d, k, v: f'{_upper(k)} = "{v}"\nclient = Client(timeout=30)',
    "python-environ": lambda d, k, v: f"import os\nos.environ[\"{_upper(k)}\"] = '{v}'",
    "python-kwarg": lambda d, k, v: (
        f'client = make_client({k.lower().replace("-", "_")}="{v}", retries=3)'
    ),
    "javascript": lambda d, k, v: f"const {_camel(k)} = '{v}';\nexport default {{ {_camel(k)} }};",
    "typescript-object": lambda d, k, v: (
        f"const config = {{\n  {_camel(k)}: \"{v}\",\n  region: 'us-east-1',\n}};"
    ),
    "node-process-env": lambda d, k, v: f"process.env.{_upper(k)} = `{v}`;",
    "go": lambda d, k, v: f'os.Setenv("{_upper(k)}", "{v}")',
    "go-const": lambda d, k, v: f'const {_camel(k)} = "{v}"',
    "ruby": lambda d, k, v: (
        f"ENV['{_upper(k)}'] = '{v}'\nconfig.{k.lower()} = ENV.fetch('{_upper(k)}')"
    ),
    "ruby-hash": lambda d, k, v: f'client = Api.new({k.lower()}: "{v}")',
    "java": lambda d, k, v: f'private static final String {_upper(k)} = "{v}";',
    "java-properties": lambda d, k, v: f"spring.datasource.{k.lower().replace('_', '-')}={v}",
    "rust": lambda d, k, v: (
        f'let {k.lower().replace("-", "_")} = "{v}";\nstd::env::set_var("{_upper(k)}", "{v}");'
    ),
    "php": lambda d, k, v: f"<?php\n${_camel(k)} = '{v}';\ndefine('{_upper(k)}', '{v}');",
    "csharp": lambda d, k, v: (
        f'var {_camel(k)} = "{v}";\nEnvironment.SetEnvironmentVariable("{_upper(k)}", "{v}");'
    ),
    "toml": lambda d, k, v: f'[credentials]\n{k.lower()} = "{v}"',
    "ini": lambda d, k, v: f"[default]\nregion = eu-west-1\n{k.lower()} = {v}",
    "hcl": lambda d, k, v: f'provider "acme" {{\n  {k.lower()} = "{v}"\n}}',
    "k8s-env": lambda d, k, v: (
        f'env:\n  - name: {_upper(k)}\n    value: "{v}"\n  - name: LOG_LEVEL\n    value: info'
    ),
    "k8s-env-bare": lambda d, k, v: f"        - name: {_upper(k)}\n          value: {v}",
    "ecs-json": lambda d, k, v: f'"environment": [{{"name": "{_upper(k)}", "value": "{v}"}}]',
    "aligned": lambda d, k, v: (
        f"HOST         = db.internal\n{_upper(k):<12} = {v}\nPORT         = 5432"
    ),
    "docker-compose": lambda d, k, v: f"    environment:\n      - {_upper(k)}={v}\n      - TZ=UTC",
    "xml": lambda d, k, v: f"<configuration>\n  <{_camel(k)}>{v}</{_camel(k)}>\n</configuration>",
    "github-actions": lambda d, k, v: f"      env:\n        {_upper(k)}: {v}",
    "prose-key": lambda d, k, v: (
        f"I set {_upper(k)} to {v} in the staging project, can you check it works?"
    ),
}

_PROSE = (
    "the staging DB password is {v} (rotate it after the demo)",
    "Password: {v}",
    "ok the new password is {v}",
    "my password was {v} but I changed it",
    "Use the password `{v}` for the admin account.",
    "login with admin / {v}",
)
CLI_CONTEXTS: dict[str, Callable[[_Draw, str], str]] = {
    "cli-mysql": lambda d, v: f"mysql -h 127.0.0.1 -u root -p{v} shop < dump.sql",
    "cli-mysql-quoted": lambda d, v: f"mysqldump -u admin -p'{v}' --all-databases > all.sql",
    "cli-curl-user": lambda d, v: f"curl -u deploy:{v} https://nexus.internal/repository/",
    "cli-curl-user-quoted": lambda d, v: (
        f'curl -s --user "ci:{v}" -X POST https://api.internal/jobs'
    ),
    "cli-docker-login": lambda d, v: f"docker login -u ci-bot -p {v} registry.internal",
    "cli-sshpass": lambda d, v: f"sshpass -p '{v}' ssh deploy@10.0.0.5 'systemctl restart app'",
    "cli-redis": lambda d, v: f"redis-cli -h cache.internal -a {v} PING",
    "cli-password-eq": lambda d, v: f"./manage.py createsuperuser --username admin --password={v}",
    "cli-password-space": lambda d, v: f"vault login -method=userpass username=ops password={v}",
    "cli-psql-env": lambda d, v: f"PGPASSWORD={v} psql -h db -U app -c 'select 1'",
    "cli-htpasswd": lambda d, v: f"htpasswd -b -c /etc/nginx/.htpasswd admin {v}",
    "cli-openssl": lambda d, v: (
        f"openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.p12 -passout pass:{v}"
    ),
    "cli-keytool": lambda d, v: (
        f"keytool -importcert -keystore app.jks -storepass {v} -file ca.crt"
    ),
    "cli-7z": lambda d, v: f"7z a -p{v} backup.7z ./data",
    "cli-smbclient": lambda d, v: f"smbclient //fs/share -U alice%{v}",
    "cli-dotnet-connstr": lambda d, v: (
        f'"Server=sql.internal;Database=app;User Id=sa;Password={v};"'
    ),
    "cli-jdbc": lambda d, v: f"jdbc:mysql://db:3306/app?user=app&password={v}&useSSL=true",
    "cli-url-query": lambda d, v: f"GET https://api.partner.io/v2/items?api_key={v}&page=2",
    "cli-netrc": lambda d, v: f"machine github.com login octocat password {v}",
}


def _in_prose(template: str) -> Callable[[_Draw, str], str]:
    """The value `v` put in `template`."""
    return lambda d, v: template.format(v=v)


for _i, _template in enumerate(_PROSE):
    CLI_CONTEXTS[f"prose-password-{_i}"] = _in_prose(_template)

TOKEN_CONTEXTS: dict[str, Callable[[_Draw, str], str]] = {
    "http-bearer": lambda d, v: f"Authorization: Bearer {v}",
    "curl-header": lambda d, v: f'curl -H "Authorization: Bearer {v}" https://api.internal/v1/me',
    "http-token-header": lambda d, v: (
        f"GET /user HTTP/1.1\nHost: api.github.com\nAuthorization: token {v}"
    ),
    "x-api-key-header": lambda d, v: f"curl https://api.vendor.io -H 'X-API-Key: {v}'",
    "cookie": lambda d, v: f"Cookie: _ga=GA1.2.3; session={v}; theme=dark",
    "set-cookie": lambda d, v: f"Set-Cookie: sid={v}; Path=/; HttpOnly; Secure",
    "bare-line": lambda d, v: v,
    "prose-token": lambda d, v: f"here's the token you asked for: {v} — it expires tomorrow",
    "markdown-code": lambda d, v: f"Run this:\n```\ngh secret set DEPLOY_TOKEN --body {v}\n```",
    "cli-token-flag": lambda d, v: f"terraform login --token {v}",
    "url-userinfo": lambda d, v: f"git clone https://x-access-token:{v}@github.com/acme/app.git",
    "json-list": lambda d, v: f'{{"keys": ["{v}"], "rotated": true}}',
}

BLOCK_CONTEXTS: dict[str, Callable[[_Draw, str, str], str]] = {
    "bare-block": lambda d, k, v: f"Here is the key:\n{v}\nsaved to ~/.ssh/id_deploy",
    "json-escaped-key": lambda d, k, v: (
        '{"type": "service_account", "private_key": "' + v.replace("\n", "\\n") + '\\n"}'
    ),
    "yaml-block-scalar": lambda d, k, v: (
        f"{k.lower()}: |\n" + "\n".join("  " + line for line in v.splitlines())
    ),
    "env-escaped": lambda d, k, v: f'{_upper(k)}="' + v.replace("\n", "\\n") + '"',
    "kubeconfig-data": lambda d, k, v: (
        "users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTi\n    client-key-data: "
        + base64.b64encode(v.encode()).decode()
    ),
}

URL_CONTEXTS: dict[str, Callable[[_Draw, str, str], str]] = {
    "env-url": lambda d, k, v: f"{_upper(k)}={v}",
    "yaml-url": lambda d, k, v: f"spring:\n  datasource:\n    url: {v}",
    "python-url": lambda d, k, v: f'engine = create_engine("{v}")',
    "prose-url": lambda d, k, v: f"connect with {v} and run the migration",
    "docker-run": lambda d, k, v: f"docker run -e DATABASE_URL={v} app:latest",
}


def _docker_config(d: _Draw, v: str) -> str:
    return '{"auths": {"registry.internal:5000": {"auth": "' + v + '"}}}'


def _secret_cases(d: _Draw, count: int) -> list[Case]:
    cases: list[Case] = []
    names = sorted(FORMATS)
    while len(cases) < count:
        fmt = names[len(cases) % len(names)] if len(cases) < len(names) else d.pick(names)
        if len(cases) >= len(names) and d.rng.random() < 0.12:
            fmt = "generic-password"  # the commonest secret in a session, in the most places
        make, keys, shape = FORMATS[fmt]
        key = d.pick(keys)
        if shape == "url":
            pw = d.password() if d.rng.random() < 0.6 else d.s(ALNUM, d.between(12, 32))
            pw = pw.replace("@", "A").replace("/", "B").replace("#", "C").replace("?", "D")
            user = d.pick(("app", "admin", "svc_billing", "root", "u" + d.s(LOWER_ALNUM, 5)))
            text_value = make(d).format(user=user, pw=pw)
            ctx = d.pick(sorted(URL_CONTEXTS))
            cases.append(Case(URL_CONTEXTS[ctx](d, key, text_value), pw, fmt, ctx))
            continue
        value = make(d)
        # a webhook's secret is its path: the URL up to /services/ is public
        secret = value.split("/services/")[1] if fmt == "slack-webhook" else value
        if shape == "block":
            ctx = d.pick(sorted(BLOCK_CONTEXTS))
            text = BLOCK_CONTEXTS[ctx](d, key, value)
            secret = value.splitlines()[3]  # a body line: no piece of the body may stay
            if ctx == "kubeconfig-data":
                secret = text.rsplit(" ", 1)[1]
            cases.append(Case(text, secret, fmt, ctx))
            continue
        if fmt == "basic-auth" and d.rng.random() < 0.5:
            cases.append(Case(_docker_config(d, value), value, fmt, "docker-config"))
            continue
        roll = d.rng.random()
        if shape == "password" and fmt == "generic-password" and roll < 0.5:
            ctx = d.pick(sorted(CLI_CONTEXTS))
            cases.append(Case(CLI_CONTEXTS[ctx](d, value), secret, fmt, ctx))
        elif shape == "token" and roll < 0.4:
            ctx = d.pick(sorted(TOKEN_CONTEXTS))
            cases.append(Case(TOKEN_CONTEXTS[ctx](d, value), secret, fmt, ctx))
        else:
            ctx = d.pick(sorted(KV_CONTEXTS))
            cases.append(Case(KV_CONTEXTS[ctx](d, key, value), secret, fmt, ctx))
    return cases


# --- clean look-alikes --------------------------------------------------------------------------


def _clean_texts(d: _Draw, count: int) -> list[str]:
    def uuid() -> str:
        h = d.s(HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + d.rng.randbytes(600)).decode()
    makers: list[Callable[[], str]] = [
        lambda: f"commit {d.s(HEX, 40)}\nAuthor: Dev <dev@example.com>",
        lambda: f"sha256:{d.s(HEX, 64)}",
        lambda: f"  integrity sha512-{d.s(B64, 86)}==",
        lambda: f'"resolved": "https://registry.npmjs.org/pkg/-/pkg-1.2.{d.between(0, 9)}.tgz"',
        lambda: f"request id {uuid()} failed after 3 retries",
        lambda: f"cd8{d.s(HEX, 4)} fix: handle empty token list ({d.s(HEX, 7)})",
        lambda: f"md5sum: {d.s(HEX, 32)}  dist/app.tar.gz",
        lambda: f'<img src="data:image/png;base64,{png[: d.between(200, 800)]}">',
        lambda: "export GITHUB_TOKEN=<your-token>",
        lambda: "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        lambda: "password: ${DB_PASSWORD}",
        lambda: 'api_key = os.environ["API_KEY"]',
        lambda: "token = args.token or os.getenv('GITHUB_TOKEN')",
        lambda: "const apiKey = process.env.OPENAI_API_KEY;",
        lambda: "password: str = Field(..., description='the user password')",
        lambda: "DB_PASSWORD=changeme",
        lambda: "SECRET_KEY=your-secret-key-here",
        lambda: "Authorization: Bearer $TOKEN",
        lambda: (
            'curl -H "Authorization: Bearer ${{ secrets.GITHUB_TOKEN }}" https://api.github.com'
        ),
        lambda: "mysql -u root -p mydb",
        lambda: "docker login -u $DOCKER_USER --password-stdin < token.txt",
        lambda: "The password must be at least 12 characters and include a symbol.",
        lambda: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
        lambda: f"max_tokens: {d.between(256, 8192)}\ntemperature: 0.{d.between(0, 9)}",
        lambda: f"input_tokens={d.between(10, 99999)} output_tokens={d.between(10, 9999)}",
        lambda: "primary_key: id\nsort_key: created_at",
        lambda: "key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}",
        lambda: f"cache key: linux-node-{d.s(HEX, 12)}",
        lambda: "token_type: bearer\nexpires_in: 3600",
        lambda: "password_file: /run/secrets/db_password",
        lambda: "GOOGLE_APPLICATION_CREDENTIALS=/home/dev/.config/gcloud/creds.json",
        lambda: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + d.s(B64, 43) + " dev@laptop",
        lambda: "pk_live_" + d.s(ALNUM, 24) + " is the publishable key (safe in the browser)",
        lambda: f"age1{d.s('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}",
        lambda: "AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        lambda: "eyJhbGciOiJIUzI1NiJ9 is just the header of a JWT",
        lambda: "ghp_ tokens are classic PATs; github_pat_ ones are fine-grained",
        lambda: f"version: {d.between(1, 9)}.{d.between(0, 30)}.{d.between(0, 99)}",
        lambda: f"def get_token(self) -> str:\n    return self._token  # {d.s(LOWER_ALNUM, 6)}",
        lambda: "if not secret: raise ValueError('missing secret')",
        lambda: "keyboard_layout: us\nmonkey: banana",
        lambda: (
            f"https://github.com/acme/app/pull/{d.between(1, 9999)}#issuecomment-{d.s(string.digits, 10)}"
        ),
        lambda: f"postgres://localhost:5432/app_{d.s(string.ascii_lowercase, 4)}",
        lambda: "postgresql://postgres:postgres@localhost:5432/test",
        lambda: "redis://localhost:6379/0",
        lambda: f"Build {d.s(UPPER_ALNUM, 10)} finished in {d.between(1, 99)}s",
        lambda: "-----BEGIN PUBLIC KEY-----\n" + d.s(B64, 64) + "\n-----END PUBLIC KEY-----",
        lambda: "-----BEGIN CERTIFICATE-----\n" + d.s(B64, 64) + "\n-----END CERTIFICATE-----",
        lambda: f"session id: {uuid()}",
        lambda: f"npm WARN deprecated left-pad@1.{d.between(0, 3)}.0",
        lambda: "auth: true\nauth_method: oauth",
        lambda: "secrets: inherit",
        lambda: "password: ********",
        lambda: "token: '<redacted>'",
        lambda: f"{d.s(HEX, 32)}.png",
        lambda: "pwd\n/home/dev/projects/app",
        lambda: "the API key goes in the X-API-Key header",
        lambda: "compat: true",
    ]
    return [
        makers[i % len(makers)]() if i < len(makers) else d.rng.choice(makers)()
        for i in range(count)
    ]


def corpus(seed: int = TUNING_SEED, *, secrets: int = 900, clean: int = 360) -> Corpus:
    draw = _Draw(random.Random(seed))
    return Corpus(_secret_cases(draw, secrets), _clean_texts(draw, clean))


_MARKER = re.compile(r"\[REDACTED:[\w-]+\]")
WINDOW = 4


def secret_gone(case: Case, redacted: str) -> bool:
    """True when no WINDOW-long piece of the secret survives (outside what the context had):
    `[REDACTED:password]&df5!` still holds a tail of the password, so it is a miss."""
    context = case.text.replace(case.secret, "\0")
    left = _MARKER.sub("\0", redacted)
    secret = case.secret
    pieces = {secret[i : i + WINDOW] for i in range(max(1, len(secret) - WINDOW + 1))}
    return not any(piece in left for piece in pieces if piece not in context)
