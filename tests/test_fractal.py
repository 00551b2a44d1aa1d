"""The fractal expansion (graphrec.fractal) on tiny matrices with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.fractal import expand, seed_matrix, seed_shape
from graphrec.load.text_formats import read_group_benchmark
from graphrec.load.text_formats import read_lightgcn as load_lightgcn

TRAIN = {0: [0, 1, 2], 1: [1, 3], 2: [0, 4], 3: [2, 3, 4]}
TEST = {0: [3], 2: [1], 3: [0]}


def write(folder: Path, train: dict[int, list[int]], test: dict[int, list[int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        if not rows:
            continue  # graphrec's loader refuses an empty file
        (folder / f"{name}.txt").write_text("".join(f"{u} {' '.join(map(str, items))}\n" for u, items in rows.items()))
    return folder


def pairs(folder: Path, name: str) -> set[tuple[int, int]]:
    found = set()
    for line in (folder / f"{name}.txt").read_text().splitlines():
        user, *items = map(int, line.split())
        found |= {(user, item) for item in items}
    return found


def test_a_square_factor_copies_every_interaction_into_every_block(tmp_path: Path) -> None:
    source = write(tmp_path / "in", TRAIN, TEST)
    result = expand(source, tmp_path / "out", factor=4, seed=7)
    assert (result.users, result.items) == (8, 10)  # 2 x 4 users, 2 x 5 items
    np.testing.assert_array_equal(result.seed_matrix, np.ones((2, 2)))
    train, test = pairs(tmp_path / "out", "train"), pairs(tmp_path / "out", "test")
    assert result.interactions == {"train": 40, "test": 12}  # 4 x 10 and 4 x 3: nothing dropped
    assert len(train) == 40 and len(test) == 12 and not train & test  # the split is inherited, never mixed
    for x in range(2):
        for y in range(2):  # each block is the original with its rows and columns permuted
            block = {(u - 4 * x, i - 5 * y) for u, i in train if u // 4 == x and i // 5 == y}
            block_test = {(u - 4 * x, i - 5 * y) for u, i in test if u // 4 == x and i // 5 == y}
            assert sorted(np.bincount([u for u, _ in block], minlength=4)) == sorted(len(v) for v in TRAIN.values())
            assert sorted(np.bincount([i for _, i in block], minlength=5)) == [2, 2, 2, 2, 2]
            assert len(block_test) == 3


def test_the_factor_grows_users_and_items_by_its_root_and_interactions_by_itself(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = {u: sorted(rng.choice(60, size=int(rng.integers(1, 20)), replace=False).tolist()) for u in range(50)}
    test = {u: [int(rng.choice([i for i in range(60) if i not in items]))] for u, items in train.items()}
    source = write(tmp_path / "in", train, test)
    total = sum(map(len, train.values())) + len(test)
    for factor in (3, 10):
        result = expand(source, tmp_path / f"x{factor}", factor=factor, seed=1)
        rows, cols = seed_shape(factor)
        assert (rows, cols) == {3: (2, 2), 10: (3, 4)}[factor]
        assert (result.users, result.items) == (50 * rows, 60 * cols)
        assert result.seed_matrix.sum() == pytest.approx(factor) and result.seed_matrix.max() <= 1.0
        made = sum(result.interactions.values())
        assert abs(made - factor * total) < 4 * np.sqrt(factor * total)  # binomial noise around F x nnz
        # the split is inherited: the test share stays the source's (binomial noise)
        share = result.interactions["test"] / made
        assert abs(share - len(test) / total) < 4 * np.sqrt(share * (1 - share) / made)
        loaded = load_lightgcn(tmp_path / f"x{factor}")  # graphrec's own loader reads the output
        assert len(loaded.user_interactions) == result.interactions["train"]


def test_the_seed_fixes_the_output(tmp_path: Path) -> None:
    source = write(tmp_path / "in", TRAIN, TEST)
    texts = []
    for run, seed in enumerate((3, 3, 4)):
        expand(source, tmp_path / f"run{run}", factor=3, seed=seed)
        texts.append(tuple((tmp_path / f"run{run}" / name).read_text()
                           for name in ("train.txt", "test.txt", "groupMember.txt")))
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_groups_are_one_percent_of_the_active_users_in_groups_of_two_to_ten(tmp_path: Path) -> None:
    train = {u: [u % 7, (u + 1) % 7] for u in range(1000)}
    source = write(tmp_path / "in", train, {})
    expand(source, tmp_path / "out", factor=4, seed=0)
    groups = read_group_benchmark(tmp_path / "out").memberships  # graphrec's own group loader reads it
    sizes = groups.groupby("group").size()
    assert len(sizes) == 20  # 1 % of the 2 x 1,000 users, all with a train interaction
    assert sizes.between(2, 10).all()
    assert not groups.duplicated().any()
    assert set(groups["user"]) <= {u for u, _ in pairs(tmp_path / "out", "train")}


def test_the_seed_matrix_follows_the_data_and_respects_the_cap() -> None:
    dense = np.zeros((40, 40))
    dense[:20, :20] = 1.0  # one dense corner, the rest empty
    dense[np.arange(40), np.arange(40)] = 1.0
    seed = seed_matrix(sp.csr_matrix(dense), 2, 2, 2.0)
    assert seed.sum() == pytest.approx(2.0) and seed.max() <= 1.0 + 1e-12 and seed.min() >= 0.0
    assert seed[0, 0] == pytest.approx(1.0)  # the dense corner is capped at 1, the excess spread
    with pytest.raises(ValueError, match="cannot sum"):
        seed_matrix(sp.csr_matrix(dense), 2, 2, 5.0)
