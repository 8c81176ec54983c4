"""github_answers.py: which GitHub answers are worth retrying and for how long, and the one
line that names the fix for each one that is not."""

from __future__ import annotations

from typing import Any

import pytest
from github import GithubException

from engram_ci.sync.github_answers import GistNotFound, RetryPolicy, explain, retry_delay

POLICY = RetryPolicy(first_delay=1.0, max_delay=30.0, jitter=lambda: 1.0, wallclock=lambda: 1000.0)


@pytest.mark.parametrize(
    ("status", "headers", "attempt", "delay"),
    [
        (403, {"Retry-After": "7"}, 0, 7.0),  # a secondary rate limit says how long
        (429, {"retry-after": "-3"}, 0, 0.0),
        (403, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, 2, 4.0),  # a date: back off
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}, 0, 31.0),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, 0, None),
        (403, {}, 0, None),  # forbidden without a rate limit: retrying cannot help
        (429, {}, 3, 8.0),
        (502, {}, 10, 30.0),  # server errors back off, capped
        (404, {}, 0, None),
    ],
)
def test_retry_delays(
    status: int, headers: dict[str, str], attempt: int, delay: float | None
) -> None:
    assert retry_delay(status, headers, attempt, POLICY) == delay


def _error(status: int, data: Any) -> GithubException:
    return GithubException(status, data, headers={})


@pytest.mark.parametrize(
    ("status", "data", "title", "words"),
    [
        (401, {"message": "Bad credentials"}, "bad credentials", "GITHUB_TOKEN or GH_TOKEN"),
        (404, {"message": "Not Found"}, "token lacks gist rights", "`gist` scope"),
        (403, {"message": "Resource not accessible"}, "token lacks gist rights", "answered 403"),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [{"message": "contents can't be blank"}, "x"],
            },
            "gist rejected",
            "Validation Failed: contents can't be blank; x",
        ),
        (
            422,
            {"message": "Validation Failed", "errors": [{"code": "invalid"}]},
            "gist rejected",
            "{'code': 'invalid'}",
        ),
        (403, {"message": "API rate limit exceeded"}, "rate limited", "try again later"),
        (429, None, "rate limited", "(no message)"),
        (301, {"message": "Moved Permanently"}, "API redirects", "GITHUB_API_URL"),
        (500, "<html>\n<body>oops</body>\n</html>", "engram failed", "answered 500 (no message)"),
        (502, {"message": "Server\nError", "errors": []}, "engram failed", "502 (Server Error)"),
    ],
)
def test_each_answer_not_retried_is_one_line_naming_the_fix(
    status: int, data: Any, title: str, words: str
) -> None:
    error = explain(_error(status, data), action="update the gist", gist_id="abc", writing=True)
    assert error.title == title
    assert words in str(error)
    assert "\n" not in str(error)


def test_a_missing_gist_when_reading_is_not_a_permissions_problem() -> None:
    error = explain(
        _error(404, {"message": "Not Found"}), action="read", gist_id="abc", writing=False
    )
    assert isinstance(error, GistNotFound)
    assert "engram sync list" in str(error)
