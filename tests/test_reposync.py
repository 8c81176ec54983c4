"""engram_ci.sync.reposync: init, push, pull and block-level merges against real git repos."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from engram_ci.errors import FatalError
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout
from engram_ci.sync import repo_backend, reposync
from engram_ci.sync.repomerge import run_driver

from .repo_helpers import add_block, bare_remote, git, sessions_in, show

P = "proj"


@pytest.fixture
def kr(tmp_path: Path) -> Path:
    path = tmp_path / "kr"
    reposync.init_repo(path)
    return path


def _layout(tmp_path: Path, name: str, *blocks: str) -> MemoryLayout:
    layout = MemoryLayout(tmp_path / name)
    for session in blocks:
        add_block(layout, P, session, f"- learned in {session}")
    return layout


def _local_sessions(layout: MemoryLayout) -> set[str]:
    return sessions_in((layout.knowledge_dir(P) / "decisions.md").read_text())


def _no_sleep(_: float) -> None:
    return None


# -- init-repo ---------------------------------------------------------------------------------


def test_init_repo_creates_a_complete_repo_once(kr: Path) -> None:
    assert git(kr, "symbolic-ref", "--short", "HEAD") == "main"
    assert sorted(git(kr, "ls-files").split()) == [".gitattributes", ".gitignore", "README.md"]
    attributes = (kr / ".gitattributes").read_text()
    for name in ("decisions", "procedures", "context", "metadata"):
        assert f"*/{name}." in attributes
    assert "merge-driver %O %A %B %P" in git(kr, "config", "merge.engram.driver")
    assert "init-repo" in (kr / "README.md").read_text()
    head = git(kr, "rev-parse", "HEAD")
    assert reposync.init_repo(kr) == head  # nothing missing: no new commit
    assert git(kr, "rev-list", "--count", "HEAD") == "1"


def test_init_repo_on_an_existing_clone_adds_only_what_is_missing(tmp_path: Path) -> None:
    repo = tmp_path / "existing"
    git(tmp_path, "init", "-q", "-b", "trunk", str(repo))
    (repo / "README.md").write_text("my readme\n")
    (repo / ".gitattributes").write_text("*.png binary\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "mine")
    (repo / "wip.txt").write_text("uncommitted\n")
    reposync.init_repo(repo)
    assert (repo / "README.md").read_text() == "my readme\n"
    attributes = (repo / ".gitattributes").read_text()
    assert attributes.startswith("*.png binary\n") and "*/bugs.md merge=engram" in attributes
    assert (repo / ".gitignore").exists() and (repo / "wip.txt").exists()
    assert git(repo, "log", "-1", "--format=%s") == "engram: complete knowledge repository setup"
    assert git(repo, "status", "--porcelain") == "?? wip.txt"
    # a fresh clone has no driver config: init-repo adds it without committing anything
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert git(clone, "config", "merge.engram.driver", check=False) == ""
    reposync.init_repo(clone)
    assert git(clone, "config", "merge.engram.driver")
    assert git(clone, "rev-list", "--count", "HEAD") == "2"


# -- push-repo ---------------------------------------------------------------------------------


def test_push_to_the_checked_out_branch_updates_work_tree_and_memory(
    kr: Path, tmp_path: Path
) -> None:
    (kr / "notes.txt").write_text("user's uncommitted file\n")
    layout = _layout(tmp_path, "mem", "s1")
    result = reposync.push_repo(layout.root, P, kr)
    assert result.changed and not result.pushed and result.blocks_added == 1
    assert result.commit_sha == git(kr, "rev-parse", "main")
    assert git(kr, "log", "-1", "--format=%s") == f"engram: update knowledge for {P}"
    assert set(result.files_synced) == {"decisions.md", "context.md", "metadata.json"}
    assert sessions_in((kr / P / "decisions.md").read_text()) == {"s1"}
    assert git(kr, "status", "--porcelain") == "?? notes.txt"  # index and tree agree
    again = reposync.push_repo(layout.root, P, kr)
    assert not again.changed and again.commit_sha == result.commit_sha


def test_push_never_drops_a_block_someone_else_added(kr: Path, tmp_path: Path) -> None:
    reposync.push_repo(_layout(tmp_path, "a", "from-a").root, P, kr)
    mine = _layout(tmp_path, "b", "from-b")
    reposync.push_repo(mine.root, P, kr, message="b's knowledge")
    assert sessions_in(show(kr, "HEAD", f"{P}/decisions.md")) == {"from-a", "from-b"}
    assert "from-a" in show(kr, "HEAD", f"{P}/context.md")
    assert _local_sessions(mine) == {"from-a", "from-b"}  # memory receives the merge
    assert git(kr, "log", "-1", "--format=%s") == "b's knowledge"


def test_push_to_another_branch_does_not_check_it_out(kr: Path, tmp_path: Path) -> None:
    head = git(kr, "rev-parse", "HEAD")
    result = reposync.push_repo(_layout(tmp_path, "mem", "s1").root, P, kr, branch="agent-a")
    assert git(kr, "rev-parse", "HEAD") == head
    assert git(kr, "rev-parse", "agent-a^") == head  # created from the current branch
    assert not (kr / P).exists()
    assert git(kr, "status", "--porcelain") == ""
    assert sessions_in(show(kr, result.commit_sha, f"{P}/decisions.md")) == {"s1"}


def test_push_into_an_empty_repo_makes_an_orphan_commit(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    result = reposync.push_repo(_layout(tmp_path, "mem", "s1").root, P, repo, branch="side")
    assert git(repo, "rev-list", "--count", "side") == "1"
    assert git(repo, "log", "-1", "--format=%P", "side") == ""
    reposync.push_repo(_layout(tmp_path, "mem2", "s2").root, P, repo)  # unborn main
    assert (repo / P / "decisions.md").exists()
    assert git(repo, "rev-list", "--count", "main") == "1"
    assert result.branch == "side"


def test_push_refuses_to_overwrite_uncommitted_edits_in_the_project(
    kr: Path, tmp_path: Path
) -> None:
    layout = _layout(tmp_path, "mem", "s1")
    reposync.push_repo(layout.root, P, kr)
    (kr / P / "decisions.md").write_text("hand edit\n")
    head = git(kr, "rev-parse", "HEAD")
    add_block(layout, P, "s2", "- more")
    with pytest.raises(FatalError, match="commit or stash"):
        reposync.push_repo(layout.root, P, kr)
    assert git(kr, "rev-parse", "HEAD") == head
    assert (kr / P / "decisions.md").read_text() == "hand edit\n"


def test_push_of_an_unknown_project_lists_what_memory_has(kr: Path, tmp_path: Path) -> None:
    layout = _layout(tmp_path, "mem", "s1")
    with pytest.raises(FatalError, match=r"projects here: proj"):
        reposync.push_repo(layout.root, "typo", kr)


def test_push_redacts_secrets_before_they_reach_the_repo(kr: Path, tmp_path: Path) -> None:
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    layout = MemoryLayout(tmp_path / "mem")
    add_block(layout, P, "s1", f"- the deploy token is {secret}")
    result = reposync.push_repo(layout.root, P, kr)
    assert result.secrets_redacted >= 1
    assert secret not in git(kr, "log", "-p", "--all")
    assert secret in (layout.knowledge_dir(P) / "decisions.md").read_text()  # local keeps it


def test_push_remote_merges_when_the_remote_moved_on(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    git(seed, "push", "-q", str(remote), "main")
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        clones.append(clone)
    reposync.push_repo(_layout(tmp_path, "m1", "s1").root, P, clones[0], push_remote=True)
    late = _layout(tmp_path, "m2", "s2")
    result = reposync.push_repo(late.root, P, clones[1], push_remote=True, sleep=_no_sleep)
    assert result.pushed
    assert sessions_in(show(remote, "main", f"{P}/decisions.md")) == {"s1", "s2"}
    assert git(remote, "rev-list", "--count", "--merges", "main") == "0"  # built on top
    assert _local_sessions(late) == {"s1", "s2"}
    assert (clones[1] / P / "decisions.md").exists()
    assert git(clones[1], "status", "--porcelain") == ""


def test_push_remote_merges_diverged_history_at_block_level(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    clone = tmp_path / "clone"
    reposync.init_repo(clone)
    git(clone, "remote", "add", "origin", str(remote))
    git(clone, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    reposync.push_repo(_layout(tmp_path, "mo", "theirs").root, P, other, push_remote=True)
    reposync.push_repo(_layout(tmp_path, "m1", "local").root, P, clone)  # not pushed yet
    result = reposync.push_repo(_layout(tmp_path, "m2", "mine").root, P, clone, push_remote=True)
    parents = git(remote, "log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2 and result.commit_sha == git(remote, "rev-parse", "main")
    text = show(remote, "main", f"{P}/decisions.md")
    assert sessions_in(text) == {"theirs", "local", "mine"}
    assert "learned in theirs" in show(remote, "main", f"{P}/context.md")


def test_push_rejected_after_all_attempts_is_a_fatal_error(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    clone = tmp_path / "clone"
    reposync.init_repo(clone)
    git(clone, "remote", "add", "origin", str(remote))
    slept: list[float] = []
    with pytest.raises(FatalError, match="rejected 3 times"):
        reposync.push_repo(
            _layout(tmp_path, "m", "s1").root,
            P,
            clone,
            push_remote=True,
            attempts=3,
            sleep=slept.append,
        )
    # a wait between tries, none after the last one
    assert len(slept) == 2 and all(0 <= s <= reposync.BACKOFF_CAP for s in slept)
    assert git(remote, "for-each-ref") == ""


def test_push_remote_without_a_remote_says_how_to_add_one(kr: Path, tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="remote add origin URL"):
        reposync.push_repo(_layout(tmp_path, "m", "s1").root, P, kr, push_remote=True)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("{tmp}/no-such-remote", "does not appear to be a git repository"),
        ("http://127.0.0.1:9/memory.git", "Failed to connect to 127.0.0.1 port 9"),
    ],
)
def test_an_unreachable_remote_quotes_gits_reason_not_its_advice(
    kr: Path, tmp_path: Path, url: str, said: str
) -> None:
    git(kr, "remote", "add", "origin", url.format(tmp=tmp_path))
    with pytest.raises(FatalError, match="could not fetch from origin") as caught:
        reposync.push_repo(_layout(tmp_path, "m", "s1").root, P, kr, push_remote=True)
    message = str(caught.value)
    assert said in message and "and the repository exists" not in message
    assert f"git -C {kr} remote -v" in message


@pytest.mark.parametrize("remote", ["--upload-pack=touch {tmp}/ran", "-v", "a b", "../x", " "])
def test_a_remote_name_git_would_read_as_an_option_is_refused(
    kr: Path, tmp_path: Path, remote: str
) -> None:
    name = remote.format(tmp=tmp_path)
    with pytest.raises(FatalError, match="invalid remote name") as caught:
        reposync.push_repo(_layout(tmp_path, "m", "s1").root, P, kr, push_remote=True, remote=name)
    assert "remote add" not in str(caught.value)  # no command to copy with it in
    assert not (tmp_path / "ran").exists()


def test_not_a_repository_suggests_init_repo(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="engram sync init-repo"):
        reposync.push_repo(_layout(tmp_path, "m", "s1").root, P, tmp_path)


# -- pull-repo ---------------------------------------------------------------------------------


def test_pull_reads_a_branch_without_checkout_and_refuses_odd_entries(
    kr: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reposync.push_repo(_layout(tmp_path, "a", "remote-block").root, P, kr, branch="shared")
    git(kr, "checkout", "-q", "shared")
    (kr / P / "bugs.md").symlink_to("/etc/passwd")
    (kr / P / "evil.sh").write_text("rm -rf /\n")
    (kr / P / "sub").mkdir()
    (kr / P / "sub" / "decisions.md").write_text("# nested\n")
    git(kr, "add", ".")
    git(kr, "commit", "-q", "-m", "hostile entries")
    git(kr, "checkout", "-q", "main")
    mine = _layout(tmp_path, "mine", "local-block")
    with caplog.at_level(logging.WARNING, logger="engram_ci"):
        result = reposync.pull_repo(mine.root, P, kr, branch="shared")
    assert _local_sessions(mine) == {"local-block", "remote-block"}
    assert result.blocks_added == 1 and "decisions.md" in result.files_synced
    warnings = caplog.text
    assert "bugs.md: a symlink" in warnings and "sub: a directory" in warnings
    assert "evil.sh" in warnings
    assert sorted(os.listdir(mine.knowledge_dir(P))) == ["context.md", "decisions.md"]
    assert not (mine.root / "knowledge" / "sub").exists()


def test_pull_errors_name_what_exists(kr: Path, tmp_path: Path) -> None:
    reposync.push_repo(_layout(tmp_path, "a", "s1").root, P, kr)
    mine = MemoryLayout(tmp_path / "mine")
    with pytest.raises(FatalError, match=r"project 'other' is not in branch main.*proj"):
        reposync.pull_repo(mine.root, "other", kr)
    # a branch nobody pushed to yet is the guide's first step, not an error
    nothing = reposync.pull_repo(mine.root, P, kr, branch="nope")
    assert "branch 'nope' does not exist yet" in nothing.notice and "main" in nothing.notice
    assert not nothing.changed and not mine.root.exists()
    # each face words the way out: the CLI its command and flag, the Action its inputs
    assert nothing.worded_notice("cli").endswith(
        f"`engram sync push-repo proj {kr} --branch nope` creates it, or look on the remote "
        "with --fetch-remote"
    )
    assert nothing.worded_notice("action").endswith(
        ": a run with mode push-repo and branch nope creates it, or look on the remote with "
        "the `fetch-remote` input"
    )
    assert "--" not in nothing.worded_notice("action")
    with pytest.raises(FatalError, match="invalid project name"):
        reposync.pull_repo(mine.root, "../etc", kr)


def test_pull_fetch_remote_merges_the_remote_tip(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    git(seed, "remote", "add", "origin", str(remote))
    git(seed, "push", "-q", "-u", "origin", "main")
    reader = tmp_path / "reader"
    git(tmp_path, "clone", "-q", str(remote), str(reader))
    reposync.push_repo(_layout(tmp_path, "w", "late").root, P, seed, push_remote=True)
    mine = MemoryLayout(tmp_path / "mine")
    with pytest.raises(FatalError, match="not in branch"):
        reposync.pull_repo(mine.root, P, reader)
    fetched = reposync.pull_repo(mine.root, P, reader, branch="nope", fetch_remote=True)
    assert "fetch-remote" not in fetched.worded_notice("action")  # it did look: no such hint
    assert fetched.worded_notice("action").endswith(
        "a run with mode push-repo and branch nope creates it"
    )
    assert fetched.worded_notice("cli").endswith(
        f"push-repo proj {reader} --branch nope` creates it"
    )
    reposync.pull_repo(mine.root, P, reader, fetch_remote=True)
    assert _local_sessions(mine) == {"late"}
    assert git(reader, "status", "--porcelain") == ""


# -- merging branches ----------------------------------------------------------------------------


def test_merge_branches_makes_one_commit_with_every_parent(kr: Path, tmp_path: Path) -> None:
    reposync.push_repo(_layout(tmp_path, "m0", "base").root, P, kr)
    for agent in ("a", "b", "c"):
        layout = _layout(tmp_path, agent, f"agent-{agent}")
        reposync.push_repo(layout.root, P, kr, branch=f"agent-{agent}")
    head = git(kr, "rev-parse", "HEAD")
    result = reposync.merge_branches(kr, ["agent-a", "agent-b", "agent-c"])
    parents = git(kr, "log", "-1", "--format=%P").split()
    assert parents == [head, *(git(kr, "rev-parse", f"agent-{x}") for x in "abc")]
    expected = {"base", "agent-a", "agent-b", "agent-c"}
    assert sessions_in((kr / P / "decisions.md").read_text()) == expected
    assert all(f"learned in {s}" in (kr / P / "context.md").read_text() for s in expected)
    assert result.merged == ("agent-a", "agent-b", "agent-c") and not result.fast_forward
    assert git(kr, "status", "--porcelain") == ""
    again = reposync.merge_branches(kr, ["agent-a"])
    assert again.merged == () and again.commit_sha == result.commit_sha


def test_merge_of_one_branch_ahead_fast_forwards(kr: Path, tmp_path: Path) -> None:
    reposync.push_repo(_layout(tmp_path, "m", "s1").root, P, kr, branch="agent-a")
    result = reposync.merge_branches(kr, ["agent-a"])
    assert result.fast_forward and git(kr, "rev-parse", "HEAD") == git(kr, "rev-parse", "agent-a")
    assert (kr / P / "decisions.md").exists()


def test_merge_of_a_missing_branch_lists_branches(kr: Path) -> None:
    with pytest.raises(FatalError, match=r"branch 'ghost' not found.*main"):
        reposync.merge_branches(kr, ["ghost"])


def test_merge_conflict_outside_knowledge_files_is_reported(kr: Path) -> None:
    git(kr, "checkout", "-q", "-b", "side")
    (kr / "README.md").write_text("side\n")
    git(kr, "commit", "-q", "-am", "side readme")
    git(kr, "checkout", "-q", "main")
    (kr / "README.md").write_text("main\n")
    git(kr, "commit", "-q", "-am", "main readme")
    with pytest.raises(FatalError, match=r"cannot merge README\.md"):
        reposync.merge_branches(kr, ["side"])


# -- the merge driver and credentials -----------------------------------------------------------


def test_merge_driver_merges_blocks_and_keeps_deletions(tmp_path: Path) -> None:
    def kf(*sessions: str) -> str:
        blocks = [knowledge.Block(s, "2025-01-01T00:00:00Z", f"- {s}") for s in sessions]
        return knowledge.render(knowledge.KnowledgeFile("# Decisions", tuple(blocks)))

    base, ours, theirs = (tmp_path / n for n in ("O", "A", "B"))
    base.write_text(kf("old", "gone"))
    ours.write_text(kf("old", "gone", "mine"))
    theirs.write_text(kf("old", "theirs"))  # removed "gone" by hand
    assert run_driver(base, ours, theirs, "proj/decisions.md") == 0
    assert sessions_in(ours.read_text()) == {"old", "mine", "theirs"}
    assert run_driver(base, ours, theirs, "proj/unknown.txt") == 1


@pytest.mark.parametrize("missing", ["O", "A", "B"])
def test_the_merge_driver_run_by_hand_without_its_files_is_one_line(
    tmp_path: Path, missing: str
) -> None:
    paths = {n: tmp_path / n for n in ("O", "A", "B")}
    for name, path in paths.items():
        if name != missing:
            path.write_text("# Decisions\n")
    with pytest.raises(FatalError, match=r"cannot read .*git runs the merge driver"):
        run_driver(paths["O"], paths["A"], paths["B"], "proj/decisions.md")
    with pytest.raises(FatalError, match="cannot read 'a\\\\x00b'"):
        run_driver(Path("a\x00b"), paths["A"], paths["B"], "proj/decisions.md")


def test_git_token_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "gh-token-1234")
    assert reposync.git_token("https://github.com/o/r.git") == "gh-token-1234"
    assert reposync.git_token("https://gitlab.example/o/r.git") is None  # not leaked
    assert reposync.git_token("/srv/repo.git", "explicit") is None
    monkeypatch.setenv("ENGRAM_GIT_TOKEN", "engram-token-1234")
    assert reposync.git_token("https://gitlab.example/o/r.git") == "engram-token-1234"
    assert reposync.git_token("https://github.com/o/r", "cli-token-1234") == "cli-token-1234"
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.corp.example")
    monkeypatch.delenv("ENGRAM_GIT_TOKEN")
    assert reposync.git_token("https://ghe.corp.example/o/r") == "gh-token-1234"


def test_push_from_a_bare_blobless_shallow_clone_keeps_every_other_project(
    tmp_path: Path,
) -> None:
    """The fast CI path: no checkout, no blobs but the project's own (fetched lazily)."""
    remote = bare_remote(tmp_path)
    git(remote, "config", "uploadpack.allowFilter", "true")
    seed = tmp_path / "seed"
    reposync.init_repo(seed)
    for project in ("other-1", "other-2", P):
        layout = MemoryLayout(tmp_path / f"m-{project}")
        add_block(layout, project, f"{project}-s", "- old knowledge")
        reposync.push_repo(layout.root, project, seed)
    git(seed, "push", "-q", str(remote), "main")
    clone = tmp_path / "ci.git"
    git(
        tmp_path,
        "clone",
        "-q",
        "--bare",
        "--depth",
        "1",
        "--filter=blob:none",
        "--single-branch",
        "-b",
        "main",
        remote.as_uri(),
        str(clone),
    )
    mine = _layout(tmp_path, "mine", "new")
    result = reposync.push_repo(mine.root, P, clone, push_remote=True)
    assert result.pushed and git(remote, "rev-parse", "main") == result.commit_sha
    assert sessions_in(show(remote, "main", f"{P}/decisions.md")) == {f"{P}-s", "new"}
    for project in ("other-1", "other-2"):
        assert show(remote, "main", f"{project}/decisions.md") == show(
            remote, "main~1", f"{project}/decisions.md"
        )
    assert _local_sessions(mine) == {f"{P}-s", "new"}


def test_encrypted_push_stores_no_plaintext_and_pulls_back(kr: Path, tmp_path: Path) -> None:
    from pyrage import x25519

    from engram_ci.sync import crypto

    key = x25519.Identity.generate()
    cipher = crypto.Cipher(recipients=(str(key.to_public()),), identities=(str(key),))
    layout = _layout(tmp_path, "mem", "secret-session")
    first = reposync.push_repo(layout.root, P, kr, cipher=cipher)
    stored = set(git(kr, "ls-tree", "--name-only", "HEAD", f"{P}/").split())
    assert stored == {
        f"{P}/{crypto.MANIFEST_FILE}",
        f"{P}/{crypto.PAYLOAD_FILE}",
        f"{P}/metadata.json",
    }
    assert "secret-session" not in git(kr, "log", "-p", "--all")
    again = reposync.push_repo(layout.root, P, kr, cipher=cipher)
    assert not again.changed and again.commit_sha == first.commit_sha  # no re-seal
    reader = MemoryLayout(tmp_path / "reader")
    with pytest.raises(FatalError, match="encrypted"):
        reposync.pull_repo(reader.root, P, kr)
    reposync.pull_repo(reader.root, P, kr, cipher=cipher)
    assert _local_sessions(reader) == {"secret-session"}


def test_credentials_persisted_by_checkout_win_over_ambient_tokens(
    kr: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engram_ci.sync.git_repo import GitRepo

    git(kr, "remote", "add", "origin", "https://github.com/org/knowledge.git")
    git(kr, "config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic persisted")
    monkeypatch.setenv("GITHUB_TOKEN", "ambient-token-1234")

    def headers() -> list[str]:
        with GitRepo.open(kr) as repo:
            repo_backend.upstream(repo, "main", None, None)
            env = repo._git.environment()
        return [v for k, v in env.items() if k.startswith("GIT_CONFIG_VALUE") and "basic" in v]

    assert headers() == []
    monkeypatch.setenv("ENGRAM_GIT_TOKEN", "explicit-token-1234")
    assert len(headers()) == 1


def test_oversized_repo_content_is_refused_before_reading_and_nothing_is_written(
    kr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reposync.push_repo(_layout(tmp_path, "a", "s1").root, P, kr)
    (kr / P / "bugs.md").write_text("# Bugs\n\n" + "- filler line\n" * 400)  # ~5.6 kB
    git(kr, "add", "-A")
    git(kr, "commit", "-qm", "someone commits a huge file")
    mine = _layout(tmp_path, "mine", "local")
    before = {p: p.read_bytes() for p in mine.root.rglob("*") if p.is_file()}
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", "4096")
    with pytest.raises(
        FatalError, match=r"bugs.md in proj/ in .* is 5,\d{3} bytes, over the 4,096"
    ):
        reposync.pull_repo(mine.root, P, kr)
    monkeypatch.setenv("ENGRAM_MAX_FILE_BYTES", "100000")
    monkeypatch.setenv("ENGRAM_MAX_PROJECT_BYTES", "5000")
    with pytest.raises(FatalError, match="limit for one project"):
        reposync.pull_repo(mine.root, P, kr)
    assert {p: p.read_bytes() for p in mine.root.rglob("*") if p.is_file()} == before
