"""`engram sync init-repo | push-repo | pull-repo | merge` end to end, and `git merge`
through the engram merge driver (real git CLI, real subprocesses)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engram_ci.cli.app import main
from engram_ci.knowledge import context
from engram_ci.memory import projectfiles
from engram_ci.memory.paths import MemoryLayout

from .repo_helpers import (
    add_block,
    bare_remote,
    engram_env,
    git,
    installed_env,
    run_engram,
    sessions_in,
)

P = "proj"


def _memory(tmp_path: Path, name: str, *sessions: str) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    for session in sessions:
        add_block(layout, P, session, f"- from {session}", timestamp=f"2025-01-0{len(name)}T00")
    return layout


def _synthesized(project_dir: Path) -> str:
    """The context.md the merged category files make (what a merge must leave behind)."""
    files = {p.name: p.read_text() for p in project_dir.glob("*.md")}
    return context.synthesize(P, projectfiles.parse_categories(files))


def _one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("engram: error: ")
    return err


def test_init_push_pull_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kr = tmp_path / "kr"
    assert main(["sync", "init-repo", str(kr)]) == 0
    assert capsys.readouterr().out.strip() == git(kr, "rev-parse", "HEAD")
    writer = _memory(tmp_path, "w", "s1")
    argv = ["sync", "push-repo", P, str(kr), "--memory-dir", str(writer.root)]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == git(kr, "rev-parse", "HEAD")
    assert main([*argv, "--json", "-m", "again"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["changed"] is False and result["branch"] == "main"
    assert "nothing new to commit for proj: --message was not used" in captured.err
    reader = MemoryLayout(tmp_path / "r")
    pull = ["sync", "pull-repo", P, str(kr), "--memory-dir", str(reader.root), "--json"]
    assert main(pull) == 0
    assert json.loads(capsys.readouterr().out)["blocks_added"] == 1
    assert sessions_in((reader.knowledge_dir(P) / "decisions.md").read_text()) == {"s1"}


def test_errors_are_one_line_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mem = _memory(tmp_path, "m", "s1")
    common = ["--memory-dir", str(mem.root)]
    err = _one_line_error(capsys, "sync", "push-repo", P, str(tmp_path), *common)
    assert "engram sync init-repo" in err
    kr = tmp_path / "kr"
    main(["sync", "init-repo", str(kr)])
    capsys.readouterr()
    err = _one_line_error(capsys, "sync", "pull-repo", "ghost", str(kr), *common)
    assert "not in branch main" in err
    assert main(["sync", "pull-repo", P, str(kr), "--branch", "x", *common]) == 0
    notice = capsys.readouterr().err
    assert notice == (
        f"engram: branch 'x' does not exist yet in {kr}: nothing to pull (branches here: main): "
        f"`engram sync push-repo proj {kr} --branch x` creates it, or look on the remote with "
        "--fetch-remote\n"
    )
    assert main(["sync", "pull-repo", P, str(kr), "--branch", "x", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["notice"] == notice.strip().removeprefix("engram: ")
    err = _one_line_error(capsys, "sync", "push-repo", P, str(kr), "--push-remote", *common)
    assert "git -C" in err and "remote add origin URL" in err
    err = _one_line_error(capsys, "sync", "merge", "nope", "--path", str(kr))
    assert "branch 'nope' not found" in err


def test_merge_driver_is_hidden_from_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    out = capsys.readouterr().out
    assert "push-repo" in out and "merge-driver" not in out


@pytest.mark.slow
def test_agents_on_branches_then_plain_git_merges_are_clean(tmp_path: Path) -> None:
    kr = tmp_path / "kr"
    assert run_engram("sync", "init-repo", str(kr)).returncode == 0
    base = _memory(tmp_path, "base", "shared")
    assert (
        run_engram("sync", "push-repo", P, str(kr), "--memory-dir", str(base.root)).returncode == 0
    )
    for agent in ("agent-a", "agent-b"):
        mem = _memory(tmp_path, agent, "shared", f"{agent}-1", f"{agent}-2")
        add_block(mem, P, f"{agent}-bug", "- a bug", category="bugs")
        done = run_engram(
            "sync", "push-repo", P, str(kr), "--branch", agent, "--memory-dir", str(mem.root)
        )
        assert done.returncode == 0, done.stderr
    # both agents changed the same files: a text merge would conflict, the driver does not
    git(kr, "merge", "-q", "--no-edit", "agent-a")
    git(kr, "merge", "-q", "--no-edit", "agent-b")
    assert git(kr, "status", "--porcelain") == ""
    decisions = (kr / P / "decisions.md").read_text()
    assert "<<<<<<<" not in decisions
    expected = {"shared", "agent-a-1", "agent-a-2", "agent-b-1", "agent-b-2"}
    assert sessions_in(decisions) == expected
    assert sessions_in((kr / P / "bugs.md").read_text()) == {"agent-a-bug", "agent-b-bug"}
    json.loads((kr / P / "metadata.json").read_text())


@pytest.mark.slow
def test_engram_sync_merge_does_the_octopus_git_cannot(tmp_path: Path) -> None:
    kr = tmp_path / "kr"
    run_engram("sync", "init-repo", str(kr))
    base = _memory(tmp_path, "base", "shared")
    run_engram("sync", "push-repo", P, str(kr), "--memory-dir", str(base.root))
    agents = ("agent-a", "agent-b", "agent-c")
    for agent in agents:
        mem = _memory(tmp_path, agent, f"{agent}-1")
        run_engram(
            "sync", "push-repo", P, str(kr), "--branch", agent, "--memory-dir", str(mem.root)
        )
    before = git(kr, "rev-parse", "HEAD")
    octopus = git(kr, "merge", "--no-edit", *agents, check=False)
    git(kr, "merge", "--abort", check=False)
    # with git-merge-engram on PATH (an installed engram-ci) git's own merge succeeds through
    # the engram strategy: go back, and let `engram sync merge` do it either way
    git(kr, "reset", "-q", "--hard", before)
    assert "Merge made by the 'octopus'" not in octopus  # git gives up on shared files
    done = run_engram("sync", "merge", *agents, "--path", str(kr))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == git(kr, "rev-parse", "HEAD")
    assert len(git(kr, "log", "-1", "--format=%P").split()) == 4
    expected = {"shared", *(f"{a}-1" for a in agents)}
    assert sessions_in((kr / P / "decisions.md").read_text()) == expected
    assert git(kr, "status", "--porcelain") == ""


@pytest.mark.slow
def test_the_sync_guides_multi_agent_flow_literally(tmp_path: Path) -> None:
    """engram's SYNC_GUIDE: clone the shared repo; each agent `pull-repo --branch agent-X`
    (the branch does not exist yet), works, `push-repo --branch agent-X`; then in the clone
    `git checkout main && git merge agent-a agent-b agent-c` — one block-level octopus."""
    env = installed_env(tmp_path)
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    assert run_engram("sync", "init-repo", str(seed), env=env).returncode == 0
    base = _memory(tmp_path, "base", "shared")
    push = run_engram("sync", "push-repo", P, str(seed), "--memory-dir", str(base.root), env=env)
    assert push.returncode == 0, push.stderr
    git(seed, "push", "-q", str(remote), "main")
    clone = tmp_path / "ai-memory"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert git(clone, "config", "merge.engram.driver", check=False) == ""  # not cloned
    agents = ("agent-a", "agent-b", "agent-c")
    for agent in agents:
        mem = _memory(tmp_path, agent, f"{agent}-1")
        add_block(mem, P, f"{agent}-bug", f"- bug seen by {agent}", category="bugs")
        where = ("--memory-dir", str(mem.root))
        pull = run_engram("sync", "pull-repo", P, str(clone), "--branch", agent, *where, env=env)
        assert pull.returncode == 0, pull.stderr
        assert f"branch {agent!r} does not exist yet" in pull.stderr
        push = run_engram("sync", "push-repo", P, str(clone), "--branch", agent, *where, env=env)
        assert push.returncode == 0, push.stderr
    # the merge setup names the `engram` script on PATH, never this interpreter's path
    driver = git(clone, "config", "merge.engram.driver")
    assert driver == "engram sync merge-driver %O %A %B %P"
    assert git(clone, "config", "pull.octopus") == "engram octopus"
    config = (clone / ".git" / "config").read_text()
    assert sys.executable not in config and "PYTHONPATH" not in config
    git(clone, "checkout", "-q", "main", env=env)
    out = git(clone, "merge", "--no-edit", *agents, env=env)
    assert "engram" in out
    # one merge commit of the three (main is their ancestor, so git leaves it out)
    parents = git(clone, "log", "-1", "--format=%P").split()
    assert parents == [git(clone, "rev-parse", a) for a in agents]
    assert git(clone, "status", "--porcelain") == ""
    decisions = (clone / P / "decisions.md").read_text()
    assert sessions_in(decisions) == {"shared", *(f"{a}-1" for a in agents)}
    assert sessions_in((clone / P / "bugs.md").read_text()) == {f"{a}-bug" for a in agents}
    # context.md was regenerated from the merged entries, not kept from one side
    assert (clone / P / "context.md").read_text() == _synthesized(clone / P)


@pytest.mark.slow
def test_two_branch_git_merge_regenerates_context_too(tmp_path: Path) -> None:
    env = installed_env(tmp_path)
    kr = tmp_path / "kr"
    assert run_engram("sync", "init-repo", str(kr), env=env).returncode == 0
    base = _memory(tmp_path, "base", "shared")
    run_engram("sync", "push-repo", P, str(kr), "--memory-dir", str(base.root), env=env)
    for name in ("main", "agent-a"):
        mem = _memory(tmp_path, f"m-{name}", f"{name}-1")
        add_block(mem, P, f"{name}-fix", f"- fix from {name}", category="solutions")
        branch = () if name == "main" else ("--branch", name)
        done = run_engram(
            "sync", "push-repo", P, str(kr), *branch, "--memory-dir", str(mem.root), env=env
        )
        assert done.returncode == 0, done.stderr
    git(kr, "merge", "--no-edit", "agent-a", env=env)
    assert (kr / P / "context.md").read_text() == _synthesized(kr / P)
    assert sessions_in((kr / P / "solutions.md").read_text()) == {"main-fix", "agent-a-fix"}
    assert git(kr, "status", "--porcelain") == ""


def test_without_branch_a_detached_clone_uses_the_remotes_default_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(remote))
    seed = tmp_path / "seed"
    assert main(["sync", "init-repo", str(seed), "--branch", "master"]) == 0
    writer = _memory(tmp_path, "w", "s1")
    assert main(["sync", "push-repo", P, str(seed), "--memory-dir", str(writer.root)]) == 0
    git(seed, "push", "-q", str(remote), "master")
    # a CI checkout: a clone with HEAD detached at the commit under test
    local = tmp_path / "local"
    git(tmp_path, "clone", "-q", str(remote), str(local))
    git(local, "checkout", "-q", "--detach")
    capsys.readouterr()
    reader = MemoryLayout(tmp_path / "r")
    argv = ["sync", "pull-repo", P, str(local), "--fetch-remote", "--memory-dir", str(reader.root)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["branch"] == "master" and result["blocks_added"] == 1
    # a brand-new repo takes git's init.defaultBranch (else main)
    fresh = tmp_path / "fresh"
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = trunk\n")
    done = run_engram(
        "sync", "init-repo", str(fresh), env=engram_env(GIT_CONFIG_GLOBAL=str(config))
    )
    assert done.returncode == 0, done.stderr
    assert git(fresh, "symbolic-ref", "--short", "HEAD") == "trunk"


def test_pull_repo_version_restores_and_the_next_push_sticks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kr = tmp_path / "kr"
    assert main(["sync", "init-repo", str(kr)]) == 0
    mem = _memory(tmp_path, "m", "v1")
    push = ["sync", "push-repo", P, str(kr), "--memory-dir", str(mem.root)]
    assert main(push) == 0
    first = capsys.readouterr().out.split()[-1]
    add_block(mem, P, "v2", "- later")
    assert main(push) == 0
    capsys.readouterr()
    pull = ["sync", "pull-repo", P, str(kr), "--memory-dir", str(mem.root)]
    assert main([*pull, "--version", first[:7]]) == 0
    assert f"restored as of commit {first}" in capsys.readouterr().out
    assert main(push) == 0
    capsys.readouterr()
    assert sessions_in(git(kr, "show", f"HEAD:{P}/decisions.md")) == {"v1"}
    err = _one_line_error(capsys, *pull, "--version", "deadbeef")
    assert "version deadbeef not found" in err


def test_a_project_folder_of_another_project_needs_adopt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kr = tmp_path / "kr"
    assert main(["sync", "init-repo", str(kr)]) == 0
    mem = _memory(tmp_path, "m", "s1")
    push = ["sync", "push-repo", P, str(kr), "--memory-dir", str(mem.root)]
    assert main(push) == 0
    capsys.readouterr()
    meta = kr / P / "metadata.json"
    meta.write_text(json.dumps({"project": "other"}))
    git(kr, "commit", "-qam", "renamed by hand")
    add_block(mem, P, "s2", "- more")
    capsys.readouterr()
    err = _one_line_error(capsys, *push)
    assert err.endswith(
        "belongs to project 'other', not 'proj': sync other with it, or pass --adopt to make "
        "it proj's"
    )
    assert main([*push, "--adopt"]) == 0
    assert json.loads(git(kr, "show", f"HEAD:{P}/metadata.json"))["project"] == P
