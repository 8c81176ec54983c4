"""What the readers share: the compact set of line-uuid hashes."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from engram_ci.readers import SeenHashes

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def test_seen_hashes_agree_with_a_set_across_many_merges() -> None:
    rng = random.Random(5)
    seen, reference = SeenHashes(), set()
    for _ in range(30_000):  # enough for several buffers and merged arrays
        value = hash(f"{rng.getrandbits(40):x}")
        assert (value in seen) == (value in reference)
        seen.add(value)
        reference.add(value)
    assert all(v in seen for v in reference)
    assert sum(hash(f"miss{n}") in seen for n in range(2_000)) == 0
    assert len(seen._sorted) > 1 and sum(map(len, seen._sorted)) + len(seen._recent) >= 29_000


@given(st.lists(INT64, max_size=300), st.lists(INT64, max_size=50))
def test_seen_hashes_membership_matches_a_set(members: list[int], probes: list[int]) -> None:
    seen = SeenHashes(buffer=8)  # small buffers: merges happen within a few members
    for value in members:
        seen.add(value)
    assert all(v in seen for v in members)
    assert all((v in seen) == (v in set(members)) for v in probes)
