r"""The default group model: it chooses, inside `fit` and per dataset, between Group-GF
(`graphrec.model.groupgf`) and the group form of the graph filter (the `filter` kind with `group_weight`), with
their hyper-parameters, on a validation split carved from the train rows. No dataset gets hand-set values.

**Split** (seeded by :obj:`seed`). Every group with :math:`n_g \ge 2` train items has :math:`\min(\max(1, [f n_g]), h, n_g - 1)` of
them held out, uniformly (:math:`f` = :obj:`fraction`, 0.2, rounded; :math:`h` = :obj:`holdout`, 5): one item at
least, and one always stays, so that the group keeps a history and the item graphs keep most of their
co-occurrences (holding out all but one would leave single-item rows, which link no items). At most
:obj:`max_groups` groups (2,000, drawn; fewer when the catalogue is large, :data:`ROW_FLOATS`) are
validated, which bounds the cost. A held-out pair :math:`(g, i)` is
also taken out of every member's train row: otherwise a member's row would hand the model the answer, and the
members' signal would be over-rated wherever a dataset's split removed a group's test items from its members
(CAMRa2011's did).

**Figure.** For a held-out pair, :math:`r` is the number of items that score at least as high as :math:`i`
(ties pessimistic), the group's remaining train items left out (serving never recommends them), among the
:math:`N = |I| - 1` other items. The reference protocol ranks :math:`i` against 100 items drawn uniformly from
the others, so its rank there is :math:`j \sim \mathrm{Binomial}(100, r / N)`, and the figure is the exact
expectation of the protocol's NDCG,

.. math::
    \mathbb{E}\,\mathrm{NDCG@}k = \sum_{j < k} \binom{100}{j} p^j (1 - p)^{100 - j} / \log_2(j + 2),
    \qquad p = r / N,

averaged over :math:`k \in \{5, 10\}` and the held-out pairs: no sampling noise, whatever the protocol the
evaluation later runs.

**Search** (fixed ranges; coordinate-wise, two passes, each coordinate's best kept, the first of equals; a try
costs one mix of cached filtered rows, not a fit):

* group filter (the configured `[model.filter]` table, fitted once on the split): `group_weight`
  :math:`a \in` :data:`FILTER_GROUP_WEIGHTS`, the group's row :math:`a\,\mathbf{r}_g + (1 - a)` its members' mean
  row;
* Group-GF (from the published CAMRa2011 settings, :data:`PUBLISHED`): :math:`\alpha \in` :data:`ALPHAS`,
  :math:`\beta \in` :data:`BETAS` (:math:`\alpha + \beta \le 1`), the power in :data:`POWERS`, each view's filter
  order in 1, 2, 3, and `group_weight` in :data:`GROUPGF_GROUP_WEIGHTS`. Each view's :math:`\mathbf{X}
  \bar{\mathbf{P}}`, :math:`\mathbf{X}\bar{\mathbf{P}}^2`, :math:`\mathbf{X}\bar{\mathbf{P}}^3` of the validation
  rows :math:`\mathbf{X}` (own and members' mean) are cached per power, and every filter and mix is linear in
  them (sparse products with each view; the views are sparse, :math:`|I| \times |I|` is never dense).

**Choice.** The candidate with the best figure (the group filter on a tie) is refitted on every train row. With
fewer than :data:`MIN_CASES` held-out pairs the split is too small to trust, and the configured group filter
(its `group_weight` as configured) is kept. The choice, every candidate's figure and the split's size go into
the fit's record (`metrics.json`, and the Model node's `training`, which `graphrec models` shows).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from scipy.stats import binom

from graphrec.model.base import Fitted, TrainingData
from graphrec.model.groupgf import GroupGFSpec, groupgf_views, polynomial, powered
from graphrec.model.item_item import binary_csr
from graphrec.model.kinds import FilterSpec, Spec, member_mean_rows, register

FILTER_GROUP_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
BETAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
POWERS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
ORDERS = (1, 2, 3)
GROUPGF_GROUP_WEIGHTS = (1.0, 0.9, 0.75, 0.5, 0.25)
PUBLISHED = {"alpha": 0.3, "beta": 0.3, "power": 0.9, "user_order": 1, "group_order": 2, "unified_order": 3,
             "group_weight": 1.0}
"""Group-GF's published CAMRa2011 settings (its official run.sh): where the search starts."""
NEGATIVES = 100
KS = (5, 10)
MIN_CASES = 50
ROW_FLOATS = 25_000_000
"""The validation rows are dense (groups x items, twice: own and members' mean rows): at most this many floats
(100 MB), so fewer groups are validated on a large catalogue (at least 100)."""


@dataclass
class Split:
    """A validation split: the train rows less the held-out pairs, and those pairs."""

    train: TrainingData
    groups: np.ndarray
    """The validated groups (sorted)."""
    cases: np.ndarray
    """(n, 2) [position in `groups`, item] of each held-out pair."""


def carve(data: TrainingData, holdout: int, fraction: float, seed: int, max_groups: int) -> Split:
    """The split of the module docstring (vectorised: one permutation, no loop over groups)."""
    rng = np.random.default_rng(seed)
    own = data.group_matrix().tocoo()
    group, item = own.row.astype(np.int64), own.col.astype(np.int64)
    counts = np.bincount(group, minlength=data.num_groups)
    eligible = np.flatnonzero(counts >= 2)
    if eligible.size > max_groups:
        eligible = np.sort(rng.choice(eligible, size=max_groups, replace=False))
    chosen = np.zeros(data.num_groups, dtype=bool)
    chosen[eligible] = True
    shuffled = rng.permutation(group.size)
    order = shuffled[np.argsort(group[shuffled], kind="stable")]  # by group, random within a group
    starts = np.cumsum(counts) - counts
    within = np.arange(group.size) - starts[group[order]]
    quota = np.clip(np.rint(fraction * counts), 1, holdout)  # at least 1, at most `holdout`, ...
    quota = np.minimum(quota, counts - 1)  # ... and 1 item always stays
    held = np.zeros(group.size, dtype=bool)
    held[order] = (within < quota[group[order]]) & chosen[group[order]]
    held_matrix = sp.csr_matrix((np.ones(held.sum(), dtype=np.float32), (group[held], item[held])),
                                shape=(data.num_groups, data.num_items))
    members = data.memberships.numpy()
    membership = binary_csr(sp.csr_matrix((np.ones(members.shape[1], dtype=np.float32), (members[0], members[1])),
                                          shape=(data.num_users, data.num_groups)))
    users = data.user_matrix()
    leaked = users.multiply(binary_csr(membership @ held_matrix))  # members' rows holding a held-out item
    users = (users - leaked).tocoo()
    users.eliminate_zeros()
    train = replace(data, group_train=torch.from_numpy(np.vstack([group[~held], item[~held]])),
                    user_train=torch.from_numpy(np.vstack([users.row, users.col]).astype(np.int64)))
    position = np.searchsorted(eligible, group[held])
    return Split(train, eligible, np.stack([position, item[held]], axis=1))


def case_gains(scores: np.ndarray, cases: np.ndarray, known: sp.csr_matrix) -> np.ndarray:
    r"""Each held-out pair's figure (module docstring): :obj:`scores` (rows x items), :obj:`cases` (n, 2)
    [row, item], :obj:`known` the rows' remaining train items (left out of every ranking). Cases go 1,024 at a
    time, which bounds the memory."""
    scores = np.array(scores, dtype=np.float32)
    scores[known.nonzero()] = -np.inf
    ranks = np.arange(max(KS))
    out = np.empty(len(cases))
    for start in range(0, len(cases), 1024):
        rows, items = cases[start:start + 1024, 0], cases[start:start + 1024, 1]
        target = scores[rows, items]
        beaten = (scores[rows] >= target[:, None]).sum(1) - 1  # the held-out item itself does not count
        pmf = binom.pmf(ranks[None, :], NEGATIVES, beaten[:, None] / max(scores.shape[1] - 1, 1))
        gain = pmf / np.log2(ranks + 2)
        out[start:start + 1024] = np.mean([gain[:, :k].sum(1) for k in KS], axis=0)
    return out


def search(evaluate: Callable[[dict[str, Any]], float], ranges: dict[str, tuple], start: dict[str, Any],
           allowed: Callable[[dict[str, Any]], bool] = lambda params: True,
           passes: int = 2) -> tuple[dict[str, Any], float, int]:
    """Coordinate-wise search: each coordinate in turn set to its best value with the others fixed, `passes`
    rounds. Returns (best settings, best figure, settings tried)."""
    best, best_value, tried = dict(start), evaluate(start), 1
    for _ in range(passes):
        for name, values in ranges.items():
            for value in values:
                params = {**best, name: value}
                if value == best[name] or not allowed(params):
                    continue
                found, tried = evaluate(params), tried + 1
                if found > best_value + 1e-12:
                    best, best_value = params, found
    return best, best_value, tried


def describe(selection: dict[str, Any]) -> str:
    """One line for a fit's `selection` record: the chosen kind and searched settings, its validation figure and
    the other candidate's, e.g. ``groupgf alpha=0 beta=0.3 ... group_weight=1 (validation 0.5123; group filter
    0.4987)``."""
    chosen = selection["chosen"]
    searched = ("alpha", "beta", "power", "user_order", "group_order", "unified_order") \
        if chosen["kind"] == "groupgf" else ()
    settings = " ".join(f"{key}={chosen[key]:g}" for key in (*searched, "group_weight") if chosen.get(key) is not None)
    figures = {"filter": max(selection["filter"].values()) if selection.get("filter") else None,
               "groupgf": selection["groupgf"]["best"] if isinstance(selection.get("groupgf"), dict) else None}
    other = "groupgf" if chosen["kind"] == "filter" else "filter"
    text = f"{chosen['kind']} {settings}"
    if figures[chosen["kind"]] is not None:
        text += f" (validation {figures[chosen['kind']]:.4f}" + (
            f"; {'Group-GF' if other == 'groupgf' else 'group filter'} {figures[other]:.4f})"
            if figures[other] is not None else ")")
    return text + (f"; {selection['note']}" if selection.get("note") else "")


class GroupGFRows:
    """Each Group-GF view's filtered rows :math:`f_o(\\bar{\\mathbf{P}})` of the validation rows (own rows, then
    members' mean rows); every setting's scores are a linear mix of them. Products are computed when a setting
    first needs them and cached per (power, view): :math:`\\mathbf{X}\\bar{\\mathbf{P}}^2` only for an order of 2
    or more, :math:`\\mathbf{X}\\bar{\\mathbf{P}}^3` only for order 3."""

    def __init__(self, data: TrainingData, groups: np.ndarray) -> None:
        users, own = data.user_matrix(), data.group_matrix()
        members = data.memberships.numpy()
        membership = sp.csr_matrix((np.ones(members.shape[1], dtype=np.float32), (members[1], members[0])),
                                   shape=(data.num_groups, data.num_users))
        self.views = groupgf_views(users, own, membership)
        rows = sp.vstack([own[groups], member_mean_rows(data, users)[groups]])
        self.rows = rows.toarray().astype(np.float32)
        self.count = groups.size
        self.powers: dict[tuple[float, int], list[np.ndarray]] = {}  # X P^p, X P^2p, ... computed so far
        self.matrix: tuple[float, int, Any] | None = None             # the last powered view

    def _products(self, power: float, view: int, order: int) -> list[np.ndarray]:
        found = self.powers.setdefault((power, view), [])
        while len(found) < order:
            if self.matrix is None or self.matrix[:2] != (power, view):
                self.matrix = (power, view, powered(self.views[view], power))
            found.append(np.ascontiguousarray((self.matrix[2] @ (found[-1] if found else self.rows).T).T))
        return found

    def filtered(self, power: float, view: int, order: int) -> np.ndarray:
        return polynomial(self._products(power, view, order), order)

    def scores(self, alpha: float, beta: float, power: float, user_order: int, group_order: int,
               unified_order: int, group_weight: float) -> np.ndarray:
        mixed = sum(weight * self.filtered(power, view, order) for view, (weight, order) in enumerate(
            zip((1 - alpha - beta, alpha, beta), (user_order, group_order, unified_order))) if weight)
        if isinstance(mixed, int):  # every weight 0
            mixed = np.zeros_like(self.rows)
        return group_weight * mixed[:self.count] + (1 - group_weight) * mixed[self.count:]


@register
@dataclass
class GroupSelectSpec(Spec):
    r"""The default group model (`graphrec.model.group_select`): Group-GF or the group filter, and their
    settings, chosen inside `fit` on a validation split carved from the train rows.

    Attributes:
        filter: the group filter candidate, a `filter` kind table (`[model.filter]`; its `group_weight` is
            searched; the configured one is kept when the split is too small). Default: ChebyCF, k 64.
        groupgf: Group-GF's served form (`[model.groupgf]`: `neighbours`, `split`, `seed`; its model settings are
            searched). Default: 500 weights per item and 64 eigenpairs as vectors, so that `combined` serves any
            `group_weight` and ad hoc groups.
        holdout: train items held out per group at most (5). fraction: of a group's train items held out
            (0.2, at least 1). max_groups: groups validated at most (2,000).
        seed: the split's seed (0).
    """

    kind: ClassVar[str] = "group"
    filter: dict[str, Any] = field(default_factory=lambda: {"filter": "chebycf", "k": 64, "ideal_weight": 0.5,
                                                            "power": 0.0, "neighbours": 200, "group_weight": 0.5})
    groupgf: dict[str, Any] = field(default_factory=lambda: {"neighbours": 500, "split": 64})
    holdout: int = 5
    fraction: float = 0.2
    max_groups: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.fraction, bool) or not isinstance(self.fraction, (int, float)) \
                or not 0 < self.fraction < 1:
            raise ValueError(f"fraction must be a number in (0, 1), not {self.fraction!r}")
        for name in ("holdout", "max_groups", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "seed" else 1):
                raise ValueError(f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} integer, "
                                 f"not {value!r}")
        if not isinstance(self.filter, dict) or not isinstance(self.groupgf, dict):
            raise ValueError("filter and groupgf are tables ([model.filter], [model.groupgf])")
        searched = sorted(set(self.groupgf) & set(PUBLISHED))
        if searched:
            raise ValueError(f"[model.groupgf] {', '.join(searched)}: chosen by validation, not set")
        self.filter_spec(self.filter.get("group_weight", 0.5))
        self.groupgf_spec({**PUBLISHED, "group_weight": 0.5})

    def filter_spec(self, group_weight: float | None) -> FilterSpec:
        return FilterSpec(**{**self.filter, "group_weight": group_weight})

    def groupgf_spec(self, params: dict[str, Any]) -> GroupGFSpec:
        return GroupGFSpec(**{**self.groupgf, **params})

    def fit(self, data: TrainingData, train: Any, run_dir: Path, *, progress: bool = True,
            resume: bool = False) -> Fitted:
        started = time.perf_counter()
        # at most ROW_FLOATS floats in a block of validation rows (own and members' mean rows, dense)
        max_groups = min(self.max_groups, max(100, ROW_FLOATS // (2 * max(data.num_items, 1))))
        split = carve(data, self.holdout, self.fraction, self.seed, max_groups)
        record: dict[str, Any] = {"cases": len(split.cases), "groups": int(split.groups.size),
                                  "figure": f"expected sampled NDCG@{'/'.join(map(str, KS))} ({NEGATIVES} negatives)"}
        configured = self.filter.get("group_weight")
        if len(split.cases) < MIN_CASES:
            record["note"] = f"fewer than {MIN_CASES} held-out pairs: the configured group filter is kept"
            return self._chosen(self.filter_spec(configured), data, record, started)
        known = split.train.group_matrix()[split.groups]
        # the group filter: fitted once on the split, linear in the group's row; 512 groups at a time
        fitted = self.filter_spec(None).fit(split.train, None, run_dir, progress=False)
        means = sp.csr_matrix(fitted.member_means())[split.groups]
        gains: dict[float, list[np.ndarray]] = {a: [] for a in FILTER_GROUP_WEIGHTS}
        for start in range(0, split.groups.size, 512):
            block = slice(start, start + 512)
            cases = split.cases[(split.cases[:, 0] >= start) & (split.cases[:, 0] < start + 512)] - [start, 0]
            own, members = fitted.score_rows(known[block]), fitted.score_rows(means[block])
            for a in FILTER_GROUP_WEIGHTS:
                gains[a].append(case_gains(a * own + (1 - a) * members, cases, known[block]))
        record["filter"] = {f"group_weight {a:g}": float(np.concatenate(found).mean()) for a, found in gains.items()}
        best_a = max(FILTER_GROUP_WEIGHTS, key=lambda a: record["filter"][f"group_weight {a:g}"])
        best: tuple[float, Spec] = (record["filter"][f"group_weight {best_a:g}"], self.filter_spec(best_a))
        record["filter_seconds"] = time.perf_counter() - started
        tick = time.perf_counter()
        rows = GroupGFRows(split.train, split.groups)
        params, value, tried = search(
            lambda params: float(case_gains(rows.scores(**params), split.cases, known).mean()),
            {"alpha": ALPHAS, "beta": BETAS, "power": POWERS, "user_order": ORDERS, "group_order": ORDERS,
             "unified_order": ORDERS, "group_weight": GROUPGF_GROUP_WEIGHTS}, PUBLISHED,
            allowed=lambda params: params["alpha"] + params["beta"] <= 1 + 1e-9)
        record["groupgf"] = {"published": float(case_gains(rows.scores(**PUBLISHED), split.cases, known).mean()),
                             "best": value, "settings": params, "tried": tried,
                             "seconds": time.perf_counter() - tick}
        del rows
        if value > best[0]:
            best = (value, self.groupgf_spec(params))
        return self._chosen(best[1], data, record, started)

    def _chosen(self, spec: Spec, data: TrainingData, record: dict[str, Any], started: float) -> Fitted:
        """`spec` fitted on every train row, its record carrying the selection's."""
        record["validation_seconds"] = time.perf_counter() - started
        record["chosen"] = spec.params()
        fitted = spec.fit(data, None, None, progress=False)
        fitted.record = {**fitted.record, "selection": record, "seconds": time.perf_counter() - started}
        fitted.refit_spec = spec  # the evaluation's refits on held-out variants fit the choice, not choose again
        return fitted
