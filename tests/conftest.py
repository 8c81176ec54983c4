"""Fixtures every test module can use. Area-specific fixtures live in tests/<area>_*.py."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engram_ci.memory.paths import MemoryLayout
from tests.github_server import github_as, github_server  # noqa: F401  (fixtures: the GitHub stand-in)
from tests.s3_server import s3_bucket, s3_endpoint  # noqa: F401  (fixtures: a local S3 server)

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the project (or beside a parent: helpers' worktrees sit one level deeper)
SHARED = next(
    (p / "shared" for p in ROOT.parents if (p / "shared").is_dir()), ROOT.parent / "shared"
)
CORPUS = SHARED / "corpus" / "claude-code"

_SCRUBBED_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "GITHUB_ACTIONS",
    "ENGRAM_MEMORY_DIR",
    "ENGRAM_SESSIONS_DIR",
    "ENGRAM_GIT_TOKEN",
    "ENGRAM_AGE_RECIPIENTS",
    "ENGRAM_AGE_IDENTITY",
    "ENGRAM_PASSPHRASE",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OLLAMA_HOST",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test gets its own HOME and git config, and none of the machine's tokens."""
    home = tmp_path_factory.mktemp("home")
    for name in _SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("INPUT_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # never ask an instance metadata service for AWS credentials: it is not loopback
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.invalid\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    return home


@pytest.fixture(autouse=True)
def fresh_logger() -> Iterator[None]:
    """Every test starts with the engram_ci logger as an import leaves it (no handler of ours,
    propagating to the root, so caplog sees records): cli.main and action.main reconfigure it,
    and so may session fixtures that run commands."""
    logger = logging.getLogger("engram_ci")

    def reset() -> None:
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)

    reset()
    yield
    reset()


@pytest.fixture
def memory(tmp_path: Path) -> MemoryLayout:
    return MemoryLayout(tmp_path / "memory")


@pytest.fixture
def corpus_home(tmp_path: Path) -> Iterator[Path]:
    """A temporary copy of shared/corpus/claude-code laid out as ~/.claude/projects."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/claude-code is not beside the project")
    projects = tmp_path / "claude" / "projects"
    shutil.copytree(CORPUS / "projects", projects)
    edge = projects / "-edge-cases"
    shutil.copytree(CORPUS / "edge-cases", edge)
    yield projects
