"""A GitHub stand-in for tests: a real HTTP server on 127.0.0.1 with the gist endpoints.

It behaves like api.github.com where shared/FACTS.md says the behaviour matters:

- POST /gists, GET /gists (paginated, Link headers, files WITHOUT content), GET/PATCH/DELETE
  /gists/{id}, GET /gists/{id}/commits, GET /gists/{id}/{sha}, raw file URLs;
- every PATCH makes a new revision, even one that changes nothing; PATCH keeps files it does
  not name, deletes `null` ones and renames with `filename`;
- content over 1 MB comes back `truncated: true` with a raw_url, and every later file comes
  back empty and truncated too (the spill-over); over 300 files the file listing is cut;
- 422 for '/' in a file name and for empty content; 401 for an unknown token; 404 for a
  valid token without the `gist` scope (and for someone else's gist on writes);
- ETag / If-None-Match answered 304; rate-limit answers (primary and secondary) and 5xx on
  demand (`fail`), bodies that are huge or never end (`flood`), hooks that run before a
  request (`before`), and a request log.

Use it as the `github_server` pytest fixture, or standalone (the action's docker tests do):

    python -m tests.github_server --port 0 --token T [--scopes gist]

prints `http://127.0.0.1:PORT` on its first line and serves until killed.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import itertools
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

TRUNCATE_BYTES = 1024 * 1024
MAX_LISTED_FILES = 300
_GIST_PATH = re.compile(r"^/gists/(?P<id>[0-9a-f]+)(?:/(?P<rest>commits|[0-9a-f]{40}))?$")
_RAW_PATH = re.compile(r"^/raw/(?P<id>[0-9a-f]+)/(?P<sha>[0-9a-f]{40})/(?P<name>[^/]+)$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Revision:
    version: str
    committed_at: str
    files: dict[str, str]
    user: str
    additions: int
    deletions: int


@dataclass
class StoredGist:
    id: str
    owner: str
    description: str
    public: bool
    created_at: str
    revisions: list[Revision] = field(default_factory=list)  # oldest first

    @property
    def head(self) -> Revision:
        return self.revisions[-1]


@dataclass
class Fault:
    """An answer forced onto the next `count` matching requests."""

    status: int
    method: str | None
    path: str | None  # a regex matched against the path
    count: int
    headers: dict[str, str]
    body: Any  # GitHub's JSON, or raw bytes
    after: bool  # process the request first, then answer the fault (a lost response)


@dataclass
class Flood:
    """A 200 whose body is huge or endless, for the next `count` matching requests."""

    path: str  # a regex matched against the path
    count: int
    #: "length" (Content-Length: `total`), "close" (no length: until the connection closes)
    #: or "chunked" (Transfer-Encoding: chunked)
    framing: str
    total: int | None  # bytes sent; None: until the client hangs up
    chunk: int
    interval: float  # seconds between chunks (a trickle), 0 for as fast as the socket takes
    #: bytes the server managed to send per answer (the client's hang-up ends it)
    sent: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int


class GitHubStandIn:
    """State and controls; `serve()` starts the HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self.gists: dict[str, StoredGist] = {}
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.hooks: list[tuple[str, str, Callable[[], object]]] = []
        self.floods: list[Flood] = []
        self.patch_delay = 0.0  # seconds a PATCH waits before applying: widens race windows
        self.stall = 0.0  # seconds every request waits before any answer: a hung server
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- controls ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self._server is not None, "serve() first"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}"

    def add_token(
        self, token: str, scopes: tuple[str, ...] = ("gist",), login: str = "octocat"
    ) -> None:
        with self.lock:
            self.tokens[token] = (login, frozenset(scopes))

    def fail(
        self,
        status: int = 503,
        *,
        method: str | None = None,
        path: str | None = None,
        count: int = 1,
        headers: dict[str, str] | None = None,
        message: str = "Service Unavailable",
        after: bool = False,
        raw: bytes | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` (and `raw` bytes as the
        body instead of GitHub's JSON message: an HTML page, a huge blob)."""
        body: Any = raw if raw is not None else {"message": message}
        with self.lock:
            self.faults.append(Fault(status, method, path, count, headers or {}, body, after))

    def flood(
        self,
        *,
        path: str,
        framing: str = "chunked",
        total: int | None = None,
        count: int = 1,
        chunk: int = 64 * 1024,
        interval: float = 0.0,
    ) -> Flood:
        """Answer the next `count` GETs matching `path` with 200 and a body of `total` bytes
        of JSON-looking junk (None: endless), framed as `framing`; the Flood records what
        was sent."""
        assert framing in ("length", "close", "chunked")
        assert framing != "length" or total is not None
        flood = Flood(path, count, framing, total, chunk, interval)
        with self.lock:
            self.floods.append(flood)
        return flood

    def rate_limit(
        self, kind: str = "secondary", *, wait: int = 0, count: int = 1, method: str | None = None
    ) -> None:
        """Answer the next `count` requests like GitHub's primary or secondary rate limit."""
        if kind == "primary":
            reset = str(int(time.time()) + wait)
            self.fail(
                403,
                method=method,
                count=count,
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                message="API rate limit exceeded for user ID 1.",
            )
        else:
            self.fail(
                429,
                method=method,
                count=count,
                headers={"retry-after": str(wait)},
                message="You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again.",
            )

    def before(self, method: str, path: str, hook: Callable[[], object]) -> None:
        """Run `hook` once, just before the next request matching method and path regex."""
        with self.lock:
            self.hooks.append((method, path, hook))

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or re.search(path, r.path))
            )

    def counts(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter((r.method, r.path) for r in self.requests)

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def revisions(self, gist_id: str) -> int:
        with self.lock:
            return len(self.gists[gist_id].revisions)

    def files(self, gist_id: str) -> dict[str, str]:
        with self.lock:
            return dict(self.gists[gist_id].head.files)

    def create_gist(
        self, files: dict[str, str], *, owner: str = "octocat", description: str = ""
    ) -> str:
        """Seed a gist directly (no request logged)."""
        with self.lock:
            return self._create(owner, description, False, files).id

    def write(self, gist_id: str, files: dict[str, str | None], *, user: str = "octocat") -> str:
        """Another writer's PATCH, applied directly (no request logged); returns the version."""
        with self.lock:
            gist = self.gists[gist_id]
            current = dict(gist.head.files)
            for name, text in files.items():
                if text is None:
                    current.pop(name, None)
                else:
                    current[name] = text
            self._commit(gist, dict(sorted(current.items())), user)
            return gist.head.version

    # -- server --------------------------------------------------------------------------

    def serve(self, port: int = 0) -> GitHubStandIn:
        stand_in = self

        class Handler(_Handler):
            state = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- gist model ----------------------------------------------------------------------

    def _create(
        self, owner: str, description: str, public: bool, files: dict[str, str]
    ) -> StoredGist:
        gist_id = hashlib.md5(f"gist-{next(self._ids)}-{time.time_ns()}".encode()).hexdigest()
        gist = StoredGist(gist_id, owner, description, public, _now())
        self.gists[gist_id] = gist
        self._commit(gist, dict(sorted(files.items())), owner)
        return gist

    def _commit(self, gist: StoredGist, files: dict[str, str], user: str) -> None:
        before = gist.revisions[-1].files if gist.revisions else {}
        additions = deletions = 0
        for name in set(before) | set(files):
            old, new = before.get(name, "").splitlines(), files.get(name, "").splitlines()
            if old == new:
                continue
            for line in difflib.ndiff(old, new) if len(old) + len(new) < 5000 else ():
                additions += line.startswith("+ ")
                deletions += line.startswith("- ")
        seed = f"{gist.id}-{len(gist.revisions)}-{time.time_ns()}"
        version = hashlib.sha1(seed.encode()).hexdigest()
        gist.revisions.append(Revision(version, _now(), files, user, additions, deletions))

    def _file_json(self, gist: StoredGist, rev: Revision, *, content: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        spilled = False
        for name, text in sorted(rev.files.items())[:MAX_LISTED_FILES]:
            data = text.encode()
            entry: dict[str, Any] = {
                "filename": name,
                "type": "text/markdown" if name.endswith(".md") else "text/plain",
                "language": "Markdown" if name.endswith(".md") else None,
                "raw_url": f"{self.api_url}/raw/{gist.id}/{rev.version}/{quote(name)}",
                "size": len(data),
            }
            if content:
                if spilled:
                    entry.update(content="", truncated=True)
                elif len(data) > TRUNCATE_BYTES:
                    cut = data[:TRUNCATE_BYTES].decode("utf-8", errors="ignore")
                    entry.update(content=cut, truncated=True)
                    spilled = True
                else:
                    entry.update(content=text, truncated=False)
            out[name] = entry
        return out

    def _gist_json(
        self, gist: StoredGist, rev: Revision | None = None, *, content: bool = True
    ) -> dict[str, Any]:
        rev = rev or gist.head
        base = self.api_url
        data: dict[str, Any] = {
            "url": f"{base}/gists/{gist.id}",
            "id": gist.id,
            "html_url": f"{base}/gist/{gist.id}",
            "git_pull_url": f"{base}/{gist.id}.git",
            "public": gist.public,
            "description": gist.description,
            "created_at": gist.created_at,
            "updated_at": gist.head.committed_at,
            "owner": {"login": gist.owner},
            "files": self._file_json(gist, rev, content=content),
            "truncated": len(rev.files) > MAX_LISTED_FILES,
        }
        if content:
            data["history"] = [self._commit_json(gist, r) for r in reversed(gist.revisions)]
        return data

    def _commit_json(self, gist: StoredGist, rev: Revision) -> dict[str, Any]:
        return {
            "url": f"{self.api_url}/gists/{gist.id}/{rev.version}",
            "version": rev.version,
            "user": {"login": rev.user},
            "change_status": {
                "total": rev.additions + rev.deletions,
                "additions": rev.additions,
                "deletions": rev.deletions,
            },
            "committed_at": rev.committed_at,
        }


class _Handler(BaseHTTPRequestHandler):
    state: GitHubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path, query = split.path.rstrip("/") or "/", parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        state = self.state
        for hook in self._take_hooks(method, path):
            hook()
        if state.stall:
            time.sleep(state.stall)
        flood = self._take_flood(method, path)
        if flood is not None:
            self._send_flood(method, path, flood)
            return
        fault = self._take_fault(method, path)
        if fault is not None and not fault.after:
            self._send(method, path, fault.status, fault.body, fault.headers)
            return
        if method == "PATCH" and state.patch_delay:
            time.sleep(state.patch_delay)
        try:
            status, body, headers = self._route(method, path, query, raw)
        except _Answer as answer:
            status, body, headers = answer.status, {"message": answer.message}, {}
        if fault is not None:
            status, body, headers = fault.status, fault.body, fault.headers
        self._send(method, path, status, body, headers)

    def _take_hooks(self, method: str, path: str) -> list[Callable[[], object]]:
        state = self.state
        with state.lock:
            due = [h for h in state.hooks if h[0] == method and re.search(h[1], path)]
            for h in due:
                state.hooks.remove(h)
        return [h[2] for h in due]

    def _take_flood(self, method: str, path: str) -> Flood | None:
        state = self.state
        with state.lock:
            for flood in state.floods:
                if method == "GET" and re.search(flood.path, path):
                    flood.count -= 1
                    if flood.count <= 0:
                        state.floods.remove(flood)
                    return flood
        return None

    def _send_flood(self, method: str, path: str, flood: Flood) -> None:
        with self.state.lock:
            self.state.requests.append(LoggedRequest(method, path, 200))
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if flood.framing == "length":
            self.send_header("Content-Length", str(flood.total))
        elif flood.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        piece = b'{"id": "' + b"f" * max(0, flood.chunk - 8)
        sent = 0
        try:
            while flood.total is None or sent < flood.total:
                data = piece[: flood.chunk if flood.total is None else flood.total - sent]
                if flood.framing == "chunked":
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                sent += len(data)
                if flood.interval:
                    time.sleep(flood.interval)
            if flood.framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client hung up: what a cap is for
        flood.sent.append(sent)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        state = self.state
        with state.lock:
            for fault in state.faults:
                if (fault.method in (None, method)) and (
                    fault.path is None or re.search(fault.path, path)
                ):
                    fault.count -= 1
                    if fault.count <= 0:
                        state.faults.remove(fault)
                    return fault
        return None

    def _send(
        self, method: str, path: str, status: int, body: Any, headers: dict[str, str]
    ) -> None:
        if isinstance(body, bytes):
            payload, ctype = body, "text/plain; charset=utf-8"
        elif status in (204, 304):
            payload, ctype = b"", "application/json; charset=utf-8"
        else:
            payload, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
        with self.state.lock:
            self.state.requests.append(LoggedRequest(method, path, status))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-ratelimit-limit", "5000")
        lowered = {k.lower() for k in headers}
        if "x-ratelimit-remaining" not in lowered:
            self.send_header("x-ratelimit-remaining", "4999")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _user(self, *, required: bool = True) -> tuple[str, frozenset[str]] | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if not token:
            if required:
                raise _Answer(401, "Requires authentication")
            return None
        with self.state.lock:
            user = self.state.tokens.get(token.strip())
        if user is None or scheme.lower() not in ("token", "bearer"):
            raise _Answer(401, "Bad credentials")
        return user

    def _writer(self) -> str:
        user = self._user()
        assert user is not None
        login, scopes = user
        if "gist" not in scopes:
            raise _Answer(404, "Not Found")
        return login

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise _Answer(400, "Problems parsing JSON") from None
        if not isinstance(data, dict):
            raise _Answer(400, "Problems parsing JSON")
        return data

    # -- routes --------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.state
        raw_match = _RAW_PATH.match(path)
        if raw_match and method == "GET":
            return self._raw(raw_match["id"], raw_match["sha"], unquote(raw_match["name"]))
        if path == "/gists":
            if method == "GET":
                return self._list(query)
            if method == "POST":
                return self._post(self._json_body(raw))
        match = _GIST_PATH.match(path)
        if match is None:
            raise _Answer(404, "Not Found")
        with state.lock:
            gist = state.gists.get(match["id"])
        if gist is None:
            self._user(required=False)
            raise _Answer(404, "Not Found")
        rest = match["rest"]
        if method == "GET" and rest is None:
            self._user(required=False)
            with state.lock:
                body = state._gist_json(gist)
            etag = 'W/"' + hashlib.sha256(json.dumps(body).encode()).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                return 304, None, {"ETag": etag}
            return 200, body, {"ETag": etag}
        if method == "GET" and rest == "commits":
            self._user(required=False)
            with state.lock:
                items = [state._commit_json(gist, r) for r in reversed(gist.revisions)]
            return self._page(items, query, f"/gists/{gist.id}/commits")
        if method == "GET" and rest:
            self._user(required=False)
            with state.lock:
                rev = next((r for r in gist.revisions if r.version == rest), None)
                if rev is None:
                    raise _Answer(404, "Not Found")
                return 200, state._gist_json(gist, rev), {}
        if method == "PATCH" and rest is None:
            return self._patch(gist, self._json_body(raw))
        if method == "DELETE" and rest is None:
            login = self._writer()
            if login != gist.owner:
                raise _Answer(404, "Not Found")
            with state.lock:
                del state.gists[gist.id]
            return 204, None, {}
        raise _Answer(404, "Not Found")

    def _raw(self, gist_id: str, sha: str, name: str) -> tuple[int, Any, dict[str, str]]:
        with self.state.lock:
            gist = self.state.gists.get(gist_id)
            rev = next((r for r in gist.revisions if r.version == sha), None) if gist else None
            if rev is None or name not in rev.files:
                raise _Answer(404, "Not Found")
            return 200, rev.files[name].encode(), {}

    def _list(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        login = self._writer()
        with self.state.lock:
            mine = [g for g in self.state.gists.values() if g.owner == login]
            mine.sort(key=lambda g: (g.head.committed_at, len(g.revisions), g.id), reverse=True)
            items = [self.state._gist_json(g, content=False) for g in mine]
        return self._page(items, query, "/gists")

    def _page(
        self, items: list[Any], query: dict[str, list[str]], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = max(1, min(100, int((query.get("per_page") or ["30"])[0])))
        page = max(1, int((query.get("page") or ["1"])[0]))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        url = f"{self.state.api_url}{path}?per_page={per_page}&page="
        if page < last:
            links += [f'<{url}{page + 1}>; rel="next"', f'<{url}{last}>; rel="last"']
        if page > 1:
            links += [f'<{url}{page - 1}>; rel="prev"', f'<{url}1>; rel="first"']
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _check_files(self, files: object, *, creating: bool) -> dict[str, Any]:
        if not isinstance(files, dict) or (creating and not files):
            raise _Answer(422, "Validation Failed: files are missing")
        for name, spec in files.items():
            if "/" in name or not name.strip():
                raise _Answer(422, f"Validation Failed: invalid file name {name!r}")
            if spec is None and not creating:
                continue
            if not isinstance(spec, dict):
                raise _Answer(422, "Validation Failed: file must be an object")
            if "content" in spec or creating:
                content = spec.get("content")
                if not isinstance(content, str) or not content.strip():
                    raise _Answer(422, "Validation Failed: contents can't be blank")
            if "/" in str(spec.get("filename") or ""):
                raise _Answer(422, "Validation Failed: invalid file name")
        return files

    def _post(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        login = self._writer()
        files = self._check_files(body.get("files"), creating=True)
        contents = {name: spec["content"] for name, spec in files.items()}
        with self.state.lock:
            gist = self.state._create(
                login, str(body.get("description") or ""), bool(body.get("public")), contents
            )
            return (
                201,
                self.state._gist_json(gist),
                {"Location": f"{self.state.api_url}/gists/{gist.id}"},
            )

    def _patch(self, gist: StoredGist, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        login = self._writer()
        if login != gist.owner:
            raise _Answer(404, "Not Found")
        files = self._check_files(body.get("files", {}), creating=False)
        with self.state.lock:
            current = dict(gist.head.files)
            for name, spec in files.items():
                if spec is None:
                    current.pop(name, None)
                    continue
                text = spec.get("content", current.get(name))
                new_name = spec.get("filename") or name
                current.pop(name, None)
                if text is None:
                    raise _Answer(422, "Validation Failed: contents can't be blank")
                current[new_name] = text
            if "description" in body:
                gist.description = str(body["description"] or "")
            self.state._commit(gist, dict(sorted(current.items())), login)
            return 200, self.state._gist_json(gist), {}


class _Answer(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@pytest.fixture
def github_server() -> Iterator[GitHubStandIn]:
    """A running stand-in with no tokens: call add_token() and point GITHUB_API_URL at it."""
    server = GitHubStandIn().serve()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture
def github_as(
    github_server: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., GitHubStandIn]:
    """sign_in(token): the stand-in accepts `token`, and this process uses it (GITHUB_TOKEN,
    GITHUB_API_URL) with retries `retry_seconds` apart, as the sync tests want."""

    def sign_in(token: str, *, retry_seconds: float = 2) -> GitHubStandIn:
        github_server.add_token(token)
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
        monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", str(retry_seconds))
        return github_server

    return sign_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the GitHub gist stand-in on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", default=[], help="a token to accept")
    parser.add_argument("--scopes", default="gist", help="comma-separated scopes for --token")
    args = parser.parse_args(argv)
    server = GitHubStandIn().serve(args.port)
    for token in args.token:
        server.add_token(token, tuple(s for s in args.scopes.split(",") if s))
    print(server.api_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
