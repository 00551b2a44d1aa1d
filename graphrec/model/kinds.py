"""The model kinds a run configuration can name (`[model] kind = ...`), each a spec of hyper-parameters that
fits a `graphrec.model.base.Fitted` from `TrainingData`.

| kind | what it is | stored form (see `graphrec.model.base`) |
|---|---|---|
| `popularity` | items by their number of train interactions (users and groups) | nothing: served by counts |
| `mf` | matrix factorisation trained with BPR (LightGCN with 0 layers) | user, item vectors; fold-in `propagate` |
| `lightgcn` | LightGCN (BPR), with groups in the graph when the data has group history | user, item, group vectors; fold-in `propagate` |
| `itemknn` | item-kNN: cosine item–item similarity, top-n per item | item–item weights |
| `filter` | a graph filter (GF-CF, BSPM-EM, ChebyCF), training free; with `group_weight`, groups by their own and their members' histories | item–item weights (top-n per item), user, item, group vectors, item fold vectors; fold-in `sum`; `group_weight`; with `low_rank = "weights"`, the whole filter as item–item weights only |
| `group` | the default group model: Group-GF or the group `filter`, and their settings, chosen inside `fit` on a validation split of the train rows (`graphrec.model.group_select`, which registers it) | the chosen kind's |
| `groupgf` | Group-GF (WWW 2025), training free: three normalised item graphs, power, filters, mix (`graphrec.model.groupgf`, which registers it) | item–item weights (top-n per item); with `split`, also vectors as `filter`'s and `group_weight` |
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from graphrec.model.base import DotScorer, Fitted, Scorer, Stored, TrainingData


class SpecError(ValueError):
    """A `[model]` table that names no known kind or holds unknown or invalid hyper-parameters."""


@dataclass
class Spec:
    """Base of every kind's hyper-parameters. `trained` kinds also read the `[train]` table."""

    kind: ClassVar[str]
    trained: ClassVar[bool] = False

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The hyper-parameters with the kind, as stored on the Model node."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


KINDS: dict[str, type[Spec]] = {}


def register(spec: type[Spec]) -> type[Spec]:
    """Class decorator: make `spec` a kind a configuration can name."""
    KINDS[spec.kind] = spec
    return spec


def make_spec(table: dict[str, Any], where: str) -> Spec:
    """The spec of a `[model]` table (`kind` plus the kind's hyper-parameters); `where` names the file."""
    values = dict(table)
    kind = values.pop("kind", None)
    values.pop("name", None)
    if kind not in KINDS:
        raise SpecError(f"{where}: [model] kind must be one of {', '.join(sorted(KINDS))}, not {kind!r}")
    spec_type = KINDS[kind]
    known = {f.name for f in fields(spec_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SpecError(f"{where}: unknown [model] keys for kind {kind!r}: {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known)) or 'none'})")
    try:
        return spec_type(**values)
    except (TypeError, ValueError) as error:
        raise SpecError(f"{where}: [model] {error}") from None


# ---------------------------------------------------------------------------------------------- popularity


@register
@dataclass
class PopularitySpec(Spec):
    """Items by their number of train interactions, users' and groups' together; the same for every source."""

    kind: ClassVar[str] = "popularity"

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        return Popularity(torch.cat([data.user_train, data.group_train], 1), data.num_items)


class Popularity(Fitted):
    kind = "popularity"
    personal = False

    def __init__(self, interactions: torch.Tensor, num_items: int) -> None:
        self.counts = torch.bincount(interactions[1], minlength=num_items).float()
        self.record = {}

    def scorer(self, side: str) -> Scorer:
        def score(sources: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
            if items is None:
                return self.counts.expand(sources.numel(), -1).clone()
            return self.counts[items]

        return score

    def stored(self) -> Stored:
        return Stored()


# ------------------------------------------------------------------------------------------ LightGCN and MF

GRAPHS = ("auto", "users", "groups")


def resolved_graph(graph: str, data: TrainingData) -> str:
    """`graph` (one of GRAPHS) for `data`: `auto` is `both` (users and groups) when the data has group train
    interactions, else `users`; `groups` without group train interactions is an error."""
    has_groups = bool(data.group_train.size(1))
    if graph == "groups" and not has_groups:
        raise SpecError("graph = 'groups' needs group train interactions; the data has none")
    return graph if graph != "auto" else ("both" if has_groups else "users")


@register
@dataclass
class LightGCNSpec(Spec):
    """LightGCN trained with BPR (`graphrec.model.trainer.fit`; the loop's settings come from `[train]`).

    Attributes:
        embedding_dim: 64. num_layers: 3 (layer weights 1/(L+1)).
        graph: which graph it learns on: `auto` (default: users and items, plus groups and memberships when
            the data has group train interactions: `graphrec.model.group.GroupLightGCN`), `users` (the
            user–item graph alone) or `groups` (the group–item graph alone, groups in the users' place).
        group_weight: alpha of the combined group score, fixed in [0, 1]; None (default): learned.
        init: layer-0 embeddings, `normal` (default) or `spectral` (from the graph's top singular vectors:
            `graphrec.model.trainer.TrainConfig.init`).
    """

    kind: ClassVar[str] = "lightgcn"
    trained: ClassVar[bool] = True
    embedding_dim: int = 64
    num_layers: int = 3
    graph: str = "auto"
    group_weight: float | None = None
    init: str = "normal"

    def __post_init__(self) -> None:
        if self.init not in ("normal", "spectral"):
            raise ValueError(f"init must be 'normal' or 'spectral', not {self.init!r}")
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, not {self.graph!r}")
        if isinstance(self.embedding_dim, bool) or not isinstance(self.embedding_dim, int) or self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be a positive integer, not {self.embedding_dim!r}")
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int) or self.num_layers < 0:
            raise ValueError(f"num_layers must be a non-negative integer, not {self.num_layers!r}")

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        from graphrec.model.trainer import GroupTask, fit

        config = replace(train, embedding_dim=self.embedding_dim, num_layers=self.num_layers,
                         group_weight=self.group_weight, init=self.init)
        graph = resolved_graph(self.graph, data)
        if graph == "groups":
            result = fit(data.num_groups, data.num_items, data.group_train, data.group_valid,
                         replace(config, monitor=config.monitor.removeprefix("group_")), run_dir,
                         resume=resume, progress=progress)
            return Embedding(self.kind, None, result.embeddings.items, data, result,
                             groups=result.embeddings.users)
        if graph == "users":
            result = fit(data.num_users, data.num_items, data.user_train, data.user_valid,
                         replace(config, monitor=config.monitor.removeprefix("group_")), run_dir,
                         resume=resume, progress=progress)
            return Embedding(self.kind, result.embeddings.users, result.embeddings.items, data, result)
        task = GroupTask(data.num_groups, data.group_train, data.group_valid, data.memberships)
        result = fit(data.num_users, data.num_items, data.user_train, data.user_valid, config, run_dir,
                     groups=task, resume=resume, progress=progress)
        final = result.embeddings
        return Embedding(self.kind, final.users, final.items, data, result, groups=final.group_vectors,
                         own_groups=final.groups, has_history=final.has_history, group_weight=final.group_weight)


@register
@dataclass
class MFSpec(LightGCNSpec):
    """Matrix factorisation with BPR: LightGCN with 0 layers (`e_u . e_i` of the layer-0 embeddings), on the
    user–item graph. Attributes: embedding_dim: 64. num_layers: 0 (fixed). graph: `users` (fixed)."""

    kind: ClassVar[str] = "mf"
    num_layers: int = 0
    graph: str = "users"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_layers != 0 or self.graph != "users" or self.group_weight is not None:
            raise ValueError("kind 'mf' has num_layers = 0 and graph = 'users'; use kind 'lightgcn' otherwise")


class Embedding(Fitted):
    """A model scoring by inner products of final embeddings (LightGCN, MF).

    `users`/`groups` are the vectors sources are scored with (for groups of the combined model, alpha e_g +
    (1 - alpha) member mean); `own_groups` the groups' own embeddings e_g stored with the version (only
    for groups with history), None when the model has no group side.
    """

    def __init__(self, kind: str, users: torch.Tensor | None, items: torch.Tensor, data: TrainingData,
                 result: Any, *, groups: torch.Tensor | None = None, own_groups: torch.Tensor | None = None,
                 has_history: torch.Tensor | None = None, group_weight: float | None = None) -> None:
        self.kind = kind  # type: ignore[misc]
        self.users, self.items, self.groups = users, items, groups
        self.own_groups = groups if own_groups is None else own_groups
        self.has_history = has_history
        self.group_weight = group_weight
        self.data = data
        self.record = {"seconds": result.seconds, "best_epoch": result.best_epoch, "epochs": len(result.history),
                       "validation_metrics": result.best_metrics}

    def scorer(self, side: str) -> Scorer | None:
        vectors = self.users if side == "user" else self.groups
        return None if vectors is None else DotScorer(vectors, self.items)

    def unscorable_users(self) -> np.ndarray | None:
        """Users without train interactions; on the user–item–group graph, without memberships too (a member
        gets its vector from its groups)."""
        if self.users is None:
            return None
        scorable = self.data.users_with_history()
        if self.own_groups is not None:
            scorable |= np.bincount(self.data.memberships[0].numpy(), minlength=self.data.num_users) > 0
        return ~scorable

    def stored(self) -> Stored:
        vectors = {"item": (self.data.item_ids, self.items.numpy())}
        if self.users is not None:
            kept = ~self.unscorable_users()
            vectors["user"] = (self.data.user_ids[kept], self.users.numpy()[kept])
        if self.own_groups is not None:
            kept = (self.has_history if self.has_history is not None
                    else torch.bincount(self.data.group_train[0], minlength=self.data.num_groups) > 0).numpy()
            if kept.any():
                vectors["group"] = (self.data.group_ids[kept], self.own_groups.numpy()[kept])
        group_weight = self.group_weight if "group" in vectors else None
        return Stored(vectors=vectors, fold_in="propagate", group_weight=group_weight)


# ------------------------------------------------------------------------------ graph filters and item-kNN


class ItemItem(Fitted):
    r"""A fitted model of the shape :math:`s(\mathbf{r}) = \mathbf{r}\mathbf{S}_n + (\mathbf{r}\mathbf{A})
    \mathbf{B}^\top` (`graphrec.model.filters`), scored in its served form: :math:`\mathbf{S}_n` holds each
    item's `n` strongest weights (what write-back stores as `SIMILAR_vN` relationships), so the evaluation
    measures what Cypher serves. Users are scored from their train rows. A group is scored from its own train
    row like a user (fold-in) when `group_weight` is None, else from its own and its members' rows,

    .. math::
        \mathbf{x}_g = \alpha\, \mathbf{r}_g + (1 - \alpha) \frac{1}{|\mathcal{M}_g|}
        \sum_{m \in \mathcal{M}_g} \mathbf{r}_m, \qquad s(g) = s(\mathbf{x}_g)

    (:math:`\alpha` = `group_weight`, :math:`\mathcal{M}_g` the group's members): the
    filter is linear in the row, so :math:`s(g) = \alpha\, s(\mathbf{r}_g) + (1 - \alpha)` times the
    members' mean score, which `recommend_group.cypher` serves as its `combined` strategy. A group without
    history of its own gets the members' mean (times :math:`1 - \alpha`: the same ranking).
    """

    def __init__(self, kind: str, data: TrainingData, weights: Any, a: np.ndarray, b: np.ndarray,
                 record: dict[str, Any], group_weight: float | None = None) -> None:
        self.kind = kind  # type: ignore[misc]
        self.data, self.weights, self.a, self.b = data, weights, a.astype(np.float32), b.astype(np.float32)
        self.group_weight = group_weight
        self.rows = {"user": data.user_matrix(), "group": data.group_matrix()}
        if group_weight is not None:
            self.rows["group"] = group_weight * self.rows["group"] + (1 - group_weight) * self.member_means()
        self.record = record

    def member_means(self) -> Any:
        """`member_mean_rows` of this model's data and user rows."""
        return member_mean_rows(self.data, self.rows["user"])

    def unscorable_users(self) -> np.ndarray:
        """Users without train interactions: an empty row scores 0 everywhere."""
        return ~self.data.users_with_history()

    def score_rows(self, rows: Any) -> np.ndarray:
        """Served-form scores of interaction rows (b x |I|; binary, or a group's weighted mix)."""
        out = np.asarray((rows @ self.weights).todense(), dtype=np.float32)
        if self.a.shape[1]:
            out += (rows @ self.a) @ self.b.T
        return out

    def scorer(self, side: str) -> Scorer | None:
        rows = self.rows[side]
        if side == "group" and not rows.nnz:
            return None

        def score(sources: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
            found = torch.from_numpy(self.score_rows(rows[sources.numpy()]))
            return found if items is None else found.gather(1, items)

        return score

    def stored(self) -> Stored:
        data = self.data
        weights = self.weights.tocoo()
        neighbours = (data.item_ids[weights.row], data.item_ids[weights.col], weights.data.astype(np.float64)) \
            if weights.nnz else None
        if not self.a.shape[1]:
            return Stored(neighbours=neighbours)
        kept = data.users_with_history()
        vectors = {"item": (data.item_ids, self.b), "user": (data.user_ids[kept], self.rows["user"][kept] @ self.a)}
        groups = data.group_matrix()  # the group's own history: rows["group"] may mix in its members
        has_history = np.diff(groups.indptr) > 0
        if has_history.any():
            vectors["group"] = (data.group_ids[has_history], groups[has_history] @ self.a)
        return Stored(vectors=vectors, fold=(data.item_ids, self.a), fold_in="sum", neighbours=neighbours,
                      group_weight=self.group_weight if "group" in vectors else None)


def member_mean_rows(data: TrainingData, user_rows: Any) -> Any:
    """The (groups x items) mean of each group's members' rows of :obj:`user_rows` (users x items, sparse):
    `graphrec.model.group.member_matrix`'s weights 1/|M_g|; a member without train interactions adds an empty
    row (`recommend_group.cypher`'s `combined` divides the scored members' sum by every member)."""
    import scipy.sparse as sp

    from graphrec.model.group import member_matrix

    group, user, weight = (part.numpy() for part in member_matrix(data.memberships, data.num_groups,
                                                                  data.num_users))
    mean = sp.csr_matrix((weight.astype(np.float32), (group, user)), shape=(data.num_groups, data.num_users))
    return mean @ user_rows


def _served_weights(model: Any, neighbours: int, low_rank: bool = False) -> Any:
    """The top-`neighbours` rows of `model`'s S (with `low_rank`, of S + A B^T) as a sparse matrix, zero
    weights dropped."""
    from graphrec.model.item_item import neighbour_matrix, top_neighbours

    weights = neighbour_matrix(*top_neighbours(model, neighbours, low_rank=low_rank))
    weights.eliminate_zeros()
    return weights


FILTERS = ("gfcf", "bspm", "chebycf")


@register
@dataclass
class FilterSpec(Spec):
    r"""A training-free graph filter (`graphrec.model.filters`): GF-CF, BSPM-EM or ChebyCF, served as each
    item's `neighbours` strongest item–item weights (relationships) plus low-rank vectors.

    Attributes:
        filter: `chebycf` (default), `bspm` or `gfcf`.
        neighbours: item–item weights kept per item for serving (default 200); the evaluation scores this
            served form. 0: none, the filter served by its low-rank vectors alone (with `split` = `k`, ChebyCF
            becomes :math:`\mathbf{D}_I^{-\beta}\mathbf{V}_k(\alpha + h(\boldsymbol{\Sigma}_k^2))
            \mathbf{V}_k^\top\mathbf{D}_I^{\beta}`, its top :math:`k` spectral components, in vectors of
            width :math:`k`; what lies outside them is dropped).
        low_rank: where the low-rank part :math:`\mathbf{A}\mathbf{B}^\top` is served: `"vectors"`
            (default: node vectors, exact; a query reads the vectors of every weighted candidate) or
            `"weights"` (added to the rows before the top `neighbours` are kept: no vectors, the whole filter
            truncated, and a query only sums relationships).
        k, ideal_weight, sharpen_time, order, flatness, power, split, seed, svd: the filter's hyper-parameters
            (`graphrec.model.filters`); None (the default) keeps the filter's own default, a key the filter
            does not take is an error.
        graph: the interactions the filter is computed from: `auto` (default: the users' and, when the data has
            group train interactions, the groups' rows stacked, the unified graph of Group-GF (WWW 2025), a group
            counting as one more user), `users` (the user–item graph alone) or `groups` (the group–item graph
            alone). Users and groups are always scored from their own rows.
        group_weight: :math:`\alpha` in [0, 1] of a group's row :math:`\alpha \mathbf{r}_g + (1 - \alpha)`
            (its members' mean row) (`ItemItem`), served by `recommend_group`'s `combined` strategy; None
            (default): a group is scored by its own history alone. Needs the low-rank part (k > 0).
    """

    kind: ClassVar[str] = "filter"
    filter: str = "chebycf"
    neighbours: int = 200
    low_rank: str = "vectors"
    k: int | None = None
    ideal_weight: float | None = None
    sharpen_time: float | None = None
    order: int | None = None
    flatness: float | None = None
    power: float | None = None
    split: int | None = None
    seed: int | None = None
    svd: str | None = None
    graph: str = "auto"
    group_weight: float | None = None

    def __post_init__(self) -> None:
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, not {self.graph!r}")
        if self.filter not in FILTERS:
            raise ValueError(f"filter must be one of {FILTERS}, not {self.filter!r}")
        if isinstance(self.neighbours, bool) or not isinstance(self.neighbours, int) or self.neighbours < 0:
            raise ValueError(f"neighbours must be an integer >= 0, not {self.neighbours!r}")
        if self.low_rank not in ("vectors", "weights"):
            raise ValueError(f"low_rank must be 'vectors' or 'weights', not {self.low_rank!r}")
        model = self.build()
        if self.neighbours == 0 and (self.low_rank == "weights" or not max(model.k, model.split)):
            raise ValueError("neighbours = 0 serves the filter by its low-rank vectors alone: it needs k or split "
                             "> 0 and low_rank = 'vectors'")
        if self.group_weight is not None:
            if isinstance(self.group_weight, bool) or not isinstance(self.group_weight, (int, float)) \
                    or not 0 <= self.group_weight <= 1:
                raise ValueError(f"group_weight must be a number in [0, 1], not {self.group_weight!r}")
            if not max(model.k, model.split) or self.low_rank == "weights":
                raise ValueError("group_weight needs the low-rank part served as vectors (k > 0, low_rank = "
                                 "'vectors'): Cypher mixes group and member scores only for models with vectors")

    def build(self) -> Any:
        """The unfitted filter."""
        from graphrec.model.filters import BSPM, GFCF, ChebyCF

        model = {"gfcf": GFCF, "bspm": BSPM, "chebycf": ChebyCF}[self.filter]
        given = {f.name: getattr(self, f.name) for f in fields(self)
                 if f.name not in ("filter", "neighbours", "low_rank", "graph", "group_weight")
                 and getattr(self, f.name) is not None}
        try:
            return model(**given)
        except TypeError as error:
            raise ValueError(f"filter {self.filter!r}: {error}") from None

    def graph_matrix(self, data: TrainingData) -> Any:
        """The binary (sources x items) matrix the filter is computed from (`graph`)."""
        import scipy.sparse as sp

        graph = resolved_graph(self.graph, data)
        if graph == "groups":
            return data.group_matrix()
        if graph == "both":
            return sp.vstack([data.user_matrix(), data.group_matrix()]).tocsr()
        return data.user_matrix()

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        import scipy.sparse as sp

        started = time.perf_counter()
        model = self.build().fit(self.graph_matrix(data))
        a, b = model.factors()
        in_weights = self.low_rank == "weights"
        if self.neighbours:
            weights = _served_weights(model, min(self.neighbours, data.num_items - 1), low_rank=in_weights)
        else:
            weights = sp.csr_matrix((data.num_items, data.num_items), dtype=np.float32)
        if in_weights:
            a, b = a[:, :0], b[:, :0]
        return ItemItem(self.kind, data, weights, a, b, {"seconds": time.perf_counter() - started,
                                                          "model": repr(model), "neighbours": int(weights.nnz)},
                        group_weight=self.group_weight)


@register
@dataclass
class ItemKNNSpec(Spec):
    """Item-kNN (`graphrec.model.itemknn`): cosine item–item similarity (asymmetry 0.5) with shrinkage,
    each item's `neighbours` most similar items, served as item–item weights.

    Attributes: neighbours: 200. shrink: 0.0. asymmetry: 0.5 (cosine).
    """

    kind: ClassVar[str] = "itemknn"
    neighbours: int = 200
    shrink: float = 0.0
    asymmetry: float = 0.5

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        from graphrec.model.itemknn import ItemKNN

        started = time.perf_counter()
        model = ItemKNN(min(self.neighbours, data.num_items - 1), self.shrink, self.asymmetry).fit(data.user_matrix())
        weights = model.similarity.tocsr()
        a = np.zeros((data.num_items, 0), dtype=np.float32)
        return ItemItem(self.kind, data, weights, a, a, {"seconds": time.perf_counter() - started,
                                                          "neighbours": int(weights.nnz)})
