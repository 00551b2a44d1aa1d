r"""Whether one method's lead over another is more than the test cases' noise.

Two methods evaluated on the same cases (test lines under the sampled protocol, sources with a test item under
the full one) are compared case by case: with :math:`d_c` the difference of their metric (NDCG@K; under the full
protocol also Recall@K) on case :math:`c` (:math:`n` cases), the report gives the mean difference and its 95 %
confidence interval by the normal approximation of the paired mean,

.. math::
    \bar d \pm 1.96\, \frac{s_d}{\sqrt n}, \qquad s_d^2 = \frac{1}{n - 1} \sum_c (d_c - \bar d)^2 .

An interval that holds 0 says the test cases cannot tell the two apart. The width depends on how alike the
two rankings are, not only on the number of cases: on CAMRa2011's 1,450 group cases (reference protocol) the
default's member average is +0.0021 [-0.0007, +0.0049] NDCG@5 from it, popularity -0.0455 [-0.0571, -0.0338].
"""
from __future__ import annotations

import math
from typing import Any

from torch import Tensor

Z95 = 1.959964


def paired_difference(values: Tensor, reference: Tensor) -> tuple[float, float, float]:
    """(mean, low, high): the mean per-case difference `values` minus `reference` (a metric on the same cases,
    in the same order) and its 95 % interval (module docstring); the interval is the mean itself for fewer than
    2 cases."""
    if values.shape != reference.shape:
        raise ValueError(f"paired values must be of the same cases: {tuple(values.shape)} vs "
                         f"{tuple(reference.shape)}")
    differences = values.double() - reference.double()
    n = differences.numel()
    if n == 0:
        return 0.0, 0.0, 0.0
    mean = differences.mean().item()
    half = Z95 * differences.std().item() / math.sqrt(n) if n > 1 else 0.0
    return mean, mean - half, mean + half


def paired_rows(per_case: dict[str, dict[str, dict[str, Tensor]]], reference: str) -> list[dict[str, Any]]:
    """One row per task, method other than `reference` and metric: `task`, `method`, `reference`, `metric`,
    `difference`, `low`, `high` (method minus reference), `cases` (`per_case`: task -> method -> metric -> its
    value on each case). A task without the reference method gives no rows."""
    rows = []
    for task, methods in per_case.items():
        if reference not in methods:
            continue
        for method, metrics in methods.items():
            if method == reference:
                continue
            for metric, values in metrics.items():
                mean, low, high = paired_difference(values, methods[reference][metric])
                rows.append({"task": task, "method": method, "reference": reference, "metric": metric,
                             "difference": mean, "low": low, "high": high, "cases": int(values.numel())})
    return rows
