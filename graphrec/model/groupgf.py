r"""Group-GF (Kim et al., WWW 2025): a training-free group recommender from three normalised item graphs,
as its official code (github chaehyun1/Group-GF, `model.py`, `utils.py`) computes it.

With :math:`\mathbf{R}_g` (groups x items) and :math:`\mathbf{R}_u` (users x items) the binary train
interactions and :math:`\mathbf{G}` (groups x users) the membership, each view normalises a matrix
:math:`\mathbf{X}` as :math:`\tilde{\mathbf{X}} = \mathbf{D}_r^{-1/2} \mathbf{X} \mathbf{D}_c^{-1/2}`
(row and column degrees of :math:`\mathbf{X}`, 0 for a zero degree) and keeps the item block of
:math:`\tilde{\mathbf{X}}^\top \tilde{\mathbf{X}}`:

* unified: :math:`\mathbf{X} = [\mathbf{R}_g; \mathbf{R}_u]` (groups' and users' rows stacked),
  :math:`\mathbf{P}_{uni}`;
* user-augmented: :math:`\mathbf{X} = [\mathbf{R}_u \mid \mathbf{G}^\top]`, :math:`\mathbf{P}_u`: the item block
  is :math:`\mathbf{D}_{I,u}^{-1/2} \mathbf{R}_u^\top (\mathbf{D}_{R_u} + \mathbf{D}_{groups})^{-1}
  \mathbf{R}_u \mathbf{D}_{I,u}^{-1/2}`, a user's row degree counting its items and its groups;
* group-augmented: :math:`\mathbf{X} = [\mathbf{R}_g \mid \mathbf{G}]`, :math:`\mathbf{P}_g`, a group's row
  degree counting its items and its members.

Only the item blocks are used, so the augmentation changes the row degrees and nothing else. Each
:math:`\mathbf{P}` then takes an element-wise power :math:`\bar{\mathbf{P}} = \mathbf{P}^{\circ p}` (every entry,
zeros stay zero), a polynomial filter of order 1, 2 or 3 (:func:`polynomial_filter`, the official
coefficients), and the three are mixed:

.. math::
    \mathbf{S} = (1 - \alpha - \beta)\, f_{o_u}(\bar{\mathbf{P}}_u) + \alpha\, f_{o_g}(\bar{\mathbf{P}}_g)
    + \beta\, f_{o_{uni}}(\bar{\mathbf{P}}_{uni}),
    \qquad s(g) = \mathbf{r}_g \mathbf{S}

(CAMRa2011's published settings: :math:`p = 0.9`, :math:`o_u, o_g, o_{uni} = 1, 2, 3`, :math:`\alpha = \beta =
0.3`). A group's row is its own binary train row in every view (the official code scores ``R_tr_g @ new_P``).
The method defines no user side; graphrec scores a user by the same operator, :math:`\mathbf{r}_u
\mathbf{S}` (what member aggregations and `recommend_user` read).

:math:`\mathbf{S}` is never formed. Each view's :math:`\bar{\mathbf{P}}` is kept sparse (one entry per pair of
items some row holds together, the power applied to the stored entries), and rows are filtered by sparse
products, :math:`\mathbf{Y}\bar{\mathbf{P}}`, :math:`(\mathbf{Y}\bar{\mathbf{P}})\bar{\mathbf{P}}`, ...
(`filtered_rows`): memory is the views' non-zeros plus a block of dense rows; the served weights take each item's
row of :math:`\mathbf{S}` a block of items at a time, and the eigenpairs come from ARPACK on the operator.

**Served form.** :math:`\mathbf{S}` keeps the item–item contract of `graphrec.model.item_item`,
:math:`s(\mathbf{r}) = \mathbf{r}\mathbf{S}_n + (\mathbf{r}\mathbf{A})\mathbf{B}^\top`: with :obj:`split = m`
the top-:math:`m` eigenpairs :math:`\mathbf{S}\mathbf{v} = \lambda\mathbf{v}` (largest :math:`\lambda`) move into
:math:`\mathbf{A} = \mathbf{V}_m\boldsymbol{\Lambda}_m`, :math:`\mathbf{B} = \mathbf{V}_m` (node vectors) and the
rest, :math:`\mathbf{S} - \mathbf{A}\mathbf{B}^\top`, is served as each item's :math:`n` largest weights
(`SIMILAR_vN`). The whole operator as weights would be :math:`|I|^2` relationships (59 million on CAMRa2011), so
the served form is a truncation (exact only with every weight, or with all |I| eigenpairs as vectors);
`benchmarks/groupgf_official.py --neighbours` measures what it loses (CAMRa2011, official evaluation, NDCG@5 /
@10: exact 0.4220 / 0.4869; 500 weights 0.4206 / 0.4830; 200 weights and 64 eigenpairs 0.4256 / 0.4853). The
group-augmented view needs nothing beyond the serving formula: only its item block enters the scores (the member
columns change the groups' degrees, nothing else), so it is an item–item operator like the other two views.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from graphrec.model.base import Fitted, Stored, TrainingData
from graphrec.model.item_item import ItemItemModel, binary_csr, checked_rows, degree_power
from graphrec.model.kinds import ItemItem, Spec, _served_weights, register

ORDERS = (1, 2, 3)


def item_graph(rows: sp.csr_matrix, extra_degree: np.ndarray | None = None) -> sp.csr_matrix:
    r"""The item block of :math:`\tilde{\mathbf{X}}^\top\tilde{\mathbf{X}}` for :math:`\mathbf{X} = [\mathbf{R}
    \mid \mathbf{E}]` (``float32`` CSR, :math:`|I| \times |I|`, one entry per pair of items some row holds
    together): rows' degrees :math:`|\mathbf{R}_r| +` :obj:`extra_degree` (the row sums of :math:`\mathbf{E}`;
    none: :math:`\mathbf{X} = \mathbf{R}`), items' degrees their column sums in :obj:`rows`."""
    rows = binary_csr(rows).astype(np.float64)
    row_degree = np.asarray(rows.sum(axis=1)).ravel()
    if extra_degree is not None:
        row_degree = row_degree + extra_degree
    item_degree = np.asarray(rows.sum(axis=0)).ravel()
    normalised = sp.csr_matrix(sp.diags(degree_power(row_degree, -0.5)) @ rows
                               @ sp.diags(degree_power(item_degree, -0.5)))
    graph = sp.csr_matrix(normalised.T @ normalised, dtype=np.float32)
    graph.eliminate_zeros()
    return graph


DENSE_FROM = 0.25
"""A powered view with at least this share of its |I| x |I| entries stored is kept as a dense array: then it takes
at most twice the memory of its sparse form (4 bytes an entry against 8 a stored entry), and its products with
rows run through BLAS, many times faster than a sparse product."""


def powered(graph: sp.csr_matrix, power: float) -> sp.csr_matrix | np.ndarray:
    r""":math:`\mathbf{P}^{\circ p}`: every stored (positive) entry to the power :obj:`power`; zeros stay zero.
    Sparse, or a dense ``float32`` array when at least :data:`DENSE_FROM` of the entries are stored."""
    out = graph.copy()
    if power != 1:
        out.data **= power
    if out.nnz >= DENSE_FROM * out.shape[0] * out.shape[1]:
        return out.toarray()
    return out


def filtered_rows(y: np.ndarray, p: sp.csr_matrix | np.ndarray, order: int) -> np.ndarray:
    r""":math:`\mathbf{Y} f_o(\mathbf{P})` for dense rows :math:`\mathbf{Y}` (b x |I|) and a symmetric
    :math:`\mathbf{P}` (sparse, or dense from `powered`), with the official filters of Group-GF: order 1 :math:`\mathbf{P}`, order 2
    :math:`2\mathbf{P} - \mathbf{P}^2`, order 3 :math:`\mathbf{P} + 0.01\,(-\mathbf{P}^3 + 10\mathbf{P}^2 -
    29\mathbf{P})`; :math:`\mathbf{P}^k` is never formed (:math:`k` sparse products with the rows)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    products = [np.ascontiguousarray((p @ y.T).T)]
    while len(products) < order:
        products.append(np.ascontiguousarray((p @ products[-1].T).T))
    return polynomial(products, order)


def polynomial(products: Sequence[np.ndarray], order: int) -> np.ndarray:
    r"""The filter of order :obj:`order` from :obj:`products` :math:`[\mathbf{Y}\mathbf{P}, \mathbf{Y}\mathbf{P}^2,
    \dots]` (at least :obj:`order` of them), with `filtered_rows`' coefficients."""
    if order == 1:
        return products[0]
    if order == 2:
        return 2 * products[0] - products[1]
    return products[0] + 0.01 * (-products[2] + 10 * products[1] - 29 * products[0])


def groupgf_views(users: sp.csr_matrix, groups: sp.csr_matrix, membership: sp.csr_matrix
                  ) -> list[sp.csr_matrix]:
    r"""The three views' :math:`\mathbf{P}` (user-augmented, group-augmented, unified; sparse) from the binary
    :obj:`users` and :obj:`groups` rows and the groups x users :obj:`membership`."""
    membership = binary_csr(membership)
    return [item_graph(users, np.asarray(membership.sum(axis=0)).ravel()),   # [R_u | G^T]
            item_graph(groups, np.asarray(membership.sum(axis=1)).ravel()),  # [R_g | G]
            item_graph(sp.vstack([groups, users]).tocsr())]                  # [R_g; R_u]


class GroupGF(ItemItemModel):
    r"""Group-GF's operator :math:`\mathbf{S}` (module docstring) under the item–item contract, with the
    top-:obj:`split` eigenpairs in the factors.

    Args:
        alpha (float): Weight of the group-augmented view. beta (float): of the unified view; the user-augmented
            view gets :math:`1 - \alpha - \beta`.
        power (float): Element-wise power of each view's :math:`\mathbf{P}`.
        orders (tuple): Filter orders of the user-augmented, group-augmented and unified views.
        split (int): Eigenpairs of :math:`\mathbf{S}` (largest eigenvalues) moved into the factors (0: none).
        seed (int): Seed of the eigensolver's start vector.
    """

    def __init__(self, alpha: float = 0.3, beta: float = 0.3, power: float = 0.9,
                 orders: Sequence[int] = (1, 2, 3), split: int = 0, seed: int = 0) -> None:
        if len(orders) != 3 or any(order not in ORDERS for order in orders):
            raise ValueError(f"orders must be three of {ORDERS}, not {orders!r}")
        if split < 0:
            raise ValueError("split must be >= 0")
        self.alpha, self.beta, self.power, self.orders = alpha, beta, power, tuple(orders)
        self.split, self.seed = split, seed

    def fit(self, interactions: sp.spmatrix | sp.sparray, users: sp.spmatrix | sp.sparray | None = None,
            membership: sp.spmatrix | sp.sparray | None = None) -> GroupGF:
        r"""Fits on the groups' rows :obj:`interactions`, the users' rows :obj:`users` and the groups x users
        :obj:`membership` (none: no users, no members)."""
        groups = binary_csr(interactions)
        self.num_items = groups.shape[1]
        users = sp.csr_matrix((0, self.num_items), dtype=np.float32) if users is None else binary_csr(users)
        if membership is None:
            membership = sp.csr_matrix((groups.shape[0], users.shape[0]), dtype=np.float32)
        views = groupgf_views(users, groups, membership)
        self.views = [(weight, powered(view, self.power), order) for weight, view, order
                      in zip((1 - self.alpha - self.beta, self.alpha, self.beta), views, self.orders) if weight]
        self._a = np.zeros((self.num_items, 0), dtype=np.float32)
        self._b = self._a
        if self.split:
            from scipy.sparse.linalg import LinearOperator, eigsh

            operator = LinearOperator((self.num_items, self.num_items), dtype=np.float64,
                                      matvec=lambda x: self.apply(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])
            start = np.random.default_rng(self.seed).standard_normal(self.num_items)
            values, vectors = eigsh(operator, k=self.split, which="LA", v0=start)
            order = np.argsort(-values)
            values, vectors = values[order], vectors[:, order]
            self._a = (vectors * values).astype(np.float32)
            self._b = vectors.astype(np.float32)
        return self

    def apply(self, y: np.ndarray) -> np.ndarray:
        r""":math:`\mathbf{Y}\mathbf{S}` for dense rows :math:`\mathbf{Y}` (b x |I|): the views' filtered rows,
        mixed."""
        out = np.zeros_like(y)
        for weight, p, order in self.views:
            out += weight * filtered_rows(y, p, order)
        return out

    def scores(self, rows: sp.spmatrix | sp.sparray) -> np.ndarray:
        rows = checked_rows(rows, self.num_items)
        out = np.empty(rows.shape, dtype=np.float32)
        for start in range(0, rows.shape[0], 1024):  # 1,024 dense rows at a time
            out[start:start + 1024] = self.apply(rows[start:start + 1024].toarray())
        return out

    def item_rows(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        unit = np.zeros((items.size, self.num_items), dtype=np.float32)
        unit[np.arange(items.size), items] = 1
        return self.apply(unit) - self._a[items] @ self._b.T

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        return self._a, self._b

    def __repr__(self) -> str:
        return (f"GroupGF(alpha={self.alpha}, beta={self.beta}, power={self.power}, orders={self.orders}, "
                f"split={self.split})")


# ------------------------------------------------------------------------------------------- the model kind
# (here and not in kinds.py, which this module imports; graphrec.model's __init__ imports this module, which
# registers the kind)


class GroupGFFitted(ItemItem):
    r"""Group-GF fitted, scored in its served form (`ItemItem`: each item's `neighbours` largest weights of
    :math:`\mathbf{S} - \mathbf{A}\mathbf{B}^\top` plus the vectors). A group's row is

    * its own train row :math:`\mathbf{r}_g` (Group-GF as published) when `group_weight` is None or 1, else
      :math:`a\,\mathbf{r}_g + (1 - a)` the members' mean row (as the `filter` kind's);
    * **a group without history of its own** (ad hoc): its members' mean train row, whatever `group_weight`:
      :math:`s(g) = \frac{1}{|\mathcal{M}_g|}\sum_m \mathbf{r}_m \mathbf{S}`, the members' average score, which
      is what `recommend_group` serves for it under `average`, and under `combined` (no group side: `members`).

    Served: with vectors (`split` > 0) and a `group_weight`, `recommend_group`'s `combined` serves every group
    exactly as scored here; without vectors write-back stores no `group_weight` (it needs group vectors), so a
    group with history is served by `group` (its own row: the published model) and an ad hoc one by `average`.
    """

    def __init__(self, data: TrainingData, weights: Any, a: np.ndarray, b: np.ndarray, record: dict[str, Any],
                 group_weight: float | None) -> None:
        super().__init__(GroupGFSpec.kind, data, weights, a, b, record, group_weight=group_weight)
        own = data.group_matrix()
        ad_hoc = np.diff(own.indptr) == 0
        if ad_hoc.any() and data.num_users:
            means = sp.csr_matrix(self.member_means())
            keep = sp.diags((~ad_hoc).astype(np.float32))
            mixed = self.rows["group"] if group_weight is not None else own
            self.rows["group"] = sp.csr_matrix(keep @ mixed + sp.diags(ad_hoc.astype(np.float32)) @ means)

    def stored(self) -> Stored:
        stored = super().stored()
        if stored.group_weight is None and "group" in stored.vectors:
            stored.group_weight = 1.0  # the published model: combined serves the own row, ad hoc groups members
        return stored


@register
@dataclass
class GroupGFSpec(Spec):
    r"""Group-GF (`graphrec.model.groupgf`): three normalised item graphs (user-augmented, group-augmented,
    unified), an element-wise power, polynomial filters and a mix; training free, served as item–item weights
    (each item's `neighbours` largest) plus, with `split`, vectors.

    Attributes:
        alpha: weight of the group-augmented view (0.3). beta: weight of the unified view (0.3); the
            user-augmented view gets 1 - alpha - beta. power: element-wise power of each view (0.9).
        user_order, group_order, unified_order: filter orders 1, 2 or 3 of the three views (1, 2, 3).
            The defaults are the published CAMRa2011 settings (the official `run.sh`).
        neighbours: item–item weights kept per item for serving (default 500); the evaluation scores this form.
        split: top eigenpairs of the operator served as vectors instead of weights (default 0: weights only).
        group_weight: a in [0, 1] of a group's row a r_g + (1 - a) (members' mean row); None (default) and 1:
            the group's own row, as published. Groups without history get their members' mean row always.
    """

    kind: ClassVar[str] = "groupgf"
    alpha: float = 0.3
    beta: float = 0.3
    power: float = 0.9
    user_order: int = 1
    group_order: int = 2
    unified_order: int = 3
    neighbours: int = 500
    split: int = 0
    seed: int = 0
    group_weight: float | None = None

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "power"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, not {value!r}")  # noqa: TRY004 (SpecError)
        for name in ("user_order", "group_order", "unified_order"):
            if getattr(self, name) not in ORDERS:
                raise ValueError(f"{name} must be one of {ORDERS}, not {getattr(self, name)!r}")
        for name in ("neighbours", "split", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "neighbours" else 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'neighbours' else 'non-negative'} "
                                 f"integer, not {value!r}")
        if self.group_weight is not None and (isinstance(self.group_weight, bool)
                                              or not isinstance(self.group_weight, (int, float))
                                              or not 0 <= self.group_weight <= 1):
            raise ValueError(f"group_weight must be a number in [0, 1], not {self.group_weight!r}")
        if self.group_weight not in (None, 1, 1.0) and not self.split:
            raise ValueError("group_weight below 1 needs vectors (split > 0): Cypher mixes group and member scores "
                             "only for models with vectors")

    def build(self) -> GroupGF:
        return GroupGF(self.alpha, self.beta, self.power, (self.user_order, self.group_order, self.unified_order),
                       self.split, self.seed)

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        started = time.perf_counter()
        members = data.memberships.numpy()
        membership = sp.csr_matrix((np.ones(members.shape[1], dtype=np.float32), (members[1], members[0])),
                                   shape=(data.num_groups, data.num_users))
        model = self.build().fit(data.group_matrix(), data.user_matrix(), membership)
        operator_seconds = time.perf_counter() - started
        weights = _served_weights(model, min(self.neighbours, data.num_items - 1))
        a, b = model.factors()
        record = {"seconds": time.perf_counter() - started, "operator_seconds": operator_seconds,
                  "model": repr(model), "neighbours": int(weights.nnz)}
        return GroupGFFitted(data, weights, a, b, record, self.group_weight)
