"""Where and as whom graphrec connects to Neo4j: a `Connection`, which prints without its password.

`graphrec.db.resolve` finds one from the arguments, the environment and the local server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    uri: str
    user: str
    password: str
    database: str

    def __repr__(self) -> str:  # never print the password
        return f"Connection(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"
