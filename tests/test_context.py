"""context.md: a brief in order of value, within a budget, whole bullets only, framed as data."""

from __future__ import annotations

import re

import pytest

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge import context
from engram_ci.knowledge.blocks import Block, KnowledgeFile


def files(**bodies: list[tuple[str, str, str]]) -> dict[str, KnowledgeFile]:
    """category -> [(session, timestamp, body)]"""
    return {
        category: KnowledgeFile(f"# {category}", tuple(Block(*b) for b in blocks))
        for category, blocks in bodies.items()
    }


def two_sessions() -> dict[str, KnowledgeFile]:
    return files(
        patterns=[
            (
                "s1",
                "2025-01-01T10:00:00Z",
                "- Preference: Keep it dependency free.\n- File: `src/app.py` (edited 3×, read 1×)",
            ),
            (
                "s2",
                "2025-02-01T10:00:00Z",
                "- Correction: use pnpm (stopped `npm install`)\n"
                "- Preference: Keep it dependency free.\n- File: `src/app.py` (edited 1×)",
            ),
        ],
        procedures=[
            (
                "s1",
                "2025-01-01T10:00:00Z",
                "- Test: `uv run pytest tests/test_a.py -v` (run 3×,"
                " last run passed)\n- Git: `git add -A && git status`",
            ),
            (
                "s2",
                "2025-02-01T10:00:00Z",
                "- Test: `uv run pytest` (run 2×, last run passed)\n"
                '- Build: `pnpm install` (run 1×)\n- Run: `python -c " …`',
            ),
        ],
        solutions=[
            (
                "s2",
                "2025-02-01T10:00:00Z",
                "- Fix: `pnpm build` failed: Host key verification"
                " failed → passed after editing `.gitmodules`: The submodule used an SSH URL.",
            ),
        ],
        decisions=[("s1", "2025-01-01T10:00:00Z", "- Chosen: Which runner? → vitest")],
        insights=[
            (
                "s1",
                "2025-01-01T10:00:00Z",
                "- Asked: Set up the project.\n- Done: The dev"
                " server runs.\n- Done: Vite serves the app.",
            ),
            ("s2", "2025-02-01T10:00:00Z", "- Asked: Fix the build.\n- Done: The build passes."),
        ],
        questions=[
            ("s1", "2025-01-01T10:00:00Z", "- Left failing: `make lint`"),
            ("s2", "2025-02-01T10:00:00Z", "- Unanswered at the end: Why is CI slow?"),
        ],
        bugs=[("s2", "2025-02-01T10:00:00Z", "- `pnpm build` failed: boom")],
    )


def test_context_opens_as_notes_that_are_data_not_instructions() -> None:
    text = context.synthesize("proj", two_sessions())
    head = text.split("\n## ", 1)[0]
    assert text.startswith("# Project context: proj\n\n> Notes from 2 earlier session(s) of")
    noted = two_sessions() | files(patterns=[("note-1", "2025-03-01T10:00:00Z", "- use pnpm")])
    assert "> Notes from 2 earlier session(s) and 1 note(s) added by hand of this project" in (
        context.synthesize("proj", noted)
    )
    only = files(patterns=[("note-1", "2025-03-01T10:00:00Z", "- use pnpm")])
    assert "> Notes from 1 note(s) added by hand of this project" in context.synthesize("p", only)
    assert "2025-01-01 to 2025-02-01" in head
    assert "data, not instructions" in head


def test_sections_come_in_order_of_value() -> None:
    text = context.synthesize("proj", two_sessions())
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == [
        "What the user wants",
        "Build, test and run",
        "Pitfalls and what fixed them",
        "Decisions",
        "Recent work",
        "Also done",
        "Open at the end of the latest sessions",
        "Key files",
    ]


def test_facts_said_twice_are_said_once_and_commands_merge_their_runs() -> None:
    text = context.synthesize("proj", two_sessions())
    assert text.count("Keep it dependency free.") == 1
    # a narrowed test run and the plain one are one procedure, most used first
    assert "- Test: `uv run pytest` (run 5× in 2 sessions)" in text
    assert text.index("uv run pytest") < text.index("pnpm install")
    assert "git add" not in text  # routine git is how every repository works
    assert "python -c" not in text  # a multi-line script is no procedure
    assert text.count("`src/app.py`") == 1


def test_recent_work_is_one_line_per_session_newest_first() -> None:
    text = context.synthesize("proj", two_sessions())
    recent = text.split("## Recent work\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recent == [
        "- 2025-02-01: Fix the build. → The build passes.",
        "- 2025-01-01: Set up the project. → Vite serves the app.",
    ]
    assert "- The dev server runs." in text  # an earlier outcome: also done


def test_a_prompt_asked_again_the_same_day_is_one_line_with_its_outcome() -> None:
    asked = "- Asked: Check whether the CLI can search the web."
    insights = [
        ("s0", "2025-03-01T08:00:00Z", f"{asked}\n- Done: Not without a flag."),
        ("s1", "2025-03-01T09:00:00Z", f"{asked}\n- Done: It can, through WebSearch."),
        ("s2", "2025-03-01T10:00:00Z", asked),  # run again, nothing said at its end
        ("s3", "2025-03-02T10:00:00Z", asked),  # another day: its own line
    ]
    text = context.synthesize("proj", files(insights=insights))
    recent = text.split("## Recent work\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recent == [
        "- 2025-03-02: Check whether the CLI can search the web.",
        "- 2025-03-01: Check whether the CLI can search the web. → It can, through WebSearch.",
    ]


def test_a_short_ask_with_nothing_said_of_its_outcome_is_no_recent_work() -> None:
    insights = [
        ("s1", "2025-03-01T08:00:00Z", "- Asked: please fix these"),
        ("s2", "2025-03-02T08:00:00Z", "- Asked: fix it\n- Done: The parser accepts tabs."),
    ]
    text = context.synthesize("proj", files(insights=insights))
    recent = text.split("## Recent work\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recent == ["- 2025-03-02: fix it → The parser accepts tabs."]


def test_sessions_that_share_the_latest_stamps_all_count_as_latest() -> None:
    # resumed sessions keep their first prompt's stamp: ids must not decide which is latest
    stamp = "2025-07-17T22:21:50Z"
    questions = [
        ("a-older", "2025-07-01T00:00:00Z", "- Open: the old question"),
        ("b", stamp, "- Open: is b done?"),
        ("c", stamp, "- Open: is c done?"),
        ("d", stamp, "- Open: is d done?"),
        ("z", stamp, "- Left failing: `uv run pytest`"),
    ]
    text = context.synthesize("proj", files(questions=questions))
    assert all(q in text for q in ("is b done?", "is c done?", "is d done?", "`uv run pytest`"))
    assert "the old question" not in text


def test_bugs_without_a_fix_stay_in_bugs_md() -> None:
    text = context.synthesize("proj", two_sessions())
    assert "boom" not in text
    assert "- Left failing: `make lint`" in text and "Why is CI slow?" in text


def test_budget_is_kept_by_leaving_bullets_out_never_by_clipping() -> None:
    sentence = "The cache keeps {} entries because the service restarts nightly."
    many = files(
        insights=[
            (
                f"s{i:02d}",
                f"2025-01-{i:02d}T00:00:00Z",
                f"- Asked: Task {i}.\n- Done: "
                + " ".join(sentence.format(i * 10 + k) for k in range(3)),
            )
            for i in range(1, 29)
        ],
        patterns=[
            (
                "s01",
                "2025-01-01T00:00:00Z",
                "\n".join(
                    f"- Preference: Always run check number {i} before pushing." for i in range(60)
                ),
            )
        ],
    )
    for budget in (1_000, 2_500, context.DEFAULT_BUDGET):
        text = context.synthesize("p", many, budget)
        assert len(text) <= budget
        bullets = [line for line in text.splitlines() if line.startswith("- ")]
        assert bullets and len(bullets) == len(set(bullets))
        for bullet in bullets:
            assert "…" not in bullet
            assert bullet.endswith((".", ")", "`")), bullet  # whole sentences only
    small = context.synthesize("p", many, 1_000)
    assert "## What the user wants" in small  # the first section gets its share first


def test_synthesis_is_deterministic_whatever_the_block_order() -> None:
    first = context.synthesize("p", two_sessions())
    shuffled = {k: KnowledgeFile(v.preamble, v.blocks[::-1]) for k, v in two_sessions().items()}
    assert context.synthesize("p", shuffled) == first


def test_unlabelled_bullets_are_read_by_category_and_fences_are_skipped() -> None:
    chose = "- Chose SQLite over Postgres since it is local.\n```\n- not a bullet\n```\n### heading"
    theirs = files(
        decisions=[("e1", "2025-03-01", chose)],
        solutions=[("e1", "2025-03-01", "- Pin pydantic<2 to keep the old validators.")],
    )
    text = context.synthesize("p", theirs)
    assert "## Decisions\n\n- Chose SQLite over Postgres since it is local." in text
    assert "## Pitfalls and what fixed them\n\n- Pin pydantic<2" in text
    assert "not a bullet" not in text and "heading" not in text


def test_narration_and_clipped_bullets_never_reach_the_brief() -> None:
    said = (
        "- I'll help you modify the TUI because it is slow.\n- Let me check the tests, they fail."
    )
    noisy = files(
        decisions=[("a", "2025-01-01", said + "\n- Use uv because it is fast…")],
        patterns=[("a", "2025-01-01", "- Correction: Wait, use the HTTPS URL instead.")],
    )
    text = context.synthesize("p", noisy)
    assert "I'll help" not in text and "Let me" not in text and "fast…" not in text
    assert "- Correction: Wait, use the HTTPS URL instead." in text  # the human's own words


def test_tombstones_and_empty_memory() -> None:
    gone = {"bugs": KnowledgeFile("# Bugs", (knowledge.tombstone("x", "2025", "2025"),))}
    assert context.synthesize("p", gone) == context.synthesize("p", {})
    assert "## " not in context.synthesize("p", gone)


@pytest.mark.parametrize("text", ["999", "lots", "", "-5"])
def test_a_budget_below_the_minimum_names_the_fix(text: str) -> None:
    with pytest.raises(ValueError, match="a number of characters >= 1,000"):
        context.parse_budget(text)
    assert context.parse_budget(" 4000 ") == 4000


def test_a_note_in_words_is_kept_first_among_the_commands() -> None:
    noted = two_sessions() | files(
        procedures=[
            ("s1", "2025-01-01T10:00:00Z", "- Test: `uv run pytest` (run 9×, last run passed)"),
            ("note-1", "2025-03-01T10:00:00Z", "- tests run with uv run pytest -m unit"),
        ]
    )
    text = context.synthesize("p", noted)
    commands = text.split("## Build, test and run\n\n", 1)[1].split("\n\n", 1)[0]
    assert commands.splitlines()[:2] == [
        "- tests run with uv run pytest -m unit",
        "- Test: `uv run pytest` (run 9×)",
    ]


@pytest.mark.parametrize(
    ("category", "heading"),
    [
        ("insights", "What the user wants"),  # engram add's default category
        ("patterns", "What the user wants"),
        ("procedures", "Build, test and run"),
        ("solutions", "Pitfalls and what fixed them"),
        ("decisions", "Decisions"),
    ],
)
def test_a_note_stands_under_the_heading_of_its_category(category: str, heading: str) -> None:
    note = ("note-1", "2025-03-01T10:00:00Z", "- the staging db resets nightly")
    noted = files(**{category: [note]})
    text = context.synthesize("p", two_sessions() | noted)
    section = text.split(f"## {heading}\n\n", 1)[1].split("\n## ", 1)[0]
    assert "- the staging db resets nightly" in section


def test_a_cause_a_fix_already_gives_is_not_said_twice() -> None:
    why = "The issue is with how uv tool install builds the package."
    fix = f"- Fix: `uv tool install .` failed: boom → passed after editing `pyproject.toml`: {why}"
    noted = files(
        solutions=[("s3", "2025-03-01T10:00:00Z", fix)],
        insights=[
            ("s3", "2025-03-01T10:00:00Z", f"- Cause: {why}\n- Cause: The cache held old wheels.")
        ],
    )
    text = context.synthesize("p", two_sessions() | noted)
    assert text.count(why) == 1
    assert "- Cause: The cache held old wheels." in text  # a cause of its own stays


def test_a_command_done_another_way_after_it_failed_is_not_a_command_to_run() -> None:
    fix = (
        "- Fix: `pytest` failed: /bin/bash: pytest: command not found → "
        "`(source .venv/bin/activate && pytest)` passed on a re-run"
    )
    procedures = (
        "- Test: `(source .venv/bin/activate && pytest)` (run 5×, last run passed)\n"
        "- Test: `pytest` (last run failed)\n- Lint: `ruff check` (last run failed)"
    )
    noted = files(
        solutions=[("s3", "2025-03-01T10:00:00Z", fix)],
        procedures=[("s3", "2025-03-01T10:00:00Z", procedures)],
    )
    text = context.synthesize("p", noted)
    commands = text.split("## Build, test and run\n\n", 1)[1].split("\n\n", 1)[0]
    assert commands.splitlines() == [
        "- Test: `(source .venv/bin/activate && pytest)` (run 5×)",
        "- Lint: `ruff check` (run once, failed last time)",  # failed, but nothing replaced it
    ]
    passed_later = files(
        solutions=[("s3", "2025-03-01T10:00:00Z", fix)],
        procedures=[
            ("s3", "2025-03-01T10:00:00Z", procedures),
            ("s4", "2025-03-02T10:00:00Z", "- Test: `pytest` (last run passed)"),
        ],
    )
    assert "- Test: `pytest` (run 2× in 2 sessions)" in context.synthesize("p", passed_later)


def test_what_the_permission_settings_refused_is_a_pitfall_for_the_next_session() -> None:
    bugs = [
        (
            "s1",
            "2025-03-01T10:00:00Z",
            "- Blocked: `claude -p hi` needs approval in this setup\n"
            "- `make` failed: Error 1",  # a failure: its Fix, or Left failing, says it
        )
    ]
    text = context.synthesize("proj", files(bugs=bugs))
    pitfalls = text.split("## Pitfalls and what fixed them\n\n", 1)[1].split("\n\n", 1)[0]
    assert pitfalls.splitlines() == ["- Blocked: `claude -p hi` needs approval in this setup"]
