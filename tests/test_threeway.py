"""Three-way merges against the last-synced base: removals and changes on any side stick,
nothing changed is lost, and a store's redacted copy never replaces the local original."""

from __future__ import annotations

from engram_ci.knowledge import blocks as knowledge
from engram_ci.sync import threeway

P = "proj"
SECRET = "ghp_Thr33W4yS3cr3tV4lu3Xy9Zq8Wp7Lm6Kj5Hg4F"


def files(**blocks: str) -> dict[str, str]:
    text = "# Decisions\n\n" + "\n".join(
        f"## Session: {key} (2025-01-01T00:00:00Z)\n\n- {body}\n" for key, body in blocks.items()
    )
    return {"decisions.md": text}


def live(result: dict[str, str]) -> dict[str, str]:
    kf = knowledge.parse(result["decisions.md"])
    return {b.session_id: b.body.strip().removeprefix("- ") for b in kf.live_blocks()}


def test_without_a_base_nothing_is_ever_dropped() -> None:
    merged = threeway.merge(P, None, files(a="a"), [files(b="b")])
    assert live(merged) == {"a": "a", "b": "b"}


def test_a_removal_on_either_side_sticks() -> None:
    base = files(a="a", b="b", c="c")
    merged = threeway.merge(P, base, files(b="b", c="c"), [files(a="a", c="c")])
    assert live(merged) == {"c": "c"}


def test_a_change_beats_a_removal_and_the_changed_side_wins() -> None:
    base = files(a="a", b="b")
    merged = threeway.merge(P, base, files(b="b2"), [files(a="a2", b="b")])
    assert live(merged) == {"a": "a2", "b": "b2"}  # a: changed remotely, not lost to our removal


def test_an_older_version_on_one_side_wins_over_unchanged_newer_copies() -> None:
    """What makes a restore stick: the base is the store's head, local holds the old text."""
    head = files(a="a grown much longer since")
    merged = threeway.merge(P, head, files(a="a"), [head])
    assert live(merged) == {"a": "a"}


def test_the_redacted_copy_of_a_local_block_is_the_same_block() -> None:
    local = files(a=f"token {SECRET}")
    stored = files(a="token [REDACTED:github-pat]")
    assert live(threeway.merge(P, stored, local, [stored])) == {"a": f"token {SECRET}"}
    assert live(threeway.merge(P, None, local, [stored])) == {"a": f"token {SECRET}"}
    swapped = threeway.with_local_originals(stored, local)
    assert SECRET in swapped["decisions.md"]


# -- pinned by mutation testing (README "Mutation testing") -----------------------------------


def test_the_store_s_redacted_copy_gives_way_to_the_local_original_and_nothing_else_does() -> None:
    from engram_ci.sync import redact as redaction
    from engram_ci.sync.threeway import with_local_originals

    secret = "ghp_" + "Zq8Wp7Lm6Kj5Hg4Fd3Sa2Qw1Er9Ty0Ui8Op7"
    local = {
        "decisions.md": "# Decisions\n\n\n## Session: s1 (2025-01-01T00:00:00Z)\n\n"
        f"- deploy with {secret}\n\n\n## Session: s2 (2025-01-02T00:00:00Z)\n\n- mine\n"
    }
    remote = {
        "decisions.md": redaction.redact_text(local["decisions.md"]).replace("mine", "theirs")
    }
    assert secret not in remote["decisions.md"]
    swapped = with_local_originals(remote, local)["decisions.md"]
    assert f"- deploy with {secret}" in swapped  # the local original, not the redacted copy
    assert "- theirs" in swapped and "- mine" not in swapped  # a real change is the store's


def test_a_store_copy_whose_header_was_redacted_is_paired_by_session() -> None:
    """A secret in a header (here the timestamp) gives the store's copy another key: its
    original is found among the local blocks of the same session, and no other is taken."""
    from engram_ci.sync import redact as redaction

    secret = "ghp_" + "Zq8Wp7Lm6Kj5Hg4Fd3Sa2Qw1Er9Ty0Ui8Op7"
    header = f"## Session: s1 (2025-01-01 {secret})"
    local = {
        "decisions.md": f"# Decisions\n\n\n{header}\n\n- deploy\n"
        "\n\n## Session: s1 (2025-02-01T00:00:00Z)\n\n- a later reflection\n"
    }
    remote = {"decisions.md": redaction.redact_text(f"# Decisions\n\n\n{header}\n\n- deploy\n")}
    assert secret not in remote["decisions.md"]
    swapped = threeway.with_local_originals(remote, local)["decisions.md"]
    assert knowledge.parse(swapped).blocks == knowledge.parse(local["decisions.md"]).blocks[:1]
    for base in (None, remote):
        merged = knowledge.parse(threeway.merge(P, base, local, [remote])["decisions.md"])
        assert [b.timestamp for b in merged.blocks] == [
            f"2025-01-01 {secret}",
            "2025-02-01T00:00:00Z",
        ]


def test_a_context_file_alone_passes_through_a_merge_with_a_base() -> None:
    context = {"context.md": "# Project context: proj\n\n- kept\n"}
    assert threeway.merge(P, {}, context, [{}]) == context
    assert threeway.merge(P, {}, {}, [context]) == context


def test_a_store_file_with_nothing_to_swap_is_passed_on_byte_for_byte() -> None:
    stored = {"decisions.md": "# Decisions\n## Session: a (2025-01-01T00:00:00Z)\n- a   \n\n\n\n"}
    assert threeway.with_local_originals(stored, files(b="b")) == stored
