"""The export arrow: a subgraph of Neo4j → a `Snapshot` of index tensors for PyTorch Geometric.

`export_snapshot` selects the subgraph in Cypher (`cypher/export_*.cypher`) and streams it page by page into
growing numpy buffers (`QueryRunner.stream`, read-only sessions), so memory stays proportional to the exported
arrays, never to a list of records. Each page is one streamed read: a transient error before its first row
is retried, one later in the page ends the export with the error (run it again).
Nodes of each kind are numbered by ascending Neo4j id: index k of `user_ids` is user index k, and so on.

Parallel reads (`sessions` = N, default 1): the sorted user ids (and group ids) are cut into N contiguous ranges
of equal count (`numpy.array_split`: sizes differ by at most one id), and each range is paged through in its own
READ session on its own thread, all with the runner's bookmark manager, so every range reads causally after the
runner's earlier writes, on whichever cluster member it is routed to. The ranges' rows are joined in range order,
which is ascending id order as with N = 1, so the snapshot is the same, array for array, whatever N. Ranges are
balanced by node count, not by degree: a range of heavy users takes longer. The decoding of rows is Python and
holds the GIL, so the gain is in the server's work and the network waits overlapping. Memory: the ranges' buffers
are joined into one once all are read (the copied columns exist twice for a moment); the driver opens up to N
connections.

Selection (all in Cypher):

* **Full export** (no `users`, no `groups`): every User, Item and Group node, including those without any
  interaction, so that the catalogue and the index maps are complete.
* **Seeded export** (`users` and/or `groups` given, all of which must exist): the selected nodes are the seeds
  plus every node within `hops` hops of a seed, walking INTERACTED, HELD_OUT and MEMBER_OF in either
  direction (breadth-first, one Cypher statement per hop). Exported are the selected users and groups, all
  their interactions and cases, the memberships between selected users and selected groups, and as items
  exactly the items of the exported interactions, cases and negatives. So `hops=0` gives the seeds and their items;
  `hops=1` adds the seeds' groups (of seed users) or members (of seed groups); `hops=2` adds every user and
  group that interacted with a seed's item, and so on.
* `since` (Unix seconds): only INTERACTED and HELD_OUT relationships with `ts >= since` are exported or
  walked; those without `ts` are left out. Memberships have no time and are always walked.
* `min_interactions`: users with fewer train interactions (counted among those kept by `since`) are left out
  with their interactions and memberships; they are still walked through during the hop selection. Groups are
  not filtered. In a full export, items are all Item nodes whatever the filters.

The `train` split is the interactions (INTERACTED), the `valid` and `test` splits the held-out cases
(HELD_OUT), one column per case in the order of their input lines (then source, item): a pair held out twice
is two cases, and a pair may be both trained on and held out, as the reference code of the benchmarks has it.
An absent `weight` reads as 1.0.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from graphrec.db import cypher
from graphrec.db.nodes import missing_ids
from graphrec.db.runner import QueryRunner
from graphrec.errors import ConfigError

SPLITS = ("train", "valid", "test")
DEFAULT_BATCH_SIZE = 10_000
SNAPSHOT_FILE = "snapshot.pt"
META_FILE = "snapshot.json"


@dataclass
class Snapshot:
    """An exported subgraph as contiguous indices.

    Attributes:
        user_ids, item_ids, group_ids: int64 Neo4j ids, ascending; position k is node index k.
        interactions: split → (2, E) long, rows [user index, item index]: `train` the interactions, one per
            pair; `valid` and `test` the held-out cases, one per case, in the order of their input lines.
        interaction_weights: split → (E,) float32, aligned with `interactions`.
        group_interactions, group_interaction_weights: the same for groups, rows [group index, item index].
        memberships: (2, M) long, rows [user index, group index].
        negatives: split → (E, L) long of item indices, row e holding the negatives stored on case e of
            `interactions[split]`, padded with -1 (L = the longest list of that split, 0 when none stored;
            always 0 for `train`).
        group_negatives: the same for `group_interactions`.
        filters: the arguments of `export_snapshot` that produced it.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    group_ids: np.ndarray
    interactions: dict[str, Tensor]
    interaction_weights: dict[str, Tensor]
    group_interactions: dict[str, Tensor]
    group_interaction_weights: dict[str, Tensor]
    memberships: Tensor
    negatives: dict[str, Tensor]
    group_negatives: dict[str, Tensor]
    filters: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Node counts per kind, interaction counts per kind and split, and the membership count."""
        found = {"users": len(self.user_ids), "items": len(self.item_ids), "groups": len(self.group_ids),
                 "memberships": int(self.memberships.shape[1])}
        for split in SPLITS:
            found[f"user_{split}"] = int(self.interactions[split].shape[1])
            found[f"group_{split}"] = int(self.group_interactions[split].shape[1])
        return found

    def user_index(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Indices of the given user ids; KeyError naming the ids that are not in the snapshot."""
        return _lookup(self.user_ids, ids, "user")

    def item_index(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Indices of the given item ids; KeyError naming the ids that are not in the snapshot."""
        return _lookup(self.item_ids, ids, "item")

    def group_index(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Indices of the given group ids; KeyError naming the ids that are not in the snapshot."""
        return _lookup(self.group_ids, ids, "group")

    def hetero_data(self) -> HeteroData:
        """The training graph as `HeteroData`.

        Node types 'user', 'item', 'group', each with `num_nodes` and `node_id` (the Neo4j ids, long). Edge types,
        one direction only (add reverse edges with `torch_geometric.transforms.ToUndirected` if needed):
        ('user', 'interacted', 'item') and ('group', 'interacted', 'item'): the **train** split, with
        `edge_index` and `edge_weight`; ('user', 'member_of', 'group'): all memberships, `edge_index` only.
        Valid and test edges stay out, in `interactions` and `group_interactions`.
        """
        data = HeteroData()
        for kind, ids in (("user", self.user_ids), ("item", self.item_ids), ("group", self.group_ids)):
            data[kind].num_nodes = len(ids)
            data[kind].node_id = torch.from_numpy(ids)
        data["user", "interacted", "item"].edge_index = self.interactions["train"]
        data["user", "interacted", "item"].edge_weight = self.interaction_weights["train"]
        data["group", "interacted", "item"].edge_index = self.group_interactions["train"]
        data["group", "interacted", "item"].edge_weight = self.group_interaction_weights["train"]
        data["user", "member_of", "group"].edge_index = self.memberships
        return data

    def to_networkx(self, max_nodes: int = 10_000) -> nx.MultiDiGraph:
        """The whole snapshot as a `networkx.MultiDiGraph`, for small subgraphs only.

        Nodes are keyed `('user', id)`, `('item', id)`, `('group', id)` with attribute `kind`; edges are
        user → item and group → item with `kind='interacted'`, `split` and `weight` (one per interaction and
        per case: a pair trained on and held out has two), and user → group with `kind='member_of'`. Raises
        ValueError when the snapshot has more than `max_nodes` nodes.
        """
        total = len(self.user_ids) + len(self.item_ids) + len(self.group_ids)
        if total > max_nodes:
            raise ValueError(f"snapshot has {total:,} nodes, more than max_nodes={max_nodes:,}; export a smaller "
                             "subgraph or raise max_nodes")
        graph = nx.MultiDiGraph()
        for kind, ids in (("user", self.user_ids), ("item", self.item_ids), ("group", self.group_ids)):
            graph.add_nodes_from(((kind, node_id), {"kind": kind}) for node_id in ids.tolist())
        for kind, ids, edges, weights in (("user", self.user_ids, self.interactions, self.interaction_weights),
                                          ("group", self.group_ids, self.group_interactions,
                                           self.group_interaction_weights)):
            for split in SPLITS:
                sources = ids[edges[split][0].numpy()].tolist()
                items = self.item_ids[edges[split][1].numpy()].tolist()
                graph.add_edges_from(((kind, s), ("item", i), {"kind": "interacted", "split": split, "weight": w})
                                     for s, i, w in zip(sources, items, weights[split].tolist()))
        users = self.user_ids[self.memberships[0].numpy()].tolist()
        groups = self.group_ids[self.memberships[1].numpy()].tolist()
        graph.add_edges_from((("user", u), ("group", g), {"kind": "member_of"}) for u, g in zip(users, groups))
        return graph

    def save(self, directory: str | Path) -> Path:
        """Write `snapshot.pt` (every array, as tensors) and `snapshot.json` (counts and filters) into
        `directory` (created if needed); returns the directory."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {name: torch.from_numpy(getattr(self, name)) for name in ("user_ids", "item_ids", "group_ids")}
        tensors |= {name: getattr(self, name) for name in _TENSOR_FIELDS}
        torch.save(tensors, directory / SNAPSHOT_FILE)
        meta = {"counts": self.counts(), "filters": self.filters}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Snapshot:
        """Read a snapshot written by `save` (tensors loaded with `weights_only=True`)."""
        directory = Path(directory)
        tensors = torch.load(directory / SNAPSHOT_FILE, weights_only=True)
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        ids = {name: tensors[name].numpy() for name in ("user_ids", "item_ids", "group_ids")}
        return cls(**ids, **{name: tensors[name] for name in _TENSOR_FIELDS}, filters=meta["filters"])


_TENSOR_FIELDS = ("interactions", "interaction_weights", "group_interactions", "group_interaction_weights",
                  "memberships", "negatives", "group_negatives")


def export_snapshot(
    runner: QueryRunner,
    *,
    since: int | None = None,
    users: Sequence[int] | None = None,
    groups: Sequence[int] | None = None,
    hops: int = 0,
    min_interactions: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    sessions: int = 1,
) -> Snapshot:
    """Export a subgraph (see the module docstring for the exact selection) as a `Snapshot`.

    Args:
        since: keep only interactions with `ts >= since` (Unix seconds); None keeps all.
        users, groups: seed ids; both None (the default) exports the whole graph.
        hops: how far to walk from the seeds (0: the seeds and their items); only with seeds.
        min_interactions: leave out users with fewer train interactions (default 0: keep all).
        batch_size: users or groups per page query (default 10,000).
        sessions: READ sessions reading id ranges in parallel, one thread each (default 1); the snapshot does
            not depend on it. ConfigError unless an integer >= 1.
    """
    if hops < 0 or min_interactions < 0 or batch_size < 1:
        raise ValueError("hops and min_interactions must be >= 0 and batch_size >= 1")
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise ConfigError(f"export sessions must be an integer >= 1 (parallel read sessions), not {sessions!r}")
    if users is None and groups is None:
        if hops:
            raise ValueError("hops needs seed users or groups")
        user_ids, item_ids, group_ids = _all_node_ids(runner)
    else:
        seeds = _checked_seeds(runner, users or [], groups or [])
        user_ids, group_ids = _walk(runner, *seeds, hops=hops, since=since)
        item_ids = None
    params = {"since": since, "min_interactions": min_interactions}
    user_part = _read_ranges(runner, "export_user_page", user_ids, params, batch_size, sessions, with_groups=True)
    group_part = _read_ranges(runner, "export_group_page", group_ids, params, batch_size, sessions,
                              with_groups=False)
    if item_ids is None:
        item_ids = np.unique(np.concatenate([user_part.all_items(), group_part.all_items()]))
    filters = {"since": since, "users": None if users is None else sorted(int(u) for u in users),
               "groups": None if groups is None else sorted(int(g) for g in groups), "hops": hops,
               "min_interactions": min_interactions}
    kept_users = np.sort(user_part.sources())
    return Snapshot(
        user_ids=kept_users, item_ids=item_ids, group_ids=group_ids,
        **user_part.edges(kept_users, item_ids, "interactions", "interaction_weights", "negatives"),
        **group_part.edges(group_ids, item_ids, "group_interactions", "group_interaction_weights",
                           "group_negatives"),
        memberships=user_part.memberships(kept_users, group_ids), filters=filters,
    )


def _lookup(known: np.ndarray, ids: Iterable[int] | np.ndarray, kind: str) -> np.ndarray:
    """Positions of `ids` in the sorted array `known`; KeyError if any is missing."""
    wanted = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
    positions = np.searchsorted(known, wanted)
    found = positions < len(known)
    found[found] = known[positions[found]] == wanted[found]
    if not found.all():
        missing = wanted[~found]
        raise KeyError(f"{len(missing)} {kind} id(s) not in the snapshot, e.g. {missing[:10].tolist()}")
    return positions


def _all_node_ids(runner: QueryRunner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every user, item and group id, each sorted ascending (`cypher/export_node_ids.cypher`)."""
    found = [np.array([], dtype=np.int64)] * 3
    for kind, ids in runner.stream(cypher.statement("export_node_ids")):
        found[kind] = np.sort(np.asarray(ids, dtype=np.int64))
    return found[0], found[1], found[2]


def _checked_seeds(runner: QueryRunner, users: Sequence[int], groups: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The seed ids as sorted unique arrays; KeyError if any has no node."""
    found = []
    for kind, label, ids in (("user", "User", users), ("group", "Group", groups)):
        unique = np.unique(np.asarray(list(ids), dtype=np.int64))
        missing = missing_ids(runner, label, unique)
        if missing:
            raise KeyError(f"unknown {kind} id(s): {sorted(missing)[:10]}")
        found.append(unique)
    return found[0], found[1]


def _walk(runner: QueryRunner, users: np.ndarray, groups: np.ndarray, *, hops: int,
          since: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The users and groups within `hops` hops of the seeds (breadth-first, `export_neighbours.cypher`)."""
    empty = np.array([], dtype=np.int64)
    seen = {"users": users, "groups": groups, "items": empty}
    frontier = dict(seen)
    query = cypher.statement("export_neighbours")
    for _ in range(hops):
        if not any(len(ids) for ids in frontier.values()):
            break
        row = runner.read(query, {**{k: v.tolist() for k, v in frontier.items()}, "since": since})[0]
        frontier = {k: np.setdiff1d(np.asarray(row[k], dtype=np.int64), seen[k]) for k in seen}
        seen = {k: np.union1d(seen[k], frontier[k]) for k in seen}
    return seen["users"], seen["groups"]


class _Buffer:
    """Growing columns of one streamed export: per source, its interactions, cases and memberships."""

    def __init__(self) -> None:
        self.source = array("q")  # one per exported source node
        self.degree = array("q")  # its number of interactions
        self.items = array("q")
        self.weights = array("f")
        self.case_count = array("q")  # its number of cases
        self.case_items = array("q")
        self.case_splits = array("b")
        self.case_lines = array("q")
        self.case_weights = array("f")
        self.negative_lists: list[np.ndarray] = []  # one per case
        self.member_count = array("q")
        self.member_groups = array("q")

    def add(self, record: Sequence[Any], with_groups: bool) -> None:
        """Append one page record: (source, items, weights, cases, negatives[, groups])."""
        source, items, weights, cases, negatives = record[:5]
        self.source.append(source)
        self.degree.append(len(items))
        self.items.extend(items)
        self.weights.extend(weights)
        self.case_count.append(len(cases))
        for (item, split, line, weight), stored in zip(cases, negatives):
            self.case_items.append(item)
            self.case_splits.append(split)
            self.case_lines.append(line)
            self.case_weights.append(weight)
            self.negative_lists.append(np.asarray(stored, dtype=np.int64))
        if with_groups:
            self.member_count.append(len(record[5]))
            self.member_groups.extend(record[5])

    def extend(self, other: _Buffer) -> None:
        """Append every column of `other` (the rows streamed after this buffer's)."""
        for name, column in vars(self).items():
            column.extend(getattr(other, name))

    def sources(self) -> np.ndarray:
        return _ints(self.source).copy()

    def all_items(self) -> np.ndarray:
        """Every item id referenced: interactions, cases and negatives."""
        return np.concatenate([_ints(self.items), _ints(self.case_items), *self.negative_lists])

    def edges(self, source_ids: np.ndarray, item_ids: np.ndarray, edge_name: str, weight_name: str,
              negative_name: str) -> dict[str, dict[str, Tensor]]:
        """Per split: (2, E) index tensors, weights and padded negatives, under the given field names: `train`
        the interactions, `valid` and `test` the cases ordered by (line, source, item)."""
        found: dict[str, dict[str, Tensor]] = {edge_name: {}, weight_name: {}, negative_name: {}}
        sources = np.searchsorted(source_ids, np.repeat(self.sources(), _ints(self.degree)))
        items = _lookup(item_ids, _ints(self.items), "item")
        found[edge_name]["train"] = torch.from_numpy(np.stack([sources, items]).astype(np.int64))
        found[weight_name]["train"] = torch.from_numpy(_floats(self.weights))
        found[negative_name]["train"] = torch.full((len(items), 0), -1, dtype=torch.long)
        case_sources = np.searchsorted(source_ids, np.repeat(self.sources(), _ints(self.case_count)))
        case_items = _lookup(item_ids, _ints(self.case_items), "item")
        splits = np.frombuffer(self.case_splits, dtype=np.int8) if self.case_splits else np.array([], np.int8)
        lines = _ints(self.case_lines)
        weights = _floats(self.case_weights)
        for code, split in enumerate(SPLITS[1:], start=1):
            chosen = np.flatnonzero(splits == code)
            chosen = chosen[np.lexsort((case_items[chosen], case_sources[chosen], lines[chosen]))]
            found[edge_name][split] = torch.from_numpy(
                np.stack([case_sources[chosen], case_items[chosen]]).astype(np.int64))
            found[weight_name][split] = torch.from_numpy(weights[chosen].copy())
            found[negative_name][split] = self._negatives(chosen, item_ids)
        return found

    def _negatives(self, chosen: np.ndarray, item_ids: np.ndarray) -> Tensor:
        """(len(chosen), L) item indices of the negatives of the cases `chosen`, in that order, -1 padded."""
        lists = [self.negative_lists[k] for k in chosen.tolist()]
        padded = np.full((len(lists), max(map(len, lists), default=0)), -1, dtype=np.int64)
        for row, stored in enumerate(lists):
            if len(stored):
                padded[row, : len(stored)] = _lookup(item_ids, stored, "item")
        return torch.from_numpy(padded)

    def memberships(self, user_ids: np.ndarray, group_ids: np.ndarray) -> Tensor:
        """(2, M) [user index, group index] of the streamed memberships in `group_ids` (the page statement
        lists all of a user's groups), sorted by user, then group (the server returns them in no set order)."""
        members = np.repeat(self.sources(), _ints(self.member_count))
        groups = _ints(self.member_groups)
        kept = np.isin(groups, group_ids)
        users = np.searchsorted(user_ids, members[kept])
        groups = _lookup(group_ids, groups[kept], "group")
        order = np.lexsort((groups, users))
        return torch.from_numpy(np.stack([users[order], groups[order]]).astype(np.int64))


def _ints(column: array) -> np.ndarray:
    return np.frombuffer(column, dtype=np.int64) if column else np.array([], dtype=np.int64)


def _floats(column: array) -> np.ndarray:
    return np.frombuffer(column, dtype=np.float32).copy() if column else np.array([], dtype=np.float32)


def _read_ranges(runner: QueryRunner, name: str, ids: np.ndarray, params: dict[str, Any], batch_size: int,
                 sessions: int, *, with_groups: bool) -> _Buffer:
    """`_stream_pages` over `sessions` contiguous ranges of `ids` of equal count, each on its own thread (hence
    its own READ sessions), joined in range order: the same buffer as one range."""
    ranges = [part for part in np.array_split(ids, sessions) if len(part)]
    if len(ranges) <= 1:
        return _stream_pages(runner, name, ids, params, batch_size, with_groups=with_groups)
    with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="graphrec-export") as pool:
        buffers = list(pool.map(lambda part: _stream_pages(runner, name, part, params, batch_size,
                                                           with_groups=with_groups), ranges))
    joined = buffers.pop(0)
    while buffers:
        joined.extend(buffers.pop(0))  # each range's columns are freed once copied
    return joined


def _stream_pages(runner: QueryRunner, name: str, ids: np.ndarray, params: dict[str, Any], batch_size: int,
                  *, with_groups: bool) -> _Buffer:
    """Run the page statement `name` over `ids` in pages of `batch_size`, streaming into one `_Buffer`."""
    buffer = _Buffer()
    query = cypher.statement(name)
    for page in _pages(ids, batch_size):
        for record in runner.stream(query, {**params, "ids": page}):
            buffer.add(record, with_groups)
    return buffer


def _pages(ids: np.ndarray, size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size].tolist()
