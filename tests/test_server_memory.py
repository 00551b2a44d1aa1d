"""The local server's memory when not told: sized from the store and the machine (graphrec.db.server.memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.db.server.memory import GIB, MIB, recommended, store_bytes


@pytest.mark.parametrize("store, machine, heap, pagecache", [
    (0, 24 * GIB, "2048m", "3072m"),                   # a new home: the floors (page cache: an eighth)
    (3 * GIB, 24 * GIB, "2816m", "3751m"),             # page cache 1.2 x store + 64 MiB, heap 2 GiB + store / 4
    (10 * GIB, 24 * GIB, "4608m", "6144m"),            # the page cache capped at a quarter of the machine
    (200 * GIB, 256 * GIB, "31744m", "65536m"),        # the heap capped at 31 GiB
    (0, 2 * GIB, "512m", "256m"),                      # a small machine: the heap capped at a quarter too
])
def test_recommended_memory(store: int, machine: int, heap: str, pagecache: str) -> None:
    chosen = recommended(store, machine)
    assert (chosen.heap, chosen.pagecache) == (heap, pagecache)
    assert "--heap" in chosen.reason


def test_store_bytes_counts_database_and_transaction_files_only(tmp_path: Path) -> None:
    for relative, size in (("data/databases/neo4j/a", 3 * MIB), ("data/transactions/neo4j/b", MIB),
                           ("logs/debug.log", 5 * MIB), ("data/dbms/auth.ini", 10)):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    assert store_bytes(tmp_path) == 4 * MIB
    assert store_bytes(tmp_path / "missing") == 0


def test_a_server_without_settings_sizes_itself_at_each_start_and_keeps_given_ones(tmp_path: Path) -> None:
    from graphrec.db.server.lifecycle import LocalServer
    from graphrec.db.server.memory import machine_bytes

    server = LocalServer(tmp_path / "home")
    new = recommended(0, machine_bytes())
    assert (server.heap, server.pagecache) == (new.heap, new.pagecache)
    store = tmp_path / "home" / "data" / "databases" / "neo4j" / "neostore"
    store.parent.mkdir(parents=True)
    with store.open("wb") as sparse:  # a store past an eighth of the machine, without writing it
        sparse.truncate(machine_bytes() // 4)
    grown = server.size_memory()  # what start() and the offline tools call first
    assert grown.pagecache == recommended(machine_bytes() // 4, machine_bytes()).pagecache != new.pagecache
    assert "--heap" in grown.reason
    given = LocalServer(tmp_path / "home", heap="3g", pagecache="2g").size_memory()
    assert (given.heap, given.pagecache, given.reason) == ("3g", "2g", "as given")
    half = LocalServer(tmp_path / "home", heap="3g").size_memory()
    assert (half.heap, half.pagecache) == ("3g", grown.pagecache)
