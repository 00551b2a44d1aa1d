r"""Item-kNN (Sarwar et al., WWW 2001; Deshpande & Karypis, TOIS 2004): the classic item-item baseline, in the
shape of :mod:`graphrec.model.filters` with :math:`\mathbf{S}` only (no factors).

With :math:`c_{ij}` the number of users who interacted with both items :math:`i` and :math:`j` and
:math:`d_i` item :math:`i`'s degree (binary :math:`\mathbf{R}`, :math:`\mathbf{C} = \mathbf{R}^\top\mathbf{R}`),

.. math::
    \mathrm{sim}(i, j) = \frac{c_{ij}}{d_i^{a} d_j^{1-a} + h}, \qquad
    S_{ij} = \mathrm{sim}(i, j)\,[j \in \mathrm{top}_n(i)],\ j \ne i,

(:math:`a = 1/2`: cosine; :math:`h`: shrinkage) and :math:`s(\mathbf{r}) = \mathbf{r}\mathbf{S}`, i.e.
:math:`s(u, i) = \sum_{j \in N(u)} S_{ji}`: every item :math:`j` of the user votes for its :math:`n` nearest
neighbours.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from graphrec.model.item_item import (ItemItemModel, binary_csr, checked_rows, degree_power, neighbour_matrix,
                                      top_of_sparse)
from graphrec.progress import progress_bar


class ItemKNN(ItemItemModel):
    r"""Item-kNN with (asymmetric) cosine similarity and shrinkage; see the module docstring.

    :math:`\mathbf{C}` is computed :obj:`block_size` item rows at a time, sparse (its non-zeros, the co-occurring
    pairs, are the cost; no dense :math:`|I|`-wide row), so the full :math:`\mathbf{R}^\top\mathbf{R}` is
    never held.

    Args:
        neighbours (int, optional): :math:`n`, neighbours kept per item. (default: :obj:`200`)
        shrink (float, optional): :math:`h`. (default: :obj:`0.0`)
        asymmetry (float, optional): :math:`a` (0.5: cosine). (default: :obj:`0.5`)
        block_size (int, optional): Item rows of :math:`\mathbf{C}` computed at once. (default: :obj:`1024`)
    """

    def __init__(self, neighbours: int = 200, shrink: float = 0.0, asymmetry: float = 0.5,
                 block_size: int = 1024) -> None:
        if neighbours < 1 or shrink < 0 or not 0 <= asymmetry <= 1:
            raise ValueError("need neighbours >= 1, shrink >= 0 and asymmetry in [0, 1]")
        self.neighbours, self.shrink, self.asymmetry, self.block_size = neighbours, shrink, asymmetry, block_size

    def fit(self, interactions: sp.spmatrix | sp.sparray) -> ItemKNN:
        interactions = binary_csr(interactions)
        self.num_items = num_items = interactions.shape[1]
        n = min(self.neighbours, num_items - 1)
        by_item = sp.csr_matrix(interactions.T)
        degree = np.diff(by_item.indptr)
        row_norm = degree_power(degree, self.asymmetry)
        column_norm = degree_power(degree, 1 - self.asymmetry)
        indices = np.empty((num_items, n), dtype=np.int32)
        weights = np.empty((num_items, n), dtype=np.float32)
        for start in progress_bar(range(0, num_items, self.block_size), desc="item-kNN", unit="block"):
            items = np.arange(start, min(start + self.block_size, num_items))
            counts = sp.csr_matrix(by_item[items] @ interactions)
            row_of = np.repeat(np.arange(items.size), np.diff(counts.indptr))
            denominator = row_norm[items][row_of] * column_norm[counts.indices] + self.shrink
            counts.data = np.divide(counts.data, denominator, out=np.zeros_like(counts.data, dtype=np.float64),
                                    where=denominator > 0)
            indices[items], weights[items] = top_of_sparse(counts, items, n)
        similarity = neighbour_matrix(indices, weights)
        similarity.eliminate_zeros()
        self.similarity = similarity
        return self

    def scores(self, rows: sp.spmatrix | sp.sparray) -> np.ndarray:
        r""":math:`\mathbf{X}\mathbf{S}` by a sparse-sparse product (the rows are short, :math:`\mathbf{S}` has
        :math:`n` entries a row)."""
        return (checked_rows(rows, self.num_items) @ self.similarity).toarray()

    def item_rows(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.similarity[np.asarray(items, dtype=np.int64)].toarray()

    def sparse_rows(self, items: np.ndarray) -> sp.csr_matrix:
        return self.similarity[np.asarray(items, dtype=np.int64)]

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        empty = np.zeros((self.num_items, 0), dtype=np.float32)
        return empty, empty.copy()

    def __repr__(self) -> str:
        return f"ItemKNN(neighbours={self.neighbours}, shrink={self.shrink}, asymmetry={self.asymmetry})"
