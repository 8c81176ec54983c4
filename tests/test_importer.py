"""`engram import P FILE`: export json read back, merged block by block, hostile input refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engram_ci.cli.app import main
from engram_ci.errors import FatalError
from engram_ci.importer import MAX_IMPORT_BYTES, parse_export
from engram_ci.knowledge import blocks as knowledge
from engram_ci.memory.paths import MemoryLayout

from .repo_helpers import add_block, installed_env

P = "proj"
SECRET = "ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wp7Lm6Kj5Hg4F9a"


def _filled(root: Path) -> MemoryLayout:
    layout = MemoryLayout(root)
    add_block(layout, P, "s1", "- chose SQLite", timestamp="2025-01-01T00:00:00Z")
    add_block(layout, P, "s2", "- fixed DST bug", category="bugs", timestamp="2025-01-02T00:00Z")
    path = layout.knowledge_dir(P) / "decisions.md"
    path.write_text(
        path.read_text() + "\n\n## Session: s3 (2025-01-03) [confidence:high] [updated]\n\n- x\n"
    )
    return layout


def _export(capsys: pytest.CaptureFixture[str], layout: MemoryLayout, *extra: str) -> str:
    assert main(["export", P, "json", "--memory-dir", str(layout.root), *extra]) == 0
    return capsys.readouterr().out


def _categories(layout: MemoryLayout) -> dict[str, str]:
    directory = layout.knowledge_dir(P)
    return {p.name: p.read_text() for p in sorted(directory.glob("*.md")) if p.name != "context.md"}


def test_export_then_import_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _filled(tmp_path / "a")
    dump = tmp_path / "proj.json"
    dump.write_text(_export(capsys, source))
    target = MemoryLayout(tmp_path / "b")
    assert main(["import", P, str(dump), "--memory-dir", str(target.root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["blocks_read"] == 3 and result["blocks_added"] == 3
    assert _categories(target) == {
        name: knowledge.render(knowledge.parse(text)) for name, text in _categories(source).items()
    }
    assert (target.knowledge_dir(P) / "context.md").exists()
    # importing again changes nothing; into a project with its own blocks, both survive
    assert main(["import", P, str(dump), "--memory-dir", str(target.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files_written"] == []
    other = MemoryLayout(tmp_path / "c")
    add_block(other, P, "mine", "- local only")
    assert main(["import", P, str(dump), "--memory-dir", str(other.root)]) == 0
    sessions = {b.session_id for b in knowledge.parse(_categories(other)["decisions.md"]).blocks}
    assert sessions == {"s1", "s3", "mine"}


def test_the_guides_gpg_pipeline_round_trips(tmp_path: Path) -> None:
    source, target = _filled(tmp_path / "a"), MemoryLayout(tmp_path / "b")
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = installed_env(tmp_path, GNUPGHOME=str(gnupg))
    gpg = "gpg --batch --quiet --pinentry-mode loopback --passphrase pw"
    encrypted = tmp_path / "knowledge.gpg"
    steps = (
        f"engram export {P} json --memory-dir {source.root} | {gpg} -c > {encrypted}",
        f"{gpg} -d {encrypted} | engram import {P} - --memory-dir {target.root}",
    )
    for step in steps:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", step],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert b"chose SQLite" not in encrypted.read_bytes()
    assert set(_categories(target)) == {"decisions.md", "bugs.md"}
    assert "- chose SQLite" in _categories(target)["decisions.md"]


def test_export_redacts_unless_asked_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = MemoryLayout(tmp_path / "m")
    add_block(layout, P, "s1", f"- the token was {SECRET}")
    out = _export(capsys, layout)
    assert SECRET not in out and "[REDACTED:" in out
    assert SECRET in _export(capsys, layout, "--no-redact")
    assert main(["export", P, "markdown", "--memory-dir", str(layout.root)]) == 0
    captured = capsys.readouterr()
    assert SECRET not in captured.out and "[REDACTED:" in captured.out


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("not json", "not JSON"),
        ('{"project": "p"}', "no `knowledge` object"),
        ('{"knowledge": {"../etc": []}}', "unknown category"),
        ('{"knowledge": {"bugs": "## Session: s1"}}', "bugs is not a list of blocks"),
        ('{"knowledge": {"bugs": ["## Session: s1"]}}', "a block is not an object"),
        ('{"knowledge": {"bugs": [{"session": "s"}]}}', "lacks its session"),
        (
            '{"knowledge": {"bugs": [{"session": "a (b) [c]\\n## Session: x", '
            '"timestamp": "t", "body": "b"}]}}',
            "unusable session id",
        ),
        (
            '{"knowledge": {"bugs": [{"session": "s", "timestamp": "t", "body": "b", '
            '"tags": {"x": 1}}]}}',
            "tags that are not text",
        ),
    ],
)
def test_hostile_or_wrong_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: str, fragment: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(payload)
    memory = tmp_path / "m"
    assert main(["import", P, str(bad), "--memory-dir", str(memory)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "engram export" in err
    assert not memory.exists()


def test_a_body_cannot_forge_blocks_or_swallow_later_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = {
        "knowledge": {
            "bugs": [
                {"session": "a", "timestamp": "1", "body": "- x\n## Session: evil (2)\n```"},
                {"session": "b", "timestamp": "3", "body": "- after"},
            ]
        }
    }
    dump = tmp_path / "f.json"
    dump.write_text(json.dumps(forged))
    layout = MemoryLayout(tmp_path / "m")
    assert main(["import", P, str(dump), "--memory-dir", str(layout.root)]) == 0
    blocks = knowledge.parse((layout.knowledge_dir(P) / "bugs.md").read_text()).blocks
    assert [b.session_id for b in blocks] == ["a", "b"]


def test_unreadable_or_binary_files_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", P, str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
    encrypted = tmp_path / "f.gpg"
    encrypted.write_bytes(os.urandom(64) + b"\xff\xfe")
    assert main(["import", P, str(encrypted)]) == 1
    assert "gpg -d FILE | engram import P -" in capsys.readouterr().err


def test_an_import_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    huge = '{"knowledge": {}, "pad": "' + "x" * MAX_IMPORT_BYTES + '"}'
    with pytest.raises(FatalError, match=r"larger than 64 MiB: split the project") as error:
        parse_export(huge, "export.json")
    assert error.value.title == "import too large"
