"""The query runner: transient errors retried with backoff, a clear error when the server is gone."""

from __future__ import annotations

import threading
import time
from typing import Any

import neo4j
import numpy as np
import pytest

from graphrec.db import nodes
from graphrec.db.connection import Connection
from graphrec.db.runner import (
    QueryRunner,
    ServerGone,
    default_retry_seconds,
    store_replaced,
)
from graphrec.db.server.lifecycle import LocalServer, free_port
from graphrec.errors import ConfigError


class FlakyDriver:
    """A driver stand-in whose sessions fail with `errors` in turn, then answer `rows`."""

    def __init__(self, errors: list[Exception], rows: list[dict[str, Any]]) -> None:
        self.errors, self.rows, self.tries = errors, rows, 0

    def session(self, **_: Any) -> FlakyDriver:
        return self

    def __enter__(self) -> FlakyDriver:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def run(self, query: str, params: dict[str, Any]) -> FlakyDriver:
        self.tries += 1
        if self.errors:
            raise self.errors.pop(0)
        return self

    def data(self) -> list[dict[str, Any]]:
        return self.rows

    def close(self) -> None:
        pass


def runner_with(driver: FlakyDriver, retry_seconds: float) -> QueryRunner:
    runner = QueryRunner(Connection("bolt://127.0.0.1:1", "neo4j", "secret", "neo4j"), retry_seconds=retry_seconds)
    runner.driver.close()
    runner.driver = driver  # type: ignore[assignment]
    return runner


def deadlock() -> neo4j.exceptions.Neo4jError:
    return neo4j.exceptions.TransientError._hydrate_neo4j(
        code="Neo.TransientError.Transaction.DeadlockDetected", message="deadlock")


def test_transient_errors_are_retried_with_backoff() -> None:
    driver = FlakyDriver([deadlock(), deadlock(), neo4j.exceptions.ServiceUnavailable("restarting")], [{"n": 1}])
    started = time.monotonic()
    assert runner_with(driver, retry_seconds=5).run("RETURN 1 AS n") == [{"n": 1}]
    assert driver.tries == 4
    assert time.monotonic() - started >= 0.1 + 0.2 + 0.4  # the waits double


def test_errors_that_are_not_transient_are_raised_at_once() -> None:
    syntax = neo4j.exceptions.ClientError._hydrate_neo4j(code="Neo.ClientError.Statement.SyntaxError", message="bad")
    driver = FlakyDriver([syntax], [])
    with pytest.raises(neo4j.exceptions.ClientError, match="bad"):
        runner_with(driver, retry_seconds=5).run("RETURN nope")
    assert driver.tries == 1


def test_retries_stop_after_retry_seconds() -> None:
    driver = FlakyDriver([deadlock() for _ in range(100)], [])
    started = time.monotonic()
    with pytest.raises(neo4j.exceptions.TransientError):
        runner_with(driver, retry_seconds=0.5).run("RETURN 1")
    assert 4 <= driver.tries <= 6 and 0.5 <= time.monotonic() - started < 1.5


def test_the_retry_time_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHREC_RETRY_SECONDS", raising=False)
    assert default_retry_seconds() == 10
    monkeypatch.setenv("GRAPHREC_RETRY_SECONDS", "2.5")
    assert default_retry_seconds() == 2.5
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv("GRAPHREC_RETRY_SECONDS", bad)
        with pytest.raises(ConfigError, match="GRAPHREC_RETRY_SECONDS must be a number of seconds"):
            default_retry_seconds()


def test_a_bad_uri_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="cannot use the Neo4j URI 'htp://x'"):
        QueryRunner(Connection("htp://x", "neo4j", "secret", "neo4j"))


def test_a_server_that_is_gone_is_named_with_what_to_check() -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with QueryRunner(Connection(uri, "neo4j", "secret", "neo4j"), retry_seconds=1) as runner:
        with pytest.raises(ServerGone) as error:
            runner.run("RETURN 1")
    assert 1 <= time.monotonic() - started < 10
    message = str(error.value)
    assert message.startswith(f"Neo4j at {uri} does not answer (retried for 1 s: ")
    assert "`graphrec neo4j start`" in message and "\n" not in message


@pytest.mark.neo4j
def test_queries_ride_out_a_server_restart(server: LocalServer, connection: Connection) -> None:
    """The server stops and starts again while a client keeps querying: no query fails."""
    with QueryRunner(connection, retry_seconds=120) as runner:
        assert runner.run("RETURN 1 AS n") == [{"n": 1}]
        restart = threading.Thread(target=lambda: (server.stop(), server.start()))
        restart.start()
        answers = 0
        while restart.is_alive():
            assert runner.run("RETURN 2 AS n") == [{"n": 2}]
            answers += 1
            time.sleep(0.05)
        restart.join()
        assert runner.run("RETURN 3 AS n") == [{"n": 3}] and answers >= 1


class StreamingDriver:
    """A driver stand-in for `stream`: each `run` first fails with the next of `errors` (if any), then yields
    `rows`, raising `midway` (if given) after `fail_after` of them; records each session's options."""

    def __init__(self, errors: list[Exception], rows: list[tuple[int, ...]], midway: Exception | None = None,
                 fail_after: int = 0) -> None:
        self.errors, self.rows, self.midway, self.fail_after = errors, rows, midway, fail_after
        self.tries, self.sessions, self.open = 0, [], 0

    def session(self, **options: Any) -> StreamingDriver:
        self.sessions.append(options)
        self.open += 1
        return self

    def __enter__(self) -> StreamingDriver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close_session()

    def close_session(self) -> None:
        self.open -= 1

    close = close_session

    def run(self, query: str, params: dict[str, Any]) -> Any:
        self.tries += 1
        if self.errors:
            raise self.errors.pop(0)
        return self._rows()

    def _rows(self) -> Any:
        for count, row in enumerate(self.rows):
            if self.midway is not None and count == self.fail_after:
                raise self.midway
            yield row


def streaming_runner(driver: StreamingDriver, retry_seconds: float = 5) -> QueryRunner:
    runner = QueryRunner(Connection("bolt://127.0.0.1:1", "neo4j", "secret", "neo4j"), retry_seconds=retry_seconds)
    runner.driver.close()
    runner.driver = driver  # type: ignore[assignment]
    return runner


def test_a_stream_reads_in_a_read_session_and_retries_until_its_first_row() -> None:
    driver = StreamingDriver([deadlock(), neo4j.exceptions.ServiceUnavailable("restarting")], [(1,), (2,), (3,)])
    runner = streaming_runner(driver)
    rows = runner.stream("MATCH (n) RETURN n.id", {"x": 1})
    assert driver.tries == 0, "nothing is sent before the first row is asked for"
    assert list(rows) == [(1,), (2,), (3,)]
    assert driver.tries == 3 and driver.open == 0
    assert all(options == {"database": "neo4j", "default_access_mode": neo4j.READ_ACCESS,
                           "bookmark_manager": runner.bookmark_manager}  # every session shares it
               for options in driver.sessions)


def test_a_stream_broken_after_its_first_row_is_not_retried() -> None:
    driver = StreamingDriver([], [(1,), (2,), (3,)], midway=neo4j.exceptions.ServiceUnavailable("gone"), fail_after=2)
    seen = []
    with pytest.raises(ServerGone, match="stopped answering in the middle of a streamed read .*run the read again"):
        for row in streaming_runner(driver).stream("MATCH (n) RETURN n.id"):
            seen.append(row)
    assert seen == [(1,), (2,)] and driver.tries == 1 and driver.open == 0
    driver = StreamingDriver([], [(1,), (2,)], midway=deadlock(), fail_after=1)
    with pytest.raises(neo4j.exceptions.TransientError):
        list(streaming_runner(driver).stream("MATCH (n) RETURN n.id"))
    assert driver.tries == 1 and driver.open == 0


def test_a_stream_left_early_closes_its_session() -> None:
    driver = StreamingDriver([], [(1,), (2,), (3,)])
    for row in streaming_runner(driver).stream("MATCH (n) RETURN n.id"):
        break
    assert row == (1,) and driver.open == 0


class RecordingRunner:
    """A runner stand-in for `missing_ids`: answers that every id above `known` is missing."""

    def __init__(self, known: int) -> None:
        self.known, self.calls = known, []

    def run(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.calls.append(params)
        return [{"missing": [i for i in params["ids"] if i > self.known]}]

    read = run  # missing_ids reads through QueryRunner.read


def test_missing_ids_asks_in_chunks_and_keeps_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nodes, "ID_CHUNK", 3)
    runner = RecordingRunner(known=4)
    assert nodes.missing_ids(runner, "Item", np.array([9, 1, 2, 7, 3, 4, 5], dtype=np.int32)) == [9, 7, 5]
    assert [call["ids"] for call in runner.calls] == [[9, 1, 2], [7, 3, 4], [5]]
    assert {call["label"] for call in runner.calls} == {"Item"}
    assert all(type(i) is int for call in runner.calls for i in call["ids"])
    assert nodes.missing_ids(runner, "User", []) == [] and len(runner.calls) == 3


@pytest.mark.parametrize("label", ["Model", "user", "User) DETACH DELETE (n", ""])
def test_missing_ids_refuses_a_label_off_the_allow_list(label: str) -> None:
    runner = RecordingRunner(known=0)
    with pytest.raises(ValueError, match="unknown node label"):
        nodes.missing_ids(runner, label, [1])
    assert runner.calls == []


@pytest.mark.neo4j
def test_streams_and_missing_ids_on_the_server(runner: QueryRunner) -> None:
    runner.run("UNWIND range(1, 5) AS id CREATE (:User {id: id})")
    assert [tuple(row) for row in runner.stream("MATCH (u:User) RETURN u.id AS id ORDER BY id")] == [
        (1,), (2,), (3,), (4,), (5,)]
    assert [row["id"] for row in runner.stream("UNWIND $ids AS id RETURN id", {"ids": [7, 8]})] == [7, 8]
    with pytest.raises(neo4j.exceptions.ClientError, match="(?i)read"):
        list(runner.stream("CREATE (:User {id: 99})"))
    assert runner.run("MATCH (u:User {id: 99}) RETURN count(u) AS n") == [{"n": 0}]
    assert nodes.missing_ids(runner, "User", [5, 6, 1, 99]) == [6, 99]
    assert nodes.missing_ids(runner, "Group", [1]) == [1]


def test_a_replaced_store_makes_the_runners_on_it_forget_their_bookmarks() -> None:
    """A bulk load or restore starts the store's transaction ids again: old bookmarks would never be reached."""
    on_it = QueryRunner(Connection("bolt://127.0.0.1:7001", "neo4j", "secret", "neo4j"))
    other_database = QueryRunner(Connection("bolt://127.0.0.1:7001", "neo4j", "secret", "other"))
    elsewhere = QueryRunner(Connection("bolt://127.0.0.1:7002", "neo4j", "secret", "neo4j"))
    before = [runner.bookmark_manager for runner in (on_it, other_database, elsewhere)]
    store_replaced(7001, "neo4j")
    assert on_it.bookmark_manager is not before[0]
    assert [other_database.bookmark_manager, elsewhere.bookmark_manager] == before[1:]
    for runner in (on_it, other_database, elsewhere):
        runner.close()
