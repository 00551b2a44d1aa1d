r"""How the sampled protocol ranks what a source already has: its known items (train interactions).

Serving never recommends a known item (`recommend_user` and `recommend_group` leave them out), and the full
protocol excludes them. The sampled protocol cannot: a benchmark's stored negatives may be known items
(CAMRa2011: about 5 of 100 per case, drawn from every item), and its test item may be one, a **repeat** (under
the reference protocol, 571 of CAMRa2011's 1,450 group cases: a household rating a film it rated before). A
model scores known items high (they sit next to everything the source has), so how they should rank against
new ones depends on how often the source's next interaction is a repeat, which no model learns from a binary
train matrix. Each model's known items are therefore shifted by an offset per ranking,

.. math::
    s'(s, i) = s(s, i) + c \cdot \max_{j \in C_s} |s(s, j)| \cdot [i \in N(s)],

:math:`C_s` the candidates ranked together, :math:`N(s)` the known items; :math:`c = -\infty` leaves them
below every new item (what serving does), :math:`c = 0` takes the model's scores as they are. Every ranking
a model gives has its own offset: users, its own group scores, and each member aggregation of them (applied
after aggregating: Borda points spread differently from scores).

`[evaluate] known_items`: ``"as_is"`` (:math:`c = 0`, the default), ``"exclude"`` (:math:`-\infty`), a number,
or ``"auto"``: :func:`choose_known` picks each ranking's :math:`c` from :data:`OFFSETS` on a validation split
held out from train (never the test lines) by :func:`row_holdout`: :data:`ROWS_PER_SOURCE` (20) train *rows*
per source, not pairs. A pair with several rows (a repeat) keeps its other rows in train, so held-out rows are
repeats as often as the data's are (CAMRa2011's group train rows: 40.4 %, against 39.4 % of its group test
lines; its users and Mafengwo-S: none). An interaction's weight is read as its number of rows, which is what the
text-format loaders write; CSV data whose `weight` is a rating or a strength would be read as repeats. Under the
leak-free variant, whose test pairs are never trained on, a held-out row takes its pair out of train. Each
held-out row is ranked against :data:`VALIDATION_NEGATIVES` items drawn uniformly from all others (known ones
included, as the benchmarks' negatives are), ties pessimistic, and :math:`c` maximises the mean NDCG over
`[evaluate] ks` (the first of equals in :data:`OFFSETS` order). 20 rows, not 5: with 5 the offset chosen for
CAMRa2011's groups moved between -0.2 and -0.5 with the hold-out seed; with 20 it stayed at -0.3 for seeds
2018-2021 (BENCHMARKS.md).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from graphrec.evaluation.protocol import pessimistic_ranks, ranks_to_metrics
from graphrec.evaluation.scorers import MemberScorer, padded_members, served_users
from graphrec.model.base import Fitted, Scorer
from graphrec.model.metrics import _keys

OFFSETS = (-math.inf, -0.5, -0.3, -0.2, -0.15, -0.1, -0.05, 0.0)
ROWS_PER_SOURCE = 20
VALIDATION_NEGATIVES = 100


def known_offset(setting: str | float) -> Optional[float]:
    """The offset a fixed `[evaluate] known_items` setting gives every model; None for "auto"."""
    if setting == "auto":
        return None
    if setting == "as_is":
        return 0.0
    if setting == "exclude":
        return -math.inf
    return float(setting)


def known_mask(keys: Tensor, num_items: int, sources: Tensor, items: Tensor) -> Tensor:
    """(B, C) bool: whether each of `items` (B, C) is known to its row's source, given the sorted known keys
    `keys` (`graphrec.model.metrics._keys`)."""
    return torch.isin(sources.long().unsqueeze(1) * num_items + items.long(), keys)


def shift_known(scores: Tensor, known: Tensor, offset: float) -> Tensor:
    r"""`scores` (B, C) with the `known` (B, C) ones shifted by :math:`c \cdot \max_j |s_j|` per row."""
    if offset == -math.inf:
        return scores.masked_fill(known, -math.inf)
    return scores + offset * scores.abs().amax(1, keepdim=True) * known


class KnownShift:
    r"""`score` with the known items of each source (`known`: :obj:`(2, K)` [source, item]) shifted by
    :math:`c \cdot \max_{j \in C_s} |s(s, j)|` (module docstring); `num_items` is :math:`|I|`."""

    def __init__(self, score: Scorer, known: Tensor, num_items: int, offset: float) -> None:
        self.score, self.num_items, self.offset = score, num_items, offset
        self.keys = _keys(known, num_items)

    def __call__(self, sources: Tensor, items: Optional[Tensor] = None) -> Tensor:
        out = self.score(sources, items)
        if items is None:
            items = torch.arange(self.num_items).expand(sources.numel(), -1)
        return shift_known(out, known_mask(self.keys, self.num_items, sources, items), self.offset)


def row_holdout(train: Tensor, counts: Tensor, seed: int, per_source: int = ROWS_PER_SOURCE,
                whole_pairs: bool = False) -> tuple[Tensor, Tensor]:
    """(kept interactions, held-out rows): `train` (2, E) [source, item] with `counts` (E,) rows each; up to
    `per_source` of a source's rows, drawn uniformly among its rows (a pair of 2 rows twice as likely as a pair
    of 1), are held out, leaving the source at least one row. A pair keeps its interaction while it has a row
    left, so a held-out row whose pair stays is a repeat; with `whole_pairs` (the leak-free variant, whose test
    pairs are never trained on) a pair with a held-out row leaves train."""
    counts = counts.round().long().clamp(min=1)
    rows = torch.repeat_interleave(torch.arange(train.size(1)), counts)  # one entry per row, by interaction
    source = train[0, rows]
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(rows.numel(), generator=generator)
    order = order[torch.argsort(source[order], stable=True)]  # each source's rows, shuffled
    size = torch.bincount(source, minlength=int(train[0].max()) + 1 if train.numel() else 0)
    start = torch.cumsum(size, 0) - size
    position = torch.arange(order.numel()) - start[source[order]]
    limit = torch.clamp(size - 1, max=per_source)[source[order]]
    held = order[position < limit]
    taken = torch.bincount(rows[held], minlength=train.size(1))
    return train[:, (taken == 0) if whole_pairs else (taken < counts)], train[:, rows[held]]


def validation_ndcg(score: Scorer, held: Tensor, known: Tensor, num_items: int, offsets: Sequence[float],
                    ks: Sequence[int], seed: int) -> dict[float, float]:
    """Mean NDCG over `ks` of the held-out rows `held` (2, H), each ranked against `VALIDATION_NEGATIVES` items
    drawn uniformly from all others (seeded), with `known` shifted by each of `offsets` (scored once)."""
    generator = torch.Generator().manual_seed(seed)
    negatives = torch.randint(0, num_items - 1, (held.size(1), VALIDATION_NEGATIVES), generator=generator)
    negatives += (negatives >= held[1].unsqueeze(1)).long()
    items = torch.cat([held[1].unsqueeze(1), negatives], 1)
    scores = score(held[0], items)
    mask = known_mask(_keys(known, num_items), num_items, held[0], items)
    valid = torch.ones_like(items, dtype=torch.bool)
    found = {}
    for offset in offsets:
        metrics = ranks_to_metrics(pessimistic_ranks(shift_known(scores, mask, offset), valid), ks)
        found[offset] = float(np.mean([metrics[f"ndcg@{k}"] for k in ks]))
    return found


def choose_known(data: Any, counts: dict[str, Tensor], fit: Callable[[Any], Fitted], ks: Sequence[int],
                 seed: int, strategies: Sequence[str] = (), whole_pairs: bool = False
                 ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(offset per ranking, validation NDCG per ranking and offset) for the model `fit` fits: one more fit on
    `data` (a `graphrec.model.base.TrainingData`) less `row_holdout`'s rows of each side (`counts`: the
    rows of each side's train interactions, aligned with them; `whole_pairs` under the leak-free variant), then
    `validation_ndcg` of every `OFFSETS`. Rankings: `user`, `group` (the model's own group scores; for a
    model without them, its members' average) and, for a personal model, `group <strategy>` for each member
    aggregation of `strategies` (points and scores spread differently, so each gets its own offset); users
    and members as `graphrec.evaluation.scorers.served_users` gives them. A ranking without held-out rows or
    without a scorer gets -inf (known items left out, as served)."""
    kept: dict[str, Tensor] = {}
    held: dict[str, Tensor] = {}
    for side, train in (("user", data.user_train), ("group", data.group_train)):
        kept[side], held[side] = (row_holdout(train, counts[side], seed, whole_pairs=whole_pairs) if train.numel()
                                  else (train, train))
    fitted = fit(replace(data, user_train=kept["user"], group_train=kept["group"],
                         user_valid=data.user_train[:, :0], group_valid=data.group_train[:, :0]))
    popularity = torch.bincount(torch.cat([kept["user"], kept["group"]], 1)[1], minlength=data.num_items).float()
    users, members = served_users(fitted, padded_members(data.memberships, data.num_groups), popularity)
    rankings: dict[str, tuple[str, Optional[Scorer]]] = {"user": ("user", users),
                                                         "group": ("group", fitted.scorer("group"))}
    if users is not None:
        if rankings["group"][1] is None:
            rankings["group"] = ("group", MemberScorer("average", users, members, data.num_items))
        if fitted.personal:
            rankings |= {f"group {strategy}": ("group", MemberScorer(strategy, users, members, data.num_items))
                         for strategy in strategies}
    offsets: dict[str, float] = {}
    sweep: dict[str, dict[str, float]] = {}
    for name, (side, score) in rankings.items():
        if score is None or not held[side].size(1):
            offsets[name] = -math.inf
            continue
        found = validation_ndcg(score, held[side], kept[side], data.num_items, OFFSETS, ks, seed)
        offsets[name] = max(found, key=lambda c: (found[c], -OFFSETS.index(c)))
        sweep[name] = {str(c): round(v, 4) for c, v in found.items()}
    return offsets, sweep
