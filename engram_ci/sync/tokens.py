"""Finding the GitHub token and API URL the way gh and Actions do — and keeping it secret."""

from __future__ import annotations

import os
import shutil
import subprocess

from engram_ci.errors import FatalError
from engram_ci.log import register_secret

__all__ = ["find_token", "require_token", "resolve_api_url"]

DEFAULT_API_URL = "https://api.github.com"


def resolve_api_url(explicit: str | None = None) -> str:
    """--api-url, else GITHUB_API_URL (set by Actions, GHES-aware), else api.github.com."""
    url = (explicit or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise FatalError(
            f"invalid API URL {url!r}: use https://api.github.com or https://HOST/api/v3"
        )
    return url


def find_token(explicit: str | None = None, *, use_gh: bool = True) -> str | None:
    """--token, else GITHUB_TOKEN, else GH_TOKEN, else `gh auth token` when gh is installed."""
    for candidate in (explicit, os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")):
        if candidate and candidate.strip():
            token = candidate.strip()
            register_secret(token)
            return token
    gh = shutil.which("gh") if use_gh else None
    if gh:
        try:
            done = subprocess.run(
                [gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        token = done.stdout.strip()
        if done.returncode == 0 and token:
            register_secret(token)
            return token
    return None


def require_token(explicit: str | None = None) -> str:
    token = find_token(explicit)
    if not token:
        raise FatalError(
            "no GitHub token: set GITHUB_TOKEN or GH_TOKEN to a token with the `gist` scope "
            "(or run `gh auth login`)",
            title="missing token",
        )
    return token
