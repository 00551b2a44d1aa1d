"""One real Neo4j per test session, and an empty database for every test that asks for one.

The server is, in order of preference: the one at `NEO4J_URI` (with `NEO4J_USER` / `NEO4J_PASSWORD`; its
database must be empty, since tests delete everything they find), a `neo4j:5.26-community` container when a
Docker engine answers, or the project's own local server started in a temporary home on free ports.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator

import pytest

from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import LocalServer, free_port

PASSWORD = "graphrec-test-password"
WIPE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def _docker_answers() -> bool:
    """Whether a Docker engine answers (a failed probe leaks a socket inside docker-py: silenced)."""
    import docker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=3)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # no engine, no socket, no permission: all mean "no Docker here"
            return False
        finally:
            gc.collect()


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Runs a test on one intra-op torch thread: the graphs in tests are tiny, and on a busy machine each
    multi-threaded sparse product would otherwise wait milliseconds for a descheduled worker thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer | None]:
    """The project's own server when the session started it; None when the server is external."""
    if os.environ.get("NEO4J_URI") or _docker_answers():
        yield None
        return
    server = LocalServer(tmp_path_factory.mktemp("neo4j-home"), bolt_port=free_port(),
                         http_port=free_port(), heap="1g", pagecache="256m")
    server.start(password=PASSWORD)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(local_server: LocalServer | None) -> LocalServer:
    """The session's own local server, for tests that stop, restart or import into it; skipped when the
    session uses an external server (NEO4J_URI or Docker)."""
    if local_server is None:
        pytest.skip("needs the session's own local server; this session uses NEO4J_URI or Docker")
    return local_server


@pytest.fixture(scope="session")
def connection(local_server: LocalServer | None) -> Iterator[Connection]:
    if local_server is not None:
        yield local_server.connection()
    elif os.environ.get("NEO4J_URI"):
        yield Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                         os.environ.get("NEO4J_PASSWORD", ""), os.environ.get("NEO4J_DATABASE", "neo4j"))
    else:
        from testcontainers.community.neo4j import Neo4jContainer

        # APOC core (its virtual nodes draw recommendations in Browser); the image copies it from its labs folder.
        with Neo4jContainer("neo4j:5.26-community", password=PASSWORD).with_env("NEO4J_PLUGINS", '["apoc"]') as container:
            yield Connection(container.get_connection_url(), "neo4j", PASSWORD, "neo4j")


@pytest.fixture(scope="module")
def plain_connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    """A second server, for one test module, without graphrec's procedures (APOC core alone, as on Aura): the
    project's own local server in a temporary home, or a plain `neo4j:5.26-community` container when the
    session uses Docker; skipped when the session uses NEO4J_URI (an external server has what it has)."""
    if os.environ.get("NEO4J_URI"):
        pytest.skip("needs a server without graphrec's procedures; this session uses NEO4J_URI")
    if _docker_answers():
        from testcontainers.community.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5.26-community", password=PASSWORD).with_env("NEO4J_PLUGINS", '["apoc"]') as container:
            yield Connection(container.get_connection_url(), "neo4j", PASSWORD, "neo4j")
        return
    server = LocalServer(tmp_path_factory.mktemp("neo4j-plain-home"), bolt_port=free_port(), http_port=free_port(),
                         heap="1g", pagecache="256m", procedures=False)
    server.start(password=PASSWORD)
    try:
        yield server.connection()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def session_runner(connection: Connection) -> Iterator[QueryRunner]:
    with QueryRunner(connection) as runner:
        runner.verify()
        if runner.run("MATCH (n) RETURN count(n) AS n")[0]["n"]:
            pytest.exit(f"the test database at {connection.uri} is not empty; tests delete everything, so "
                        "point NEO4J_URI at an empty database", returncode=2)
        yield runner


@pytest.fixture
def runner(session_runner: QueryRunner) -> Iterator[QueryRunner]:
    """A runner on an empty database; whatever the test wrote (nodes, vector indexes, the Model constraint a
    write-back adds) is deleted afterwards, so that no test sees another's schema."""
    try:
        yield session_runner
    finally:
        session_runner.run(WIPE)
        for row in session_runner.run("SHOW VECTOR INDEXES YIELD name"):
            session_runner.run(cypher.statement("embedding_index_drop"), {"name": row["name"]})
        session_runner.run("DROP CONSTRAINT model_version IF EXISTS")
