"""The marked CLAUDE.md section: replaced in place, the rest of the file untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram_ci.action import claudemd
from engram_ci.action.claudemd import END_MARKER, begin_marker, write_context
from engram_ci.errors import FatalError
from engram_ci.memory.paths import MemoryLayout

DECISIONS = """# Decisions

## Session: s1 (2026-01-02T03:04:05Z)
- Use SQLite for the cache
"""


def _knowledge(memory: MemoryLayout, project: str, text: str = DECISIONS) -> None:
    directory = memory.knowledge_dir(project)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "decisions.md").write_text(text)


def test_creates_the_file_with_the_context(memory: MemoryLayout, tmp_path: Path) -> None:
    _knowledge(memory, "app")
    target = tmp_path / "CLAUDE.md"
    assert write_context(memory, "app", target) is True
    text = target.read_text()
    assert text.startswith(begin_marker("app") + "\n")
    assert text.endswith(END_MARKER + "\n")
    assert "# Project context: app" in text
    assert "Use SQLite for the cache" in text


def test_prefers_the_projects_context_md(memory: MemoryLayout, tmp_path: Path) -> None:
    _knowledge(memory, "app")
    (memory.knowledge_dir("app") / "context.md").write_text("# Hand-made context\n")
    target = tmp_path / "CLAUDE.md"
    write_context(memory, "app", target)
    assert "# Hand-made context" in target.read_text()


def test_replaces_in_place_and_keeps_the_users_text(memory: MemoryLayout, tmp_path: Path) -> None:
    target = tmp_path / "CLAUDE.md"
    before = "# My project\n\nRules written by a human.\n"
    after = "\n## More rules\n\nKeep these too.\n"
    target.write_text(before)
    target.chmod(0o600)
    _knowledge(memory, "app")
    write_context(memory, "app", target)
    first = target.read_text()
    assert first.startswith(before + "\n" + begin_marker("app"))
    target.write_text(first + after)  # the user adds text below the section

    _knowledge(memory, "app", DECISIONS + "\n## Session: s2 (2026-02-02T00:00:00Z)\n- New fact\n")
    assert write_context(memory, "app", target) is True
    second = target.read_text()
    assert second.startswith(before)
    assert second.endswith(after)
    assert second.count(begin_marker("app")) == 1
    assert "New fact" in second
    assert target.stat().st_mode & 0o777 == 0o600
    assert write_context(memory, "app", target) is False  # nothing new: file not rewritten


def test_sections_of_several_projects_live_side_by_side(
    memory: MemoryLayout, tmp_path: Path
) -> None:
    target = tmp_path / "CLAUDE.md"
    _knowledge(memory, "app")
    _knowledge(memory, "lib", DECISIONS.replace("SQLite", "Postgres"))
    write_context(memory, "app", target)
    write_context(memory, "lib", target)
    write_context(memory, "app", target)
    text = target.read_text()
    assert text.count(END_MARKER) == 2
    assert "SQLite" in text
    assert "Postgres" in text


def test_hostile_knowledge_cannot_fake_the_end_marker(memory: MemoryLayout, tmp_path: Path) -> None:
    target = tmp_path / "CLAUDE.md"
    _knowledge(memory, "app", DECISIONS + f"- sneaky {END_MARKER} tail\n")
    write_context(memory, "app", target)
    target.write_text(target.read_text() + "user text\n")
    _knowledge(memory, "app")
    write_context(memory, "app", target)
    text = target.read_text()
    assert text.count(END_MARKER) == 1
    assert "sneaky" not in text
    assert text.endswith("user text\n")


def test_project_names_are_quoted_in_the_marker() -> None:
    assert begin_marker("a -->b") == "<!-- engram-ci:begin project=a%20--%3Eb -->"


def test_a_section_without_its_end_marker_is_refused(memory: MemoryLayout, tmp_path: Path) -> None:
    target = tmp_path / "CLAUDE.md"
    target.write_text(f"intro\n{begin_marker('app')}\nold context\n")
    _knowledge(memory, "app")
    with pytest.raises(FatalError, match="no end marker"):
        write_context(memory, "app", target)
    assert target.read_text() == f"intro\n{begin_marker('app')}\nold context\n"


def test_a_project_without_knowledge_still_gets_a_section(
    memory: MemoryLayout, tmp_path: Path
) -> None:
    target = tmp_path / "CLAUDE.md"
    assert write_context(memory, "empty", target) is True
    assert "# Project context: empty" in target.read_text()


def test_replace_section_is_pure() -> None:
    section = claudemd.render_section("p", "ctx\n")
    assert claudemd.replace_section("", "p", section) == section + "\n"
    assert claudemd.replace_section("a", "p", section) == f"a\n\n{section}\n"
    once = claudemd.replace_section("a\n", "p", section)
    assert claudemd.replace_section(once, "p", section) == once
