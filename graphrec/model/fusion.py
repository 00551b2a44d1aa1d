r"""Item text meets a fitted graph model: stored text vectors, cold-start items and late fusion.

A run configuration's ``[text]`` table (:class:`TextConfig`) names the item properties embedded by
:mod:`graphrec.encoder` (unit vectors :math:`\mathbf{t}_i`). :func:`with_text` wraps a fitted model:

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
  members' mean (the members' mean for a group without history), as the combined group score;
* **a boost for cold items** (``cold_boost`` :math:`c > 0`): a projected vector is shrunk towards the mean of
  the warm items' vectors, so a cold item scores below every warm item a source likes and never reaches a top
  20. The boost adds :math:`b = c\,g` to every cold item's score, with :math:`g` the median, over the sources,
  of the gap between a source's 20th best warm score and its best cold score (:func:`cold_gap`): at
  :math:`c = 1` the typical source's best cold item reaches its 20th place. It is stored as one more
  dimension (1 on every stored source vector, :math:`b` on cold items, 0 on warm ones), so the serving formula
  is unchanged. A source folded in at query time (``fold_in``) gets no boost.

``fusion = "auto"`` and ``cold_boost = "auto"`` choose :math:`\beta` and :math:`c` on a validation split
(:func:`choose_text`), never on the test cases: the model is fitted once more on the train interactions less
one held-out interaction per source and less every interaction of a seeded share of the warm items (as many
as the cold share of the catalogue: these become cold), and the pair of the grids (:data:`FUSION_GRID`,
:data:`BOOST_GRID`) with the best NDCG@20 of a held-out interaction is kept: warm and cold held-out
interactions weighted by the cold share (full ranking, user and group tasks averaged).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from graphrec.model.base import DotScorer, Fitted, Scorer, Stored, TrainingData, holdout
from graphrec.model.metrics import full_metrics

FUSION_GRID = (0.0, 0.05, 0.2, 1.0, 5.0)
"""The :math:`\beta` tried by ``fusion = "auto"``."""

BOOST_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
"""The :math:`c` tried by ``cold_boost = "auto"`` (in units of :func:`cold_gap`)."""

AUTO = "auto"


@dataclass
class TextConfig:
    """The ``[text]`` table of a run configuration.

    Attributes:
        properties: item properties whose values make an item's text (required, e.g. ``["title", "tags"]``).
        cold_start: give items without train interactions a vector projected from their text (embedding
            models; default True).
        ridge: :math:`\\lambda` of the projection's ridge regression (default 1.0).
        fusion: :math:`\\beta` of the late fusion, or "auto" (chosen on a validation split) (default 0.0:
            none).
        cold_boost: :math:`c` of the boost of cold items, or "auto" (default 0.0: none).
    """

    properties: tuple[str, ...] = ()
    cold_start: bool = True
    ridge: float = 1.0
    fusion: float | str = 0.0
    cold_boost: float | str = 0.0

    def __post_init__(self) -> None:
        self.properties = tuple(self.properties)
        if not self.properties or not all(isinstance(p, str) and p for p in self.properties):
            raise ValueError("properties must be a non-empty list of item property names")
        if not isinstance(self.cold_start, bool):
            raise ValueError(f"cold_start must be true or false, not {self.cold_start!r}")
        for name in ("ridge", "fusion", "cold_boost"):
            value = getattr(self, name)
            if name != "ridge" and value == AUTO:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                also = ' or "auto"' if name != "ridge" else ""
                raise ValueError(f"{name} must be a number >= 0{also}, not {value!r}")
        if self.ridge == 0:
            raise ValueError("ridge must be > 0")

    @property
    def chosen(self) -> bool:
        """Whether every number is given (nothing left "auto")."""
        return AUTO not in (self.fusion, self.cold_boost)


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
        if not config.chosen:
            raise ValueError('[text] fusion or cold_boost is "auto": choose them first (choose_text)')
        embedding = hasattr(base, "items") and hasattr(base, "users")
        if (config.fusion > 0 or config.cold_boost > 0) and not embedding:
            raise ValueError(f"[text] fusion and cold_boost need an embedding model (lightgcn, mf), not {base.kind!r}")
        self.vectors: dict[str, torch.Tensor | None] = {}
        if embedding:
            self._fuse(base)
            self.record["text"] = {**self.record.get("text", {}), "cold_items": int(self.cold.sum()),
                                   "projected": bool(config.cold_start), "fusion": config.fusion,
                                   "cold_boost": config.cold_boost, "boost": self.boost}

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
        self.boost = 0.0
        if self.config.cold_boost > 0 and self.cold.any() and (~self.cold).any():
            sources = self.vectors["user"] if self.vectors["user"] is not None else self.vectors["group"]
            self.boost = float(self.config.cold_boost) * cold_gap(sources, self.vectors["item"], self.cold)
            column = {"item": torch.from_numpy(np.where(self.cold, self.boost, 0.0).astype(np.float32))}
            for name, vectors in self.vectors.items():
                if vectors is not None:
                    extra = column.get(name, torch.ones(len(vectors)))
                    self.vectors[name] = torch.cat([vectors, extra[:, None]], 1)

    def scorer(self, side: str) -> Scorer | None:
        if not self.vectors:
            return self.base.scorer(side)
        sources = self.vectors["user" if side == "user" else "group"]
        return None if sources is None else DotScorer(sources, self.vectors["item"])

    def unscorable_users(self) -> np.ndarray | None:
        return self.base.unscorable_users()

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


def cold_gap(sources: Tensor, items: Tensor, cold: np.ndarray, k: int = 20, sample: int = 2_000,
             seed: int = 0) -> float:
    """The median, over a seeded sample of `sources` (at most `sample`), of a source's `k`-th best warm score
    minus its best cold score (0 when negative): the boost that lifts the typical best cold item to place `k`."""
    warm = torch.from_numpy(~cold)
    if not sources.size(0) or int(warm.sum()) == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    rows = torch.from_numpy(np.sort(rng.choice(sources.size(0), size=min(sample, sources.size(0)), replace=False)))
    scores = sources[rows] @ items.T
    kth = scores[:, warm].topk(min(k, int(warm.sum())), dim=1).values[:, -1]
    best_cold = scores[:, ~warm].max(dim=1).values
    return max(0.0, float(np.median((kth - best_cold).numpy())))


def validation_split(data: TrainingData, seed: int) -> tuple[TrainingData, dict[tuple[str, str], Tensor]]:
    """The train interactions less what :func:`choose_text` validates on, and those held-out interactions by
    (side, kind), side 'user' or 'group': kind 'warm', one per source with at least two (:func:`holdout`), and
    kind 'cold', every interaction of a seeded share of the warm items equal to the catalogue's cold share
    (none when no item is cold)."""
    cold = cold_items(data)
    warm = np.flatnonzero(~cold)
    rng = np.random.default_rng(seed)
    size = round(cold.mean() * len(warm)) if cold.any() else 0
    made_cold = torch.zeros(data.num_items, dtype=torch.bool)
    made_cold[torch.from_numpy(rng.choice(warm, size=size, replace=False))] = True
    kept, held, stop_with = {}, {}, {}
    for side, edges in (("user", data.user_train), ("group", data.group_train)):
        into = made_cold[edges[1]]
        kept[side], held[side, "warm"] = holdout(edges[:, ~into], seed)
        held[side, "cold"] = edges[:, into]
        # early stopping (when the run stops early at all) on the warm held-out interactions only
        stop_with[side] = held[side, "warm"] if getattr(data, f"{side}_valid").numel() else edges[:, :0]
    return replace(data, user_train=kept["user"], group_train=kept["group"], user_valid=stop_with["user"],
                   group_valid=stop_with["group"]), held


def choose_text(config: TextConfig, data: TrainingData, text: np.ndarray, fit: Callable[[TrainingData], Fitted],
                seed: int = 0) -> tuple[TextConfig, list[dict[str, float]]]:
    r"""`config` with its "auto" fusion and cold boost chosen on a validation split (:func:`validation_split`),
    and the sweep: one row per pair tried, with its objective and NDCG@K, Recall@K on the warm and the cold
    held-out interactions (K = 20, or the catalogue when smaller; full ranking, the source's train items
    excluded, averaged over the user and group tasks).

    The objective is the NDCG@K of a future interaction that goes to a new item with probability
    :math:`\phi`, the catalogue's cold share: :math:`(1 - \phi)\,\mathrm{NDCG}_{warm} + \phi\,
    \mathrm{NDCG}_{cold}` (new items assumed as popular as the others). `fit` fits the run's model on the
    given data (the conductor passes the configuration's own fit)."""
    if config.chosen:
        return config, []
    valid, held = validation_split(data, seed)
    share = float(cold_items(data).mean())
    base = fit(valid)
    fusions = FUSION_GRID if config.fusion == AUTO else (config.fusion,)
    boosts = BOOST_GRID if config.cold_boost == AUTO and share > 0 else (
        0.0 if config.cold_boost == AUTO else config.cold_boost,)
    k = min(20, valid.num_items)
    sweep = []
    for fusion in fusions:
        for boost in boosts:
            model = with_text(base, valid, text, replace(config, fusion=fusion, cold_boost=boost))
            found: dict[str, list[dict[str, float]]] = {"warm": [], "cold": []}
            for side in ("user", "group"):
                score = model.scorer(side)
                train = getattr(valid, f"{side}_train")
                for kind in found:
                    if score is not None and held[side, kind].size(1):
                        found[kind].append(full_metrics(score, valid.num_items, train, held[side, kind], (k,)))
            if not found["warm"]:
                raise ValueError('[text] "auto" has nothing to validate on: no source has two interactions')
            row = {"fusion": fusion, "cold_boost": boost}
            for kind, metrics in found.items():
                for name in ("ndcg", "recall"):
                    row[f"{kind} {name}@{k}"] = float(np.mean([m[f"{name}@{k}"] for m in metrics])) if metrics else 0.0
            row["objective"] = (1 - share) * row[f"warm ndcg@{k}"] + share * row[f"cold ndcg@{k}"]
            sweep.append(row)
    best = max(sweep, key=lambda row: row["objective"])
    return replace(config, fusion=best["fusion"], cold_boost=best["cold_boost"]), sweep


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
