"""The one port between graphrec and the Neo4j driver.

Every query graphrec sends goes through a `QueryRunner`. Which method is for what:

- `read` (and `read_file`): a statement that only reads (serving, explanations, model lookups, summaries,
  checks), in a managed READ transaction (`execute_read` of a READ-access session). On a cluster or Aura
  (`neo4j://` / `neo4j+s://` URIs) it is routed to a secondary or follower; a write in it is refused by the
  server (ClientError `Neo.ClientError.Statement.AccessMode`).
- `stream`: a read whose rows are consumed as they arrive (export), in a READ-access session too.
- `run` (and `run_file`): a write, DDL (indexes, constraints), or a statement with `CALL { ... } IN
  TRANSACTIONS`, which needs an auto-commit transaction in a WRITE session; routed to the leader. Also the
  text `graphrec cypher` is given, which may write.
- `write_batches` / `write_partitioned`: bulk `UNWIND $rows` writes, one managed WRITE transaction per batch.

Nothing else in graphrec touches the driver. Unit tests can swap in any object with the same methods to check
the Cypher that would be sent.

Causal consistency: every session a runner opens shares one bookmark manager (`bookmark_manager`, made by
`neo4j.GraphDatabase.bookmark_manager()`), so each transaction starts after every transaction the runner has
committed before, on whichever cluster member it runs: once a write-back has activated a version, the same
runner's later reads (demo, evaluate, recommend) see it, even when they go to a follower. Outside graphrec, a
client gets the same within one process from the driver's `driver.execute_query(...)`, whose default bookmark
manager (`driver.execute_query_bookmark_manager`) chains all its calls, or by passing one bookmark manager to
all its sessions. Across processes nothing is shared: a script that writes back in one process and serves in
another passes the bookmarks along (the writer's `runner.bookmark_manager.get_bookmarks()`, or a session's
`last_bookmarks()`, handed to the reader's sessions as `bookmarks=` or through a bookmark manager made with
`bookmark_manager(initial_bookmarks=...)`), or reads from the leader (a WRITE-access session) once the write
has committed. A store replaced under a server (a bulk load, a restore: `store_replaced`) starts its
transaction ids again, so bookmarks from before it would never be reached: the runners of this process on
that server then start a new bookmark manager.

Transient failures (a deadlock, a leader switch, a server restarting or briefly unreachable: the driver's
retryable errors) are retried for `retry_seconds` (default `$GRAPHREC_RETRY_SECONDS`, else 10 s); a server
that still does not answer then raises `ServerGone`, whose message names the URI and what to check. `run`
retries with its own loop, exponential backoff from 0.1 s doubling up to 2 s, and retries statements whole, so
graphrec's statements are idempotent (`MERGE`, `SET`, `REMOVE`) or fail loudly when repeated (`CREATE` of a
Model, refused by its uniqueness constraint). `read` and `write_batches` leave retries to the driver's managed
transactions (`execute_read`, `execute_write`, for the driver's `max_transaction_retry_time`, set to
`retry_seconds`). `stream` retries only until its first row has arrived: rows handed to the caller cannot be
taken back, so a transient error later in the stream is raised (`ServerGone` when the server stopped
answering), and the caller runs the whole read again if it wants to.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j

from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.errors import ConfigError
from graphrec.progress import progress_bar

DEFAULT_RETRY_SECONDS = 10.0
"""How long transient errors are retried when `$GRAPHREC_RETRY_SECONDS` is not set."""

T = TypeVar("T")


class ServerGone(ConnectionError):
    """The server did not answer, even after retrying for `retry_seconds`."""


def default_retry_seconds() -> float:
    """`$GRAPHREC_RETRY_SECONDS` when set (a number >= 0), else `DEFAULT_RETRY_SECONDS`."""
    value = os.environ.get("GRAPHREC_RETRY_SECONDS")
    if value is None:
        return DEFAULT_RETRY_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(f"GRAPHREC_RETRY_SECONDS must be a number of seconds >= 0, not {value!r}")
    return seconds


_live: weakref.WeakSet[QueryRunner] = weakref.WeakSet()
"""The runners of this process, for `store_replaced`."""


def store_replaced(port: int, database: str) -> None:
    """`database` of the local server on Bolt `port` has a new store (bulk load, restore): its transaction ids
    start again, so a bookmark from before would make the next transaction wait for an id it may never reach
    (`Neo.TransientError.Transaction.BookmarkTimeout`). Every runner of this process on it forgets its
    bookmarks."""
    for runner in list(_live):
        address = urlsplit(runner.connection.uri)
        if address.hostname in ("127.0.0.1", "localhost") and address.port == port and runner.database == database:
            runner.forget_bookmarks()


class QueryRunner:
    """Runs Cypher against one database of one server, parameters only.

    Args:
        connection (Connection): where to connect and as whom.
        retry_seconds (float, optional): how long transient errors are retried (default:
            `default_retry_seconds()`).
    """

    def __init__(self, connection: Connection, *, retry_seconds: float | None = None) -> None:
        self.connection = connection
        self.database = connection.database
        self.retry_seconds = default_retry_seconds() if retry_seconds is None else retry_seconds
        try:
            self.driver = neo4j.GraphDatabase.driver(
                connection.uri, auth=(connection.user, connection.password),
                notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
                max_transaction_retry_time=self.retry_seconds,
            )
        except (ValueError, neo4j.exceptions.ConfigurationError) as error:
            raise ConfigError(f"cannot use the Neo4j URI {connection.uri!r}: {error}") from None
        self.bookmark_manager = neo4j.GraphDatabase.bookmark_manager()
        """Shared by every session of this runner: each transaction is causally after the ones before."""
        _live.add(self)

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
        self.retrying(self.driver.verify_connectivity)

    def forget_bookmarks(self) -> None:
        """Start a new bookmark manager: the database's store was replaced (see `store_replaced`)."""
        self.bookmark_manager = neo4j.GraphDatabase.bookmark_manager()

    def session(self, access_mode: str = neo4j.WRITE_ACCESS) -> neo4j.Session:
        """A session on this runner's database in `access_mode`, with the runner's bookmark manager."""
        return self.driver.session(database=self.database, default_access_mode=access_mode,
                                   bookmark_manager=self.bookmark_manager)

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one read-only statement in a managed READ transaction and return its rows as dicts.

        READ access: on a cluster it may run on a follower, causally after this runner's earlier writes (the
        bookmark manager); a write in it is refused. The driver retries transient errors (see the module
        docstring); a server that does not answer raises `ServerGone`.
        """
        try:
            with self.session(neo4j.READ_ACCESS) as session:
                return session.execute_read(_data, query, params or {})
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired) as error:
            raise self._gone(error) from error

    def read_file(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`read` every statement of `cypher/<name>.cypher` in order; return the last one's rows."""
        rows: list[dict[str, Any]] = []
        for query in cypher.statements(name):
            rows = self.read(query, params)
        return rows

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one statement in an auto-commit transaction of a WRITE session and return its rows as dicts.

        For writes and DDL: auto-commit, so that statements with `CALL { ... } IN TRANSACTIONS` run too;
        retried whole on a transient error (see the module docstring). Pure reads go through `read`.
        """

        def attempt() -> list[dict[str, Any]]:
            with self.session(neo4j.WRITE_ACCESS) as session:
                return session.run(query, params or {}).data()

        return self.retrying(attempt)

    def stream(self, query: str, params: dict[str, Any] | None = None) -> Iterator[neo4j.Record]:
        """Run one read statement and yield its rows as they arrive, without holding them all.

        Each row is a `neo4j.Record`: a tuple of the returned values in `RETURN` order, also indexable by
        column name. The statement runs in an auto-commit transaction of a READ-access session (a write in it
        is refused; in a cluster it may go to a follower); the session stays open until the last row has been
        read or the generator is closed (leaving a `for` loop early, or `close()`), so consume it promptly.

        Retries: opening the stream, up to and including its first row, is retried on transient errors like
        `run`. After that nothing is retried: a generator cannot be rewound, and the rows already yielded are
        the caller's. A transient error midway is raised as is, or as `ServerGone` when the server stopped
        answering; a caller that needs every row runs the read again from the start.
        """
        end = object()

        def open_stream() -> tuple[neo4j.Session, Iterator[neo4j.Record], Any]:
            session = self.session(neo4j.READ_ACCESS)
            try:
                rows = iter(session.run(query, params or {}))
                return session, rows, next(rows, end)
            except BaseException:
                session.close()
                raise

        session, rows, first = self.retrying(open_stream)
        with session:
            record = first
            while record is not end:
                yield record
                try:
                    record = next(rows, end)
                except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired) as error:
                    reason = " ".join(str(error).split())
                    raise ServerGone(f"Neo4j at {self.connection.uri} stopped answering in the middle of a "
                                     f"streamed read ({reason}); rows already read are not read again: run "
                                     "the read again once the server answers (`graphrec neo4j status`)") from error

    def retrying(self, attempt: Callable[[], T]) -> T:
        """`attempt()`, tried again after transient errors with backoff for `retry_seconds`; raises
        `ServerGone` when the server still does not answer, the last error otherwise."""
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                return attempt()
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as error:
                left = deadline - time.monotonic()
                if error.is_retryable() and left > 0:
                    time.sleep(min(delay, left))
                    delay = min(delay * 2, 2.0)
                    continue
                if isinstance(error, (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired)):
                    raise self._gone(error) from error
                raise

    def _gone(self, error: Exception) -> ServerGone:
        reason = " ".join(str(error).split())
        return ServerGone(f"Neo4j at {self.connection.uri} does not answer (retried for {self.retry_seconds:g} s: "
                          f"{reason}); is it running (`graphrec neo4j status`, `graphrec neo4j start`), and are "
                          "--uri / NEO4J_URI right?")

    def run_file(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run every statement of `cypher/<name>.cypher` in order; return the last one's rows."""
        rows: list[dict[str, Any]] = []
        for query in cypher.statements(name):
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
        weigh: Callable[[Any], int] | None = None,
    ) -> int:
        """Like `write_batches`, over streams of rows written concurrently.

        `phases` run one after the other; the streams of one phase run at the same time, one session each,
        batch after batch. The caller makes sure that the streams of a phase touch disjoint nodes, so that
        their transactions never wait on each other's locks (Neo4j locks both ends of a new relationship).
        `weigh(row)`, when given, is what one row counts for (a row that packs many writes), in the progress
        bar and the returned total; by default each row counts one.
        """
        def count(rows: Sequence[Any]) -> int:
            return len(rows) if weigh is None else sum(map(weigh, rows))

        total = sum(count(stream) for phase in phases for stream in phase)
        lock = threading.Lock()
        batches = sum(-(-len(stream) // batch_size) for phase in phases for stream in phase)
        with progress_bar(total=total, desc=desc, unit="row", disable=desc is None or batches <= 1) as bar:

            def write(stream: Sequence[Any]) -> None:
                # execute_write retries transient errors itself, for max_transaction_retry_time.
                with self.session(neo4j.WRITE_ACCESS) as session:
                    for batch in _chunks(stream, batch_size):
                        try:
                            session.execute_write(_consume, query, {**(params or {}), "rows": batch})
                        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired) as error:
                            raise self._gone(error) from error
                        with lock:
                            bar.update(count(batch))

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


def _data(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return tx.run(query, params).data()


def _consume(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> None:
    tx.run(query, params).consume()


def _chunks(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
