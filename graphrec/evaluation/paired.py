r"""Whether one method's lead over another on the sampled protocol is more than the cases' noise.

Two methods ranked on the same test cases are compared case by case: with :math:`d_c` the difference of their
NDCG@K on case :math:`c` (:math:`n` cases), the report gives the mean difference and its 95 % confidence
interval by the normal approximation of the paired mean,

.. math::
    \bar d \pm 1.96\, \frac{s_d}{\sqrt n}, \qquad s_d^2 = \frac{1}{n - 1} \sum_c (d_c - \bar d)^2 .

An interval that holds 0 says the test cases cannot tell the two apart. The width depends on how alike the
two rankings are, not only on the number of cases: on CAMRa2011's 1,450 group cases (reference protocol) the
default's member average is +0.0021 [-0.0007, +0.0049] NDCG@5 from it, popularity -0.0455 [-0.0571, -0.0338].
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from graphrec.evaluation.protocol import ndcg_per_case

Z95 = 1.959964


def paired_difference(ranks: Tensor, reference: Tensor, k: int) -> tuple[float, float, float]:
    """(mean, low, high): the mean per-case NDCG@k difference `ranks` minus `reference` (ranks of the same
    cases, in the same order) and its 95 % interval (module docstring); the interval is the mean itself for
    fewer than 2 cases."""
    if ranks.shape != reference.shape:
        raise ValueError(f"paired ranks must be of the same cases: {tuple(ranks.shape)} vs {tuple(reference.shape)}")
    differences = ndcg_per_case(ranks, k) - ndcg_per_case(reference, k)
    n = differences.numel()
    if n == 0:
        return 0.0, 0.0, 0.0
    mean = differences.mean().item()
    half = Z95 * differences.std().item() / math.sqrt(n) if n > 1 else 0.0
    return mean, mean - half, mean + half


def paired_rows(ranks: dict[str, dict[str, Tensor]], reference: str, ks: Sequence[int]) -> list[dict[str, Any]]:
    """One row per task, method other than `reference` and k: `task`, `method`, `reference`, `metric`
    (`ndcg@k`), `difference`, `low`, `high` (method minus reference; `ranks`: task -> method -> per-case
    ranks). A task without the reference method gives no rows."""
    rows = []
    for task, methods in ranks.items():
        if reference not in methods:
            continue
        for method, found in methods.items():
            if method == reference:
                continue
            for k in ks:
                mean, low, high = paired_difference(found, methods[reference], k)
                rows.append({"task": task, "method": method, "reference": reference, "metric": f"ndcg@{k}",
                             "difference": mean, "low": low, "high": high, "cases": int(found.numel())})
    return rows
