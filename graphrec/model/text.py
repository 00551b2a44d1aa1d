r"""Item text meets a fitted graph model: stored text vectors, cold-start items and late fusion.

A run configuration's ``[text]`` table (:class:`TextConfig`) names the item properties embedded by
:mod:`graphrec.text` (unit vectors :math:`\mathbf{t}_i`). :func:`with_text` wraps a fitted model:

* its stored form carries the text vectors (``~embedding_vN_text``, with a cosine index of their own);
* **cold-start items** (``cold_start``, embedding models: LightGCN, MF): an item without a train interaction has
  no learned vector, so it gets one in the model's space from its text, :math:`\mathbf{v}_i = \mathbf{W}^\top
  \mathbf{t}_i`, with :math:`\mathbf{W}` the ridge regression of the warm items' vectors on their text,

  .. math::
      \mathbf{W} = (\mathbf{T}_w^\top \mathbf{T}_w + \lambda \mathbf{I})^{-1} \mathbf{T}_w^\top \mathbf{V}_w ;

  it is then scored, served, explained and listed like any item;
* **late fusion** (``fusion`` :math:`\beta > 0`, embedding models): the score gains the cosine of the item's text
  with the source's text profile :math:`\mathbf{p}_s` (the normalised mean text of the source's train items),

  .. math::
      \mathrm{score}(s, i) = \mathbf{q}_s^\top \mathbf{v}_i + \beta\, \mathbf{p}_s^\top \mathbf{t}_i ,

  stored as concatenated vectors :math:`[\mathbf{q}_s, \sqrt\beta\,\mathbf{p}_s]` and
  :math:`[\mathbf{v}_i, \sqrt\beta\,\mathbf{t}_i]`, so the one serving formula (``recommend_user.cypher``)
  serves it unchanged. A group's profile follows its vector: :math:`\alpha \mathbf{p}_g + (1 - \alpha)` the
  members' mean (the members' mean for a group without history), as the combined group score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from graphrec.model.base import DotScorer, Fitted, Scorer, Stored, TrainingData


@dataclass
class TextConfig:
    """The ``[text]`` table of a run configuration.

    Attributes:
        properties: item properties whose values make an item's text (required, e.g. ``["title", "tags"]``).
        cold_start: give items without train interactions a vector projected from their text (embedding
            models; default True).
        ridge: :math:`\\lambda` of the projection's ridge regression (default 1.0).
        fusion: :math:`\\beta` of the late fusion (default 0.0: none).
    """

    properties: tuple[str, ...] = ()
    cold_start: bool = True
    ridge: float = 1.0
    fusion: float = 0.0

    def __post_init__(self) -> None:
        self.properties = tuple(self.properties)
        if not self.properties or not all(isinstance(p, str) and p for p in self.properties):
            raise ValueError("properties must be a non-empty list of item property names")
        if not isinstance(self.cold_start, bool):
            raise ValueError(f"cold_start must be true or false, not {self.cold_start!r}")
        for name in ("ridge", "fusion"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        if self.ridge == 0:
            raise ValueError("ridge must be > 0")


def ridge_projection(text: np.ndarray, vectors: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    r"""The (t, d) matrix :math:`\mathbf{W}` minimising :math:`\|\mathbf{T}\mathbf{W} - \mathbf{V}\|^2 +
    \lambda \|\mathbf{W}\|^2` for text rows `text` (n, t) and vectors (n, d); float64 solve, float32 result."""
    t = text.astype(np.float64)
    gram = t.T @ t + ridge * np.eye(t.shape[1])
    return np.linalg.solve(gram, t.T @ vectors.astype(np.float64)).astype(np.float32)


def text_profiles(edges: torch.Tensor, num_sources: int, text: np.ndarray) -> np.ndarray:
    """(num_sources, t) unit vectors: each source's normalised mean text over its `edges` (2, E) items (zero
    for a source without items)."""
    sums = np.zeros((num_sources, text.shape[1]), dtype=np.float64)
    np.add.at(sums, edges[0].numpy(), text[edges[1].numpy()])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def cold_items(data: TrainingData) -> np.ndarray:
    """Boolean mask of the items without a train interaction (users' or groups')."""
    counts = np.bincount(torch.cat([data.user_train[1], data.group_train[1]]).numpy(), minlength=data.num_items)
    return counts == 0


class TextModel(Fitted):
    """A fitted model with its items' text (module docstring): delegates to `base` where text changes nothing.

    Attributes:
        base: the wrapped model. text: (num_items, t) text vectors in snapshot order. config: the `[text]`.
        cold: mask of the cold items (projected when `config.cold_start` and `base` is an embedding model;
        for the other kinds the text is stored and nothing else changes).
    """

    def __init__(self, base: Fitted, data: TrainingData, text: np.ndarray, config: TextConfig) -> None:
        self.kind = base.kind  # type: ignore[misc]
        self.personal = base.personal  # type: ignore[misc]
        self.base, self.data, self.text, self.config = base, data, text.astype(np.float32), config
        self.record = dict(base.record)
        self.cold = cold_items(data)
        embedding = hasattr(base, "items") and hasattr(base, "users")
        if config.fusion > 0 and not embedding:
            raise ValueError(f"[text] fusion needs an embedding model (lightgcn, mf), not {base.kind!r}")
        self.vectors: dict[str, torch.Tensor | None] = {}
        if embedding:
            self._fuse(base)
            self.record["text"] = {"cold_items": int(self.cold.sum()), "projected": bool(config.cold_start),
                                   "fusion": config.fusion}

    def _fuse(self, base: Any) -> None:
        items = base.items.numpy().copy()
        if self.config.cold_start and self.cold.any() and (~self.cold).any():
            projection = ridge_projection(self.text[~self.cold], items[~self.cold], self.config.ridge)
            items[self.cold] = self.text[self.cold] @ projection
        scale = float(np.sqrt(self.config.fusion))
        data = self.data
        users = text_profiles(data.user_train, data.num_users, self.text)
        own = text_profiles(data.group_train, data.num_groups, self.text)
        members = _member_mean(data, users)
        history = (torch.bincount(data.group_train[0], minlength=data.num_groups) > 0).numpy()[:, None]
        alpha = base.group_weight
        combined = members if alpha is None else np.where(history, alpha * own + (1 - alpha) * members, members)
        if base.users is None:  # a group-only model scores groups by their own vectors
            combined = own

        def joined(vectors: torch.Tensor | None, profiles: np.ndarray) -> torch.Tensor | None:
            if vectors is None:
                return None
            if scale == 0:
                return vectors
            return torch.cat([vectors, torch.from_numpy(scale * profiles)], 1)

        self.vectors = {"item": joined(torch.from_numpy(items), self.text), "user": joined(base.users, users),
                        "group": joined(base.groups, combined), "own_group": joined(base.own_groups, own)}

    def scorer(self, side: str) -> Scorer | None:
        if not self.vectors:
            return self.base.scorer(side)
        sources = self.vectors["user" if side == "user" else "group"]
        return None if sources is None else DotScorer(sources, self.vectors["item"])

    def stored(self) -> Stored:
        stored = self.base.stored()
        stored.text = (self.data.item_ids, self.text)
        if self.vectors:
            for kind, name in (("item", "item"), ("user", "user"), ("group", "own_group")):
                if kind in stored.vectors:
                    ids = stored.vectors[kind][0]
                    position = {int(i): n for n, i in enumerate(_ids(self.data, kind))}
                    index = np.array([position[int(i)] for i in ids], dtype=np.int64)
                    stored.vectors[kind] = (ids, self.vectors[name].numpy()[index])
        return stored


def _ids(data: TrainingData, kind: str) -> np.ndarray:
    return {"user": data.user_ids, "item": data.item_ids, "group": data.group_ids}[kind]


def _member_mean(data: TrainingData, users: np.ndarray) -> np.ndarray:
    """(num_groups, t): the mean of each group's members' profiles (zero without members)."""
    sums = np.zeros((data.num_groups, users.shape[1]), dtype=np.float64)
    counts = np.zeros(data.num_groups)
    if data.memberships.numel():
        np.add.at(sums, data.memberships[1].numpy(), users[data.memberships[0].numpy()])
        np.add.at(counts, data.memberships[1].numpy(), 1)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def with_text(base: Fitted, data: TrainingData, text: np.ndarray, config: TextConfig) -> TextModel:
    """`base` with its items' text vectors `text` (num_items, t) under `config` (module docstring)."""
    if text.shape[0] != data.num_items:
        raise ValueError(f"{text.shape[0]} text vectors for {data.num_items} items")
    return TextModel(base, data, text, config)
