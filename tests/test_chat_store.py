"""chat_store.py: what the chat-store readers share — loading a whole document with every
failure counted, epoch-millisecond and file-URI fields, message text, and the SessionBuilder
that pairs calls with results."""

from __future__ import annotations

from pathlib import Path

import pytest

from engram_ci.transcripts.chat_store import (
    MAX_DOCUMENT_BYTES,
    SessionBuilder,
    as_text,
    count,
    iso_from_millis,
    jsonl_objects,
    load_document,
    path_from_uri,
)
from engram_ci.transcripts.lines import RESULT_LIMIT, TEXT_LIMIT
from engram_ci.transcripts.model import ParseStats, TranscriptGroup


def test_a_document_loads_and_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text('{"messages": []}')
    stats = ParseStats()
    assert load_document(path, stats) == {"messages": []}
    assert (stats.lines, stats.bytes) == (1, 16)


def test_a_byte_order_mark_does_not_spoil_the_json(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b'\xef\xbb\xbf{"title": "saved on Windows"}')
    assert load_document(path, ParseStats()) == {"title": "saved on Windows"}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_text('{"messages": [ {"broken": '), "bad_json"),
        (lambda p: None, "unreadable"),  # gone between discovery and reading
        (lambda p: p.mkdir(), "unreadable"),  # a directory named like a session
        (lambda p: p.write_bytes(b"\xff\xfe{}"), "bad_json"),
    ],
)
def test_a_document_that_cannot_be_read_is_none_with_its_reason(
    make: object, reason: str, tmp_path: Path
) -> None:
    path = tmp_path / "chat.json"
    make(path)  # type: ignore[operator]
    stats = ParseStats()
    assert load_document(path, stats) is None
    assert stats.malformed == {reason: 1}


def test_a_huge_document_is_skipped_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    with path.open("wb") as out:
        out.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: nothing is written, nothing is read
    stats = ParseStats()
    assert load_document(path, stats) is None
    assert stats.malformed == {"too_long": 1}
    assert stats.bytes == 0


def test_jsonl_objects_keeps_objects_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\nnot json\n[1]\n\n{"b": 2}\n')
    stats = ParseStats()
    assert list(jsonl_objects(path, stats)) == [{"a": 1}, {"b": 2}]
    assert stats.malformed == {"bad_json": 1, "not_object": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1736000000000, "2025-01-04T14:13:20.000Z"),
        (1736000000123.9, "2025-01-04T14:13:20.123Z"),
        ("2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z"),  # already ISO: kept as it is
        ("", None),
        (0, None),
        (-5, None),
        (True, None),  # a bool is not a time
        (None, None),
        (10**20, None),  # past year 9999: not a time either
        (float("inf"), None),
    ],
)
def test_iso_from_millis(value: object, expected: str | None) -> None:
    assert iso_from_millis(value) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///home/me/my%20app", "/home/me/my app"),
        ("/home/me/app", "/home/me/app"),  # a plain path
        ("file://", None),  # a URI with no path names no folder
        ("", None),
        (None, None),
        (["/home/me/app"], None),
    ],
)
def test_path_from_uri(uri: object, expected: str | None) -> None:
    assert path_from_uri(uri) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), (0, 0), (-3, 0), (True, 0), ("12", 0), (None, 0), (1.5, 0)],
)
def test_count_takes_positive_ints_only(value: object, expected: int) -> None:
    assert count(value) == expected


def test_as_text_joins_text_parts_and_skips_the_rest() -> None:
    parts = ["first", {"text": "second"}, {"inlineData": "…"}, 3, {"text": None}]
    assert as_text(parts) == "first\nsecond"
    assert as_text("plain") == "plain"
    assert as_text(None) == as_text({"text": "not a list"}) == ""
    assert as_text(["a <private>key</private> b"]).count("key") == 0  # private text dropped
    long = as_text(["x" * (TEXT_LIMIT + 10)])
    assert long.startswith("x" * TEXT_LIMIT) and "truncated" in long


def _group(tmp_path: Path) -> TranscriptGroup:
    path = tmp_path / "s.json"
    return TranscriptGroup("s1", "test", path, (path,), tmp_path)


def test_calls_pair_with_results_by_id(tmp_path: Path) -> None:
    builder = SessionBuilder("test")
    builder.user("fix it", "2026-01-05T10:00:00Z")
    turn = builder.assistant("on it", "2026-01-05T10:00:01Z", model="m1")
    shell = builder.call(turn, "c1", "run_terminal_cmd", {"command": "make"})
    edit = builder.call(turn, None, "str_replace", '{"path": "a.py"}')  # arguments as JSON text
    odd = builder.call(turn, None, "", "not json at all")
    builder.result("c1", "boom", is_error=True)
    builder.result(edit.id, {"ok": True})
    builder.result("never-called", "lost")
    assert (shell.kind, edit.kind, odd.kind) == ("shell", "edit", "other")
    assert (edit.id, odd.id) == ("call-1", "call-2")  # ids made up where the agent gave none
    assert edit.input == {"path": "a.py"}
    assert odd.input == {"input": "not json at all"}
    assert odd.name == "unknown"
    assert (shell.result, shell.is_error) == ("boom", True)
    assert edit.result == '{"ok":true}' and not edit.is_error
    assert odd.result is None
    assert builder.stats.orphan_results == 1
    session = builder.build(_group(tmp_path), "s1")
    assert session is not None
    assert session.tool_calls == [shell, edit, odd]
    assert (session.started_at, session.ended_at) == (
        "2026-01-05T10:00:00Z",
        "2026-01-05T10:00:01Z",
    )
    assert session.models == ["m1"]
    assert session.project == "test"  # no cwd, no hint: the agent's name


def test_a_failed_result_stays_failed_when_repeated(tmp_path: Path) -> None:
    builder = SessionBuilder("test")
    call = builder.call(builder.assistant(), "c1", "bash", {"command": "make"})
    builder.result("c1", "error: no rule", is_error=True)
    builder.result("c1", "x" * (RESULT_LIMIT * 2))
    assert call.is_error
    assert call.result is not None and "truncated" in call.result


def test_list_arguments_are_kept_as_input(tmp_path: Path) -> None:
    builder = SessionBuilder("test")
    call = builder.call(builder.assistant(), "c1", "read", '["a.py", "b.py"]')
    assert call.input == {"input": ["a.py", "b.py"]}


def test_blank_prompts_and_empty_replies_make_no_session(tmp_path: Path) -> None:
    builder = SessionBuilder("test")
    builder.user("   \n")
    builder.assistant("")
    assert [t.role for t in builder.turns] == ["assistant"]  # the blank prompt was dropped
    assert builder.build(_group(tmp_path), "s1") is None
    injected = SessionBuilder("test")
    injected.user("<environment_details>…</environment_details>", injected=True)
    assert injected.build(_group(tmp_path), "s1") is None  # the agent's own text alone


def test_the_project_comes_from_the_cwd_then_the_hint(tmp_path: Path) -> None:
    builder = SessionBuilder("test")
    builder.user("hello")
    builder.assistant("hi")
    hinted = builder.build(_group(tmp_path), "s1", project_hint="shop", started_at="T0")
    assert hinted is not None and hinted.project == "shop" and hinted.started_at == "T0"
    builder.cwd = "/home/dev/src/cart"
    placed = builder.build(_group(tmp_path), "s1", project_hint="shop")
    assert placed is not None and placed.project == "cart"
    assert placed.started_at is None  # no timestamps anywhere: unknown, not made up


def test_stats_passed_in_are_the_sessions(tmp_path: Path) -> None:
    stats = ParseStats()
    stats.malformed["bad_json"] = 2
    builder = SessionBuilder("test", stats)
    builder.user("hello")
    session = builder.build(_group(tmp_path), "s1")
    assert session is not None and session.stats is stats
    assert session.stats.malformed == {"bad_json": 2}
