"""Token hygiene audit: every command and the action run with one recognisable token, which
must never appear unmasked in stdout/stderr, logs, request URLs, .git/config, written files
or exception messages — including when things fail (bad credentials, git auth errors)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci import reposync
from engram_ci.paths import MemoryLayout
from tests.conftest import ROOT
from tests.github_server import GitHubStandIn

from .git_http_server import GitHttpServer
from .repo_helpers import add_block, git

# recognisable, fixed, random body: `ghp_` + 36 characters, like a classic PAT
TOKEN = "ghp_" + "Hyg13neT0kenQ7vX2mLp9RsWk4Zb8NcJd6Fa"
WRONG = "ghp_" + "Wr0ngT0kenQ7vX2mLp9RsWk4Zb8NcJd6FaHy"
SAMPLES = ROOT / "engram_ci" / "samples" / "claude-projects"
P = "invoice-cli"


class Audit:
    """Runs commands, keeps everything they printed, and scans for the tokens afterwards."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.outputs: list[tuple[str, str]] = []

    def engram(self, *args: str, expect: int | None = 0, **env: str) -> str:
        return self.run([sys.executable, "-m", "engram_ci", "-v", *args], expect, env)

    def run(self, argv: list[str], expect: int | None, env: dict[str, str]) -> str:
        done = subprocess.run(
            argv,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        label = " ".join(argv[2:])
        self.outputs.append((label, done.stdout + done.stderr))
        if expect is not None:
            assert done.returncode == expect, f"{label}: {done.stderr}"
        assert "Traceback" not in done.stderr, f"{label}: {done.stderr}"
        return done.stdout

    def assert_clean(self, *, allowed_mask_lines: bool = False) -> None:
        for label, text in self.outputs:
            for secret in (TOKEN, WRONG):
                for line in text.splitlines():
                    if allowed_mask_lines and line == f"::add-mask::{secret}":
                        continue  # the runner consumes this line; it is how masking works
                    assert secret not in line, f"{label} printed a token: {line[:200]}"
        for path in self.tmp_path.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                for secret in (TOKEN, WRONG):
                    assert secret.encode() not in data, f"token written to {path}"


@pytest.fixture
def audit(
    tmp_path: Path, github_server: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Audit]:
    github_server.add_token(TOKEN)
    sessions = tmp_path / "claude-projects"
    shutil.copytree(SAMPLES, sessions)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        GITHUB_TOKEN=TOKEN,
        GITHUB_API_URL=github_server.api_url,
        ENGRAM_HTTP_RETRY_SECONDS="1",
        ENGRAM_MEMORY_DIR=str(tmp_path / "memory"),
        ENGRAM_SESSIONS_DIR=str(sessions),
    )
    yield Audit(tmp_path, env)
    for request in github_server.requests:
        assert TOKEN not in request.path and WRONG not in request.path


@pytest.mark.slow
def test_every_command_keeps_the_token_to_itself(
    audit: Audit, github_server: GitHubStandIn
) -> None:
    audit.engram("ingest")
    audit.engram("projects")
    audit.engram("recall", P)
    for form in ("json", "markdown", "html"):
        audit.engram("export", P, form)
    pushed = audit.engram("sync", "push", P)
    gist_id = next(iter(github_server.gists))
    assert gist_id in pushed
    audit.engram("sync", "push", P)  # no-op
    audit.engram("sync", "pull", P, gist_id)
    audit.engram("sync", "clone", gist_id, "copy")
    audit.engram("sync", "list", P)
    audit.engram("sync", "history", gist_id)
    # failures must not quote the token either
    audit.engram("sync", "push", P, expect=1, GITHUB_TOKEN=WRONG)
    audit.engram("sync", "pull", P, "0" * 32, expect=1)
    audit.engram("sync", "list", P, expect=1, GITHUB_TOKEN="", GH_TOKEN=WRONG)
    audit.assert_clean()


@pytest.mark.slow
def test_repo_commands_over_http_keep_the_token_out_of_git(audit: Audit, tmp_path: Path) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    remote = root / "knowledge.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    git(seed, "push", "-q", str(remote), "main")
    with GitHttpServer(root, TOKEN) as server:
        work = tmp_path / "work"
        git(tmp_path, "init", "-q", "-b", "main", str(work))
        git(work, "remote", "add", "origin", server.url("knowledge.git"))
        git(work, "config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*")
        audit.engram("ingest")
        audit.engram("sync", "init-repo", str(work))
        audit.engram(
            "sync", "pull-repo", P, str(work), "--fetch-remote", expect=None,
            ENGRAM_GIT_TOKEN=TOKEN,
        )  # fmt: skip
        audit.engram("sync", "push-repo", P, str(work), "--push-remote", ENGRAM_GIT_TOKEN=TOKEN)
        audit.engram("sync", "pull-repo", P, str(work), "--fetch-remote", ENGRAM_GIT_TOKEN=TOKEN)
        audit.engram(
            "sync", "push-repo", P, str(work), "--push-remote", expect=1,
            ENGRAM_GIT_TOKEN=WRONG,
        )  # fmt: skip
        assert any(r.authorized for r in server.requests)
        for request in server.requests:
            assert TOKEN not in request.path and WRONG not in request.path
    config = (work / ".git" / "config").read_text()
    assert "extraheader" not in config.lower()
    audit.assert_clean()


@pytest.mark.slow
def test_the_action_masks_the_token_before_anything_else(
    audit: Audit, github_server: GitHubStandIn, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(SAMPLES, workspace / "sessions")
    output = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    inputs = {
        "INPUT_MODE": "push",
        "INPUT_PROJECT": P,
        "INPUT_TOKEN": TOKEN,
        "INPUT_SESSIONS-PATH": "sessions",
        "INPUT_MEMORY-PATH": str(tmp_path / "action-memory"),
        "INPUT_API-URL": github_server.api_url,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTIONS": "true",
        "RUNNER_DEBUG": "1",
        "GITHUB_TOKEN": "",
    }
    adapter = [sys.executable, "-m", "engram_ci.action"]
    stdout = audit.run(adapter, 0, inputs)
    first = stdout.splitlines()[0]
    assert first == f"::add-mask::{TOKEN}", "the mask must come before any other line"
    assert "gist-id" in output.read_text()
    audit.run(adapter, 1, {**inputs, "INPUT_TOKEN": WRONG})
    audit.assert_clean(allowed_mask_lines=True)


def test_a_token_inside_knowledge_never_reaches_a_gist(
    audit: Audit, github_server: GitHubStandIn, tmp_path: Path
) -> None:
    leaked = "ghp_" + "L3akedT0kenQ7vX2mLp9RsWk4Zb8NcJd6FaHy"
    layout = MemoryLayout(tmp_path / "memory")
    add_block(layout, P, "sess-1", f"- ran `gh auth login --with-token {leaked}`")
    audit.engram("sync", "push", P)
    files = github_server.files(next(iter(github_server.gists)))
    assert leaked not in "".join(files.values())
    assert "[REDACTED:github-pat]" in files["decisions.md"]
