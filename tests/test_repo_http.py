"""The token path end to end: push-repo and pull-repo against a git http-backend remote on
127.0.0.1 that demands Basic auth `x-access-token:TOKEN`, like GitHub."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import reposync

from .git_http_server import GitHttpServer
from .repo_helpers import add_block, engram_env, git, run_engram, sessions_in

TOKEN = "ghs_" + "Zq7" * 12  # looks like an installation token
P = "proj"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path]]:
    root = tmp_path / "srv"
    root.mkdir()
    remote = root / "knowledge.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    git(seed, "push", "-q", str(remote), "main")
    with GitHttpServer(root, TOKEN) as server:
        yield server, remote


def _clone_dir(tmp_path: Path, url: str) -> Path:
    """A clone-to-be that has never talked to the server: `git init` + the remote URL."""
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", url)
    return work


def _everything_written(repo: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in (repo / ".git").rglob("*") if p.is_file()
    )


def _memory(tmp_path: Path, name: str, session: str) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    add_block(layout, P, session, f"- from {session}")
    return layout


@pytest.mark.slow
def test_push_and_pull_with_a_token_never_leave_it_behind(
    tmp_path: Path, served: tuple[GitHttpServer, Path]
) -> None:
    server, remote = served
    work = _clone_dir(tmp_path, server.url("knowledge.git"))
    writer = _memory(tmp_path, "w", "over-http")
    env = engram_env(ENGRAM_GIT_TOKEN=TOKEN)
    pushed = run_engram(
        "sync",
        "push-repo",
        P,
        str(work),
        "--push-remote",
        "--memory-dir",
        str(writer.root),
        env=env,
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == git(remote, "rev-parse", "main")
    assert sessions_in(git(remote, "show", f"main:{P}/decisions.md")) == {"over-http"}
    assert (work / "README.md").exists()  # built on the remote's history, checked out

    reader = _memory(tmp_path, "r", "local-only")
    pulled = run_engram(
        "sync",
        "pull-repo",
        P,
        str(work),
        "--fetch-remote",
        "--memory-dir",
        str(reader.root),
        env=env,
    )
    assert pulled.returncode == 0, pulled.stderr

    assert server.requests and all(r.authorized for r in server.requests)
    assert any(r.method == "POST" and "receive-pack" in r.path for r in server.requests)
    assert all(TOKEN not in r.path for r in server.requests)
    for output in (pushed.stdout, pushed.stderr, pulled.stdout, pulled.stderr):
        assert TOKEN not in output
    assert TOKEN not in _everything_written(work)
    assert git(work, "remote", "get-url", "origin") == server.url("knowledge.git")
    assert "extraheader" not in (work / ".git" / "config").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_token", [None, "wrong-token-0000", "github-token-only"], ids=["none", "wrong", "github"]
)
def test_auth_failure_is_one_line_naming_the_token_variable(
    tmp_path: Path, served: tuple[GitHttpServer, Path], env_token: str | None
) -> None:
    server, remote = served
    work = _clone_dir(tmp_path, server.url("knowledge.git"))
    writer = _memory(tmp_path, "w", "s1")
    extra = {}
    if env_token == "github-token-only":
        extra["GITHUB_TOKEN"] = TOKEN  # a GitHub token is not sent to another host
    elif env_token:
        extra["ENGRAM_GIT_TOKEN"] = env_token
    done = run_engram(
        "sync",
        "push-repo",
        P,
        str(work),
        "--push-remote",
        "--memory-dir",
        str(writer.root),
        env=engram_env(**extra),
    )
    assert done.returncode == 1
    err = done.stderr.strip().splitlines()[-1]
    assert err.startswith("engram: error: authentication failed for http://127.0.0.1:")
    assert "ENGRAM_GIT_TOKEN" in err and "contents: write" in err
    assert TOKEN not in done.stderr + done.stdout
    assert not [r for r in server.requests if r.authorized]
    assert git(remote, "rev-list", "--count", "main") == "1"


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_token_option_reads_a_file_or_stdin_and_is_masked_in_git_errors(
    tmp_path: Path, source: str
) -> None:
    """`--token FILE|-` (never the token in argv), for a remote that is down: the token
    never shows up in the message."""
    work = _clone_dir(tmp_path, "http://127.0.0.1:9/knowledge.git")  # discard port: refused
    writer = _memory(tmp_path, "w", "s1")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    done = subprocess.run(
        [
            *_engram(),
            "sync",
            "push-repo",
            P,
            str(work),
            "--push-remote",
            "--token",
            str(token_file) if source == "file" else "-",
            "--memory-dir",
            str(writer.root),
            "--attempts",
            "1",
        ],
        input=TOKEN + "\n" if source == "stdin" else "",
        capture_output=True,
        text=True,
        env=engram_env(),
        check=False,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert TOKEN not in done.stderr + done.stdout
    assert "127.0.0.1:9" in done.stderr


def test_a_token_given_in_argv_is_refused_without_being_echoed(tmp_path: Path) -> None:
    work = _clone_dir(tmp_path, "http://127.0.0.1:9/knowledge.git")
    writer = _memory(tmp_path, "w", "s1")
    done = run_engram(
        "sync", "push-repo", P, str(work), "--token", TOKEN, "--memory-dir", str(writer.root)
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "file holding the token" in line and "ENGRAM_GIT_TOKEN" in line
    assert TOKEN not in done.stderr + done.stdout


def _engram() -> list[str]:
    import sys

    return [sys.executable, "-m", "engram_ci"]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["push-repo", "pull-repo"])
def test_a_redirect_to_another_host_gets_no_token_and_one_clear_line(
    tmp_path: Path, served: tuple[GitHttpServer, Path], command: str
) -> None:
    """Issue 15: the token stays with its host. A remote answering 302 to another host (here
    127.0.0.2, a different loopback address) must not receive the token, and the run ends
    with one line naming the fix."""
    _, remote = served
    with (
        GitHttpServer(remote.parent, TOKEN, host="127.0.0.2") as elsewhere,
        GitHttpServer(remote.parent, TOKEN, redirect=elsewhere.url("").rstrip("/")) as moved,
    ):
        work = _clone_dir(tmp_path, moved.url("knowledge.git"))
        writer = _memory(tmp_path, "w", "s1")
        flag = "--push-remote" if command == "push-repo" else "--fetch-remote"
        done = run_engram(
            "sync",
            command,
            P,
            str(work),
            flag,
            "--memory-dir",
            str(writer.root),
            env=engram_env(ENGRAM_GIT_TOKEN=TOKEN),
        )
    assert moved.requests, "the client never asked the moved remote"
    assert all(r.authorization is None for r in elsewhere.requests), elsewhere.requests
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "redirect" in lines[0], done.stderr
    assert TOKEN not in done.stderr + done.stdout
    assert git(remote, "rev-list", "--count", "main") == "1"


@pytest.mark.slow
def test_a_trickling_git_remote_ends_within_the_deadline(tmp_path: Path) -> None:
    """Issue 15: git is killed at its overall deadline, with one line naming the setting."""
    import time

    from .trickle_server import TrickleServer

    with TrickleServer(interval=0.5) as slow:
        work = _clone_dir(tmp_path, f"{slow.url}/knowledge.git")
        reader = _memory(tmp_path, "r", "s1")
        started = time.monotonic()
        done = run_engram(
            "sync",
            "pull-repo",
            P,
            str(work),
            "--fetch-remote",
            "--memory-dir",
            str(reader.root),
            env=engram_env(ENGRAM_GIT_TOKEN=TOKEN, ENGRAM_GIT_DEADLINE_SECONDS="5"),
        )
        took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "within 5s" in line and "ENGRAM_GIT_DEADLINE_SECONDS" in line
    assert took < 40, took  # the deadline plus start-up on a loaded machine
    assert TOKEN not in done.stderr
