"""graphrec: recommendations served by Cypher from a Neo4j graph, by models fitted on exported subgraphs.

`graphrec.connect()` opens the Python API (`graphrec.api`). It is imported on first use, so that
`import graphrec` stays light: no driver, no pandas, no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphrec.api import connect

__all__ = ["connect"]


def __getattr__(name: str) -> Any:
    if name == "connect":
        from graphrec.api import connect

        return connect
    raise AttributeError(f"module 'graphrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
