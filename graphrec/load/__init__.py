"""Loading data into Neo4j: read and validate everything first, then write.

A load never writes anything unless the whole input is valid (bad input raises `InputError` naming the
file, the line and the field). Writes are then batched and idempotent: loading the same data twice creates
no duplicates, and a load interrupted midway (lost connection, killed process) is completed by re-running it.

With `bulk=True` a first load into the empty database of the local server (`graphrec neo4j start`) goes
through Neo4j's offline importer instead (`graphrec.load.bulk`); the graph is the same. On a new server home
(never started) the import builds the database and the server then starts on it; a running server is
stopped for the import and started again. The runner may then be None: the local server is the target.

`load_into` makes the choice for a caller that holds connection settings rather than a runner (the CLI): a
transactional load into the server the settings name, or a bulk load into the local server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from graphrec.db import cypher
from graphrec.db.nodes import missing_ids
from graphrec.db.resolve import configured_uri, resolve_connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import LocalServer
from graphrec.load.bulk import BulkLoadRefused, bulk_write, check_reaches
from graphrec.load.csv_tables import TableSource, read_tables
from graphrec.load.dataset import Dataset, InputError
from graphrec.load.text_formats import read_group_benchmark, read_lightgcn
from graphrec.load.writer import apply_schema, write_dataset

__all__ = ["BulkLoadRefused", "Dataset", "InputError", "apply_schema", "bulk_write", "graph_summary", "load_csv",
           "load_group_benchmark", "load_into", "load_lightgcn", "store", "write_dataset"]


def load_csv(
    runner: QueryRunner | None,
    *,
    users: TableSource | None = None,
    items: TableSource | None = None,
    groups: TableSource | None = None,
    memberships: TableSource | None = None,
    interactions: TableSource | None = None,
    group_interactions: TableSource | None = None,
    bulk: bool = False,
    server: LocalServer | None = None,
    **write_options: object,
) -> dict[str, int]:
    """Load CSV files or DataFrames (see `graphrec.load.csv_tables` for their columns).

    Members must be known users and group interactions known groups: declared in this load (its tables
    or interactions) or already in the database; otherwise nothing is written. `bulk`, `server` and
    `write_options` as for `store`.
    """

    def missing(kind: str, ids: list[int]) -> set[int]:
        if runner is None:  # a bulk load, whose database must be empty
            return set(ids)
        label = {"user": "User", "group": "Group"}[kind]
        return set(missing_ids(runner, label, ids))

    dataset = read_tables(users=users, items=items, groups=groups, memberships=memberships,
                          interactions=interactions, group_interactions=group_interactions, missing=missing)
    return store(runner, dataset, bulk=bulk, server=server, **write_options)


def load_lightgcn(runner: QueryRunner | None, directory: str | Path, *, bulk: bool = False,
                  server: LocalServer | None = None, **write_options: object) -> dict[str, int]:
    """Load a LightGCN-format folder (`train.txt`, `test.txt`, ...; see `graphrec.load.text_formats`).

    `bulk`, `server` and `write_options` as for `store`.
    """
    return store(runner, read_lightgcn(directory), bulk=bulk, server=server, **write_options)


def load_group_benchmark(runner: QueryRunner | None, directory: str | Path, *, bulk: bool = False,
                         server: LocalServer | None = None, **write_options: object) -> dict[str, int]:
    """Load a group-benchmark folder (`groupMember.txt`, rating and negative files).

    `bulk`, `server` and `write_options` as for `store`.
    """
    return store(runner, read_group_benchmark(directory), bulk=bulk, server=server, **write_options)


def store(runner: QueryRunner | None, dataset: Dataset, *, bulk: bool = False, server: LocalServer | None = None,
          **write_options: object) -> dict[str, int]:
    """Write a validated dataset; returns the rows written per table.

    Args:
        runner (QueryRunner, optional): the target database; None only with `bulk` (the local server's).
        bulk (bool): False (default): transactional, idempotent writes (`write_dataset`, whose options
            `batch_size`, `workers` and `progress` pass through). True: a first load into the empty database
            of the local server with the offline importer (`bulk_write`, option `progress`); refused, with
            nothing written, when `runner` connects elsewhere or the database is not empty.
        server (LocalServer, optional): with `bulk`, the local server (default: the one of
            `graphrec neo4j start`).
    """
    if bulk:
        server = server or LocalServer.from_environment()
        if runner is not None:
            check_reaches(runner, server)
            write_options.setdefault("database", runner.database)
        return bulk_write(server, dataset, **write_options)  # type: ignore[arg-type]
    if runner is None:
        raise ValueError("a load needs a runner (a connection), except a bulk load into the local server")
    return write_dataset(runner, dataset, **write_options)  # type: ignore[arg-type]


def load_into(
    load: Callable[..., dict[str, int]],
    *,
    bulk: bool = False,
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    **write_options: object,
) -> tuple[dict[str, int], dict[str, int], LocalServer | None]:
    """Run `load(runner, **options)` (`load_csv`, `load_lightgcn` or `load_group_benchmark` with its input bound)
    against its target; returns the rows written, the graph's counts afterwards and, for a bulk load, the local
    server.

    Not `bulk`: the server the connection settings name (`graphrec.db.resolve.resolve_connection`), with
    `write_options` (`batch_size`, `workers`, `progress`). `bulk`: the local server, whose home may be new or
    its server stopped, so that it is connected to only after the import; a server named explicitly (`uri`,
    `NEO4J_URI`: `configured_uri`) is connected to first and must be that one (else refused, nothing written).
    """
    if not bulk:
        with QueryRunner(resolve_connection(uri, user, password, database)) as runner:
            return load(runner, **write_options), graph_summary(runner), None
    server = LocalServer.from_environment()
    database = database or os.environ.get("NEO4J_DATABASE") or "neo4j"
    named = QueryRunner(resolve_connection(uri, user, password, database)) if configured_uri(uri) else None
    try:
        written = load(named, bulk=True, server=server, database=database, **write_options)
    finally:
        if named is not None:
            named.close()
    with QueryRunner(server.connection(database)) as runner:
        return written, graph_summary(runner), server


def graph_summary(runner: QueryRunner) -> dict[str, int]:
    """Node and relationship counts of the graph (`cypher/graph_summary.cypher`)."""
    return runner.read(cypher.statement("graph_summary"))[0]
