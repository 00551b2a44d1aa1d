"""graphrec.evaluation.paired: per-case NDCG differences and their 95 % interval, by hand and against numpy."""
import math

import numpy as np
import pytest
import torch

from graphrec.evaluation.paired import Z95, paired_difference, paired_rows
from graphrec.evaluation.protocol import ndcg_per_case
from graphrec.evaluation.report import format_paired


def test_ndcg_per_case_by_hand() -> None:
    found = ndcg_per_case(torch.tensor([0, 1, 4, 5, 100]), k=5)
    assert found.tolist() == pytest.approx([1.0, 1 / math.log2(3), 1 / math.log2(6), 0.0, 0.0])


def test_two_cases_by_hand() -> None:
    # method ranks the first case 0 where the reference ranks it 1, and ties the second: d = (1 - 1/log2 3, 0),
    # mean d/2, sample sd |d|/sqrt 2, interval mean +- 1.96 sd / sqrt 2 = mean +- 0.98 d
    d = 1 - 1 / math.log2(3)
    mean, low, high = paired_difference(torch.tensor([0, 0]), torch.tensor([1, 0]), k=5)
    assert (mean, low, high) == pytest.approx((d / 2, d / 2 - Z95 / 2 * d, d / 2 + Z95 / 2 * d))
    assert paired_difference(torch.tensor([3]), torch.tensor([9]), k=5) == pytest.approx((1 / math.log2(5),) * 3)
    assert paired_difference(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), 5) == (0, 0, 0)
    with pytest.raises(ValueError, match="same cases"):
        paired_difference(torch.tensor([0, 1]), torch.tensor([0]), k=5)


def test_against_numpy_on_random_ranks() -> None:
    rng = np.random.default_rng(0)
    ranks, reference = rng.integers(0, 30, 500), rng.integers(0, 30, 500)
    gain = lambda r: np.where(r < 10, 1 / np.log2(r + 2), 0.0)  # noqa: E731
    d = gain(ranks) - gain(reference)
    half = 1.959964 * d.std(ddof=1) / np.sqrt(d.size)
    found = paired_difference(torch.from_numpy(ranks), torch.from_numpy(reference), k=10)
    assert found == pytest.approx((d.mean(), d.mean() - half, d.mean() + half), rel=1e-9)


def test_rows_and_their_lines() -> None:
    ranks = {"group": {"model": torch.tensor([0, 0, 0, 0]), "model average": torch.tensor([20, 20, 20, 20]),
                       "model borda": torch.tensor([0, 1, 0, 0])},
             "user": {"other": torch.tensor([1])}}  # no reference row for users: no rows
    rows = paired_rows(ranks, "model", ks=(5, 10))
    assert [(row["task"], row["method"], row["metric"]) for row in rows] == [
        ("group", "model average", "ndcg@5"), ("group", "model average", "ndcg@10"),
        ("group", "model borda", "ndcg@5"), ("group", "model borda", "ndcg@10")]
    assert rows[0]["difference"] == rows[0]["low"] == rows[0]["high"] == -1.0 and rows[0]["cases"] == 4
    lines = format_paired(rows)
    assert lines[0] == "group ndcg@5 minus model's, per case (4 cases; 95 % interval, * when it leaves out 0):"
    assert lines[1] == "  model average -1.0000 [-1.0000, -1.0000] *"
    assert lines[2].startswith("  model borda   -0.0923 [") and lines[2].endswith("]")  # (1 - 1/log2 3) / 4; holds 0
    assert len(lines) == 6 and format_paired([]) == []
