"""Serve recommendations from the embeddings written back to Neo4j, through the queries in `cypher/`.

The ranking itself happens in Cypher (`recommend_user`, `recommend_group`, `similar_items`, `explain_user`,
`explain_group`), so that Browser and `cypher-shell` get the same answers as Python; this module checks the
arguments, sends them as parameters, and turns an empty answer into the reason for it.

Scores follow the one formula of `graphrec.model.base` for every model kind: for user u and item i,
s(u, i) = sum over u's items j of w(j -> i) (item–item weights, when the model has them) + q_u . v_i (vectors,
when it has them); a popularity model scores by interaction counts. A group scores an item by one of
`STRATEGIES` over its members' scores, or by its own score. Catalogues of at most
`exact_max_items` items are scanned exactly in Cypher. On larger ones the candidates come from the procedure
`graphrec.topItems`, which scores every item of the version natively (`graphrec/db/server/procedures/TopItems.java`:
a user's q . v_i; a group's member scores aggregated by the strategy), and from the item–item weights of the
user's (members') items; Cypher re-ranks them by the whole formula. That is the exact top k for vector models
and for filters whose item–item weights are not negative. When the candidates leave fewer than k items
(filters, many seen items), the query is repeated as an exact scan, so a ranking is never cut short;
`exact_max_items=EXACT` (CLI `--exact`) asks for that scan from the start, the reference the serving benchmark
compares against.

Without graphrec's procedures (`PROCEDURES`; Aura allows no plugin but APOC core), users and groups are served from
`recommend_user_plain` and `recommend_group_plain`: built-in Cypher, the exact scan whatever the catalogue's size,
item–item weights summed by expanding the relationships, MMR as a `reduce`; the same rankings and scores as the
exact scan up to float32 rounding (q · v by the euclidean identity in float32, natively float64 sums), slower on
large catalogues (about 0.35 s a user on 41k items). A `Recommender` finds out on its first
ranking per runner: it sends the procedures' statement and, when the server answers that a `graphrec.` procedure
or function does not exist, asks which exist (`serving_procedures`), says so once on standard error and serves in
plain Cypher from then on (no extra round trip where the procedures exist). Similar items and explanations call
no procedure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from graphrec.db import cypher
from graphrec.names import is_reserved_property

if TYPE_CHECKING:  # annotations only: the CLI reads STRATEGIES, MAX_K, ... without loading the driver
    from graphrec.db.runner import QueryRunner

STRATEGIES = ("combined", "average", "least_misery", "most_pleasure", "borda", "group")
"""Group strategies (see `cypher/recommend_group.cypher`); 'combined' mixes the group's own vector with the
members' average by the model's `group_weight` and falls back to 'average' without a group vector."""

DEFAULT_EXACT_MAX_ITEMS = 2000
"""Catalogues up to this many items are ranked by an exact scan in Cypher (about 8 µs per item here), larger
ones from the candidates of `graphrec.topItems`."""

DEFAULT_OVERSAMPLE = 100
"""Candidates fetched beyond k + the seen and excluded items: room for a `filter` that leaves some out, and
recall for the vector-index neighbours of `similar_items`."""

EXACT = 2**62
"""An `exact_max_items` that makes every query an exact scan."""

MAX_K = 1000
"""The largest k a query accepts."""

SIMILAR_BY = ("graph", "text", "both")
"""What similar items are similar by: the model's graph vectors or weights, the items' text, or both."""

PROCEDURES = ("graphrec.innerProducts", "graphrec.itemWeights", "graphrec.mmr", "graphrec.topItems")
"""What `recommend_user` and `recommend_group` call from graphrec's plugin (graphrec/db/server/procedures/)."""

PLAIN = {"recommend_user": "recommend_user_plain", "recommend_group": "recommend_group_plain"}
"""The statements that call `PROCEDURES`, and their plain-Cypher equivalents."""

_procedures: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
"""Per runner, whether its server has every one of `PROCEDURES` (absent: not known yet)."""

class RecommendError(LookupError):
    """A recommendation that cannot be made: unknown id, no active model, invalid argument."""


@dataclass(frozen=True)
class Ranking:
    """A ranked list of items for one user, group or item.

    Attributes:
        kind: 'user', 'group' or 'item' (similar items).
        id: the user's, group's or item's id.
        version: the model version that scored it (None when nothing was ranked).
        basis: how the scores were made: for users 'embedding', 'folded_in' (a user new since training,
            folded in from their interactions) or 'popular' (no interactions with trained items: most
            interacted-with items); for groups 'members', 'group', 'combined' or 'popular'; for similar items
            'cosine' (vectors) or 'weight' (item–item weights).
        strategy: the group strategy (None otherwise).
        model_kind: the kind of the model that scored it ('lightgcn', 'filter', ...; None when nothing was
            ranked).
        items: one dict per item, best first: rank, id, score, properties (dict), and for groups members
            (each member's {user, score}), group_score and unscored (members without a vector, left out).
    """

    kind: str
    id: int
    version: int | None
    basis: str | None
    strategy: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    model_kind: str | None = None

    @property
    def ids(self) -> list[int]:
        """The recommended item ids, best first."""
        return [row["id"] for row in self.items]


class Recommender:
    """Recommendations, group recommendations, similar items and explanations from the active model.

    Args:
        runner (QueryRunner): the database to serve from.
        exact_max_items (int, optional): the largest catalogue ranked by an exact scan in Cypher; above it,
            candidates come from `graphrec.topItems` (and, for similar items, the vector index). :obj:`EXACT`
            makes every query a scan. (default: :obj:`DEFAULT_EXACT_MAX_ITEMS`)
        oversample (int, optional): extra candidates per query (beyond k and the seen and excluded items).
            (default: :obj:`DEFAULT_OVERSAMPLE`)
        procedures (bool, optional): whether to call graphrec's procedures: None finds out on the first ranking
            (see the module docstring), False always serves in plain Cypher (where `exact_max_items` and
            `oversample` play no part), True never falls back. (default: :obj:`None`)
    """

    def __init__(self, runner: QueryRunner, *, exact_max_items: int = DEFAULT_EXACT_MAX_ITEMS,
                 oversample: int = DEFAULT_OVERSAMPLE, procedures: bool | None = None) -> None:
        self.runner = runner
        self.exact_max_items = _count("exact_max_items", exact_max_items)
        self.oversample = _count("oversample", oversample)
        if procedures not in (None, True, False):
            raise RecommendError(f"procedures is True, False or None (find out), not {procedures!r}")
        self.procedures = procedures

    def recommend_user(self, user: int, k: int = 10, *, filter: Mapping[str, Any] | None = None,
                       exclude: Iterable[int] = (), diversity: float | None = None,
                       diversity_by: str = "graph") -> Ranking:
        """The top-k items for `user`, leaving out the items they interacted with and `exclude`.

        `filter` keeps only items whose properties equal every entry (e.g. {'category': 'book'}).
        `diversity` lambda in [0, 1] re-ranks the 3k best by MMR over the model's item vectors or, with
        `diversity_by='text'`, the items' text vectors (`graphrec.evaluation.diversity`; None or 0: no
        re-ranking, the default).
        """
        params = {"user": _id("user", user), "k": _k(k), "filter": _filter(filter), "exclude": _ids(exclude),
                  **_diversity(diversity, diversity_by)}
        rows = self._ranked("recommend_user", params)
        if not rows:
            self._explain_empty(user=params["user"])
        return Ranking("user", params["user"], _first(rows, "version"), _first(rows, "basis"),
                       items=[_item(row) for row in rows], model_kind=_first(rows, "kind"))

    def recommend_group(self, group: int, k: int = 10, *, strategy: str = "combined",
                        exclude_member_items: bool = False, filter: Mapping[str, Any] | None = None,
                        exclude: Iterable[int] = (), diversity: float | None = None,
                        diversity_by: str = "graph") -> Ranking:
        """The top-k items for `group` by `strategy` (one of `STRATEGIES`).

        Leaves out the group's items, with `exclude_member_items` also every member's, and `exclude`. Each
        item carries every member's score, so that fairness can be seen. `diversity`, `diversity_by`: as
        for `recommend_user`, over the strategy's ranking.
        """
        if strategy not in STRATEGIES:
            raise RecommendError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        params = {"group": _id("group", group), "k": _k(k), "strategy": strategy,
                  "exclude_member_items": bool(exclude_member_items), "filter": _filter(filter),
                  "exclude": _ids(exclude), **_diversity(diversity, diversity_by)}
        rows = self._ranked("recommend_group", params)
        if not rows:
            self._explain_empty(group=params["group"], strategy=strategy)
        return Ranking("group", params["group"], _first(rows, "version"), _first(rows, "basis"), strategy,
                       items=[_item(row, "members", "group_score", "unscored") for row in rows],
                       model_kind=_first(rows, "kind"))

    def similar_items(self, item: int, k: int = 10, *, by: str = "graph",
                      filter: Mapping[str, Any] | None = None) -> Ranking:
        """The k items most similar to `item` by `by` (one of `SIMILAR_BY`; `basis` says how): 'graph' (default)
        by the cosine of their vectors, or for models with item–item weights by the score a user whose only
        item is `item` would give them; 'text' by the cosine of their text vectors (a version with `[text]`);
        'both' by the mean of the two (`cypher/similar_items.cypher`)."""
        if by not in SIMILAR_BY:
            raise RecommendError(f"similar items by {by!r}? choose one of {', '.join(SIMILAR_BY)}")
        params = {"item": _id("item", item), "k": _k(k), "by": by, "filter": _filter(filter)}
        rows = self._ranked("similar_items", params)
        if not rows:
            self._explain_empty(item=params["item"], by=by)
        return Ranking("item", params["item"], _first(rows, "version"), _first(rows, "basis"),
                       items=[{**_item(row), "score": row["similarity"]} for row in rows],
                       model_kind=_first(rows, "kind"))

    def explain(self, item: int, *, user: int | None = None, group: int | None = None, n: int = 3) -> dict[str, Any]:
        """Why `item` suits `user` or `group` (exactly one of them).

        Returns the score(s), the user's (or the group's top member's) `n` own items that speak most for it
        (`because`: {item, basis ('weight': its item–item weight to the item; 'cosine': vector similarity),
        value, co_users}), for a group every member's score, the model `kind`, and a short graph path as
        `steps` ({label, id} per node; the Cypher file also returns it as a path that Browser draws).
        """
        if (user is None) == (group is None):
            raise RecommendError("explain wants exactly one of user= or group=")
        name, params = (("explain_user", {"user": _id("user", user)}) if user is not None
                        else ("explain_group", {"group": _id("group", group)}))
        params |= {"item": _id("item", item), "n": _k(n)}
        rows = self.runner.read(cypher.statement(name), params)
        if not rows:
            self._explain_empty(user=params.get("user"), group=params.get("group"), item=params["item"])
        row = rows[0]
        row.pop("path")
        return row

    def _ranked(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a ranking query, in plain Cypher where the server lacks graphrec's procedures."""
        params = {**params, "draw": False}  # Browser's drawing (column graph) is not for Python
        if name not in PLAIN:
            return self._candidates(name, params)
        known = self.procedures if self.procedures is not None else _procedures.get(self.runner)
        if known is False:
            return self.runner.read(cypher.statement(PLAIN[name]), params)
        try:
            rows = self._candidates(name, params)
        except Exception as error:  # the driver's ClientError; recommend.py loads no driver at import
            if known is None and _names_graphrec(error) and self._missing():
                return self.runner.read(cypher.statement(PLAIN[name]), params)
            raise
        if known is None:
            _procedures[self.runner] = True
        return rows

    def _missing(self) -> list[str]:
        """Which of `PROCEDURES` the server lacks; when some, remember it for the runner and say so once."""
        found = {name for query in cypher.statements("serving_procedures")
                 for name in self.runner.read(query)[0]["names"]}
        missing = [name for name in PROCEDURES if name not in found]
        _procedures[self.runner] = not missing
        if missing:
            where = getattr(getattr(self.runner, "connection", None), "uri", "this server")
            print(f"graphrec: {', '.join(missing)} not installed on {where}: serving in plain Cypher (an exact "
                  "scan: slower on large catalogues, the same answers)", file=sys.stderr, flush=True)
        return missing

    def _candidates(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a ranking query with graphrec's procedures; repeat it as an exact scan when its candidates left
        fewer than k rows."""
        query = cypher.statement(name)
        rows = self.runner.read(query, {**params, "exact_max_items": self.exact_max_items,
                                        "oversample": self.oversample})
        if len(rows) < params["k"] and self.exact_max_items < EXACT:
            items = self._lookup()["items"]
            if items is not None and items > self.exact_max_items:
                rows = self.runner.read(query, {**params, "exact_max_items": EXACT, "oversample": 0})
        return rows

    def _lookup(self, user: int | None = None, group: int | None = None, item: int | None = None) -> dict[str, Any]:
        return self.runner.read(cypher.statement("serving_lookup"),
                                {"user": user, "group": group, "item": item})[0]

    def _explain_empty(self, *, user: int | None = None, group: int | None = None, item: int | None = None,
                       strategy: str | None = None, by: str = "graph") -> None:
        """Raise the reason why a query found nothing; return when nothing was wrong (nothing left to rank)."""
        found = self._lookup(user, group, item)
        if found["version"] is None:
            raise RecommendError("no active model: train one with `graphrec train` (or activate one)")
        for kind, wanted in (("user", user), ("group", group), ("item", item)):
            if wanted is not None and not found[kind]["exists"]:
                raise RecommendError(f"unknown {kind} {wanted}: no {kind.capitalize()} node has id {wanted}")
        if group is not None and found["group"]["members"] == 0:
            raise RecommendError(f"group {group} has no members")
        if group is not None and strategy == "group":
            raise RecommendError(f"group {group} has no score of its own in model v{found['version']} (no vector, "
                                 "no history the model can use); use strategy 'combined' (falls back to the "
                                 "members) or a member aggregation")
        if item is not None and user is None and group is None and by != "graph" and not found["item"]["text"]:
            raise RecommendError(f"model v{found['version']} has no text vector of item {item} (train with a "
                                 "[text] table to compare items by meaning)")
        if item is not None and user is None and group is None and by != "text" and not found["item"]["known"]:
            raise RecommendError(f"model v{found['version']} knows nothing of item {item} (no vector and no "
                                 "item–item weights: new since training)")


def _names_graphrec(error: Exception) -> bool:
    """Whether `error` is the server's answer that a `graphrec.` procedure or function does not exist."""
    code, message = getattr(error, "code", None) or "", str(error)
    return code.startswith("Neo.ClientError.") and "graphrec." in message and (
        "ProcedureNotFound" in code or "no procedure" in message.lower() or "unknown function" in message.lower())


def _item(row: Mapping[str, Any], *extra: str) -> dict[str, Any]:
    return {"rank": row["rank"], "id": row["id"], "score": row.get("score"),
            "properties": dict(row["properties"]), **{key: row[key] for key in extra}}


def _first(rows: list[dict[str, Any]], key: str) -> Any:
    return rows[0].get(key) if rows else None


def _id(kind: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise RecommendError(f"a {kind} id is an integer from -2**63 to 2**63 - 1, not {value!r}")
    return value


def _ids(values: Iterable[Any]) -> list[int]:
    return [_id("item", value) for value in values]


def _k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise RecommendError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
    return k


def _diversity(diversity: Any, by: Any) -> dict[str, Any]:
    if diversity is not None and (isinstance(diversity, bool) or not isinstance(diversity, (int, float))
                                  or not 0 <= diversity <= 1):
        raise RecommendError(f"diversity is an MMR weight from 0 to 1 (or None), not {diversity!r}")
    if by not in ("graph", "text"):
        raise RecommendError(f"diversity_by is 'graph' or 'text', not {by!r}")
    return {"diversity": None if diversity is None else float(diversity), "diversity_by": by}


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecommendError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def _filter(filter: Mapping[str, Any] | None) -> dict[str, Any]:
    checked = dict(filter or {})
    for key, value in checked.items():
        if not isinstance(key, str) or not key or is_reserved_property(key):
            raise RecommendError(f"cannot filter on item property {key!r}")
        if not isinstance(value, (str, int, float, bool)):
            raise RecommendError(f"a filter value is a string, number or boolean, not {value!r} (for {key!r})")
    return checked
