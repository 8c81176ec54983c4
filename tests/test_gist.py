"""engram_ci.sync.github_api against the stand-in: whole files, pagination, retries, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engram_ci.errors import FatalError
from engram_ci.sync.github_api import GistNotFound, GistStore, RemoteGist, RetryPolicy, check_size
from tests.github_server import TRUNCATE_BYTES, GitHubStandIn

TOKEN = "ghp_TestTokenForTheGistClient0000000001"


class FakeTime:
    """Sleeps advance a fake clock, so retry budgets are tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def policy(self, budget: float = 60.0) -> RetryPolicy:
        return RetryPolicy(
            budget_seconds=budget,
            sleep=self.sleep,
            clock=lambda: self.now,
            wallclock=time.time,  # the stand-in stamps x-ratelimit-reset from real time
            jitter=lambda: 1.0,
        )


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def store(github_server: GitHubStandIn, clock: FakeTime) -> Iterator[GistStore]:
    github_server.add_token(TOKEN)
    with GistStore(TOKEN, github_server.api_url, policy=clock.policy()) as gists:
        yield gists


def _none() -> RemoteGist | None:
    return None


def test_create_get_update_and_versions(store: GistStore, github_server: GitHubStandIn) -> None:
    created = store.create({"a.md": "one\n"}, "desc", find_existing=_none)
    assert created.files == {"a.md": "one\n"}
    assert created.revision is not None
    after = store.update(created.id, {"a.md": "two\n", "b.md": "bee\n"})
    assert after.history[1] == created.revision
    assert store.get_version(created.id, created.revision).files == {"a.md": "one\n"}
    versions = store.commits(created.id)
    assert [v.version for v in versions] == list(after.history)
    assert (versions[0].additions, versions[0].deletions) == (2, 1)
    assert github_server.revisions(created.id) == 2


def test_conditional_get_is_none_when_unchanged(
    store: GistStore, github_server: GitHubStandIn
) -> None:
    gist_id = github_server.create_gist({"a.md": "x"})
    first = store.get(gist_id)
    assert first is not None and first.etag
    assert store.get(gist_id, etag=first.etag) is None
    github_server.write(gist_id, {"a.md": "y"})
    again = store.get(gist_id, etag=first.etag)
    assert again is not None and again.files["a.md"] == "y"


def test_truncated_files_and_spill_over_come_back_whole(
    store: GistStore, github_server: GitHubStandIn
) -> None:
    big = "é" * TRUNCATE_BYTES  # 2 MB of UTF-8, cut mid-character by the API
    gist_id = github_server.create_gist({"a.md": "A", "b.md": big, "c.md": "C"})
    remote = store.get(gist_id)
    assert remote is not None
    assert remote.files == {"a.md": "A", "b.md": big, "c.md": "C"}
    assert github_server.count("GET", "/raw/") == 2


def test_list_follows_every_page(store: GistStore, github_server: GitHubStandIn) -> None:
    for i in range(130):
        github_server.create_gist({f"f{i}.md": "x"})
    github_server.create_gist({"theirs.md": "x"}, owner="someone-else")
    listed = store.list_gists()
    assert len(listed) == 130
    assert github_server.count("GET", "^/gists$") == 2  # per_page=100
    assert all(len(s.files) == 1 for s in listed)


def test_5xx_then_success_is_retried_with_backoff(
    store: GistStore, github_server: GitHubStandIn, clock: FakeTime
) -> None:
    gist_id = github_server.create_gist({"a.md": "x"})
    github_server.fail(502, method="GET", count=2)
    github_server.fail(500, method="PATCH")
    assert store.get(gist_id) is not None
    store.update(gist_id, {"a.md": "y"})
    assert clock.waits[:2] == [1.0, 2.0]  # exponential
    assert github_server.files(gist_id) == {"a.md": "y"}


def test_rate_limits_wait_for_reset_and_retry_after(
    store: GistStore, github_server: GitHubStandIn, clock: FakeTime
) -> None:
    gist_id = github_server.create_gist({"a.md": "x"})
    github_server.rate_limit("secondary", wait=7, method="PATCH")
    store.update(gist_id, {"a.md": "y"})
    assert clock.waits == [7.0]
    # primary: wait until x-ratelimit-reset (+1 s)
    github_server.rate_limit("primary", wait=5, method="GET")
    assert store.get(gist_id) is not None
    assert 4.0 <= clock.waits[-1] <= 6.5


def test_retries_stop_at_the_time_budget(github_server: GitHubStandIn, clock: FakeTime) -> None:
    github_server.add_token(TOKEN)
    gist_id = github_server.create_gist({"a.md": "x"})
    github_server.fail(503, count=100)
    with (
        GistStore(TOKEN, github_server.api_url, policy=clock.policy(budget=10)) as gists,
        pytest.raises(FatalError, match=r"503.*nothing was changed locally"),
    ):
        gists.update(gist_id, {"a.md": "y"})
    assert sum(clock.waits) <= 10
    github_server.faults.clear()
    github_server.rate_limit("secondary", wait=3600)
    with (
        GistStore(TOKEN, github_server.api_url, policy=clock.policy(budget=10)) as gists,
        pytest.raises(FatalError, match="try again later"),
    ):
        gists.get(gist_id)


def test_a_lost_create_answer_never_makes_a_duplicate(
    store: GistStore, github_server: GitHubStandIn
) -> None:
    github_server.fail(502, method="POST", after=True)  # created, but the answer is lost
    looked: list[str] = []

    def find() -> RemoteGist | None:
        looked.append("x")
        (only,) = github_server.gists
        return store.get(only)

    created = store.create({"a.md": "x"}, "d", find_existing=find)
    assert looked == ["x"]
    assert list(github_server.gists) == [created.id]
    assert github_server.count("POST") == 1


def test_create_retries_when_nothing_was_created(
    store: GistStore, github_server: GitHubStandIn
) -> None:
    github_server.fail(503, method="POST")  # refused before taking effect
    created = store.create({"a.md": "x"}, "d", find_existing=_none)
    assert list(github_server.gists) == [created.id]


def test_errors_name_the_fix_and_never_the_token(github_server: GitHubStandIn) -> None:
    github_server.add_token("scopeless-token-123", scopes=("repo",))
    gist_id = github_server.create_gist({"a.md": "x"})
    with GistStore("unknown-token-123", github_server.api_url) as gists:
        with pytest.raises(FatalError, match="bad credentials") as bad:
            gists.list_gists()
        assert "unknown-token-123" not in str(bad.value)
    with GistStore("scopeless-token-123", github_server.api_url) as gists:
        with pytest.raises(FatalError, match=r"`gist` scope.*GITHUB_TOKEN"):
            gists.create({"a.md": "x"}, "d", find_existing=_none)
        with pytest.raises(FatalError, match=r"`gist` scope"):
            gists.update(gist_id, {"a.md": "y"})
        with pytest.raises(GistNotFound, match="Gist not found: 00ff"):
            gists.get("00ff")


def test_an_id_that_is_no_gist_id_never_becomes_a_path(
    store: GistStore, github_server: GitHubStandIn
) -> None:
    # the faces check what users type; a hand-edited state file reaches the API unchecked
    before = len(github_server.requests)
    for call in (
        lambda: store.get("../user"),
        lambda: store.commits("../user"),
        lambda: store.get_version("x?y=", "abcdef1"),
        lambda: store.update("../user", {"a.md": "x"}),
        lambda: store.set_description("../user", "d"),
    ):
        with pytest.raises(FatalError, match=r"not a gist id: .*the hex string"):
            call()
    assert len(github_server.requests) == before


def test_422_is_explained(store: GistStore) -> None:
    with pytest.raises(FatalError, match=r"422.*'/'"):
        store.create({"dir/a.md": "x"}, "d", find_existing=_none)


def test_too_large_for_a_gist_suggests_the_repo_backend() -> None:
    with pytest.raises(FatalError, match="push-repo"):
        check_size({"a.md": "x" * (10 * 1024 * 1024 + 1)})
    with pytest.raises(FatalError, match="split"):
        check_size({f"{i}.md": "x" for i in range(301)})


def test_pulled_content_is_capped_per_file_and_per_project(
    store: GistStore, github_server: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", "1000")
    big = github_server.create_gist({"a.md": "A", "decisions.md": "x" * TRUNCATE_BYTES * 2})
    with pytest.raises(FatalError, match=r"decisions.md in gist \w+ is 2,097,152 bytes, over"):
        store.get(big)
    assert github_server.count("GET", "/raw/") == 0  # refused before downloading it
    monkeypatch.setenv("ENGRAM_MAX_PROJECT_BYTES", "2000")
    many = github_server.create_gist({f"{c}.md": "y" * 900 for c in "abc"})
    with pytest.raises(FatalError, match="2,700 bytes, over the 2,000-byte limit for one project"):
        store.get(many)


class _Hostile(BaseHTTPRequestHandler):
    """A broken API: listings whose next link is the same page (or always one more page),
    raw files that never end."""

    endless = False

    def do_GET(self) -> None:
        if self.path.startswith("/raw"):
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(4096):  # 256 MiB unless the client hangs up
                    self.wfile.write(b"z" * 65536)
            except OSError:
                pass
            return
        body = json.dumps([{"id": "1", "files": {}}]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        number = int(self.path.rsplit("page=", 1)[-1]) if "page=" in self.path else 1
        if self.path.startswith("/gists?per_page"):
            number = 1
        page = f"/gists?page={number + 1}" if self.endless or number == 1 else self.path
        address = self.server.server_address
        assert isinstance(address, tuple)  # an AF_INET server's (host, port)
        self.send_header("link", f'<http://127.0.0.1:{address[1]}{page}>; rel="next"')
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def hostile(clock: FakeTime) -> Iterator[GistStore]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with GistStore(
        TOKEN, f"http://127.0.0.1:{server.server_address[1]}", policy=clock.policy()
    ) as gists:
        yield gists
    server.shutdown()
    server.server_close()


def test_a_pagination_loop_is_cut_with_an_error(hostile: GistStore) -> None:
    with pytest.raises(FatalError, match="same page twice"):
        hostile.list_gists()


def test_a_listing_that_never_ends_is_cut_with_an_error(
    hostile: GistStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Hostile, "endless", True)
    with pytest.raises(FatalError, match="past 200 pages"):
        hostile.list_gists()


def test_an_endless_raw_download_stops_at_the_cap(
    hostile: GistStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", str(2 * 2**20))
    started = time.monotonic()
    with pytest.raises(FatalError, match=r"over the 2,097,152-byte limit \(2 MB\)"):
        hostile._fetch_raw(hostile.api_url + "/raw/endless", name="decisions.md", where="gist 1")
    assert time.monotonic() - started < 20
