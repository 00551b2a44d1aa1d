r"""Diversity: MMR re-ranking, intra-list diversity and catalogue coverage.

**MMR** (maximal marginal relevance, Carbonell & Goldstein, SIGIR 1998), as served by ``recommend_user`` and
``recommend_group`` with ``$diversity`` :math:`\lambda`: from the pool :math:`P` of the :math:`3k` best items
(:data:`POOL_FACTOR`), pick :math:`k` greedily, each time the item

.. math::
    \arg\max_{i \in P \setminus S} \; (1 - \lambda)\, \frac{s_i - s_{\min}}{s_{\max} - s_{\min}}
    \; - \; \lambda \max_{j \in S} \cos(\mathbf{x}_i, \mathbf{x}_j)

(:math:`S` the items picked so far, the max 0 while it is empty; :math:`s_{\min}, s_{\max}` over the pool,
relevance 1 when they are equal; :math:`\mathbf{x}` the model's item vectors or the items' text vectors; a
missing or zero vector counts cosine 0); ties go to the better-ranked item. :math:`\lambda = 0` keeps the
ranking as it is. :func:`mmr_order` is the offline model (what the evaluation scores); serving's MMR lives in one
place, the function ``graphrec.mmr`` of graphrec's procedures jar (``graphrec/db/server/procedures/Mmr.java``),
which both Cypher files call and which computes the same in float64 (tests/test_recommend.py checks it against
:func:`mmr_order`).

**Intra-list diversity** of a list: the mean over its pairs of :math:`1 - \cos` of the items' co-occurrence
vectors (their columns of the binary train matrix, users' and groups' rows): model-independent, so every row of
a report is measured alike. **Coverage**: the share of the catalogue that appears in some list.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphrec.model.base import Scorer
from graphrec.model.metrics import _keys, _select_rows

POOL_FACTOR = 3
"""MMR picks k items from the POOL_FACTOR * k best."""


def mmr_order(scores: Tensor, vectors: Tensor, k: int, lam: float) -> Tensor:
    """The positions (into `scores`, a (n,) tensor ranked or not) of the `k` items MMR picks, in order, from
    every given item (the caller passes the pool); `vectors` (n, d). Ties in the objective go to the higher
    score, then to the lower position."""
    n = scores.numel()
    order = torch.argsort(-scores, stable=True)
    scores, vectors = scores[order].double(), vectors[order].double()
    low, high = scores.min(), scores.max()
    relevance = (scores - low) / (high - low) if high > low else torch.ones_like(scores)
    norms = vectors.norm(dim=1, keepdim=True)
    unit = torch.where(norms > 0, vectors / norms.clamp(min=1e-300), torch.zeros_like(vectors))
    similarity = unit @ unit.T
    closest = torch.zeros(n, dtype=torch.float64)
    left = torch.ones(n, dtype=torch.bool)
    picked: list[int] = []
    for step in range(min(k, n)):
        value = (1 - lam) * relevance - (lam * closest if step else 0.0)
        value = torch.where(left, value, torch.tensor(float("-inf"), dtype=torch.float64))
        best = int(torch.argmax(value))  # the first maximum: the better-ranked item
        picked.append(best)
        left[best] = False
        closest = torch.maximum(closest, similarity[best]) if step else similarity[best].clone()
    return order[torch.tensor(picked, dtype=torch.long)]


class MMRScorer:
    """A scorer whose ranking is `base`'s re-ranked by MMR: in each row, the `k` items MMR picks from the
    `POOL_FACTOR * k` best get scores above every other item, in their MMR order; the rest keep theirs. With
    `seen` (2, E) [source, item], a source's seen items never enter its pool when every item is scored (as
    serving leaves them out before the pool)."""

    def __init__(self, base: Scorer, item_vectors: Tensor, lam: float, k: int, seen: Tensor | None = None) -> None:
        self.base, self.vectors, self.lam, self.k = base, item_vectors, lam, k
        self.num_items = item_vectors.size(0)
        self.seen_keys = None if seen is None or not seen.numel() else _keys(seen, self.num_items)

    def __call__(self, sources: Tensor, items: Tensor | None = None) -> Tensor:
        scores = self.base(sources, items).clone().double()
        if items is None and self.seen_keys is not None:
            scores[_select_rows(self.seen_keys, self.num_items, sources)] = float("-inf")
        pool = min(POOL_FACTOR * self.k, scores.size(1))
        columns = torch.arange(scores.size(1)).expand_as(scores) if items is None else items
        top = torch.topk(scores, pool, dim=1).indices
        for row in range(scores.size(0)):
            candidates = top[row][torch.isfinite(scores[row, top[row]])]
            if not candidates.numel():
                continue
            picked = candidates[mmr_order(scores[row, candidates], self.vectors[columns[row, candidates]],
                                          self.k, self.lam)]
            ceiling = scores[row, candidates].max()
            scores[row, picked] = ceiling + torch.arange(len(picked), 0, -1, dtype=scores.dtype)
        return scores


def item_vectors(fitted: object, by: str) -> Tensor | None:
    """The item vectors MMR compares for `fitted` (snapshot order): 'graph' its item vectors (embedding models,
    with text's changes when it has any), 'text' its items' text vectors; None when it has none."""
    if by == "text":
        text = getattr(fitted, "text", None)
        return None if text is None else torch.from_numpy(text)
    vectors = getattr(fitted, "vectors", None)
    if isinstance(vectors, dict) and vectors.get("item") is not None:
        return vectors["item"]
    items = getattr(getattr(fitted, "base", fitted), "items", None)
    return items if isinstance(items, Tensor) else None


def cooccurrence(train: Tensor, num_sources: int, num_items: int) -> sp.csr_matrix:
    """The items' unit co-occurrence vectors: rows of the binary item × source train matrix, L2-normalised."""
    matrix = sp.csr_matrix((np.ones(train.size(1)), (train[1].numpy(), train[0].numpy())),
                           shape=(num_items, num_sources))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(1)).ravel())
    return sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix


def intra_list_diversity(lists: Tensor, unit: sp.csr_matrix, budget: int = 4_000_000) -> float:
    """The mean over lists of the mean over pairs of 1 - cos (module docstring); 0.0 for lists of < 2 items.

    Each distinct item pair's cosine is computed once, in chunks of pairs whose co-occurrence rows hold at most
    about `budget` non-zeros together (memory bounded whatever the lists: on Gowalla, popularity gives every
    user the same popular items, and selecting all 1.3 M pairs' rows at once held tens of GB)."""
    k = lists.size(1)
    if k < 2 or not lists.size(0):
        return 0.0
    a, b = torch.triu_indices(k, k, 1)
    left, right = lists[:, a].reshape(-1).numpy(), lists[:, b].reshape(-1).numpy()
    low, high = np.minimum(left, right).astype(np.int64), np.maximum(left, right).astype(np.int64)
    pairs, inverse = np.unique(low * unit.shape[0] + high, return_inverse=True)
    low, high = pairs // unit.shape[0], pairs % unit.shape[0]
    lengths = np.diff(unit.indptr)
    ends = np.cumsum(lengths[low] + lengths[high])
    cosines = np.empty(len(pairs))
    start = 0
    while start < len(pairs):
        stop = max(start + 1, int(np.searchsorted(ends, (ends[start - 1] if start else 0) + budget, "right")))
        cosines[start:stop] = np.asarray(unit[low[start:stop]].multiply(unit[high[start:stop]]).sum(1)).ravel()
        start = stop
    return float(1.0 - cosines[inverse].mean())


def coverage(lists: Tensor, num_items: int) -> float:
    """The share of the `num_items` items that appear in some list."""
    return float(torch.unique(lists).numel() / num_items) if num_items else 0.0
