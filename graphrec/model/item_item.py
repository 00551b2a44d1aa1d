r"""The item–item contract of the training-free models, and serving it from a graph.

Every model here scores a binary interaction row :math:`\mathbf{r}` (:math:`1 \times |I|`) in one shape,

.. math::
    s(\mathbf{r}) = \mathbf{r} \mathbf{S} + (\mathbf{r} \mathbf{A}) \mathbf{B}^\top,

with :math:`\mathbf{S}` an item-item operator (applied to dense blocks of rows by sparse products with
:math:`\tilde{\mathbf{R}}` and :math:`\tilde{\mathbf{R}}^\top`; the :math:`|I| \times |I|` matrix is never formed)
and :math:`\mathbf{A}, \mathbf{B}` dense :math:`|I| \times k` factors. :math:`\mathbf{S}`, :math:`\mathbf{A}`,
:math:`\mathbf{B}` depend on the train graph only, so any row scores without refitting, a user absent from
:math:`\mathbf{R}` included (fold-in). Served from a graph database, item :math:`j`'s row of :math:`\mathbf{S}`
becomes weighted relationships :math:`j \to i` (:func:`top_neighbours` keeps the :math:`n` largest) and
:math:`\mathbf{A}_j`, :math:`\mathbf{B}_i` node vectors:
:math:`s(u, i) = \sum_{j \in N(u)} w_{ji} + (\sum_{j \in N(u)} \mathbf{A}_j)^\top \mathbf{B}_i`
(:func:`truncated_scores`).

The graph filters (`graphrec.model.filters`) and item-kNN (`graphrec.model.itemknn`) keep it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphrec.model.metrics import rank_metrics
from graphrec.progress import progress_bar


def binary_csr(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    r"""The sparsity pattern of :obj:`matrix` as a ``float32`` CSR matrix of ones (duplicates and weights
    count once; explicit zeros are dropped)."""
    matrix = sp.csr_matrix(matrix, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.data = np.ones_like(matrix.data, dtype=np.float32)
    return matrix.astype(np.float32)


def degree_power(degree: np.ndarray, power: float) -> np.ndarray:
    r""":math:`d^{p}` elementwise in ``float64``, 0 where :math:`d = 0` (whatever the sign of :math:`p`)."""
    degree = np.asarray(degree, dtype=np.float64)
    out = np.zeros_like(degree)
    positive = degree > 0
    out[positive] = degree[positive] ** power
    return out


def checked_rows(rows: sp.spmatrix | sp.sparray, num_items: int) -> sp.csr_matrix:
    r"""Interaction rows as :func:`binary_csr`, an error unless they have :obj:`num_items` columns."""
    if rows.shape[1] != num_items:
        raise ValueError(f"rows have {rows.shape[1]} columns, the model {num_items} items")
    return binary_csr(rows)


def interaction_columns(rows: sp.spmatrix | sp.sparray, num_items: int) -> Tensor:
    r""":math:`\mathbf{X}^\top` of binary rows :math:`\mathbf{X}` (:math:`b \times |I|`) as a dense
    ``float32`` :math:`|I| \times b` tensor."""
    rows = checked_rows(rows, num_items)
    columns = torch.zeros(num_items, rows.shape[0])
    row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    columns[torch.from_numpy(rows.indices.astype(np.int64)), torch.from_numpy(row_of_entry)] = 1.0
    return columns


class ItemItemModel(ABC):
    r"""The contract every model of this module keeps:
    :math:`s(\mathbf{r}) = \mathbf{r}\mathbf{S} + (\mathbf{r}\mathbf{A})\mathbf{B}^\top`, for any binary rows.

    Attributes:
        num_items (int): :math:`|I|`, set by :meth:`fit`.
    """

    num_items: int

    @abstractmethod
    def fit(self, interactions: sp.spmatrix | sp.sparray) -> ItemItemModel:
        r"""Fits on the :math:`|U| \times |I|` train interactions (any sparse matrix; its pattern is
        :math:`\mathbf{R}`). Returns the model."""

    @abstractmethod
    def scores(self, rows: sp.spmatrix | sp.sparray) -> np.ndarray:
        r"""The exact scores :math:`\mathbf{X}\mathbf{S} + (\mathbf{X}\mathbf{A})\mathbf{B}^\top`
        (``float32``, :math:`b \times |I|`) of :math:`b` interaction rows :math:`\mathbf{X}` (a sparse
        :math:`b \times |I|` matrix, binarised), users of the train graph or not."""

    @abstractmethod
    def item_rows(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        r"""Rows :obj:`items` of :math:`\mathbf{S}` as a dense ``float32`` array
        (:obj:`len(items)` :math:`\times |I|`)."""

    @abstractmethod
    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The low-rank factors :math:`(\mathbf{A}, \mathbf{B})`, ``float32`` :math:`|I| \times k` each
        (:math:`k = 0` for a model without them)."""

    def sparse_rows(self, items: np.ndarray) -> sp.csr_matrix | None:
        r"""Rows :obj:`items` of :math:`\mathbf{S}` as a sparse matrix, for a model whose :math:`\mathbf{S}` is
        sparse and non-negative (:func:`top_neighbours` then never forms a dense row); None (the default)
        otherwise."""
        return None


def top_neighbours(model: ItemItemModel, n: int, block_size: int = 1024, *,
                   low_rank: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Each item's :math:`n` largest entries of its row of :math:`\mathbf{S}` (with :obj:`low_rank`, of the
    whole filter :math:`\mathbf{S} + \mathbf{A}\mathbf{B}^\top`), itself left out (the diagonal
    never changes a ranking: a user's own items are never recommended), computed :obj:`block_size` rows at a
    time (a progress bar per block).

    A model with :meth:`~ItemItemModel.sparse_rows` (and no low-rank part to add) is read from its sparse rows
    (:func:`top_of_sparse`): the cost is its non-zeros, not :math:`|I|^2`. Any other model's rows come dense,
    :obj:`block_size` :math:`\times |I|` floats at once.

    Returns :obj:`(indices, weights)`, ``int32`` and ``float32`` arrays of shape :math:`|I| \times n`, each
    row by decreasing weight (entries of weight 0 carry nothing and may be dropped).

    Args:
        model: A fitted model of this module.
        n (int): Neighbours per item, in :math:`[1, |I| - 1]`.
        block_size (int, optional): Rows of :math:`\mathbf{S}` computed at once. (default: :obj:`1024`)
        low_rank (bool, optional): Add the low-rank part to the rows first. (default: :obj:`False`)
    """
    num_items = model.num_items
    a, b = model.factors() if low_rank else (None, None)
    if not 1 <= n < num_items:
        raise ValueError(f"n must be in [1, {num_items - 1}], got {n}")
    indices = np.empty((num_items, n), dtype=np.int32)
    weights = np.empty((num_items, n), dtype=np.float32)
    for start in progress_bar(range(0, num_items, block_size), desc=f"top-{n} neighbours", unit="block"):
        items = np.arange(start, min(start + block_size, num_items))
        sparse = model.sparse_rows(items) if a is None or not a.shape[1] else None
        if sparse is not None:
            indices[items], weights[items] = top_of_sparse(sparse, items, n)
            continue
        rows = model.item_rows(items)
        if a is not None and a.shape[1]:
            rows += a[items] @ b.T
        rows[np.arange(items.size), items] = -np.inf
        top = np.argpartition(rows, num_items - n, axis=1)[:, num_items - n:]
        values = np.take_along_axis(rows, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        indices[items] = np.take_along_axis(top, order, axis=1)
        weights[items] = np.take_along_axis(values, order, axis=1)
    return indices, weights


def top_of_sparse(rows: sp.csr_matrix, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The :math:`n` largest entries of each row of a sparse, non-negative block (row :math:`r` is item
    :obj:`items[r]`'s; that item's own column is left out), in the format of :func:`top_neighbours`:
    ``int32`` indices and ``float32`` weights, :obj:`len(items)` :math:`\times n`, by decreasing weight (equal
    weights by column). A row with fewer than :math:`n` positive entries is filled with weight 0 at the
    lowest columns where its row is 0 (never its own), as a dense row's zeros would be. Sorts the block's
    entries (:math:`O(\mathrm{nnz} \log \mathrm{nnz})`) and touches :math:`O(\mathrm{rows} \cdot n)` more."""
    rows = sp.csr_matrix(rows)
    rows.sum_duplicates()
    count, num_items = rows.shape
    row_of = np.repeat(np.arange(count), np.diff(rows.indptr))
    keep = (rows.data > 0) & (rows.indices != items[row_of])
    row_of, columns, data = row_of[keep], rows.indices[keep].astype(np.int64), rows.data[keep]
    order = np.lexsort((columns, -data, row_of))  # by row, then decreasing weight, then column
    row_of, columns, data = row_of[order], columns[order], data[order]
    held = np.bincount(row_of, minlength=count)
    rank = np.arange(row_of.size) - np.repeat(np.cumsum(held) - held, held)
    taken = rank < n
    indices = np.full((count, n), -1, dtype=np.int64)
    weights = np.zeros((count, n), dtype=np.float32)
    indices[row_of[taken], rank[taken]] = columns[taken]
    weights[row_of[taken], rank[taken]] = data[taken]
    short = np.flatnonzero(held < n)
    if short.size:  # fill: a short row holds all its positive entries, so its free columns are its zeros
        width = min(2 * n + 1, num_items)  # at most n - 1 held and the item itself: n free among them
        used = np.zeros((count, width), dtype=bool)
        low = taken & (columns < width)
        used[row_of[low], columns[low]] = True
        used[items < width, items[items < width]] = True
        used = used[short]
        free_rank = np.cumsum(~used, axis=1) - 1
        need = n - held[short]
        where = ~used & (free_rank < need[:, None])
        fill_row, fill_column = np.nonzero(where)
        indices[short[fill_row], held[short][fill_row] + free_rank[where]] = fill_column
    return indices.astype(np.int32), weights


def neighbour_matrix(indices: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    r"""The :math:`|I| \times |I|` CSR matrix with :obj:`weights[j, t]` at :obj:`(j, indices[j, t])`."""
    num_items, n = indices.shape
    return sp.csr_matrix((weights.ravel(), indices.ravel(), np.arange(0, num_items * n + 1, n)),
                         shape=(num_items, num_items))


def truncated_scores(rows: sp.spmatrix | sp.sparray, neighbours: tuple[np.ndarray, np.ndarray], a: np.ndarray,
                     b: np.ndarray) -> np.ndarray:
    r"""The served form's scores :math:`\mathbf{X}\mathbf{S}_n + (\mathbf{X}\mathbf{A})\mathbf{B}^\top`
    (``float32``, :math:`b \times |I|`), :math:`\mathbf{S}_n` the :obj:`neighbours` (:func:`top_neighbours`)
    as a sparse matrix: :math:`s(u, i) = \sum_{j \in N(u)} w_{ji} + (\sum_{j \in N(u)} \mathbf{A}_j)^\top
    \mathbf{B}_i` for binary rows :math:`\mathbf{X}`."""
    rows = checked_rows(rows, a.shape[0])
    out = (rows @ neighbour_matrix(*neighbours)).toarray().astype(np.float32)
    out += (rows @ a) @ b.T
    return out


def row_metrics(score_rows: Callable[[sp.csr_matrix], np.ndarray], train: sp.csr_matrix, test: sp.csr_matrix,
                ks: Sequence[int] = (20,), chunk_size: int = 1024) -> dict[str, float]:
    r"""Full-ranking metrics (:func:`graphrec.model.metrics.rank_metrics`: train items excluded, users with a
    test item) of a scorer of interaction rows: each test user :math:`u` is scored as
    :obj:`score_rows(train[u])`."""
    pairs = [torch.from_numpy(np.vstack(matrix.nonzero()).astype(np.int64)) for matrix in (train, test)]

    def score(users: Tensor) -> Tensor:
        return torch.from_numpy(score_rows(train[users.numpy()]))

    return rank_metrics(score, train.shape[1], pairs[0], pairs[1], ks, chunk_size)
