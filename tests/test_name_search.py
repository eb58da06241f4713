"""The candidate ranking both registry back-ends share (name_search.best_candidates)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.entities.name_search import MAX_CANDIDATES, best_candidates


def plainly_ranked(members: dict[str, frozenset[int]], max_block: int) -> list[int]:
    """The definition: every record weighs the sum of 1 / size of the blocks it is in
    (blocks in sorted order, oversized ones skipped); the heaviest first, ties by record."""
    weights: dict[int, float] = {}
    for block in sorted(members):
        if 0 < len(members[block]) <= max_block:
            for record in members[block]:
                weights[record] = weights.get(record, 0) + 1.0 / len(members[block])
    return sorted(weights, key=lambda record: (-weights[record], record))[:MAX_CANDIDATES]


BLOCKS = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.frozensets(st.integers(0, 120), max_size=80),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(members=BLOCKS, max_block=st.sampled_from([5, 40, 1 << 62]))
def test_the_fast_ranking_is_the_plain_one(members: dict[str, frozenset[int]], max_block: int) -> None:
    assert best_candidates(members, max_block) == plainly_ranked(members, max_block)


def test_ties_at_the_cut_go_to_the_lowest_records() -> None:
    # 60 records in one block weigh the same: the first 25 by key are the candidates
    members = {"k": frozenset(range(60, 0, -1)), "rare": frozenset({59})}
    assert best_candidates(members, 1000) == [59, *range(1, MAX_CANDIDATES)]
