"""engram's knowledge file format: parse, render, and what a header is (and is not)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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


OFFLINE = (("confidence", "low"), ("source", "offline"))
MODEL = (("confidence", "high"), ("source", "anthropic:claude-x"))


def test_replace_blocks_upserts_own_blocks_by_session() -> None:
    kf = knowledge.parse(ENGRAM_FILE)
    new = Block("3f1c2b", "2025-06-01T10:00:00Z", "- new", OFFLINE)
    updated = knowledge.replace_blocks(kf, [new])
    # engram's own block of that session is not ours to replace: both stay
    assert {b.body for b in updated.blocks if b.session_id == "3f1c2b"} == {
        "- Chose SQLite over Postgres for the local cache.",
        "- new",
    }
    newer = Block("3f1c2b", "2025-06-01T10:00:00Z", "- newer", OFFLINE)
    again = knowledge.replace_blocks(updated, [newer])
    assert len(again.blocks) == 3 and again.by_key(newer.key) == newer


def test_tags_without_a_colon_survive_parse_and_render() -> None:
    text = "# D\n\n\n## Session: s1 (2025-01-01T00:00:00Z) [updated] [access:2]\n\n- x\n"
    kf = knowledge.parse(text)
    assert kf.blocks[0].tags == (("updated", ""), ("access", "2"))
    assert knowledge.render(kf) == text


def test_an_unclosed_fence_ends_at_the_next_header() -> None:
    text = (
        "# Solutions\n\n\n## Session: a (1)\n\n```bash\nmake test\n"
        "\n\n## Session: b (2)\n\n- kept\n\n\n## Session: c (3)\n\n~~~\nlog\n~~~\n"
    )
    kf = knowledge.parse(text)
    assert [b.session_id for b in kf.blocks] == ["a", "b", "c"]
    assert kf.blocks[1].body == "- kept"


def test_upsert_own_replaces_only_our_block_of_the_session() -> None:
    theirs = Block("s1", "2025", "- engram's LLM reading", (("confidence", "high"),))
    ours = Block("s1", "2025", "- our old reading", OFFLINE)
    kf = KnowledgeFile("# D", (theirs, ours))
    # a model's block of ours replaces our block; engram's stays beside it
    model = Block("s1", "2025", "- our model's reading", MODEL)
    result, written = knowledge.upsert_own(kf, [model])
    assert written == 1 and set(result.blocks) == {theirs, model}
    # an offline re-read never replaces a model's block (ours or another tool's)
    again, written = knowledge.upsert_own(result, [Block("s1", "2025", "- offline", OFFLINE)])
    assert written == 0 and again == result


def test_upsert_own_replaces_a_legacy_untagged_block_the_manifest_says_is_ours() -> None:
    legacy = Block("s1", "2025", "- written by an older engram-ci", (("confidence", "low"),))
    new = Block("s1", "2025", "- re-read", OFFLINE)
    kf = KnowledgeFile("# D", (legacy,))
    assert knowledge.upsert_own(kf, [new], legacy=frozenset({"s1"}))[0].blocks == (new,)
    # without that word from the manifest it is another tool's block: offline leaves it be
    assert knowledge.upsert_own(kf, [new])[0].blocks == (legacy,)


def test_drop_own_keeps_other_tools_blocks_and_model_blocks_on_offline_runs() -> None:
    theirs = Block("s1", "2025", "- engram's", ())
    model = Block("s1", "2025", "- model", MODEL)
    offline = Block("s2", "2025", "- offline", OFFLINE)
    kf = KnowledgeFile("# D", (theirs, model, offline))
    assert knowledge.drop_own(kf, {"s1", "s2"}).blocks == (theirs, model)
    assert knowledge.drop_own(kf, {"s1", "s2"}, offline=False).blocks == (theirs,)


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


# -- pinned by mutation testing (README "Mutation testing") -----------------------------------


def test_with_tag_appends_a_new_tag_and_sets_an_existing_one_in_place() -> None:
    block = Block("s", "t", "- x", (("a", "1"), ("b", "2")))
    assert block.with_tag("c", "3").tags == (("a", "1"), ("b", "2"), ("c", "3"))
    assert block.with_tag("a", "9").tags == (("a", "9"), ("b", "2"))


def test_a_tombstone_has_no_body_and_renders_as_its_header_alone() -> None:
    dead = knowledge.tombstone("s1", "2025", "2025-06-01")
    assert dead.body == ""
    text = knowledge.render(KnowledgeFile("# D", (dead,)))
    assert text == "# D\n\n\n## Session: s1 (2025) [deleted:2025-06-01]\n"


def test_lookups_by_key_and_session_and_tombstone() -> None:
    first, second = Block("s1", "1", "- a"), Block("s1", "2", "- b")
    kf = KnowledgeFile("# D", (first, second, knowledge.tombstone("s2", "3", "4")))
    assert kf.by_key(second.key) == second and kf.by_key("nope") is None
    assert kf.get("s1") == first and kf.get("nope") is None
    assert kf.is_tombstoned("s2") and not kf.is_tombstoned("s1")
    assert knowledge.title_for("open_questions") == "Open questions"
    assert knowledge.empty_file("decisions") == KnowledgeFile("# Decisions")


def test_a_fence_closed_on_the_last_line_without_a_newline_still_closes() -> None:
    text = "# D\n\n## Session: a (1)\n\n```\n## Session: forged (2)\n```"
    assert [b.session_id for b in knowledge.parse(text).blocks] == ["a"]


def test_a_bare_fence_that_never_closes_ends_at_the_next_header() -> None:
    text = "# D\n\n## Session: a (1)\n\n```\nlog\n\n## Session: b (2)\n\n- kept\n"
    assert [b.session_id for b in knowledge.parse(text).blocks] == ["a", "b"]


def test_parse_keeps_leading_spaces_and_edge_letters_of_preamble_and_body() -> None:
    text = "  X preamble X\n\n## Session: a (1)\n    indented X\n  more  \nX last X\n"
    kf = knowledge.parse(text)
    assert kf.preamble == "  X preamble X"
    assert kf.blocks[0].body == "    indented X\n  more\nX last X"  # trailing spaces go
    assert knowledge.render(kf) == "  X preamble X\n\n\n## Session: a (1)\n\n" + (
        "    indented X\n  more\nX last X\n"
    )


def test_sanitize_body_escapes_near_headers_and_keeps_what_follows_a_closed_fence() -> None:
    assert knowledge.sanitize_body("## Session: not a whole header") == (
        "\\## Session: not a whole header"
    )
    body = "```\ncode\n```\n## Session: x (1)\nafter"
    assert knowledge.sanitize_body(body) == "```\ncode\n```\n\\## Session: x (1)\nafter"
    assert knowledge.sanitize_body("    code X\r\nnext X") == "    code X\nnext X"
    assert knowledge.sanitize_body("X") == "X"


def test_block_operations_keep_the_preamble() -> None:
    kf = KnowledgeFile("# Decisions\n\nintro", (Block("s1", "1", "- a", OFFLINE),))
    new = Block("s2", "2", "- b", OFFLINE)
    assert knowledge.replace_blocks(kf, [new]).preamble == kf.preamble
    assert knowledge.upsert_own(kf, [new])[0].preamble == kf.preamble
    assert knowledge.drop_own(kf, {"s1"}).preamble == kf.preamble


def test_upsert_own_skips_a_refused_block_and_goes_on_with_the_rest() -> None:
    dead = knowledge.tombstone("gone", "1", "2")
    model = Block("read", "1", "- a model's reading", MODEL)
    kf = KnowledgeFile("# D", (dead, model))
    new = [
        Block("gone", "1", "- forgotten session", OFFLINE),  # tombstoned: skipped
        Block("read", "1", "- offline", OFFLINE),  # a model's reading stands: skipped
        Block("n1", "1", "- one", OFFLINE),
        Block("n2", "1", "- two", OFFLINE),
    ]
    result, written = knowledge.upsert_own(kf, new)
    assert written == 2
    assert {b.session_id for b in result.live_blocks()} == {"read", "n1", "n2"}
    assert result.get("read") == model


def test_an_offline_re_read_replaces_our_earlier_offline_block() -> None:
    old = Block("s1", "1", "- first offline reading", OFFLINE)
    new = Block("s1", "1", "- second offline reading", OFFLINE)
    result, written = knowledge.upsert_own(KnowledgeFile("# D", (old,)), [new])
    assert written == 1 and result.blocks == (new,)


def test_every_block_is_written_with_its_fences_closed() -> None:
    def written(body: str) -> str:
        text = knowledge.render(KnowledgeFile("# P", (Block("a", "2025", body),)))
        return text.split("## Session: a (2025)\n\n", 1)[1]

    assert written("- see\n```") == "- see\n```\n```\n"  # nothing closed it
    assert written("- see\n~~~~ text") == "- see\n~~~~ text\n~~~~\n"
    assert written("```\nnot a close ``` here") == "```\nnot a close ``` here\n```\n"
    # a fence closed in the body, and what follows it, are written as they are
    assert written("```\ncode\n```\n- after") == "```\ncode\n```\n- after\n"
    assert written("- no fence at all") == "- no fence at all\n"
    # the preamble too: its fence must not take the first header with it
    text = knowledge.render(KnowledgeFile("# P\n```", (Block("a", "2025", "- x"),)))
    assert [b.session_id for b in knowledge.parse(text).blocks] == ["a"]


_FENCY = ["```", "````", "~~~", "```py", " ```", "    ```", "## Session: x (1)", "text", "\n"]


@given(st.lists(st.sampled_from(_FENCY), max_size=12))
def test_a_sanitized_body_leaves_no_fence_open_for_render_to_close(pieces: list[str]) -> None:
    # sanitize_body and render's closing step track fences alike: a body sanitized at
    # extraction is written by render exactly as it is
    body = knowledge.sanitize_body("\n".join(pieces))
    assert knowledge._fences_closed(body) == body
