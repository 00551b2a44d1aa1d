"""How much memory the local server gets when `graphrec neo4j start` is not told (`--heap`, `--pagecache`).

Neo4j's own guidance (Operations Manual, "Memory configuration"; `neo4j-admin server memory-recommendation`):
the page cache should hold the store (its size plus room to grow) so that reads never go to disk, the heap
serves queries and transactions, and the operating system keeps the rest. graphrec runs beside the server on
the same machine (export, fitting and evaluation in Python can take several GiB at 10x Gowalla), so the server
takes at most half of the machine's memory:

- page cache = the store's size (`data/databases` and `data/transactions`) x 1.2 + 64 MiB, at least an
  eighth of the memory (room to grow: a write-back of item–item weights multiplies a freshly imported store,
  0.08 GiB after Gowalla's bulk import, 3.0 GB after item-kNN's 8.2M weights) and at most a quarter. Neo4j
  takes the page cache's memory as it reads pages, not when it starts (measured: a server on a new store used
  1.0 GB resident with a page cache of 6 GiB, as with 256 MiB), so the room costs nothing until it is used;
- heap = 2 GiB + a quarter of the store's size, at most a quarter of the memory and 31 GiB (compressed
  object pointers). Concurrent serving needs the floor: Neo4j lets all transactions together use 70 % of the
  heap (`dbms.memory.transaction.total.max`), and 8 clients asking for group top-20s of item-kNN on Gowalla
  went past that limit with a 1.1 GiB heap (benchmarks/bench_scale.py, 2026-12-06);
- both rounded up to whole MiB. A new home (no store yet) on a 24 GiB machine gets 2 GiB of heap and 3 GiB of
  page cache; a bulk load stops and starts the server, which sizes itself again for the store it has then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 2**20
GIB = 2**30


@dataclass(frozen=True)
class Memory:
    """The server's memory settings and where they came from."""

    heap: str
    pagecache: str
    reason: str


def store_bytes(home: Path) -> int:
    """The bytes of every database's files under `home` (`data/databases`, `data/transactions`)."""
    return sum(path.stat().st_size for folder in ("databases", "transactions")
               for path in (home / "data" / folder).rglob("*") if path.is_file())


def machine_bytes() -> int:
    """The machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def recommended(store: int, machine: int) -> Memory:
    """The heap and page cache for a store of `store` bytes on a machine with `machine` bytes (module
    docstring)."""
    quarter = machine // 4
    pagecache = min(max(int(store * 1.2) + 64 * MIB, machine // 8), quarter)
    heap = min(2 * GIB + store // 4, quarter, 31 * GIB)
    return Memory(_mib(heap), _mib(pagecache),
                  f"sized from the store ({store / GIB:.2f} GiB) and the machine ({machine / GIB:.1f} GiB); "
                  "--heap and --pagecache choose instead")


def _mib(size: int) -> str:
    return f"{-(-size // MIB)}m"
