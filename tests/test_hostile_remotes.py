"""Remote answers can't crash us, stall us or take our token elsewhere (issue 15, items 3-5).

Each hostile answer — an HTML page where JSON was due, a 304 nobody asked for, redirects to
another host, a body too big to be a gist, a server that trickles a byte at a time — and each
hostile local state — a full disk, a read-only memory dir, an empty gist id — ends the command
with exit 1 and ONE line naming the fix, and the local knowledge is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync.github_api import GistStore, RetryPolicy
from tests.github_server import GitHubStandIn
from tests.trickle_server import TrickleServer

from .repo_helpers import engram_env, run_engram

TOKEN = "ghp_HostileRemoteTestToken000000000000001"
KNOWLEDGE = "# Decisions\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n- keep me\n"


@pytest.fixture
def gh(github_as: Callable[..., GitHubStandIn]) -> GitHubStandIn:
    return github_as(TOKEN, retry_seconds=0)


@pytest.fixture
def seeded(memory: MemoryLayout) -> Path:
    directory = memory.knowledge_dir("proj")
    directory.mkdir(parents=True)
    (directory / "decisions.md").write_text(KNOWLEDGE)
    return directory / "decisions.md"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The command as a user runs it, in a process of its own: what a deadline abandoned in
    one test (a thread still waiting on a socket) cannot touch the next test's run."""
    done = run_engram(*argv, env=engram_env())
    return done.returncode, done.stderr


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert TOKEN not in err
    return lines[0]


class _Recorder(BaseHTTPRequestHandler):
    """Another host: records what it is sent."""

    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PATCH = do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server on another loopback HOST (127.0.0.2): where a hostile redirect points."""
    seen: list[dict[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.2", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


# --- local state (first: before any test leaves a call its deadline abandoned) ----------------


def test_a_read_only_memory_dir_is_one_line_and_nothing_is_lost(
    gh: GitHubStandIn, memory: MemoryLayout, seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE + "\n## Session: s2 (2025-01-02)\n\n- x\n"})
    if os.geteuid() == 0:
        mount = subprocess.run(
            ["mount", "-o", "bind,ro", str(memory.root), str(memory.root)],
            capture_output=True,
            check=False,
        )
        if mount.returncode != 0:
            pytest.skip("cannot bind-mount read-only here")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(memory.root)], check=False)
    else:
        for path in (memory.root, *memory.root.rglob("*")):
            path.chmod(path.stat().st_mode & ~0o222)
    try:
        code, err = _cli(capsys, "sync", "pull", "proj", gist_id, "--memory-dir", str(memory.root))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(memory.root)], check=False)
    line = _one_line(err)
    assert code == 1 and ("read-only" in line or "permission" in line.lower()), line
    assert seeded.read_text() == KNOWLEDGE


def test_a_full_disk_is_one_line_and_nothing_is_lost(
    gh: GitHubStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    root = tmp_path / "tiny"
    root.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], check=False
    ).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        memory = MemoryLayout(root)
        directory = memory.knowledge_dir("proj")
        directory.mkdir(parents=True)
        (directory / "decisions.md").write_text(KNOWLEDGE)
        big = "".join(f"## Session: s{i} (2025-01-02)\n\n- {'z' * 200}\n\n" for i in range(600))
        gist_id = gh.create_gist({"decisions.md": KNOWLEDGE + big})
        code, err = _cli(capsys, "sync", "pull", "proj", gist_id, "--memory-dir", str(root))
        line = _one_line(err)
        assert code == 1 and ("space" in line.lower() or "full" in line.lower()), line
        assert (directory / "decisions.md").read_text() == KNOWLEDGE
        # no half-written file: writes are temp file + rename (context.md is derived)
        assert {p.name for p in directory.iterdir()} <= {"decisions.md", "context.md"}
    finally:
        subprocess.run(["umount", str(root)], check=False)


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (200, b"<html><body>Sign in to your proxy</body></html>", "not JSON"),
        (200, b'{"unexpected": true}', "not a gist"),
        (200, b'{"id": "abc", "files": ["a list"]}', "not a gist"),
        (200, b'{"id": "abc", "files": {"a.md": "not an object"}}', "malformed files"),
        (304, b"", "304"),
    ],
    ids=["html", "json-not-a-gist", "files-not-a-map", "files-not-objects", "304-unasked"],
)
def test_a_hostile_answer_is_one_line_and_nothing_is_lost(
    gh: GitHubStandIn,
    memory: MemoryLayout,
    seeded: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    raw: bytes,
    expected: str,
) -> None:
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE})
    gh.fail(status, method="GET", path=f"/gists/{gist_id}$", raw=raw, count=5)
    code, err = _cli(capsys, "sync", "pull", "proj", gist_id, "--memory-dir", str(memory.root))
    line = _one_line(err)
    assert code == 1 and expected in line and "GITHUB_API_URL" in line, line
    assert seeded.read_text() == KNOWLEDGE


@pytest.mark.parametrize("status", [301, 302, 307])
def test_an_api_redirect_to_another_host_gets_no_token(
    gh: GitHubStandIn,
    memory: MemoryLayout,
    seeded: Path,
    capsys: pytest.CaptureFixture[str],
    elsewhere: tuple[str, list[dict[str, str]]],
    status: int,
) -> None:
    url, seen = elsewhere
    gist_id = gh.create_gist({"decisions.md": KNOWLEDGE})
    gh.fail(status, path=f"/gists/{gist_id}", headers={"Location": f"{url}/gists/{gist_id}"})
    code, err = _cli(capsys, "sync", "pull", "proj", gist_id, "--memory-dir", str(memory.root))
    assert code == 1 and "redirect" in _one_line(err)
    assert all("Authorization" not in headers for headers in seen), seen
    assert all(TOKEN not in str(headers) for headers in seen)
    assert seeded.read_text() == KNOWLEDGE


def test_a_large_file_redirected_elsewhere_is_refused_without_the_token(
    gh: GitHubStandIn, elsewhere: tuple[str, list[dict[str, str]]]
) -> None:
    """Raw downloads (files over 1 MB) follow no redirect: the token stays on its host."""
    url, seen = elsewhere
    gist_id = gh.create_gist({"big.md": "x" * (1024 * 1024 + 10)})
    gh.fail(302, path=r"^/raw/", headers={"Location": f"{url}/stolen"})
    policy = RetryPolicy(budget_seconds=0)
    with (
        GistStore(TOKEN, gh.api_url, policy=policy) as store,
        pytest.raises(FatalError, match="redirect"),
    ):
        store.get(gist_id)
    assert not seen


def test_a_huge_raw_file_is_refused_in_bounded_memory(gh: GitHubStandIn) -> None:
    gist_id = gh.create_gist({"big.md": "x" * (1024 * 1024 + 10)})
    gh.fail(200, path=r"^/raw/", raw=b"y" * (10 * 1024 * 1024 + 100))
    policy = RetryPolicy(budget_seconds=0)
    with (
        GistStore(TOKEN, gh.api_url, policy=policy) as store,
        pytest.raises(FatalError, match=r"10 MB|limit for one file"),
    ):
        store.get(gist_id)


@pytest.mark.parametrize(
    "raw", [b'{"gists": []}', b'[{"id": "abc"}, "not a gist"]'], ids=["object", "mixed-list"]
)
def test_a_gist_listing_that_is_not_a_list_of_gists_is_one_error(
    gh: GitHubStandIn, raw: bytes
) -> None:
    gh.fail(200, method="GET", path=r"^/gists(\?|$)", raw=raw)
    with (
        GistStore(TOKEN, gh.api_url, policy=RetryPolicy(budget_seconds=0)) as store,
        pytest.raises(FatalError, match="not a list of JSON objects"),
    ):
        store.list_gists()


def test_a_large_file_the_server_cannot_serve_is_one_error(gh: GitHubStandIn) -> None:
    gist_id = gh.create_gist({"big.md": "x" * (1024 * 1024 + 10)})
    gh.fail(404, path=r"^/raw/", message="Not Found", count=5)
    with (
        GistStore(TOKEN, gh.api_url, policy=RetryPolicy(budget_seconds=0)) as store,
        pytest.raises(FatalError) as error,
    ):
        store.get(gist_id)
    assert "404" in str(error.value) and "\n" not in str(error.value)


def test_an_empty_gist_id_names_the_fix(
    gh: GitHubStandIn, memory: MemoryLayout, seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _cli(capsys, "sync", "pull", "proj", "", "--memory-dir", str(memory.root))
    assert code == 1 and "gist" in _one_line(err).lower()
    assert seeded.read_text() == KNOWLEDGE
    assert all(r.method == "GET" for r in gh.requests)  # nothing was written


# --- deadlines ----------------------------------------------------------------------------------


def test_a_trickling_api_ends_within_the_deadline(memory: MemoryLayout, seeded: Path) -> None:
    # in a process of its own: the call a deadline abandons must not outlive the test in
    # this one (its retries could reach a later test's server on a reused port)
    with TrickleServer(interval=0.3) as slow:
        env = engram_env(
            GITHUB_TOKEN=TOKEN,
            GITHUB_API_URL=slow.url,
            ENGRAM_HTTP_DEADLINE_SECONDS="2",
            ENGRAM_HTTP_RETRY_SECONDS="0",
        )
        started = time.monotonic()
        done = run_engram(
            "sync", "pull", "proj", "abc123", "--memory-dir", str(memory.root), env=env
        )
        took = time.monotonic() - started
    line = _one_line(done.stderr)
    assert done.returncode == 1 and "within 2s" in line and "ENGRAM_HTTP_DEADLINE_SECONDS" in line
    assert took < 10, took
    assert seeded.read_text() == KNOWLEDGE


def test_a_trickling_model_ends_ingest_within_the_deadline_then_goes_offline(
    tmp_path: Path, memory: MemoryLayout
) -> None:
    """The LLM path: the first stalled call ends at its deadline with one warning, and the
    rest of the run uses the offline extractor instead of stalling once per session. (In a
    process of its own, like the API's: nothing abandoned outlives the test.)"""
    from engram_ci.cli.ingest_cmd import samples_dir

    root = Path(shutil.copytree(samples_dir(), tmp_path / "projects"))
    with TrickleServer(interval=0.3) as slow:
        env = engram_env(ENGRAM_LLM_DEADLINE_SECONDS="2")
        started = time.monotonic()
        done = run_engram(
            "ingest",
            "--sessions-dir",
            str(root),
            "--memory-dir",
            str(memory.root),
            "--provider",
            "ollama",
            "--provider-url",
            slow.url,
            "--json",
            env=env,
        )
        took = time.monotonic() - started
        requests = slow.requests
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sessions_ingested"] == 3
    assert took < 15, took  # one deadline, not one per session
    stalled = [line for line in done.stderr.splitlines() if "no complete answer within 2s" in line]
    assert len(stalled) == 1
    assert requests == 1


def test_env_budgets_are_clamped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", "6000000")
    monkeypatch.setenv("ENGRAM_HTTP_DEADLINE_SECONDS", "1e9")
    policy = RetryPolicy.from_env()
    assert policy.budget_seconds == 600 and policy.request_deadline == 900
    monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", "-5")
    assert RetryPolicy.from_env().budget_seconds == 0
    monkeypatch.setenv("ENGRAM_HTTP_RETRY_SECONDS", "nan")
    with pytest.raises(FatalError, match="ENGRAM_HTTP_RETRY_SECONDS"):
        RetryPolicy.from_env()
    from engram_ci.knowledge import llm
    from engram_ci.sync.pipeline import Retry

    monkeypatch.setenv("ENGRAM_SYNC_DEADLINE_SECONDS", "31536000")
    monkeypatch.setenv("ENGRAM_LLM_DEADLINE_SECONDS", "0")
    assert Retry.from_env().deadline_seconds == 3600
    assert llm.deadline_seconds() == 1
