"""What a reply says was done: its outcome, and the done items it lists."""

from __future__ import annotations

from engram_ci.knowledge import replies


def test_highlights_need_two_done_leads_and_stop_within_a_bullet() -> None:
    outcome = "I completed the refactoring."
    one = "- **Fixed the parser** - x\n- **Faster startup** - y\n"
    assert replies.with_highlights(outcome, one) == outcome  # one lead says no more than it
    many = "".join(f"- **Added feature number {n}** - z\n" for n in range(40))
    done = replies.with_highlights(outcome, many)
    assert done.startswith(f"{outcome} Among the changes: Added feature number 0; ")
    assert done.endswith(".") and len(done) <= replies.DONE_CHARS
    assert replies.with_highlights(outcome, "plain reply, no leads") == outcome


def test_an_outcome_is_whole_sentences_of_what_was_done_never_a_proposal() -> None:
    assert replies.outcome("Perfect! The parser accepts tabs now. Run the tests again.") == (
        "The parser accepts tabs now. Run the tests again."
    )
    assert replies.outcome("Let's modernise this project. It is old.") is None
    assert replies.outcome("I'll look at the logs first.") is None  # narration
    assert replies.outcome("Fixed: the cache. We should add a test next.") is None
