"""graphrec.evaluation.paired: per-case differences and their 95 % interval, by hand and against numpy; the
per-case values each protocol keeps average to its table."""
import math

import numpy as np
import pytest
import torch

from graphrec.evaluation.paired import Z95, paired_difference, paired_rows
from graphrec.evaluation.protocol import ndcg_per_case
from graphrec.evaluation.report import format_paired
from graphrec.model.base import DotScorer
from graphrec.model.metrics import full_metrics, full_per_source


def test_ndcg_per_case_by_hand() -> None:
    found = ndcg_per_case(torch.tensor([0, 1, 4, 5, 100]), k=5)
    assert found.tolist() == pytest.approx([1.0, 1 / math.log2(3), 1 / math.log2(6), 0.0, 0.0])


def test_two_cases_by_hand() -> None:
    # the method ranks the first case 0 where the reference ranks it 1, and ties the second: d = (1 - 1/log2 3, 0),
    # mean d/2, sample sd |d|/sqrt 2, interval mean +- 1.96 sd / sqrt 2 = mean +- 0.98 d
    d = 1 - 1 / math.log2(3)
    found = paired_difference(ndcg_per_case(torch.tensor([0, 0]), 5), ndcg_per_case(torch.tensor([1, 0]), 5))
    assert found == pytest.approx((d / 2, d / 2 - Z95 / 2 * d, d / 2 + Z95 / 2 * d))
    assert paired_difference(torch.tensor([0.5]), torch.tensor([0.25])) == pytest.approx((0.25,) * 3)
    assert paired_difference(torch.tensor([]), torch.tensor([])) == (0, 0, 0)
    with pytest.raises(ValueError, match="same cases"):
        paired_difference(torch.tensor([0.0, 1.0]), torch.tensor([0.0]))


def test_against_numpy_on_random_values() -> None:
    rng = np.random.default_rng(0)
    values, reference = rng.random(500), rng.random(500) ** 2
    d = values - reference
    half = 1.959964 * d.std(ddof=1) / np.sqrt(d.size)
    found = paired_difference(torch.from_numpy(values), torch.from_numpy(reference))
    assert found == pytest.approx((d.mean(), d.mean() - half, d.mean() + half), rel=1e-9)


def test_full_protocol_keeps_one_value_per_source_that_average_to_the_table() -> None:
    # 3 users with test items (user 2 has none), 6 items; user 0's test item 5 ranks first of the unseen items
    torch.manual_seed(0)
    users, items = torch.randn(4, 3), torch.randn(6, 3)
    items[5] = 10 * users[0] / users[0].norm()
    train, test = torch.tensor([[0, 1, 3], [0, 1, 2]]), torch.tensor([[0, 1, 3, 3], [5, 4, 0, 4]])
    score = DotScorer(users, items)
    found = full_per_source(score, 6, train, test, (2,))
    assert set(found) == {"recall@2", "ndcg@2", "precision@2", "hr@2"} and found["ndcg@2"].numel() == 3
    assert found["ndcg@2"][0].item() == pytest.approx(1.0) and found["recall@2"][0].item() == 1.0
    assert {name: values.mean().item() for name, values in found.items()} == pytest.approx(
        full_metrics(score, 6, train, test, (2,)))


def test_rows_and_their_lines() -> None:
    per_case = {"group": {"model": {"ndcg@5": torch.ones(4), "ndcg@10": torch.ones(4)},
                          "model average": {"ndcg@5": torch.zeros(4), "ndcg@10": torch.zeros(4)},
                          "model borda": {"ndcg@5": ndcg_per_case(torch.tensor([0, 1, 0, 0]), 5),
                                          "ndcg@10": torch.ones(4)}},
                "user": {"other": {"ndcg@5": torch.ones(1)}}}  # no reference row for users: no rows
    rows = paired_rows(per_case, "model")
    assert [(row["task"], row["method"], row["metric"]) for row in rows] == [
        ("group", "model average", "ndcg@5"), ("group", "model average", "ndcg@10"),
        ("group", "model borda", "ndcg@5"), ("group", "model borda", "ndcg@10")]
    assert rows[0]["difference"] == rows[0]["low"] == rows[0]["high"] == -1.0 and rows[0]["cases"] == 4
    lines = format_paired(rows)
    assert lines[0] == "group ndcg@5 minus model's, per case (4 cases; 95 % interval, * when it leaves out 0):"
    assert lines[1] == "  model average -1.0000 [-1.0000, -1.0000] *"
    assert lines[2].startswith("  model borda   -0.0923 [") and lines[2].endswith("]")  # (1 - 1/log2 3) / 4; holds 0
    assert lines[4] == "  model average -1.0000 [-1.0000, -1.0000] *" and lines[5].endswith("[+0.0000, +0.0000]")
    assert len(lines) == 6 and format_paired([]) == []
