"""The merge is a join: commutative, associative, idempotent, and it never loses a block."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engram_ci.knowledge import blocks as knowledge
from engram_ci.knowledge.blocks import Block, KnowledgeFile
from engram_ci.memory import merge

session_ids = st.sampled_from([f"s{i}" for i in range(6)])
timestamps = st.sampled_from(["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "unknown date"])
bodies = st.sampled_from(
    # a fence nothing closes (an engram or hand-written file may hold one) is no fence in its
    # own file: next to other blocks it must not become one
    ["", "- a", "- b", "- a longer entry", "```\n## Session: x (y)\n```", "- see\n```", "~~~~"]
)
tags = st.lists(
    st.tuples(
        st.sampled_from(["confidence", "ttl", "deleted", "source", "access", "updated"]),
        st.sampled_from(["high", "7d", "3", "12", ""]),
    ),
    max_size=3,
).map(tuple)


@st.composite
def blocks(draw: st.DrawFn) -> Block:
    # the same session id may carry different timestamps on different machines
    return Block(draw(session_ids), draw(timestamps), draw(bodies), draw(tags))


files = st.builds(
    lambda bs, pre: knowledge.parse(knowledge.render(KnowledgeFile(pre, tuple(bs)))),
    st.lists(blocks(), max_size=6),
    st.sampled_from(["# Decisions", "# Decisions\n\nNotes kept by hand.", "# Decisions\n```"]),
)


def rendered(kf: KnowledgeFile) -> str:
    return knowledge.render(kf)


@settings(max_examples=300)
@given(files, files)
def test_merge_is_commutative(a: KnowledgeFile, b: KnowledgeFile) -> None:
    assert rendered(merge.merge(a, b)) == rendered(merge.merge(b, a))


@settings(max_examples=300)
@given(files, files, files)
def test_merge_is_associative(a: KnowledgeFile, b: KnowledgeFile, c: KnowledgeFile) -> None:
    left = merge.merge(merge.merge(a, b), c)
    right = merge.merge(a, merge.merge(b, c))
    assert rendered(left) == rendered(right)


@settings(max_examples=300)
@given(files)
def test_merge_is_idempotent(a: KnowledgeFile) -> None:
    once = merge.merge(a, a)
    assert rendered(merge.merge(once, a)) == rendered(once)
    assert rendered(merge.merge(once, once)) == rendered(once)


@settings(max_examples=300)
@given(files, files)
def test_no_block_is_lost(a: KnowledgeFile, b: KnowledgeFile) -> None:
    result = merge.merge(a, b)
    forgotten = {blk.session_id for blk in (*a.blocks, *b.blocks) if blk.is_tombstone}
    for blk in (*a.blocks, *b.blocks):
        if blk.session_id in forgotten and not blk.is_tombstone:
            # a forgotten session's live blocks give way to its tombstone, whatever their key
            assert result.is_tombstoned(blk.session_id)
            assert not [b for b in result.live_blocks() if b.session_id == blk.session_id]
            continue
        kept = result.by_key(blk.key)
        assert kept is not None
        # what survives is the block itself or one that outranks it, never something weaker
        assert merge.winner(kept, blk) == kept


@settings(max_examples=200)
@given(files, files)
def test_merge_output_survives_a_round_trip(a: KnowledgeFile, b: KnowledgeFile) -> None:
    merged = merge.merge(a, b)
    text = rendered(merged)
    assert rendered(knowledge.parse(text)) == text
    assert [blk.key for blk in knowledge.parse(text).blocks] == [blk.key for blk in merged.blocks]


def test_tombstone_beats_live_block_and_stays() -> None:
    live = KnowledgeFile("# Bugs", (Block("s1", "2025", "- crash on start"),))
    dead = KnowledgeFile("# Bugs", (knowledge.tombstone("s1", "2025", "2025-03-01"),))
    result = merge.merge(live, dead)
    assert result.blocks[0].is_tombstone
    assert result.live_blocks() == ()


OWN = (("source", "offline"),)


def test_longer_body_wins_a_conflict_between_own_blocks() -> None:
    short = KnowledgeFile("# Decisions", (Block("s1", "2025", "- use SQLite", OWN),))
    grown = KnowledgeFile("# Decisions", (Block("s1", "2025", "- use SQLite\n- WAL mode", OWN),))
    merged = merge.merge(short, grown)
    assert len(merged.blocks) == 1 and merged.blocks[0].body.endswith("WAL mode")


def test_two_blocks_of_one_session_from_another_tool_are_both_kept() -> None:
    # engram writes dated reflections (and `[updated]` rewrites) under one session id
    first = Block("s1", "2025-01", "- first reflection")
    second = Block("s1", "2025-02", "- second reflection", (("updated", ""),))
    merged = merge.merge(KnowledgeFile("# I", (first,)), KnowledgeFile("# I", (second,)))
    assert merged.blocks == (first, second)
    text = knowledge.render(merged)
    assert "## Session: s1 (2025-02) [updated]\n" in text
    assert knowledge.parse(text) == merged


def test_access_counter_merges_as_the_maximum() -> None:
    mine = Block("s1", "2025", "- x", (("confidence", "high"), ("access", "3")))
    theirs = Block("s1", "2025", "- x", (("confidence", "high"), ("access", "7")))
    for a, b in ((mine, theirs), (theirs, mine)):
        merged = merge.merge(KnowledgeFile("# D", (a,)), KnowledgeFile("# D", (b,)))
        assert merged.blocks == (theirs,)
    # the counter rides on whichever block wins, and never decides the winner
    grown = Block("s1", "2025", "- x\n- y", (("source", "offline"), ("access", "1")))
    old = Block("s1", "2025", "- x", (("source", "offline"), ("access", "9")))
    merged = merge.merge(KnowledgeFile("# D", (grown,)), KnowledgeFile("# D", (old,)))
    assert merged.blocks == (grown.with_tag("access", "9"),)


def test_a_tombstone_forgets_every_block_of_its_session() -> None:
    kept = KnowledgeFile("# B", (Block("s1", "1", "- a"), Block("s1", "2", "- b", OWN)))
    dead = KnowledgeFile("# B", (knowledge.tombstone("s1", "1", "2025-03-01"),))
    assert merge.merge(kept, dead).live_blocks() == ()


def test_merge3_keeps_a_deletion_made_on_one_side() -> None:
    a, b = Block("s1", "2025-01", "- one"), Block("s2", "2025-02", "- two")
    base = KnowledgeFile("# Patterns", (a, b))
    ours = KnowledgeFile("# Patterns", (a,))  # someone removed s2 by hand
    theirs = KnowledgeFile("# Patterns", (a, b, Block("s3", "2025-03", "- three")))
    result = merge.merge3(base, ours, theirs)
    assert [blk.session_id for blk in result.blocks] == ["s1", "s3"]


def test_merge3_keeps_a_change_over_a_deletion() -> None:
    a = Block("s1", "2025-01", "- one")
    base = KnowledgeFile("# Patterns", (a,))
    ours = KnowledgeFile("# Patterns", ())
    theirs = KnowledgeFile("# Patterns", (Block("s1", "2025-01", "- one, improved"),))
    assert merge.merge3(base, ours, theirs).blocks[0].body == "- one, improved"


def test_merge_texts_of_engram_files_is_byte_stable() -> None:
    a = "# Decisions\n\n\n## Session: b (2025-02)\n\n- two\n"
    b = "# Decisions\n\n\n## Session: a (2025-01) [confidence:high]\n\n- one\n"
    merged = merge.merge_texts(a, b)
    assert merged == merge.merge_texts(b, a)
    assert merged.index("## Session: a") < merged.index("## Session: b")


def test_diff_counts_added_removed_changed() -> None:
    before = KnowledgeFile("", (Block("a", "1", "x", OWN), Block("b", "1", "y")))
    after = KnowledgeFile("", (Block("a", "1", "x2", OWN), Block("c", "1", "z")))
    assert merge.diff(before, after) == merge.BlockDiff(added=1, removed=1, changed=1)


# -- pinned by mutation testing (README "Mutation testing") -----------------------------------


def test_the_latest_deletion_wins_whatever_other_tags_the_tombstones_carry() -> None:
    early = Block("s1", "2025-01", "", (("why", "pruned"), ("deleted", "2025-02-01T00:00:00Z")))
    late = knowledge.tombstone("s1", "2025-01", "2025-09-01T00:00:00Z")
    for a, b in [(early, late), (late, early)]:
        merged = merge.merge(KnowledgeFile("", (a,)), KnowledgeFile("", (b,)))
        assert merged.blocks == (late,)


def test_merging_nothing_gives_an_empty_file() -> None:
    assert merge.merge_all([]) == KnowledgeFile("")
    assert merge.merge_texts() == "\n"


def test_merge3_honours_a_deletion_on_either_side_and_keeps_the_preamble() -> None:
    a, b = Block("s1", "2025-01", "- one"), Block("s2", "2025-02", "- two")
    base = KnowledgeFile("# Patterns", (a, b))
    pruned = KnowledgeFile("# Patterns", (a,))  # s2 removed by hand, without a tombstone
    for ours, theirs in [(pruned, base), (base, pruned)]:
        result = merge.merge3(base, ours, theirs)
        assert result == KnowledgeFile("# Patterns", (a,))


def test_merge3_keeps_a_block_the_other_side_changed_whichever_side_deleted_it() -> None:
    a = Block("s1", "2025-01", "- one")
    improved = Block("s1", "2025-01", "- one, improved")
    base = KnowledgeFile("# Patterns", (a,))
    changed = KnowledgeFile("# Patterns", (improved,))
    deleted = KnowledgeFile("# Patterns", ())
    for ours, theirs in [(deleted, changed), (changed, deleted)]:
        assert merge.merge3(base, ours, theirs).blocks == (improved,)


def test_a_tombstone_with_a_blank_deletion_time_loses_to_a_dated_one() -> None:
    blank = knowledge.tombstone("s1", "2025-01", "")
    dated = knowledge.tombstone("s1", "2025-01", "2025-09-01T00:00:00Z")
    for a, b in [(blank, dated), (dated, blank)]:
        assert merge.winner(a, b) == dated


def test_the_fuller_preamble_wins() -> None:
    short, full = KnowledgeFile("# Z"), KnowledgeFile("# Decisions\n\nWhy we chose what we chose.")
    for a, b in [(short, full), (full, short)]:
        assert merge.merge(a, b).preamble == full.preamble


def test_a_preamble_is_kept_as_written_apart_from_blank_lines_around_it() -> None:
    written = KnowledgeFile("\n    Notes on X\n")  # indented: a code block in markdown
    for a, b in [(written, KnowledgeFile("")), (KnowledgeFile(""), written)]:
        assert merge.merge(a, b).preamble == "    Notes on X"


def test_the_access_count_takes_no_part_in_choosing_the_winner() -> None:
    newer = Block("s1", "2025-02", "- x", (("access", "10"),))
    older = Block("s1", "2025-01", "- x", (("access", "3"),))
    assert merge.winner(older, newer) == newer
    # ...while every other tag still does (a larger tag value outranks a later timestamp)
    high = Block("s1", "2025-02", "- x", (("confidence", "high"),))
    low = Block("s1", "2025-01", "- x", (("confidence", "low"),))
    assert merge.winner(high, low) == low


def test_the_winner_carries_the_access_count_either_side_saw_and_none_is_invented() -> None:
    read_never = Block("s1", "2025-01", "- x", (("access", "0"),))
    longer = Block("s1", "2025-01", "- x and more")
    assert merge.winner(read_never, longer) == longer.with_tag("access", "0")
    assert merge.winner(Block("s1", "2025-01", "- x"), longer) == longer
