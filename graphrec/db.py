"""The one port between graphrec and the Neo4j driver.

Every query graphrec sends goes through a `QueryRunner`: `run` for a statement and its parameters, `run_file`
for a statement kept in `cypher/`, and `write_batches` for bulk `UNWIND $rows` writes, one transaction per
batch. Unit tests can swap in any object with the same methods to check the Cypher that would be sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j
from tqdm import tqdm

from graphrec import cypher_files
from graphrec.config import Connection


class QueryRunner:
    """Runs Cypher against one database of one server, parameters only.

    Args:
        connection (Connection): where to connect and as whom.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.database = connection.database
        self.driver = neo4j.GraphDatabase.driver(
            connection.uri, auth=(connection.user, connection.password),
            notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
        )

    def __enter__(self) -> QueryRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.driver.close()

    def __repr__(self) -> str:
        return f"QueryRunner({self.connection.uri!r}, database={self.database!r})"

    def verify(self) -> None:
        """Raise if the server cannot be reached or the credentials are refused."""
        self.driver.verify_connectivity()

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement in an auto-commit transaction and return its rows as dicts.

        Auto-commit, so that statements with `CALL { ... } IN TRANSACTIONS` run too.
        """
        with self.driver.session(database=self.database) as session:
            return session.run(query, params or {}).data()

    def run_file(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run every statement of `cypher/<name>.cypher` in order; return the last one's rows."""
        rows: list[dict[str, Any]] = []
        for query in cypher_files.statements(name):
            rows = self.run(query, params)
        return rows

    def write_batches(
        self,
        query: str,
        rows: Sequence[Any],
        *,
        batch_size: int = 20_000,
        params: dict[str, Any] | None = None,
        desc: str | None = None,
    ) -> int:
        """Run `query` once per batch of `rows`, passed as `$rows`, each batch in its own transaction.

        Returns the number of rows written. A progress bar is shown when `desc` is given and the write
        spans more than one batch.
        """
        return self.write_partitioned(query, [[rows]], batch_size=batch_size, params=params, desc=desc)

    def write_partitioned(
        self,
        query: str,
        phases: Sequence[Sequence[Sequence[Any]]],
        *,
        batch_size: int = 20_000,
        params: dict[str, Any] | None = None,
        desc: str | None = None,
    ) -> int:
        """Like `write_batches`, over streams of rows written concurrently.

        `phases` run one after the other; the streams of one phase run at the same time, one session each,
        batch after batch. The caller makes sure that the streams of a phase touch disjoint nodes, so that
        their transactions never wait on each other's locks (Neo4j locks both ends of a new relationship).
        """
        total = sum(len(stream) for phase in phases for stream in phase)
        lock = threading.Lock()
        with tqdm(total=total, desc=desc, unit="row", disable=desc is None or total <= batch_size) as bar:

            def write(stream: Sequence[Any]) -> None:
                with self.driver.session(database=self.database) as session:
                    for batch in _chunks(stream, batch_size):
                        session.execute_write(_consume, query, {**(params or {}), "rows": batch})
                        with lock:
                            bar.update(len(batch))

            for phase in phases:
                streams = [stream for stream in phase if len(stream)]
                if len(streams) <= 1:
                    for stream in streams:
                        write(stream)
                    continue
                with ThreadPoolExecutor(max_workers=len(streams)) as pool:
                    for future in [pool.submit(write, stream) for stream in streams]:
                        future.result()
        return total


def _consume(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> None:
    tx.run(query, params).consume()


def _chunks(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
