"""Back up and restore the database of the local server (`neo4j-admin database dump` / `load`).

In Neo4j Community a database can only be dumped or loaded while the server is stopped, so both stop a
running server for the copy and start it again afterwards, as a bulk load does (Browser and every client lose
their connection meanwhile; a stopped server stays stopped, a new home is started once restored).

- `backup` writes one archive file (mode 0600: it holds every user's data) and refuses to overwrite an existing
  file unless `force`.
- `restore` replaces the database with an archive. It refuses, changing nothing, when the database holds any
  node, unless `force`; a stopped server is started to look and stopped again. The archive is checked before
  the server is stopped, and the database's files are put back if the load fails.

The archive holds the graph, its indexes and constraints (vector indexes included) and the model versions; not
the server's users and passwords, which stay those of the home it is restored into.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner, store_replaced
from graphrec.db.server import admin
from graphrec.db.server.lifecycle import LocalServer


class BackupRefused(RuntimeError):
    """A backup or restore that would overwrite something without `force`."""


def backup(server: LocalServer, path: Path, *, database: str = "neo4j", force: bool = False,
           say: Callable[[str], None] | None = None) -> Path:
    """Dump `database` of the local `server` into the file `path`; returns its absolute path."""
    say = say or _stderr
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise BackupRefused(f"{path} is a folder: give the archive's file name, e.g. {path / (database + '.dump')}")
    if path.exists() and not force:
        raise BackupRefused(f"{path} exists: choose another name or pass --force to overwrite it")
    if not path.parent.is_dir():
        raise BackupRefused(f"{path.parent}: no such folder")
    if not server.has_database(database):
        raise BackupRefused(f"there is no database '{database}' in {server.home} to back up")
    running = server.status().running
    if running:
        say("stopping the server for the dump (Community dumps a stopped database)")
        server.stop()
    try:
        admin.dump_database(server, database, path)
    finally:
        if running:
            say("starting the server again")
            server.start()
    return path


def restore(server: LocalServer, path: Path, *, database: str = "neo4j", force: bool = False,
            say: Callable[[str], None] | None = None) -> None:
    """Replace `database` of the local `server` with the archive `path` (see the module docstring)."""
    say = say or _stderr
    path = Path(path).expanduser().resolve()
    admin.check_dump(server, path)
    running = server.status().running
    new_home = not running and not server.has_database(database)
    if not new_home and not force:
        if not running:
            say("starting the server to check that the database is empty")
            server.start()
        try:
            with QueryRunner(server.connection(database)) as runner:
                nodes = runner.read(cypher.statement("bulk_target_nodes"))[0]["nodes"]
        except BaseException:
            if not running:
                server.stop()
            raise
        if nodes:
            if not running:
                server.stop()
            raise BackupRefused(f"database '{database}' holds {nodes:,} nodes: a restore replaces them all; back "
                                "them up first (`graphrec backup PATH`) and pass --force to replace them")
    if server.status().running:
        say("stopping the server for the load (Community loads into a stopped database)")
        server.stop()
    try:
        admin.load_database(server, database, path)
    finally:
        store_replaced(server.bolt_port, database)  # the runners of this process forget the old store's bookmarks
        if running or new_home:
            say("starting the server")
            server.start()


def _stderr(text: str) -> None:
    print(f"graphrec: {text}", file=sys.stderr, flush=True)
