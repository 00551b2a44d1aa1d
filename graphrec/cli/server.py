"""`graphrec neo4j start|stop|status|browser-bundle|procedures`, `graphrec backup` and `graphrec restore`: the
local server graphrec runs with java (`graphrec.db.server`) and its database's archives (`graphrec.backup`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from graphrec.cli.common import PORT, SECONDS, memory, named_server, password


def add_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Add `neo4j`, `backup` and `restore` to `commands` (an argparse subparsers action)."""
    neo4j_cmd = commands.add_parser("neo4j", help="run a local Neo4j 5.26 Community server with java")
    server_cmds = neo4j_cmd.add_subparsers(title="actions", metavar="ACTION", required=True)
    start = server_cmds.add_parser("start", help="fetch (once), configure and start the server; wait for Bolt")
    start.add_argument("--bolt-port", type=PORT, help="Bolt port (default: last start's, else 7687)")
    start.add_argument("--http-port", type=PORT, help="HTTP/Browser port (default: last start's, else 7474)")
    start.add_argument("--heap", type=memory, help="JVM heap (default: sized from the store and the machine)")
    start.add_argument("--pagecache", type=memory, help="page cache (default: about the store's size, sized likewise)")
    start.add_argument("--password-file", type=Path, metavar="FILE",
                       help="the password set on the first start, from FILE's first line ('-': standard input; "
                            "default: generated)")
    start.add_argument("--password", help="the password itself (visible to other local users while the command "
                                          "runs: prefer --password-file)")
    start.add_argument("--timeout", type=SECONDS, default=180.0, help="seconds to wait for Bolt (default 180)")
    start.set_defaults(run=_neo4j_start)
    server_cmds.add_parser("stop", help="shut the server down cleanly").set_defaults(run=_neo4j_stop)
    server_cmds.add_parser("status", help="whether it runs, and where").set_defaults(run=_neo4j_status)
    bundle = server_cmds.add_parser("browser-bundle", help="write graphrec's Browser (guide and style) as "
                                    "DIR/neo4j-browser.zip, for a Docker server's web folder (see README)")
    bundle.add_argument("dir", type=Path, metavar="DIR")
    bundle.set_defaults(run=_neo4j_browser_bundle)
    procedures = server_cmds.add_parser("procedures", help="write graphrec's procedures (graphrec.topItems, "
                                        "graphrec.itemWeights, graphrec.innerProducts, graphrec.mmr: serving "
                                        "calls them) as "
                                        "DIR/graphrec-procedures.jar, for a Docker "
                                        "server's plugins (see README)")
    procedures.add_argument("dir", type=Path, metavar="DIR")
    procedures.set_defaults(run=_neo4j_procedures)

    for name, verb in (("backup", "dump the local server's database into the file PATH"),
                       ("restore", "replace the local server's database with the archive PATH")):
        saving = commands.add_parser(
            name, help=f"{verb} (neo4j-admin; a running server is stopped meanwhile and started again)")
        saving.add_argument("path", type=Path, metavar="PATH")
        saving.add_argument("--database", default="neo4j", help="the database (default neo4j)")
        saving.add_argument("--force", action="store_true",
                            help="overwrite an existing file" if name == "backup" else
                            "replace a database that holds nodes")
        saving.set_defaults(run=_backup if name == "backup" else _restore)


def _neo4j_start(args: argparse.Namespace) -> int:
    from graphrec.db.server.lifecycle import LocalServer

    server = LocalServer.from_environment(bolt_port=args.bolt_port, http_port=args.http_port,
                                          heap=args.heap, pagecache=args.pagecache)
    already = server.status().running
    status = server.start(password=password(args), timeout=args.timeout)
    print(("already running\n" if already else "started\n") + status.describe())
    return 0


def _neo4j_stop(args: argparse.Namespace) -> int:
    from graphrec.db.server.lifecycle import LocalServer

    stopped = LocalServer.from_environment().stop()
    print("stopped" if stopped else "not running")
    return 0


def _neo4j_status(args: argparse.Namespace) -> int:
    from graphrec.db.server.lifecycle import LocalServer

    status = LocalServer.from_environment().status()
    print(status.describe())
    return 0 if status.running else 3


def _neo4j_browser_bundle(args: argparse.Namespace) -> int:
    from graphrec.db.server import browser
    from graphrec.db.server.install import install_jars

    print(f"wrote {browser.export_bundle(install_jars(), args.dir)}")
    return 0


def _neo4j_procedures(args: argparse.Namespace) -> int:
    import shutil

    from graphrec.db.server.install import PROCEDURES_JAR, install_procedures

    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"wrote {shutil.copyfile(install_procedures() / PROCEDURES_JAR, args.dir / PROCEDURES_JAR)}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from graphrec.backup import backup
    from graphrec.db.resolve import local_server_only

    server = local_server_only("backup", named_server(args))
    path = backup(server, args.path, database=args.database, force=args.force)
    print(f"database '{args.database}' of {server.home} backed up into {path} ({path.stat().st_size:,} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from graphrec.backup import restore
    from graphrec.db.resolve import local_server_only

    server = local_server_only("restore", named_server(args))
    restore(server, args.path, database=args.database, force=args.force)
    print(f"database '{args.database}' of {server.home} restored from {args.path}")
    print(server.status().describe())
    return 0
