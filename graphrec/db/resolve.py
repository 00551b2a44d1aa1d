"""Where graphrec finds Neo4j.

Each setting comes from the first of: an explicit argument (CLI flag), the environment (`NEO4J_URI`,
`NEO4J_USER`, `NEO4J_PASSWORD`, `NEO4J_DATABASE`), and the local server started by `graphrec neo4j start`
(its Bolt URI and generated password). User defaults to `neo4j`, database to `neo4j`.

Whether a command works on the local server or on a server named explicitly is `configured_uri`'s one answer;
commands that only work on the local server (backup, restore, a bulk load's import) get it from
`local_server_only`.
"""

from __future__ import annotations

import os

from graphrec.db.connection import Connection
from graphrec.db.server.lifecycle import LocalServer
from graphrec.errors import ConfigError


def configured_uri(uri: str | None = None) -> str | None:
    """The server named explicitly: `uri` (a CLI flag), else `NEO4J_URI`; None means the local server of
    `graphrec neo4j start`."""
    return uri or os.environ.get("NEO4J_URI") or None


def local_server_only(what: str, uri: str | None = None) -> LocalServer:
    """The local server of `graphrec neo4j start`, for `what` (e.g. "backup"), which works on no other.

    Raises `ConfigError` when `uri` or `NEO4J_URI` (`configured_uri`) names another server.
    """
    server = LocalServer.from_environment()
    named = configured_uri(uri)
    if named and named.rstrip("/") not in (server.bolt_uri, server.bolt_uri.replace("127.0.0.1", "localhost")):
        source = "NEO4J_URI" if named == os.environ.get("NEO4J_URI") else "--uri"
        raise ConfigError(f"{what} works on the local server graphrec manages ({server.bolt_uri}, home "
                          f"{server.home}), not on {source}={named}; unset it (or set GRAPHREC_NEO4J_HOME)")
    return server


def resolve_connection(
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
) -> Connection:
    """The connection settings from arguments, then the environment, then the local server."""
    uri = configured_uri(uri)
    user = user or os.environ.get("NEO4J_USER") or "neo4j"
    password = password or os.environ.get("NEO4J_PASSWORD")
    database = database or os.environ.get("NEO4J_DATABASE") or "neo4j"
    if uri is None or password is None:
        local = LocalServer.from_environment()
        if uri is None:
            if not local.is_configured():
                raise ConfigError(
                    "no Neo4j server configured: run `graphrec neo4j start`, or set NEO4J_URI "
                    "(and NEO4J_PASSWORD) or pass --uri and --password-file"
                )
            uri = local.bolt_uri
        if password is None:
            if uri != local.bolt_uri or not local.password_file.exists():
                raise ConfigError(f"no password for {uri}: set NEO4J_PASSWORD or pass --password-file")
            password = local.password()
    return Connection(uri=uri, user=user, password=password, database=database)
