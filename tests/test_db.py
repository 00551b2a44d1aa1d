"""The query runner: transient errors retried with backoff, a clear error when the server is gone."""

from __future__ import annotations

import threading
import time
from typing import Any

import neo4j
import pytest

from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner, ServerGone, default_retry_seconds
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
