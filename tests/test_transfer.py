"""The schedule of concurrent relationship writes (`graphrec.writeback.transfer._rounds`): every relationship
once, and the sessions of a round never touch the same item (Neo4j locks both ends of a new relationship)."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.writeback.transfer import _rounds, _tournament


@pytest.mark.parametrize("parts", [2, 4, 6, 8])
def test_the_tournament_pairs_every_two_parts_once_and_each_part_once_a_round(parts: int) -> None:
    rounds = _tournament(parts)
    assert len(rounds) == parts - 1
    met = [frozenset(pair) for pairs in rounds for pair in pairs]
    assert sorted(map(sorted, met)) == sorted([a, b] for a in range(parts) for b in range(a + 1, parts))
    for pairs in rounds:
        assert sorted(p for pair in pairs for p in pair) == list(range(parts))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_relationship_is_written_once_and_a_rounds_sessions_share_no_item(workers: int) -> None:
    rng = np.random.default_rng(workers)
    sources = np.sort(rng.integers(0, 50, 2_000))
    targets = rng.integers(0, 50, 2_000)
    rounds = _rounds(sources, targets, workers)
    assert len(rounds) == 2 * workers - 1 and all(len(streams) == workers for streams in rounds)
    written = np.concatenate([keep for streams in rounds for keep in streams])
    np.testing.assert_array_equal(np.sort(written), np.arange(len(sources)))
    for streams in rounds:
        touched = [set(sources[keep]) | set(targets[keep]) for keep in streams]
        assert all(not (touched[a] & touched[b]) for a in range(workers) for b in range(a + 1, workers))
        assert all(np.all(np.diff(keep) > 0) for keep in streams)  # ascending: each stream stays sorted by source
