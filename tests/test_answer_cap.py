"""sync/answer_cap.py: GitHub's JSON answers are capped while read, not after (issue 15: "the
GitHub JSON path reads a whole answer before its 40 MB check").

The stand-in (tests/github_server.py, 127.0.0.1) floods: a body of 1 GB announced by its
Content-Length, an endless one with no length (until the connection closes), an endless
chunked one, and a trickle that stays under the cap. Each ends in one line naming the fix,
with memory bounded by the cap, not by what the server sends, and the deadline still holds.
"""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync.answer_cap import AnswerTooLarge, cap_answers
from engram_ci.sync.github_answers import MAX_ANSWER_BYTES
from engram_ci.sync.github_api import GistStore, RetryPolicy
from tests.github_server import GitHubStandIn

from .repo_helpers import engram_env, run_engram

TOKEN = "ghp_AnswerCapTestToken00000000000000000001"
KNOWLEDGE = "# Decisions\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- keep me\n"
GIGABYTE = 1 << 30


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN, retry_seconds=0)


def _capped_session(limit: int) -> requests.Session:
    session = requests.Session()
    cap_answers(session, limit)
    return session


@pytest.mark.parametrize("framing", ["close", "chunked", "length"])
def test_the_cap_is_exact_whatever_the_framing(gh: GitHubStandIn, framing: str) -> None:
    url = f"{gh.api_url}/gists/abc"
    with _capped_session(1000) as session:
        gh.flood(path="/gists/abc", framing=framing, total=1000, chunk=300)
        assert len(session.get(url, timeout=10).content) == 1000
        flood = gh.flood(path="/gists/abc", framing=framing, total=1001, chunk=300)
        with pytest.raises(AnswerTooLarge) as refused:
            session.get(url, timeout=10)
    # a length that announces too much is refused before the body is read
    assert refused.value.announced == (1001 if framing == "length" else None)
    assert flood.count == 0


def test_a_stream_the_caller_reads_itself_is_left_to_it(gh: GitHubStandIn) -> None:
    gh.flood(path="/raw/x", framing="chunked", total=5000)
    with (
        _capped_session(1000) as session,
        session.get(f"{gh.api_url}/raw/x", timeout=10, stream=True) as answer,
    ):
        assert len(answer.raw.read(5000)) == 5000


def test_a_compressed_answer_is_counted_as_it_unpacks() -> None:
    """A gzip body of a few kB that unpacks to 64 MB: the cap counts what memory holds."""
    packed = gzip.compress(b"0" * (64 << 20))

    class Bomb(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tracemalloc.start()
    try:
        with _capped_session(1 << 20) as session, pytest.raises(AnswerTooLarge):
            session.get(f"http://127.0.0.1:{server.server_address[1]}/gists/x", timeout=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert len(packed) < (1 << 20) and peak < (8 << 20), peak


@pytest.mark.parametrize(
    ("framing", "total"),
    [("length", GIGABYTE), ("close", None), ("chunked", None)],
    ids=["1GB-announced", "endless-no-length", "endless-chunked"],
)
def test_a_flood_is_cut_at_the_cap_in_bounded_memory(
    gh: GitHubStandIn, framing: str, total: int | None
) -> None:
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE})
    flood = gh.flood(path=f"/gists/{gist_id}$", framing=framing, total=total)
    policy = RetryPolicy(budget_seconds=0, request_deadline=60)
    tracemalloc.start()
    try:
        with (
            GistStore(TOKEN, gh.api_url, policy=policy) as store,
            pytest.raises(FatalError) as refused,
        ):
            store.get(gist_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    line = str(refused.value)
    assert "larger than 40 MB" in line and "GITHUB_API_URL" in line and "\n" not in line
    assert peak < MAX_ANSWER_BYTES + (8 << 20), f"peak {peak / 1e6:.0f} MB"  # the cap, no more
    deadline = time.monotonic() + 10
    while not flood.sent and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the hang-up on its next write
    assert flood.sent and flood.sent[0] < 4 * MAX_ANSWER_BYTES  # it was cut off, not drained
    if framing == "length":
        assert "1074 MB announced" in line  # refused from the header, before reading


def test_a_flood_behind_a_same_host_redirect_is_cut_too(gh: GitHubStandIn) -> None:
    """PyGithub follows a 301 on the API's host itself: the answer it reads there comes
    through the same capped connection (GistStore._json relies on it and checks no size)."""
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE})
    moved = f"{gh.api_url}/gists/moved"
    gh.fail(301, method="GET", path=f"/gists/{gist_id}$", headers={"location": moved})
    flood = gh.flood(path="/gists/moved$", framing="chunked")
    policy = RetryPolicy(budget_seconds=0, request_deadline=60)
    with (
        GistStore(TOKEN, gh.api_url, policy=policy) as store,
        pytest.raises(FatalError) as refused,
    ):
        store.get(gist_id)
    assert "larger than 40 MB" in str(refused.value)
    assert flood.count == 0  # the redirect was followed and its flood met


def test_a_flooded_pull_is_one_line_exit_1_and_nothing_local_changes(
    gh: GitHubStandIn, tmp_path: Path
) -> None:
    memory = MemoryLayout(tmp_path / "memory")
    decisions = memory.knowledge_dir("proj") / "decisions.md"
    decisions.parent.mkdir(parents=True)
    decisions.write_text(KNOWLEDGE)
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE + "\n## Session: s2 (2025-01-02)\n"})
    gh.flood(path=f"/gists/{gist_id}$", framing="chunked", count=5)
    env = engram_env(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=gh.api_url, ENGRAM_HTTP_RETRY_SECONDS="0")
    done = run_engram("sync", "pull", "proj", gist_id, "--memory-dir", str(memory.root), env=env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "larger than 40 MB" in lines[0] and "GITHUB_API_URL" in lines[0]
    assert TOKEN not in done.stderr
    assert decisions.read_text() == KNOWLEDGE


def test_a_body_trickling_in_under_the_cap_is_cut_by_the_deadline(
    gh: GitHubStandIn, tmp_path: Path
) -> None:
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE})
    gh.flood(path=f"/gists/{gist_id}$", framing="chunked", chunk=1024, interval=0.2, count=5)
    env = engram_env(
        GITHUB_TOKEN=TOKEN,
        GITHUB_API_URL=gh.api_url,
        ENGRAM_HTTP_DEADLINE_SECONDS="2",
        ENGRAM_HTTP_RETRY_SECONDS="0",
    )
    began = time.monotonic()
    done = run_engram("sync", "pull", "proj", gist_id, "--memory-dir", str(tmp_path), env=env)
    took = time.monotonic() - began
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "within 2s" in lines[0] and "ENGRAM_HTTP_DEADLINE_SECONDS" in lines[0]
    assert took < 10, took
