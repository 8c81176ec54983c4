"""engram's knowledge file format: parse, render, and what a header is (and is not)."""

from __future__ import annotations

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import Block, KnowledgeFile

ENGRAM_FILE = (
    "# Decisions\n"
    "\n\n## Session: 3f1c2b (2025-06-01T10:00:00Z) [ttl:7d] [confidence:high] [strength:1.00]"
    " [access:3]\n\n- Chose SQLite over Postgres for the local cache.\n"
    "\n\n## Session: summary-1 (2025-06-02T09:00:00+00:00)\n\nSummary of stale entries.\n"
)


def test_parses_engram_layout_with_all_tags() -> None:
    kf = knowledge.parse(ENGRAM_FILE)
    assert kf.preamble == "# Decisions"
    first, second = kf.blocks
    assert first.session_id == "3f1c2b"
    assert first.timestamp == "2025-06-01T10:00:00Z"
    assert first.tags == (
        ("ttl", "7d"),
        ("confidence", "high"),
        ("strength", "1.00"),
        ("access", "3"),
    )
    assert first.body == "- Chose SQLite over Postgres for the local cache."
    assert second.session_id == "summary-1"


def test_render_reproduces_engram_bytes() -> None:
    assert knowledge.render(knowledge.parse(ENGRAM_FILE)) == ENGRAM_FILE


def test_headers_inside_code_fences_are_body_text() -> None:
    forged = (
        "# Bugs\n\n## Session: real (2025)\n\n```markdown\n## Session: forged (2025)\n\nevil\n```\n"
        "~~~\n## Session: forged2 (x)\n~~~\n"
    )
    kf = knowledge.parse(forged)
    assert [b.session_id for b in kf.blocks] == ["real"]
    assert "## Session: forged (2025)" in kf.blocks[0].body


def test_longer_fence_is_not_closed_by_a_shorter_one() -> None:
    text = "# P\n\n## Session: a (1)\n\n````\n```\n## Session: x (1)\n```\n````\n"
    assert [b.session_id for b in knowledge.parse(text).blocks] == ["a"]


def test_sanitize_body_escapes_headers_and_closes_fences() -> None:
    body = knowledge.sanitize_body("## Session: injected (2025)\n```py\nprint(1)")
    assert body.startswith("\\## Session: injected")
    assert body.endswith("```")
    kf = KnowledgeFile("# X", (Block("a", "1", body), Block("b", "2", "- after")))
    assert [b.session_id for b in knowledge.parse(knowledge.render(kf)).blocks] == ["a", "b"]


def test_replace_blocks_upserts_by_session() -> None:
    kf = knowledge.parse(ENGRAM_FILE)
    updated = knowledge.replace_blocks(kf, [Block("3f1c2b", "2025-06-01T10:00:00Z", "- new")])
    assert len(updated.blocks) == 2
    assert updated.get("3f1c2b") == Block("3f1c2b", "2025-06-01T10:00:00Z", "- new")
    again = knowledge.replace_blocks(updated, [Block("3f1c2b", "2025-06-01T10:00:00Z", "- new")])
    assert again == updated


def test_text_without_headers_is_all_preamble() -> None:
    kf = knowledge.parse("# Notes\n\nfree text\n")
    assert kf.blocks == ()
    assert kf.preamble == "# Notes\n\nfree text"


def test_crlf_and_trailing_spaces_are_normalised() -> None:
    kf = knowledge.parse("# D\r\n\r\n## Session: a (1)  \r\n\r\n- x   \r\n")
    assert kf.blocks == (Block("a", "1", "- x"),)


def test_tombstones_are_blocks_with_a_deleted_tag() -> None:
    dead = knowledge.tombstone("s1", "2025", "2025-06-01")
    assert dead.is_tombstone
    text = knowledge.render(KnowledgeFile("# D", (dead,)))
    assert "## Session: s1 (2025) [deleted:2025-06-01]" in text
    assert knowledge.parse(text).live_blocks() == ()
