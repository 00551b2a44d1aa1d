"""Loading data into Neo4j: read and validate everything first, then write.

A load never writes anything unless the whole input is valid (bad input raises `InputError` naming the
file, the line and the field). Writes are then batched and idempotent: loading the same data twice creates
no duplicates, and a load interrupted midway (lost connection, killed process) is completed by re-running it.
"""

from __future__ import annotations

from pathlib import Path

from graphrec import cypher_files
from graphrec.db import QueryRunner
from graphrec.load.csv_tables import TableSource, read_tables
from graphrec.load.dataset import Dataset, InputError
from graphrec.load.text_formats import read_group_benchmark, read_lightgcn
from graphrec.load.writer import apply_schema, write_dataset

__all__ = ["Dataset", "InputError", "apply_schema", "graph_summary", "load_csv", "load_group_benchmark",
           "load_lightgcn", "write_dataset"]


def load_csv(
    runner: QueryRunner,
    *,
    users: TableSource | None = None,
    items: TableSource | None = None,
    groups: TableSource | None = None,
    memberships: TableSource | None = None,
    interactions: TableSource | None = None,
    group_interactions: TableSource | None = None,
    **write_options: object,
) -> dict[str, int]:
    """Load CSV files or DataFrames (see `graphrec.load.csv_tables` for their columns).

    Members must be known users and group interactions known groups: declared in this load (its tables
    or interactions) or already in the database; otherwise nothing is written.
    """

    def missing(kind: str, ids: list[int]) -> set[int]:
        label = {"user": "User", "group": "Group"}[kind]
        return set(runner.run(cypher_files.statement("missing_ids"), {"label": label, "ids": ids})[0]["missing"])

    dataset = read_tables(users=users, items=items, groups=groups, memberships=memberships,
                          interactions=interactions, group_interactions=group_interactions, missing=missing)
    return write_dataset(runner, dataset, **write_options)  # type: ignore[arg-type]


def load_lightgcn(runner: QueryRunner, directory: str | Path, **write_options: object) -> dict[str, int]:
    """Load a LightGCN-format folder (`train.txt`, `test.txt`, ...; see `graphrec.load.text_formats`)."""
    return write_dataset(runner, read_lightgcn(directory), **write_options)  # type: ignore[arg-type]


def load_group_benchmark(runner: QueryRunner, directory: str | Path, **write_options: object) -> dict[str, int]:
    """Load a group-benchmark folder (`groupMember.txt`, rating and negative files)."""
    return write_dataset(runner, read_group_benchmark(directory), **write_options)  # type: ignore[arg-type]


def graph_summary(runner: QueryRunner) -> dict[str, int]:
    """Node and relationship counts of the graph (`cypher/graph_summary.cypher`)."""
    return runner.run(cypher_files.statement("graph_summary"))[0]
