r"""The two evaluation protocols, for any scoring function.

**Sampled leave-one-out** (AGREE, SIGIR 2018, and its successors): every test row (a source, user or group,
and its held-out item :math:`t`) is ranked against its own list of negatives :math:`N` (100 by default), so
among :math:`1 + |N|` candidates. Ties are broken **pessimistically**: the held-out item ranks below every
negative with a score at least its own, so its 0-based rank is

.. math::
    r = |\{ j \in N : s_j \geq s_t \}|, \qquad
    \mathrm{HR@K} = [r < K], \qquad
    \mathrm{NDCG@K} = \frac{[r < K]}{\log_2(r + 2)},

each averaged over the test rows. The negatives are those stored on the test row (loaded from the
benchmark's negative files) when it has any, otherwise :math:`|N|` distinct items drawn uniformly, with a
fixed seed, from the items the source has no interaction with in any split.

**Full ranking**: :func:`graphrec.model.metrics.rank_metrics` (Recall, NDCG, Precision, HR @K over every
item, the source's known items excluded).

A scorer is a callable ``score(sources, items)``: :obj:`sources` a :obj:`(B,)` long tensor, :obj:`items`
either a :obj:`(B, C)` long tensor of candidates per source (scores of shape :obj:`(B, C)`) or :obj:`None`
for every item (shape :obj:`(B, |I|)`).
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from graphrec.model.base import Scorer
from graphrec.model.metrics import _keys, _select_rows

DEFAULT_NEGATIVES = 100
DEFAULT_SEED = 2018
PROTOCOLS = ("sampled", "full")
KNOWN_ITEMS = ("as_is", "exclude", "auto")
VARIANTS = ("reference", "leak_free")
TASKS = ("group", "user", "both")


@dataclass
class EvalConfig:
    """The `[evaluate]` table of a run configuration.

    Attributes:
        protocol: `sampled` (default; leave-one-out against negatives) or `full` (full ranking).
        task: `group`, `user` or `both` (default; a task without test interactions is reported as such).
        ks: cut-offs of the sampled protocol, (5, 10). full_ks: of the full protocol, (10, 20).
        num_negatives: negatives drawn for a test row without stored ones, 100. seed: of that draw and of
        a hold-out for early stopping, 2018. fairness_k: length of the group lists judged for fairness
        (full protocol), 10. strategies: member aggregations evaluated on the group task over every model
        with a user side (default all four of `graphrec.evaluation.scorers.STRATEGIES`; `[]` for none).
        diversity_k: length of the lists whose intra-list diversity and catalogue coverage every row reports
        (`graphrec.evaluation.diversity`), 10. diversity: MMR weights lambda in (0, 1]: each gives every model
        with item vectors one more row per method, `<method> mmr<lambda>`, its ranking re-ranked by MMR
        (default none). diversity_by: the vectors MMR compares, 'graph' (default) or 'text'.
        variant: `reference` (default: as the benchmarks' reference code, models are trained on every train
        interaction, also on a pair that is a test case) or `leak_free` (the pairs of test cases are removed from
        the training interactions).
        known_items: how the sampled protocol ranks a source's known items (train interactions) among the
        candidates (`graphrec.evaluation.known`): `as_is` (default: by the model's scores), `exclude` (below
        every new item, as served), a number c (shifted by c times the candidates' largest absolute score) or
        `auto` (c chosen per model and ranking on a validation split held out from train).
    """

    protocol: str = "sampled"
    task: str = "both"
    ks: tuple[int, ...] = (5, 10)
    full_ks: tuple[int, ...] = (10, 20)
    num_negatives: int = DEFAULT_NEGATIVES
    seed: int = DEFAULT_SEED
    fairness_k: int = 10
    strategies: tuple[str, ...] = ("average", "least_misery", "most_pleasure", "borda")
    diversity_k: int = 10
    diversity: tuple[float, ...] = ()
    diversity_by: str = "graph"
    variant: str = "reference"
    known_items: str | float = "as_is"

    def __post_init__(self) -> None:
        self.ks, self.full_ks, self.strategies = tuple(self.ks), tuple(self.full_ks), tuple(self.strategies)
        self.diversity = tuple(self.diversity)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 1 for x in self.diversity):
            raise ValueError(f"diversity holds MMR weights in (0, 1], not {list(self.diversity)}")
        if self.diversity_by not in ("graph", "text"):
            raise ValueError(f"diversity_by must be 'graph' or 'text', not {self.diversity_by!r}")
        if isinstance(self.diversity_k, bool) or not isinstance(self.diversity_k, int) or self.diversity_k < 2:
            raise ValueError(f"diversity_k must be an integer >= 2, not {self.diversity_k!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, not {self.protocol!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {self.task!r}")
        if isinstance(self.known_items, bool) or not (
                self.known_items in KNOWN_ITEMS
                or isinstance(self.known_items, (int, float)) and -1e6 <= self.known_items <= 1e6):
            raise ValueError(f"known_items must be one of {KNOWN_ITEMS} or a finite number, "
                             f"not {self.known_items!r}")
        unknown = set(self.strategies) - {"average", "least_misery", "most_pleasure", "borda"}
        if unknown:
            raise ValueError(f"unknown strategies {sorted(unknown)}")

    def tasks(self) -> tuple[str, ...]:
        return ("group", "user") if self.task == "both" else (self.task,)


@dataclass
class Candidates:
    """The candidate lists of the sampled protocol: `items[r, 0]` is test row r's held-out item, the rest of
    the row its negatives (-1 pads a shorter list); `sources[r]` its user or group; `stored` and `sampled`
    count the rows whose negatives were loaded and drawn."""

    sources: Tensor
    items: Tensor
    stored: int
    sampled: int
    seed: int

    def describe(self) -> str:
        return (f"{self.stored} test rows with stored negatives, {self.sampled} with negatives sampled "
                f"(seed {self.seed})")


def sampled_candidates(
    test: Tensor,
    stored: Optional[Tensor],
    known: Tensor,
    num_items: int,
    num_negatives: int = DEFAULT_NEGATIVES,
    seed: int = DEFAULT_SEED,
    chunk_size: int = 1024,
) -> Candidates:
    r"""The candidates of every test row.

    Args:
        test (torch.Tensor): :obj:`(2, E)` [source, held-out item].
        stored (torch.Tensor, optional): :obj:`(E, L)` stored negatives per row (item indices, -1 padded),
            or :obj:`None`.
        known (torch.Tensor): :obj:`(2, K)` every interaction of these sources, all splits: never sampled.
        num_items (int): :math:`|I|`.
        num_negatives (int, optional): Negatives drawn for a row without stored ones; fewer (the rest -1)
            when the source has fewer unknown items. (default: :obj:`100`)
        seed (int, optional): Seed of the draw. (default: :obj:`2018`)
        chunk_size (int, optional): Rows drawn at once (memory :obj:`chunk_size * num_items`).
    """
    rows = test.size(1)
    stored = stored if stored is not None and stored.numel() else torch.full((rows, 0), -1, dtype=torch.long)
    has_stored = (stored >= 0).any(1)
    width = max(stored.size(1), num_negatives)
    negatives = torch.full((rows, width), -1, dtype=torch.long)
    negatives[:, : stored.size(1)] = stored
    missing = (~has_stored).nonzero().squeeze(1)
    generator = torch.Generator().manual_seed(seed)
    known_keys = _keys(known, num_items)
    for chunk in missing.split(chunk_size):
        draw = torch.rand(chunk.numel(), num_items, generator=generator)
        row, item = _select_rows(known_keys, num_items, test[0, chunk])
        draw[row, item] = 2.0  # never drawn
        values, items = draw.topk(min(num_negatives, num_items), dim=1, largest=False)
        negatives[chunk, : items.size(1)] = torch.where(values < 2.0, items, -1)
    return Candidates(test[0].long(), torch.cat([test[1].long().unsqueeze(1), negatives], 1),
                      int(has_stored.sum()), int(missing.numel()), seed)


def pessimistic_ranks(scores: Tensor, valid: Tensor) -> Tensor:
    r"""0-based rank of column 0 among the valid columns of each row of :obj:`scores`, every other valid
    column with a score :math:`\geq` its own ranked above it."""
    return ((scores[:, 1:] >= scores[:, :1]) & valid[:, 1:]).sum(1)


def sampled_ranks(score: Scorer, candidates: Candidates, chunk_size: int = 1024) -> Tensor:
    r"""The 0-based pessimistic rank (:func:`pessimistic_ranks`) of each case's held-out item among its
    candidates, in case order."""
    ranks = [torch.zeros(0, dtype=torch.long)]
    for sources, items in zip(candidates.sources.split(chunk_size), candidates.items.split(chunk_size)):
        ranks.append(pessimistic_ranks(score(sources, items.clamp(min=0)), items >= 0))
    return torch.cat(ranks)


def sampled_metrics(score: Scorer, candidates: Candidates, ks: Sequence[int] = (5, 10),
                    chunk_size: int = 1024) -> dict[str, float]:
    r"""HR@K and NDCG@K of the sampled protocol (module docstring), keyed :obj:`"hr@5"` etc."""
    return ranks_to_metrics(sampled_ranks(score, candidates, chunk_size), ks)


def ndcg_per_case(ranks: Tensor, k: int) -> Tensor:
    r"""NDCG@k of each case from the 0-based rank of its single held-out item: :math:`1 / \log_2(r + 2)` when
    :math:`r < k`, else 0 (``float64``)."""
    return torch.where(ranks < k, 1.0 / torch.log2(ranks.double() + 2), torch.zeros((), dtype=torch.float64))


def ranks_to_metrics(ranks: Tensor, ks: Sequence[int]) -> dict[str, float]:
    """HR@K and NDCG@K of 0-based ranks, averaged (0.0 for no rows)."""
    ks = sorted(set(ks))
    if not ranks.numel():
        return {f"{name}@{k}": 0.0 for name in ("hr", "ndcg") for k in ks}
    return {**{f"hr@{k}": (ranks < k).double().mean().item() for k in ks},
            **{f"ndcg@{k}": ndcg_per_case(ranks, k).mean().item() for k in ks}}
