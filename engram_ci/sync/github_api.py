"""GitHub Gists through PyGithub — the only module that imports `github`.

A thin client: read a gist (conditionally, with its ETag), read one of its versions, create,
patch, list the user's gists and a gist's commits. Answers come back as plain dataclasses with
every file's WHOLE content (truncated files are fetched from their raw_url, as GitHub asks).

Retries are ours, not PyGithub's: PyGithub's GithubRetry retries POST, which can leave a
duplicate gist when the first answer was lost, and it waits for rate limits without a bound.
Here 5xx, timeouts and rate limits (primary: x-ratelimit-reset; secondary: retry-after) are
retried with backoff for GET, POST and PATCH within one total time budget
(ENGRAM_HTTP_RETRY_SECONDS, default 60). A create whose answer was lost asks the caller to look
for the gist before posting again. Every other failure becomes a one-line FatalError.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from github import Auth, Github, GithubException
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester

from engram_ci import __version__
from engram_ci.deadline import DeadlineExceeded, call_within
from engram_ci.errors import FatalError
from engram_ci.log import register_secret
from engram_ci.memory import limits
from engram_ci.sync.answer_cap import AnswerTooLarge, cap_answers
from engram_ci.sync.gist_id import GIST_ID_WANTED, parse_gist_id
from engram_ci.sync.github_answers import (
    MAX_ANSWER_BYTES,
    MAX_GIST_BYTES,
    MAX_GIST_FILES,
    SCOPE_FIX,
    GistNotFound,
    RetryPolicy,
    backoff,
    check_size,
    describe,
    explain,
    not_a_gist,
    redirected,
    retry_delay,
)

__all__ = [
    "MAX_GIST_BYTES",
    "MAX_GIST_FILES",
    "SCOPE_FIX",
    "GistNotFound",
    "GistStore",
    "GistSummary",
    "RemoteGist",
    "RetryPolicy",
    "Version",
    "check_size",
]

log = logging.getLogger("engram_ci")
T = TypeVar("T")


@dataclass(frozen=True)
class RemoteGist:
    id: str
    url: str  # html_url, what a person opens
    description: str
    files: dict[str, str]  # name -> whole content
    sizes: dict[str, int]
    updated_at: str
    history: tuple[str, ...]  # version shas, newest first (may be cut short by GitHub)
    etag: str | None = None

    @property
    def revision(self) -> str | None:
        return self.history[0] if self.history else None


@dataclass(frozen=True)
class GistSummary:
    id: str
    description: str
    files: tuple[str, ...]
    updated_at: str
    url: str


@dataclass(frozen=True)
class Version:
    version: str
    committed_at: str
    author: str
    additions: int
    deletions: int


class _Ambiguous(Exception):
    """A write whose outcome is unknown (5xx or a lost connection after sending it)."""


def _gist_path(gist_id: str) -> str:
    """/gists/{id}, for an id that is one: the faces check what users give, and this is the
    last stop before a URL for what they did not (a hand-edited state file)."""
    try:
        if parse_gist_id(gist_id) == gist_id:
            return f"/gists/{gist_id}"
    except ValueError:
        pass
    raise FatalError(f"not a gist id: {gist_id!r}: wanted {GIST_ID_WANTED}", title="bad gist id")


class GistStore:
    """One authenticated connection to the gist API. Close it (or use `with`)."""

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        policy: RetryPolicy | None = None,
        timeout: int = 30,
    ) -> None:
        register_secret(token)
        self.api_url = api_url.rstrip("/")
        self.policy = policy or RetryPolicy.from_env()
        self._token = token
        self._timeout = timeout
        # retry=None: our own bounded loop below. No client-side throttling either: a command
        # sends a handful of requests, and GitHub's rate-limit answers are handled by the loop.
        self._github = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=timeout,
            retry=None,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=f"engram-ci/{__version__}",
        )
        self._requester: Requester = self._github.requester
        _read_answers_capped(self._requester)
        self._raw_session = requests.Session()

    def close(self) -> None:
        self._github.close()
        self._raw_session.close()

    def _abandon(self) -> None:
        """Close the connections a stalled call is blocked on (it is abandoned: see deadline)."""
        self._github.close()
        self._raw_session.close()
        self._raw_session = requests.Session()

    def __enter__(self) -> GistStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def get(self, gist_id: str, *, etag: str | None = None) -> RemoteGist | None:
        """The gist with whole files, or None when `etag` still matches (a 304, which
        GitHub does not count against the rate limit)."""
        headers = {"If-None-Match": etag} if etag else {}

        def call() -> tuple[dict[str, Any], Any] | None:
            status, resp_headers, body = self._requester.requestJson(
                "GET", _gist_path(gist_id), headers=headers
            )
            if status == 304 and etag:
                return None
            if status == 304 or 300 <= status < 400:
                raise (
                    redirected(action, self.api_url, status)
                    if status != 304
                    else not_a_gist(
                        action, self.api_url, "a 304 'not modified' to a question never asked"
                    )
                )
            data = self._json(body, action)
            if status >= 400:
                raise Requester.createException(status, resp_headers, data)
            return resp_headers, data

        action = f"read gist {gist_id}"
        answer = self._retry(call, action=action, gist_id=gist_id)
        if answer is None:
            return None
        resp_headers, data = answer
        return self._remote(data, etag=resp_headers.get("etag"), action=action)

    def get_version(self, gist_id: str, version: str, *, whole: bool = True) -> RemoteGist:
        """One revision of the gist (GET /gists/{id}/{sha}); `whole=False` skips raw fetches."""
        _, data = self._retry(
            lambda: self._requester.requestJsonAndCheck("GET", f"{_gist_path(gist_id)}/{version}"),
            action=f"read version {version} of gist {gist_id}",
            gist_id=gist_id,
        )
        return self._remote(data, whole=whole)

    def list_gists(self) -> list[GistSummary]:
        """The authenticated user's gists, every page (files listed without content)."""
        return [
            GistSummary(
                id=str(item["id"]),
                description=str(item.get("description") or ""),
                files=tuple(sorted(item.get("files") or {})),
                updated_at=str(item.get("updated_at") or ""),
                url=str(item.get("html_url") or ""),
            )
            for item in self._pages("/gists", action="list your gists", writing=True)
        ]

    def commits(self, gist_id: str, *, until: str | None = None) -> list[Version]:
        """The gist's versions newest first (GET /gists/{id}/commits, every page, or up to and
        including version `until`)."""
        out = []
        for item in self._pages(
            f"{_gist_path(gist_id)}/commits",
            action=f"list versions of gist {gist_id}",
            gist_id=gist_id,
            stop=lambda item: item.get("version") == until,
        ):
            stats = item.get("change_status") or {}
            out.append(
                Version(
                    version=str(item.get("version") or ""),
                    committed_at=str(item.get("committed_at") or ""),
                    author=str((item.get("user") or {}).get("login") or ""),
                    additions=int(stats.get("additions") or 0),
                    deletions=int(stats.get("deletions") or 0),
                )
            )
        return out

    def _pages(
        self,
        path: str,
        *,
        action: str,
        gist_id: str | None = None,
        writing: bool = False,
        stop: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing, following the Link headers. (PyGithub's
        PaginatedList of Gist would fetch each gist again: `Gist.files` completes the object.)"""
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": 100}
        seen: set[str] = set()
        while url:
            _check_page(url, seen, action)
            headers, items = self._retry(
                functools.partial(self._requester.requestJsonAndCheck, "GET", url, params),
                action=action,
                gist_id=gist_id,
                writing=writing,
            )
            if items is not None and not (
                isinstance(items, list) and all(isinstance(i, dict) for i in items)
            ):
                raise not_a_gist(action, self.api_url, "not a list of JSON objects")
            for item in items or ():
                yield item
                if stop is not None and stop(item):
                    return
            url = _next_link(headers.get("link", ""))
            params = None  # the next link carries them

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        files: Mapping[str, str],
        description: str,
        *,
        find_existing: Callable[[], RemoteGist | None],
    ) -> RemoteGist:
        """POST a secret gist. When an attempt's outcome is unknown (5xx, lost connection),
        `find_existing` is asked before posting again, so a retry never makes a duplicate."""
        check_size(files)
        payload = {
            "description": description,
            "public": False,
            "files": {name: {"content": text} for name, text in files.items()},
        }

        def call() -> RemoteGist:
            try:
                _, data = self._requester.requestJsonAndCheck("POST", "/gists", input=payload)
            except GithubException as error:
                if error.status >= 500:
                    raise _Ambiguous from error
                raise
            except (requests.ConnectionError, requests.Timeout) as error:
                raise _Ambiguous from error
            return self._remote(data)

        return self._retry(
            call, action="create the gist", writing=True, find_existing=find_existing
        )

    def update(self, gist_id: str, files: Mapping[str, str | None]) -> RemoteGist:
        """PATCH the named files (None deletes); unnamed files stay. Returns the new state
        WITHOUT fetching truncated files (the caller knows what it sent)."""
        payload = {"files": {n: (None if t is None else {"content": t}) for n, t in files.items()}}
        _, data = self._retry(
            lambda: self._requester.requestJsonAndCheck(
                "PATCH", _gist_path(gist_id), input=payload
            ),
            action=f"update gist {gist_id}",
            writing=True,
        )
        return self._remote(data, whole=False)

    def set_description(self, gist_id: str, description: str) -> None:
        """PATCH only the description (files untouched)."""
        self._retry(
            lambda: self._requester.requestJsonAndCheck(
                "PATCH", _gist_path(gist_id), input={"description": description}
            ),
            action=f"update the description of gist {gist_id}",
            writing=True,
        )

    # -- internals -------------------------------------------------------------------------

    def _json(self, body: str | None, action: str) -> Any:
        # No size check here: `body` was read through this requester's capped connection
        # (_read_answers_capped), redirects included, so it is at most MAX_ANSWER_BYTES.
        try:
            return json.loads(body) if body else {}
        except ValueError:
            raise not_a_gist(action, self.api_url, "not JSON (an HTML page?)") from None

    def _remote(
        self,
        data: Any,
        *,
        etag: str | None = None,
        whole: bool = True,
        action: str = "read the gist",
    ) -> RemoteGist:
        """A gist from an API answer, after checking it has a gist's shape."""
        files_ok = isinstance(data, dict) and isinstance(data.get("files") or {}, dict)
        if not files_ok or not isinstance(data.get("id"), str) or not data["id"]:
            raise not_a_gist(action, self.api_url, "not a gist (no id or files)")
        if not all(isinstance(e, dict) for e in (data.get("files") or {}).values()):
            raise not_a_gist(action, self.api_url, "a gist with malformed files")
        if data.get("truncated"):
            raise FatalError(
                f"gist {data.get('id')} has more than {MAX_GIST_FILES} files, which the API "
                "cannot list: use the repo backend (`engram sync push-repo`) or split it"
            )
        files: dict[str, str] = {}
        sizes = {name: int(e.get("size") or 0) for name, e in (data.get("files") or {}).items()}
        where = f"gist {data.get('id')}"
        if whole:  # bounded before anything big is fetched, and again on what arrived
            limits.check_sizes(sizes, where)
        for name, entry in (data.get("files") or {}).items():
            content = entry.get("content")
            # past 1 MB GitHub truncates a file, and may empty every file after it
            if whole and (entry.get("truncated") or content is None):
                content = self._fetch_raw(entry["raw_url"], name=name, where=where)
            files[name] = content or ""
        if whole:
            limits.check_sizes({n: len(t.encode()) for n, t in files.items()}, where)
        history = tuple(h["version"] for h in data.get("history") or () if h.get("version"))
        return RemoteGist(
            id=str(data["id"]),
            url=str(data.get("html_url") or ""),
            description=str(data.get("description") or ""),
            files=files,
            sizes=sizes,
            updated_at=str(data.get("updated_at") or ""),
            history=history,
            etag=etag,
        )

    def _fetch_raw(self, raw_url: str, *, name: str = "", where: str = "") -> str:
        # The token goes only to the API's own host: raw URLs of github.com live on another
        # host (gist.githubusercontent.com) and secret gists' raw files need no token there.
        same_host = urlsplit(raw_url).netloc == urlsplit(self.api_url).netloc
        headers = {"Authorization": f"token {self._token}"} if same_host else {}

        # bounded by the per-file pull cap (at most the 10 MB a gist file can be)
        cap = min(limits.PullLimits.from_env().file_bytes, MAX_GIST_BYTES)

        def call() -> str:
            with self._raw_session.get(
                raw_url, headers=headers, timeout=self._timeout, stream=True, allow_redirects=False
            ) as answer:
                if 300 <= answer.status_code < 400:
                    raise redirected("download a large gist file", raw_url, answer.status_code)
                if answer.status_code >= 400:
                    raise GithubException(
                        answer.status_code, {"message": answer.reason}, dict(answer.headers)
                    )
                data = answer.raw.read(cap + 1, decode_content=True)
            if len(data) > cap:  # a raw URL may promise 1 MB and send 10 GB: cut past the cap
                bound = limits.PullLimits(cap, cap)
                limits.check_sizes({name or raw_url: len(data)}, where or "the gist", bound)
            return bytes(data).decode("utf-8", errors="replace")

        return self._retry(call, action="download a large gist file")

    def _retry(
        self,
        call: Callable[[], T],
        *,
        action: str,
        gist_id: str | None = None,
        writing: bool = False,
        find_existing: Callable[[], RemoteGist | None] | None = None,
    ) -> T:
        policy = self.policy
        start = policy.clock()
        attempt = 0
        while True:
            why: str
            ambiguous = False
            try:
                return call_within(policy.request_deadline, call, cancel=self._abandon)
            except DeadlineExceeded:
                raise FatalError(
                    f"could not {action}: GitHub sent no complete answer within "
                    f"{policy.request_deadline:.0f}s (a stalled or very slow connection) — "
                    + (
                        "the change may have been applied: run the command again, it compares "
                        "before writing"
                        if writing
                        else "nothing was changed locally; try again later"
                    )
                    + " (ENGRAM_HTTP_DEADLINE_SECONDS sets the limit)",
                    title="GitHub too slow",
                ) from None
            except AnswerTooLarge as error:  # no gist answer is that big: not GitHub's API
                raise not_a_gist(action, self.api_url, str(error)) from None
            except RuntimeError as error:  # PyGithub refuses a redirect to another host/scheme
                raise redirected(action, self.api_url, " ".join(str(error).split()[:8])) from None
            except _Ambiguous as error:
                why, wait, ambiguous = describe(error.__cause__), backoff(policy, attempt), True
            except GithubException as error:
                delay = retry_delay(error.status, error.headers or {}, attempt, policy)
                if delay is None:
                    raise explain(error, action=action, gist_id=gist_id, writing=writing) from None
                why, wait = describe(error), delay
            except (requests.ConnectionError, requests.Timeout) as error:
                why, wait = describe(error), backoff(policy, attempt)
            elapsed = policy.clock() - start
            if elapsed + wait > policy.budget_seconds:
                raise FatalError(
                    f"could not {action}: GitHub gave {why} for {elapsed:.0f}s "
                    f"({attempt + 1} tries); nothing was changed locally — try again later "
                    "or raise ENGRAM_HTTP_RETRY_SECONDS",
                    title="GitHub unavailable",
                )
            log.info("GitHub answered %s; retrying in %.1fs", why, wait)
            policy.sleep(wait)
            attempt += 1
            if ambiguous and find_existing is not None:
                found = find_existing()
                if found is not None:
                    log.info("the earlier attempt did create gist %s; using it", found.id)
                    return found  # type: ignore[return-value]


class _Capped:
    """A PyGithub connection whose session reads answers at most MAX_ANSWER_BYTES long."""

    session: requests.Session

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cap_answers(self.session, MAX_ANSWER_BYTES)


class _CappedHTTP(_Capped, HTTPRequestsConnectionClass):
    pass


class _CappedHTTPS(_Capped, HTTPSRequestsConnectionClass):
    pass


def _read_answers_capped(requester: Requester) -> None:
    """Give this requester connections whose answers are capped while read (sync/answer_cap).

    PyGithub reads every answer whole before returning it. Its own seam,
    Requester.injectConnectionClasses, swaps the classes of every Requester in the process
    and turns keep-alive off; this replaces the class this one requester picked for its
    scheme. The name is private to PyGithub (pinned <3): if a release renames it, the
    tests of hostile answers fail (tests/test_answer_cap.py), not a user's pull."""
    fields = vars(requester)
    picked = fields["_Requester__connectionClass"]
    https = issubclass(picked, HTTPSRequestsConnectionClass)
    fields["_Requester__connectionClass"] = _CappedHTTPS if https else _CappedHTTP


MAX_PAGES = 200  # of 100 items: far past any real user's gists or a gist's versions


def _check_page(url: str, seen: set[str], action: str) -> None:
    """Cut a listing whose Link headers loop back or never end (a broken or hostile API)."""
    if url in seen:
        raise FatalError(
            f"could not {action}: the API sent the same page twice ({urlsplit(url).path}), "
            "a pagination loop; nothing was changed — try again later",
            title="pagination loop",
        )
    if len(seen) >= MAX_PAGES:
        raise FatalError(
            f"could not {action}: the listing went on past {MAX_PAGES} pages; nothing was "
            "changed — check GITHUB_API_URL points at GitHub",
            title="endless pagination",
        )
    seen.add(url)


def _next_link(link_header: str) -> str | None:
    for link in requests.utils.parse_header_links(link_header):
        if link.get("rel") == "next":
            return link.get("url")
    return None
