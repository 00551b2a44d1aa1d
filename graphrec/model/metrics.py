r"""Full-ranking top-:math:`K` evaluation, as in LightGCN's official code.

Every user with at least one test item is scored against all items,
:math:`s_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`; the user's training items are
excluded (score :math:`-\infty`) and the :math:`K` best remaining items
:math:`r_1, \dots, r_K` are compared with the user's test items :math:`T_u`:

.. math::
    \mathrm{Recall@K} = \frac{|\{r_k\} \cap T_u|}{|T_u|}, \quad
    \mathrm{Precision@K} = \frac{|\{r_k\} \cap T_u|}{K}, \quad
    \mathrm{HR@K} = [\{r_k\} \cap T_u \neq \emptyset],

.. math::
    \mathrm{NDCG@K} = \frac{\sum_{k=1}^{K} [r_k \in T_u] / \log_2(k + 1)}
    {\sum_{k=1}^{\min(|T_u|, K)} 1 / \log_2(k + 1)},

each averaged over those users.
"""
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from graphrec.model.base import Scorer

METRICS = ("recall", "ndcg", "precision", "hr")

CHUNK_CELLS = 1 << 22
"""Scores computed at once, at most (rows x items; 16 MB of float32): a chunk's rows are
`min(chunk_size, CHUNK_CELLS // num_items)`, so the chunk stays in the caches and under glibc's 32 MB ceiling
for fresh mappings (a larger one is mapped anew, and zero-filled by the kernel, every chunk). On Gowalla's 10x
expansion (163,924 items) 256 rows a chunk cost 3.8 ns a score and 32 rows 2.4 ns."""


def chunk_rows(chunk_size: int, num_items: int) -> int:
    """Rows of a chunk of `num_items` scores each: at most `chunk_size`, at most `CHUNK_CELLS` scores, at least 1."""
    return max(1, min(chunk_size, CHUNK_CELLS // max(num_items, 1)))


def _keys(interactions: Tensor, num_items: int) -> Tensor:
    r"""Sorted distinct keys :math:`u |I| + i` of :obj:`(2, E)`
    interactions."""
    return torch.unique(interactions[0].long() * num_items + interactions[1].long())


def _select_rows(keys: Tensor, num_items: int, users: Tensor) -> tuple[Tensor, Tensor]:
    r"""Returns :obj:`(row, item)` of the interactions of :obj:`users`
    (:obj:`row` indexes :obj:`users`), given sorted keys."""
    start = torch.searchsorted(keys, users * num_items)
    count = torch.searchsorted(keys, (users + 1) * num_items) - start
    row = torch.repeat_interleave(torch.arange(users.numel()), count)
    first = torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    pos = torch.repeat_interleave(start, count) + torch.arange(row.numel()) - first
    return row, keys[pos] % num_items


@torch.no_grad()
def evaluate(
    user_emb: Tensor,
    item_emb: Tensor,
    train: Tensor,
    test: Tensor,
    ks: Sequence[int] = (20,),
    chunk_size: int = 2048,
) -> dict[str, float]:
    r"""Returns Recall, NDCG, Precision and HR at each :math:`K` in
    :obj:`ks`, keyed :obj:`"recall@20"` etc.

    Users are scored :obj:`chunk_size` at a time, at most :data:`CHUNK_CELLS`
    scores (one matrix product and one :func:`torch.topk` per chunk), into one
    reused buffer, which bounds the memory.

    Args:
        user_emb (torch.Tensor): Final user embeddings, shape
            :obj:`(|U|, d)`.
        item_emb (torch.Tensor): Final item embeddings, shape
            :obj:`(|I|, d)`.
        train (torch.Tensor): Training interactions to exclude, shape
            :obj:`(2, E)`: user ids in row 0, item ids in row 1.
        test (torch.Tensor): Test interactions, same layout.
        ks (sequence of int, optional): The cut-offs :math:`K`.
            (default: :obj:`(20,)`)
        chunk_size (int, optional): Users scored at once.
            (default: :obj:`2048`)
    """
    users = torch.unique(test[0])
    chunk_size = chunk_rows(chunk_size, item_emb.size(0))
    buffer = item_emb.new_empty(min(chunk_size, users.numel()), item_emb.size(0))

    def score(chunk: Tensor) -> Tensor:
        # Reused: a fresh chunk-sized allocation per chunk doubles the matmul time
        # (the kernel zero-fills new pages on first touch).
        return torch.mm(user_emb[chunk], item_emb.T, out=buffer[: chunk.numel()])

    return rank_metrics(score, item_emb.size(0), train, test, ks, chunk_size)


@torch.no_grad()
def rank_metrics(
    score: Callable[[Tensor], Tensor],
    num_items: int,
    train: Tensor,
    test: Tensor,
    ks: Sequence[int] = (20,),
    chunk_size: int = 2048,
) -> dict[str, float]:
    r"""The metrics of :func:`evaluate` for any scoring function:
    :obj:`score(sources)` returns the :obj:`(len(sources), num_items)` scores
    of a chunk of at most :obj:`chunk_size` sources (it may be overwritten).
    Ties between scores are broken by :func:`torch.topk`. The means of
    :func:`per_source_metrics`."""
    found = per_source_metrics(score, num_items, train, test, ks, chunk_size)
    return {name: values.mean().item() if values.numel() else 0.0 for name, values in found.items()}


@torch.no_grad()
def per_source_metrics(
    score: Callable[[Tensor], Tensor],
    num_items: int,
    train: Tensor,
    test: Tensor,
    ks: Sequence[int] = (20,),
    chunk_size: int = 2048,
) -> dict[str, Tensor]:
    r"""The metrics of :func:`rank_metrics` for each source with a test item
    (sources in increasing order; ``float64``), keyed :obj:`"recall@20"` etc.:
    :func:`hit_metrics` of the :func:`top_items` lists."""
    ks = _checked(ks, num_items)
    sources = torch.unique(test[0])
    return hit_metrics(top_items(score, num_items, train, sources, ks[-1], chunk_size), sources, test, num_items, ks)


@torch.no_grad()
def top_items(score: Callable[[Tensor], Tensor], num_items: int, known: Tensor, sources: Tensor, k: int,
              chunk_size: int = 256) -> Tensor:
    r""":obj:`(len(sources), min(k, num_items))` item indices: each source's
    best items by :obj:`score(chunk)` (the :obj:`(len(chunk), num_items)`
    scores of at most :func:`chunk_rows` sources; it may be overwritten), its
    :obj:`known` :obj:`(2, E)` [source, item] pairs excluded (score
    :math:`-\infty`), ties broken by :func:`torch.topk`. The known pairs are
    sorted once and each chunk finds its own by binary search, so a chunk
    costs its sources' items, not :math:`E`. Sources may come in any order."""
    keys = _keys(known, num_items)
    k = min(k, num_items)
    lists = [torch.empty(0, k, dtype=torch.long)]
    for chunk in sources.split(chunk_rows(chunk_size, num_items)):
        scores = score(chunk)
        scores[_select_rows(keys, num_items, chunk)] = float("-inf")
        lists.append(scores.topk(k, dim=1).indices)
    return torch.cat(lists)


def hit_metrics(top: Tensor, sources: Tensor, test: Tensor, num_items: int, ks: Sequence[int] = (20,)
                ) -> dict[str, Tensor]:
    r"""Recall, NDCG, Precision and HR at each :math:`K` of :obj:`ks` (module
    docstring) of each row of :obj:`top`, the ranked :obj:`(S, >= max K)` item
    lists of :obj:`sources` (each with at least one pair in :obj:`test`,
    :obj:`(2, E)` [source, item]); ``float64`` tensors keyed
    :obj:`"recall@20"` etc."""
    ks = _checked(ks, num_items)
    test_keys = _keys(test, num_items)
    first = torch.searchsorted(test_keys, sources * num_items)
    num_test = torch.searchsorted(test_keys, (sources + 1) * num_items) - first
    query = sources.unsqueeze(1) * num_items + top[:, :ks[-1]]
    pos = torch.searchsorted(test_keys, query).clamp_(max=test_keys.numel() - 1)
    hits = (test_keys[pos] == query).double()
    discount = 1.0 / torch.log2(torch.arange(2, ks[-1] + 2, dtype=torch.float64))
    ideal_dcg = torch.cumsum(discount, 0)
    found = {}
    for k in ks:
        num_hits = hits[:, :k].sum(1)
        found |= {f"recall@{k}": num_hits / num_test,
                  f"ndcg@{k}": (hits[:, :k] @ discount[:k]) / ideal_dcg[num_test.clamp(max=k) - 1],
                  f"precision@{k}": num_hits / k, f"hr@{k}": (num_hits > 0).double()}
    return {f"{name}@{k}": found[f"{name}@{k}"] for name in METRICS for k in ks}


def _checked(ks: Sequence[int], num_items: int) -> list[int]:
    """The distinct cut-offs, ascending; ValueError unless each is in [1, num_items]."""
    ks = sorted(set(ks))
    if not ks or not 1 <= ks[0] <= ks[-1] <= num_items:
        raise ValueError(f"every K must be in [1, {num_items}]")
    return ks


def full_per_source(score: Scorer, num_items: int, known: Tensor, test: Tensor, ks: Sequence[int] = (10, 20),
                    chunk_size: int = 256) -> dict[str, Tensor]:
    """Recall, NDCG, Precision and HR @K by full ranking of each source with a test item (increasing source id),
    the `known` (2, E) interactions excluded."""
    return per_source_metrics(lambda sources: score(sources, None), num_items, known, test, ks, chunk_size)


def full_metrics(score: Scorer, num_items: int, known: Tensor, test: Tensor, ks: Sequence[int] = (10, 20),
                 chunk_size: int = 256) -> dict[str, float]:
    """The means of `full_per_source` over the sources."""
    return {name: values.mean().item() if values.numel() else 0.0
            for name, values in full_per_source(score, num_items, known, test, ks, chunk_size).items()}
