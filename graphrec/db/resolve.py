"""Where graphrec finds Neo4j.

Each setting comes from the first of: an explicit argument (CLI flag), the environment (`NEO4J_URI`,
`NEO4J_USER`, `NEO4J_PASSWORD`, `NEO4J_DATABASE`), and the local server started by `graphrec neo4j start`
(its Bolt URI and generated password). User defaults to `neo4j`, database to `neo4j`.
"""

from __future__ import annotations

import os

from graphrec.db.connection import Connection
from graphrec.db.server.lifecycle import LocalServer
from graphrec.errors import ConfigError


def resolve_connection(
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
) -> Connection:
    """The connection settings from arguments, then the environment, then the local server."""
    uri = uri or os.environ.get("NEO4J_URI")
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
