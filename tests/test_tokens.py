from __future__ import annotations

import stat
from pathlib import Path

import pytest

from engram_ci import log
from engram_ci.errors import FatalError
from engram_ci.sync import tokens


def test_token_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "gh-token-value")
    assert tokens.find_token(use_gh=False) == "gh-token-value"
    monkeypatch.setenv("GITHUB_TOKEN", "github-token-value")
    assert tokens.find_token(use_gh=False) == "github-token-value"
    assert tokens.find_token("explicit-value", use_gh=False) == "explicit-value"
    assert "github-token-value" in log.registered_secrets()


def test_gh_auth_token_is_the_last_resort(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gh = tmp_path / "gh"
    gh.write_text("#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo from-gh-cli-value\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert tokens.find_token() == "from-gh-cli-value"


def test_missing_token_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FatalError, match="GITHUB_TOKEN or GH_TOKEN"):
        tokens.require_token()


def test_api_url_from_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokens.resolve_api_url() == "https://api.github.com"
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    assert tokens.resolve_api_url() == "https://ghe.example.com/api/v3"
    with pytest.raises(FatalError, match="invalid API URL"):
        tokens.resolve_api_url("ftp://nope")


@pytest.mark.parametrize(
    "script",
    [
        "#!/nonexistent/interpreter\n",  # a broken gh install: it cannot even start
        "#!/bin/sh\necho 'You are not logged into any GitHub hosts' >&2\nexit 1\n",
        "#!/bin/sh\nexit 0\n",  # succeeds and says nothing
    ],
)
def test_a_gh_that_gives_no_token_means_no_token(
    script: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gh = tmp_path / "gh"
    gh.write_text(script)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert tokens.find_token() is None
    with pytest.raises(FatalError, match="GITHUB_TOKEN or GH_TOKEN"):
        tokens.require_token()
