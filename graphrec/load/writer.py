"""A validated `Dataset` → Neo4j, in batched, idempotent `UNWIND` writes.

Order: schema, then nodes (users, items, groups), memberships, user and group interactions (`INTERACTED`),
user and group cases (`HELD_OUT`). Every write is a `MERGE` on the node ids (backed by the uniqueness
constraints), on the (source, item) pair of an interaction or on the (source, item, split, line) of a case, so
loading the same data twice changes nothing, and a load cut off midway is completed by running it again.

Throughput: one transaction uses about one core of the server, so interactions are written by `workers`
concurrent sessions. Rows are split into a `workers × workers` grid by `source % workers` and
`item % workers`; the streams written at the same time never share a node, so they never wait on each
other's locks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.load.dataset import Dataset

DEFAULT_BATCH_SIZE = 20_000
DEFAULT_WORKERS = 2


def apply_schema(runner: QueryRunner) -> None:
    """Create the constraints and indexes of `cypher/schema.cypher` if missing, and wait until online."""
    runner.run_file("schema")
    # In the WRITE session, on purpose: on a cluster each member populates its own indexes, and the writes
    # that follow (the load's MERGEs on the unique ids) go to the leader, whose indexes this waits for.
    runner.run("CALL db.awaitIndexes(300)")


def write_dataset(
    runner: QueryRunner,
    dataset: Dataset,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
) -> dict[str, int]:
    """Write `dataset` into the database; returns the number of rows written per table (`user_interactions`
    and `group_interactions` count interactions and cases together, as the input tables hold them)."""
    apply_schema(runner)

    def write(name: str, phases: list[list[list[Any]]], desc: str) -> int:
        return runner.write_partitioned(cypher.statement(name), phases, batch_size=batch_size,
                                        desc=desc if progress else None)

    users = _node_rows(dataset.users, dataset.user_ids())
    items = _node_rows(dataset.items, dataset.item_ids())
    groups = _node_rows(dataset.groups, dataset.group_ids())
    written = {
        "users": write("load_users", _by_id(users, workers), "users"),
        "items": write("load_items", _by_id(items, workers), "items"),
        "groups": write("load_groups", _by_id(groups, workers), "groups"),
        "memberships": write("load_memberships", [[dataset.memberships[["user", "group"]].to_numpy().tolist()]],
                             "memberships"),
        "user_interactions": write("load_user_interactions", _grid(dataset.user_interactions, workers),
                                   "user interactions")
        + write("load_user_cases", _grid(dataset.user_cases, workers), "user cases"),
        "group_interactions": write("load_group_interactions", _grid(dataset.group_interactions, workers),
                                    "group interactions")
        + write("load_group_cases", _grid(dataset.group_cases, workers), "group cases"),
    }
    return written


def _node_rows(table: pd.DataFrame, ids: np.ndarray) -> list[dict[str, Any]]:
    """`{id, props}` rows for every id; ids without a row in `table` get no properties."""
    props = table.set_index("id")
    columns = list(props.columns)
    known = dict(zip(props.index.tolist(), props.to_numpy(dtype=object).tolist())) if columns else {}
    return [{"id": node_id, "props": dict(zip(columns, known[node_id])) if node_id in known else {}}
            for node_id in ids.tolist()]


def _by_id(rows: list[dict[str, Any]], workers: int) -> list[list[list[dict[str, Any]]]]:
    """One phase of `workers` streams, split by id."""
    return [[[row for row in rows if row["id"] % workers == part] for part in range(workers)]]


def _grid(table: pd.DataFrame, workers: int) -> list[list[list[list[Any]]]]:
    """`workers` phases; in phase p, stream a holds the rows with source % workers == a and
    item % workers == (a + p) % workers, so the streams of a phase share no node. Each row is
    [source, item, properties]: every column but the pair, absent values left out."""
    if table.empty:
        return []
    keys = [column for column in table.columns if column not in ("source", "item")]
    columns = [table[key].astype(object).where(table[key].notna(), None).tolist() for key in keys]
    properties = [{key: value for key, value in zip(keys, values) if value is not None} for values in zip(*columns)]
    rows = list(map(list, zip(table["source"].tolist(), table["item"].tolist(), properties)))
    source_part = (table["source"].to_numpy() % workers).tolist()
    item_part = (table["item"].to_numpy() % workers).tolist()
    cells: dict[tuple[int, int], list[list[Any]]] = {}
    for row, a, b in zip(rows, source_part, item_part):
        cells.setdefault((a, b), []).append(row)
    return [[cells.get((a, (a + shift) % workers), []) for a in range(workers)] for shift in range(workers)]
