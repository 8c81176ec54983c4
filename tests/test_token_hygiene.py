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
from typing import TypedDict

import pytest

from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import reposync
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


PASSPHRASE = "Hyg13ne-passphrase-" + "Q7vX2mLp9RsWk4Zb"
WRONG_PASSPHRASE = "Wr0ng-passphrase-" + "Q7vX2mLp9RsWk4Zb"


class _Passphrase(TypedDict):
    """What `**phrase` adds to a command's environment: none of it is Audit.engram's `expect`."""

    ENGRAM_PASSPHRASE: str


@pytest.mark.slow
def test_encryption_secrets_stay_out_of_output_files_and_uploads(
    audit: Audit, github_server: GitHubStandIn, tmp_path: Path
) -> None:
    """A passphrase and an age identity's secret key, through every encrypting command and
    its failures: never printed, never written outside the identity file, never uploaded."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    secret_key = str(identity)
    key_file = tmp_path / "keys" / "me.key"
    key_file.parent.mkdir()
    key_file.write_text(secret_key + "\n")
    other_key = tmp_path / "keys" / "other.key"
    other_key.write_text(str(x25519.Identity.generate()) + "\n")
    phrase: _Passphrase = {"ENGRAM_PASSPHRASE": PASSPHRASE}

    audit.engram("ingest")
    pushed = audit.engram("sync", "push", P, "--encrypt", "--json", **phrase)
    gist_id = next(iter(github_server.gists))
    assert gist_id in pushed
    audit.engram("sync", "pull", P, gist_id, "--encrypt", **phrase)
    audit.engram("sync", "clone", gist_id, "copy", "--encrypt", **phrase)
    audit.engram("sync", "history", gist_id)
    audit.engram(
        "sync", "pull", P, gist_id, "--encrypt", expect=1, ENGRAM_PASSPHRASE=WRONG_PASSPHRASE
    )

    keyed = "keyed"  # a second project, encrypted to the identity's public key
    (tmp_path / "memory" / "knowledge" / keyed).mkdir()
    for page in (tmp_path / "memory" / "knowledge" / P).glob("*.md"):  # no metadata.json
        shutil.copy(page, tmp_path / "memory" / "knowledge" / keyed / page.name)
    recipient = str(identity.to_public())
    mine = ("--recipient", recipient, "--identity", str(key_file))
    audit.engram("sync", "push", keyed, "--encrypt", *mine)
    keyed_gist = next(g for g in github_server.gists if g != gist_id)
    audit.engram("sync", "pull", keyed, keyed_gist, "--encrypt", "--identity", str(key_file))
    audit.engram(
        "sync", "pull", keyed, keyed_gist, "--encrypt", expect=1, ENGRAM_AGE_IDENTITY=str(other_key)
    )

    work = tmp_path / "kr"
    audit.engram("sync", "init-repo", str(work))
    audit.engram("sync", "push-repo", P, str(work), "--encrypt", **phrase)
    audit.engram("sync", "pull-repo", P, str(work), "--encrypt", **phrase)
    audit.engram(
        "sync", "pull-repo", P, str(work), "--encrypt", expect=1, ENGRAM_PASSPHRASE=WRONG_PASSPHRASE
    )
    audit.engram("sync", "push-repo", keyed, str(work), "--encrypt", *mine)
    audit.engram("sync", "pull-repo", keyed, str(work), "--encrypt", "--identity", str(key_file))

    secrets = (PASSPHRASE, WRONG_PASSPHRASE, secret_key)
    for label, text in audit.outputs:
        for secret in secrets:
            assert secret not in text, f"{label} printed a secret"
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.parent != key_file.parent:
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), f"a secret written to {path}"
    uploaded = "".join("".join(github_server.files(g).values()) for g in github_server.gists)
    assert "age-encryption.org" in uploaded or "BEGIN AGE ENCRYPTED FILE" in uploaded
    assert not any(secret in uploaded for secret in secrets)
    for request in github_server.requests:
        assert not any(secret in request.path for secret in secrets)
    audit.assert_clean()
