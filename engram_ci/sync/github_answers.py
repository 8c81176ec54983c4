"""What GitHub's answers mean: when to retry and for how long, and the one line that names
the fix for every answer we will not retry — hostile ones included (an HTML page where JSON
was due, a redirect, a 304 nobody asked for, an answer too big to be a gist).

Budgets the environment sets are clamped (engram_ci.deadline): a retry budget of a month or a
request deadline of a day is a typo, not a wish.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from github import GithubException

from engram_ci.deadline import seconds_from_env
from engram_ci.errors import FatalError

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_GIST_BYTES",
    "MAX_GIST_FILES",
    "SCOPE_FIX",
    "GistNotFound",
    "RetryPolicy",
    "backoff",
    "check_size",
    "describe",
    "explain",
    "not_a_gist",
    "redirected",
    "retry_delay",
]

MAX_GIST_BYTES = 10 * 1024 * 1024  # beyond this a gist must be cloned with git
MAX_GIST_FILES = 300  # beyond this the API cuts the file listing
#: an answer past this is no gist (a gist holds 10 MB, JSON-escaped it can double)
MAX_ANSWER_BYTES = 4 * MAX_GIST_BYTES
#: the retry budget and one request's deadline: defaults, and the bounds of what env may set
RETRY_SECONDS = (60.0, 0.0, 600.0)
DEADLINE_SECONDS = (120.0, 1.0, 900.0)
SCOPE_FIX = (
    "the token needs the `gist` scope (classic) or 'Gists: write' (fine-grained) and must "
    "belong to the gist's owner; the workflow's GITHUB_TOKEN and GitHub App tokens cannot "
    "write gists"
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying; sleep and clocks are injectable so tests need not wait."""

    budget_seconds: float = 60.0
    first_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wallclock: Callable[[], float] = time.time
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))  # noqa: S311

    #: one request's overall deadline (a server trickling bytes must not hold us forever)
    request_deadline: float = DEADLINE_SECONDS[0]

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """ENGRAM_HTTP_RETRY_SECONDS (0-600) and ENGRAM_HTTP_DEADLINE_SECONDS (1-900)."""
        default, low, high = RETRY_SECONDS
        budget = seconds_from_env("ENGRAM_HTTP_RETRY_SECONDS", default, low=low, high=high)
        default, low, high = DEADLINE_SECONDS
        deadline = seconds_from_env("ENGRAM_HTTP_DEADLINE_SECONDS", default, low=low, high=high)
        return cls(
            budget_seconds=budget,
            first_delay=min(1.0, budget / 8 or 0.01),
            request_deadline=deadline,
        )


class GistNotFound(FatalError):
    """GET /gists/{id} answered 404: the id is wrong (or the gist was deleted)."""

    def __init__(self, gist_id: str, project: str = "PROJECT") -> None:
        super().__init__(
            f"Gist not found: {gist_id}; check the id with `engram sync list {project}`",
            title="gist not found",
        )
        self.gist_id = gist_id


def backoff(policy: RetryPolicy, attempt: int) -> float:
    return float(min(policy.max_delay, policy.first_delay * 2**attempt) * policy.jitter())


def retry_delay(
    status: int, headers: Mapping[str, Any], attempt: int, policy: RetryPolicy
) -> float | None:
    """Seconds to wait before retrying this answer, or None when retrying cannot help."""
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    if status in (403, 429):
        if "retry-after" in h:  # secondary rate limit
            try:
                return max(0.0, float(h["retry-after"]))
            except ValueError:
                return backoff(policy, attempt)
        if h.get("x-ratelimit-remaining") == "0" and h.get("x-ratelimit-reset", "").isdigit():
            return max(0.0, int(h["x-ratelimit-reset"]) - policy.wallclock()) + 1.0
        return backoff(policy, attempt) if status == 429 else None
    if status >= 500:
        return backoff(policy, attempt)
    return None


def explain(
    error: GithubException, *, action: str, gist_id: str | None, writing: bool
) -> FatalError:
    """A one-line FatalError naming the fix for a GitHub answer we will not retry."""
    status = error.status
    message = _message(error)
    if status == 401:
        return FatalError(
            "GitHub rejected the token (401 bad credentials): set GITHUB_TOKEN or GH_TOKEN to "
            "a valid token with the `gist` scope",
            title="bad credentials",
        )
    if status == 404 and gist_id is not None and not writing:
        return GistNotFound(gist_id)
    if status == 404 or (status == 403 and "rate limit" not in message.lower()):
        return FatalError(
            f"could not {action}: GitHub answered {status} ({message}) — {SCOPE_FIX}",
            title="token lacks gist rights",
        )
    if status == 422:
        return FatalError(
            f"GitHub refused to {action} (422: {message}): gist file names cannot contain "
            "'/', files cannot be empty, and a gist holds at most 300 files / 10 MB — use "
            "`engram sync push-repo` for larger knowledge",
            title="gist rejected",
        )
    if status in (403, 429):
        return FatalError(
            f"could not {action}: GitHub rate limit ({message}); try again later",
            title="rate limited",
        )
    if 300 <= status < 400:
        return redirected(action, "the GitHub API", status)
    return FatalError(f"could not {action}: GitHub answered {status} ({message})")


def check_size(files: Mapping[str, str | None]) -> None:
    total = sum(len(t.encode()) for t in files.values() if t)
    if total > MAX_GIST_BYTES or len(files) > MAX_GIST_FILES:
        raise FatalError(
            f"the project is too large for a gist ({total / 1e6:.1f} MB in {len(files)} files; "
            f"limits {MAX_GIST_BYTES // 2**20} MB, {MAX_GIST_FILES} files): use the repo "
            "backend (`engram sync push-repo`) or split the project",
            title="gist too large",
        )


def _message(error: GithubException) -> str:
    data = error.data
    text = ""
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        details = data.get("errors")
        if isinstance(details, list) and details:
            text += ": " + "; ".join(
                str(d.get("message") or d) if isinstance(d, dict) else str(d) for d in details
            )
    return " ".join((text or "no message").split())


def describe(error: BaseException | None) -> str:
    if isinstance(error, GithubException):
        return f"{error.status} ({_message(error)})"
    return f"no answer ({type(error).__name__})" if error is not None else "no answer"


def not_a_gist(action: str, api_url: str, what: str) -> FatalError:
    """GitHub's answer cannot be what the API sends: a proxy's page, a wrong API URL..."""
    return FatalError(
        f"could not {action}: the answer from {api_url} is {what}, not GitHub's API — check "
        "--api-url / GITHUB_API_URL (https://api.github.com, or https://HOST/api/v3) and any "
        "proxy between you and GitHub; nothing was changed locally",
        title="unexpected answer",
    )


def redirected(action: str, api_url: str, status: int | str) -> FatalError:
    return FatalError(
        f"could not {action}: {api_url} answers with a redirect ({status}), which engram does "
        "not follow with your token — set --api-url / GITHUB_API_URL to the API's own URL",
        title="API redirects",
    )
