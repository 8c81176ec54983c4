"""`engram add|forget|search|status` as a user (or a CI step) runs them, sync included."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engram_ci.cli import app as cli
from engram_ci.memory.paths import MemoryLayout
from tests.github_server import GitHubStandIn
from tests.repo_helpers import show

TOKEN = "ghp_MemoryEditTestToken00000000000000001"


def run(
    capsys: pytest.CaptureFixture[str], memory: MemoryLayout, *argv: str
) -> tuple[int, str, str]:
    code = cli.main([*argv, "--memory-dir", str(memory.root)])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_and_positional_has_help() -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(commands, argparse._SubParsersAction)
    helps = {c.dest: c.help for c in commands._get_subactions()}
    for name in ("add", "forget", "search", "status"):
        assert helps[name], f"{name} has no help"
        for action in commands.choices[name]._actions:
            assert action.help, f"{name} {action.dest} has no help"


def test_add_search_forget_status(memory: MemoryLayout, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        memory,
        "add",
        "app",
        "tests run with uv run pytest -m unit",
        "--category",
        "procedures",
    )
    assert code == 0 and out.startswith("added note-") and "app/procedures.md" in out
    code, out, _ = run(capsys, memory, "add", "app", "staging is down", "--ttl", "7d", "--json")
    note = json.loads(out)
    assert (code, note["category"], note["ttl"]) == (0, "insights", "7d")

    code, out, _ = run(capsys, memory, "search", "app", "pytest", "--json")
    (hit,) = json.loads(out)
    assert (hit["category"], hit["expired"]) == ("procedures", False)
    code, out, _ = run(capsys, memory, "search", "app", "staging")
    assert code == 0 and note["session_id"] in out and "- staging is down" in out

    code, out, _ = run(capsys, memory, "forget", "app", note["session_id"])
    assert code == 0 and "forgot 1 block(s) of app" in out
    code, out, _ = run(capsys, memory, "forget", "app", "--match", "PYTEST", "--dry-run", "--json")
    assert json.loads(out)["forgotten"][0]["category"] == "procedures"
    assert "uv run pytest" in (memory.knowledge_dir("app") / "context.md").read_text()

    code, out, _ = run(capsys, memory, "status", "--json")
    (project,) = json.loads(out)["projects"]
    assert (project["knowledge_blocks"], project["forgotten_blocks"]) == (1, 1)
    code, out, _ = run(capsys, memory, "status")
    assert "app: 0 session(s), 1 block(s), 1 forgotten" in out and "never synced" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("add", "app", "x", "--category", "ideas"), "invalid choice: 'ideas'"),
        (("add", "app", "x", "--ttl", "soon"), "unreadable ttl 'soon'"),
        (("forget", "app", "s1"), "unknown project 'app'"),
        (("search", "app", "x"), "unknown project 'app'"),
    ],
)
def test_mistakes_are_one_line_exit_1(
    memory: MemoryLayout, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, memory, *argv)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_expired_notes_and_forgotten_blocks_through_a_gist(
    memory: MemoryLayout,
    github_as: Callable[..., GitHubStandIn],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gh = github_as(TOKEN, retry_seconds=1)
    run(capsys, memory, "add", "app", "kept note", "--category", "decisions")
    _, out, _ = run(
        capsys, memory, "add", "app", "secret plan", "--category", "decisions", "--json"
    )
    forgotten = json.loads(out)["session_id"]
    assert run(capsys, memory, "sync", "push", "app")[0] == 0
    (gist,) = gh.gists.values()
    assert "secret plan" in gist.head.files["decisions.md"]

    # forget on this machine, then push: the tombstone replaces the block in the gist
    run(capsys, memory, "forget", "app", forgotten)
    # a note that expired long ago (its timestamp is its own clock): on disk, never uploaded
    insights = memory.knowledge_dir("app") / "insights.md"
    insights.write_text(
        "# Insights\n\n\n## Session: note-old (2020-01-01T00:00:00Z) [ttl:1d]\n\n- stale note\n"
    )
    assert run(capsys, memory, "sync", "push", "app")[0] == 0
    head = gist.head.files
    assert "secret plan" not in json.dumps(head) and "stale note" not in json.dumps(head)
    assert (
        f"## Session: {forgotten}" in head["decisions.md"] and "kept note" in head["decisions.md"]
    )
    assert "stale note" in insights.read_text()

    # another machine still holding the block pulls: the tombstone wins there too
    other = MemoryLayout(memory.root.parent / "other")
    directory = other.knowledge_dir("app")
    directory.mkdir(parents=True)
    (directory / "decisions.md").write_text(
        f"# Decisions\n\n\n## Session: {forgotten} (2020-01-01T00:00:00Z)\n\n- secret plan\n"
    )
    assert run(capsys, other, "sync", "pull", "app", gist.id)[0] == 0
    assert "secret plan" not in (directory / "decisions.md").read_text()
    _code, out, _ = run(capsys, memory, "status", "--json")
    (sync,) = json.loads(out)["projects"][0]["syncs"]
    assert sync["kind"] == "gist" and gist.id in sync["target"]


def test_recall_drops_a_note_whose_ttl_ran_out_since_context_was_written(
    memory: MemoryLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, memory, "add", "app", "use pnpm, not npm")
    run(capsys, memory, "add", "app", "staging is down", "--ttl", "1h")
    code, out, _ = run(capsys, memory, "recall", "app")
    assert code == 0 and "staging is down" in out
    # an hour later nothing has rewritten context.md, but recall must not show the note
    insights = memory.knowledge_dir("app") / "insights.md"
    insights.write_text(insights.read_text().replace("(20", "(19", 2))  # both blocks: 100 years ago
    code, out, _ = run(capsys, memory, "recall", "app")
    assert "use pnpm, not npm" in out and "staging is down" not in out
    assert "staging is down" in (memory.knowledge_dir("app") / "context.md").read_text()


def test_a_forgotten_block_leaves_a_repository_and_stays_gone_on_pull(
    memory: MemoryLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engram_ci.sync import reposync

    kr = tmp_path / "kr"
    reposync.init_repo(kr)
    run(capsys, memory, "add", "app", "kept note", "--category", "decisions")
    _, out, _ = run(capsys, memory, "add", "app", "wrong plan", "--category", "decisions", "--json")
    forgotten = json.loads(out)["session_id"]
    reposync.push_repo(memory.root, "app", kr)
    other = MemoryLayout(tmp_path / "other")
    reposync.pull_repo(other.root, "app", kr)  # a second machine holds the live block
    assert "wrong plan" in (other.knowledge_dir("app") / "decisions.md").read_text()

    run(capsys, memory, "forget", "app", forgotten)
    reposync.push_repo(memory.root, "app", kr)
    pushed = show(kr, "HEAD", "app/decisions.md")
    assert "wrong plan" not in pushed and f"## Session: {forgotten}" in pushed
    reposync.push_repo(other.root, "app", kr)  # the other machine pushes its old copy
    reposync.pull_repo(other.root, "app", kr)
    assert "wrong plan" not in show(kr, "HEAD", "app/decisions.md")
    assert "wrong plan" not in (other.knowledge_dir("app") / "decisions.md").read_text()
    assert "kept note" in (other.knowledge_dir("app") / "decisions.md").read_text()
