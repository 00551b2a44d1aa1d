r"""The one contract every recommender model keeps.

A model is fitted from the training part of a `Snapshot` (:class:`TrainingData`) and then

* scores sources against items for evaluation (:meth:`Fitted.scorer`: users, and groups when it has a
  group side), with the protocol's signature ``score(sources, items)`` (see
  :mod:`graphrec.evaluation.protocol`);
* yields its :class:`Stored` form: what write-back puts into Neo4j as a version and what the Cypher queries
  serve. Every model kind is served by one formula (``cypher/recommend_user.cypher``): the score of a source
  :math:`s` (user or group) for item :math:`i` is

  .. math::
      \mathrm{score}(s, i) = \sum_{j \in N(s)} w_{j \to i} + \mathbf{q}_s^\top \mathbf{v}_i ,

  with :math:`N(s)` the source's items, :math:`w_{j \to i}` the model's item–item weights (stored as
  ``(:Item)-[:SIMILAR_vN {weight}]->(:Item)``; none for embedding models), :math:`\mathbf{v}_i` the item
  vectors and :math:`\mathbf{q}_s` the source's query vector: stored on the node for the sources the model
  was fitted on, otherwise folded in from :math:`N(s)` by the model's ``fold_in`` rule:

  - ``"sum"``: :math:`\mathbf{q}_s = \sum_{j \in N(s)} \mathbf{a}_j` with stored fold vectors
    :math:`\mathbf{a}_j` (graph filters: exact for any set of interactions, no retraining);
  - ``"propagate"``: :math:`\mathbf{q}_s = \sum_{j \in N(s)} \mathbf{v}_j / \sqrt{|N(s)|\,|N(j)|}`, one
    LightGCN propagation step (embedding models);

  a model without vectors and weights (popularity) scores an item by its number of interactions.

A user the model has nothing for (:meth:`Fitted.unscorable_users`: no train interactions, so no stored
vector and no history) is served the most interacted-with items (``basis: popular``) and left out of its
groups' member aggregations (``unscored``; a filter's ``combined`` group score counts them as an empty
row of the members' mean); the evaluation scores such users the same way
(:mod:`graphrec.evaluation.run`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

import numpy as np
import torch
from torch import Tensor

Scorer = Callable[[Tensor, Optional[Tensor]], Tensor]
"""``score(sources, items)``: :obj:`items` a :obj:`(B, C)` candidate matrix (scores :obj:`(B, C)`) or None
for every item (scores :obj:`(B, |I|)`); :obj:`sources` a :obj:`(B,)` long tensor of snapshot indices."""

FOLD_INS = ("sum", "propagate")


@dataclass
class TrainingData:
    """What a model is fitted on: the snapshot's sizes and ids, and the interactions to learn from.

    Attributes:
        num_users, num_items, num_groups: node counts (snapshot indices are ``0 .. n - 1``).
        user_ids, item_ids, group_ids: int64 Neo4j ids by index.
        user_train, group_train: :obj:`(2, E)` [source index, item index] training interactions.
        user_valid, group_valid: held-out interactions for early stopping (may be empty).
        memberships: :obj:`(2, M)` [user index, group index].
    """

    num_users: int
    num_items: int
    num_groups: int
    user_ids: np.ndarray
    item_ids: np.ndarray
    group_ids: np.ndarray
    user_train: Tensor
    group_train: Tensor
    user_valid: Tensor
    group_valid: Tensor
    memberships: Tensor

    def users_with_history(self) -> np.ndarray:
        """(num_users,) bool: users with at least one training interaction."""
        return np.bincount(self.user_train[0].numpy(), minlength=self.num_users) > 0

    def user_matrix(self):
        """The binary user × item training matrix as ``scipy.sparse.csr_matrix`` (float32)."""
        return _binary(self.user_train, self.num_users, self.num_items)

    def group_matrix(self):
        """The binary group × item training matrix as ``scipy.sparse.csr_matrix`` (float32)."""
        return _binary(self.group_train, self.num_groups, self.num_items)


def _binary(edges: Tensor, rows: int, cols: int):
    import scipy.sparse as sp

    matrix = sp.csr_matrix((np.ones(edges.size(1), dtype=np.float32), (edges[0].numpy(), edges[1].numpy())),
                           shape=(rows, cols))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


@dataclass
class Stored:
    """What write-back stores for one model version (ids are Neo4j ids).

    Attributes:
        vectors: kind ('user', 'item', 'group') → (ids, float vectors (n, d)): the :math:`\\mathbf{q}_s`
            and :math:`\\mathbf{v}_i` above (items required when any kind is given); empty for models
            without vectors.
        fold: (item ids, fold vectors :math:`\\mathbf{a}_j` (n, d)) for ``fold_in = "sum"``, else None.
        fold_in: how a source without a stored vector gets one: "sum", "propagate" or None (no vectors).
        neighbours: (from item ids, to item ids, weights) of the item–item weights, or None.
        group_weight: :math:`\\alpha` of the combined group score (models with group vectors), or None.
        text: (item ids, text vectors (n, t)) of the items' text (`graphrec.encoder`), or None: stored beside
            the model's own vectors with a cosine index of their own (similar items by meaning, diversity).
    """

    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    fold: tuple[np.ndarray, np.ndarray] | None = None
    fold_in: str | None = None
    neighbours: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    group_weight: float | None = None
    text: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if (self.fold_in is None) != (not self.vectors):
            raise ValueError("fold_in is set exactly when there are vectors")
        if self.fold_in is not None and self.fold_in not in FOLD_INS:
            raise ValueError(f"fold_in must be one of {FOLD_INS}, not {self.fold_in!r}")
        if (self.fold is not None) != (self.fold_in == "sum"):
            raise ValueError("fold vectors are given exactly for fold_in 'sum'")


class Fitted(ABC):
    """A fitted model.

    Attributes:
        kind: the model kind (`graphrec.model.kinds.KINDS`).
        record: what the fit wants remembered (seconds, epochs, best epoch, ...), JSON-serialisable.
        personal: whether scores depend on the source (False for popularity: member aggregations of it are
            the model itself, so the evaluation leaves them out).
        refit_spec: the spec that refits this model on other rows of the same data (the evaluation's held-out
            variants): a self-choosing model's choice (`graphrec.model.group_select`), so that a refit does not
            choose again; None (the default): the configured spec.
    """

    kind: ClassVar[str]
    record: dict[str, Any]
    personal: ClassVar[bool] = True
    refit_spec: Any = None

    @abstractmethod
    def scorer(self, side: str) -> Scorer | None:
        """The scoring function of `side` ('user' or 'group'); None when the model cannot score that side
        on its own (a group is then scored through its members)."""

    @abstractmethod
    def stored(self) -> Stored:
        """The form write-back stores and Cypher serves."""

    def unscorable_users(self) -> np.ndarray | None:
        """(num_users,) bool mask of the users the model has nothing to score with (no stored vector, no
        history): Cypher serves them the most interacted-with items and leaves them out of member
        aggregations, and so does the evaluation. None (the default): every user is scored by the model."""
        return None


class DotScorer:
    r"""Inner products :math:`\mathbf{q}_s^\top \mathbf{v}_i` of `sources` (S, d) and `items` (I, d)."""

    def __init__(self, sources: Tensor, items: Tensor) -> None:
        self.sources, self.items = sources, items

    max_cells: ClassVar[int] = 1 << 24
    """Candidate vectors gathered at once (rows x candidates x d floats): a member aggregation scores every
    member of many groups in one call, and wide (text-fused) vectors would otherwise take gigabytes."""

    def __call__(self, sources: Tensor, items: Tensor | None = None) -> Tensor:
        vectors = self.sources[sources]
        if items is None:
            return vectors @ self.items.T
        step = max(1, self.max_cells // max(1, items.size(1) * self.items.size(1)))
        return torch.cat([torch.einsum("bd,bcd->bc", vectors[k : k + step], self.items[items[k : k + step]])
                          for k in range(0, max(len(vectors), 1), step)])


def holdout(train: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """(kept, held out): one random interaction per source (row 0) with at least two, held out."""
    if not train.size(1):
        return train, train
    perm = torch.randperm(train.size(1), generator=torch.Generator().manual_seed(seed))
    perm = perm[torch.argsort(train[0, perm], stable=True)]
    sources = train[0, perm]
    first = torch.ones_like(sources, dtype=torch.bool)
    first[1:] = sources[1:] != sources[:-1]
    counts = torch.bincount(train[0])
    held = torch.zeros(train.size(1), dtype=torch.bool)
    held[perm[first & (counts[sources] >= 2)]] = True
    return train[:, ~held], train[:, held]
