"""git-merge-engram: git's custom merge strategy contract, through real `git merge`."""

from __future__ import annotations

from pathlib import Path

from engram_ci.cli.git_strategy import main, parse_strategy_args
from engram_ci.memory.paths import MemoryLayout

from .repo_helpers import add_block, git, installed_env, run_engram

P = "proj"


def test_parses_gits_strategy_arguments() -> None:
    # git runs: git-merge-<name> [--<xopt>...] <base>... -- <head> <remote>...
    assert parse_strategy_args(["--ours", "b1", "b2", "--", "HEAD", "r1", "r2"]) == (
        ["b1", "b2"],
        "HEAD",
        ["r1", "r2"],
    )
    assert parse_strategy_args(["--", "HEAD", "r1"]) == ([], "HEAD", ["r1"])
    assert parse_strategy_args(["HEAD", "r1"]) is None
    assert parse_strategy_args(["b", "--", "HEAD"]) is None


def test_a_malformed_call_declines_with_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["nonsense"]) == 2
    assert "usage: git-merge-engram" in capsys.readouterr().err


def _push(tmp: Path, kr: Path, name: str, branch: str | None, env: dict[str, str]) -> None:
    layout = MemoryLayout(tmp / f"mem-{name}")
    add_block(layout, P, name, f"- from {name}")
    extra = ("--branch", branch) if branch else ()
    done = run_engram(
        "sync", "push-repo", P, str(kr), *extra, "--memory-dir", str(layout.root), env=env
    )
    assert done.returncode == 0, done.stderr


def test_what_it_cannot_merge_goes_to_gits_own_strategy(tmp_path: Path) -> None:
    env = installed_env(tmp_path)
    kr = tmp_path / "kr"
    assert run_engram("sync", "init-repo", str(kr), env=env).returncode == 0
    _push(tmp_path, kr, "base", None, env)
    _push(tmp_path, kr, "side", "side", env)
    _push(tmp_path, kr, "main-2", None, env)
    # a README changed on both sides is a human's call: the strategy declines (exit 2),
    # touching nothing, and git falls back to `recursive` (which runs the driver)
    git(kr, "checkout", "-q", "side")
    (kr / "README.md").write_text("side's readme\n")
    git(kr, "commit", "-qam", "side readme")
    git(kr, "checkout", "-q", "main")
    (kr / "README.md").write_text("main's readme\n")
    git(kr, "commit", "-qam", "main readme")
    out = git(kr, "merge", "--no-edit", "side", check=False, env=env)
    assert "Trying merge strategy engram" in out and "recursive" in out
    status = git(kr, "status", "--porcelain")
    assert "UU README.md" in status
    assert f"UU {P}/decisions.md" not in status  # the driver merged the knowledge files
    decisions = (kr / P / "decisions.md").read_text()
    assert "<<<<<<<" not in decisions and "from side" in decisions and "from main-2" in decisions
