"""The `graphrec` argument parser: the root, the connection options every connecting command shares, and each
verb group's own commands (`server`, `data`, `models`, `serving`), each command's function as its `run`."""

from __future__ import annotations

import argparse
from pathlib import Path

from graphrec.cli import data, models, server, serving
from graphrec.cli.common import UsageError

DESCRIPTION = """The `graphrec` command line. Every subcommand has `--help`.

Every failure is one line on stderr, `graphrec: error: ...` naming what to fix, with exit code 1; a
command line that does not parse (an unknown option, an id beyond the 64-bit integers, k out of range...)
exits with 2. `GRAPHREC_DEBUG=1` shows the traceback of an error instead.
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are `UsageError`s, printed in one line by `main`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.prog)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; `args.run(args)` runs the command parsed."""
    parser = Parser(prog="graphrec", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection (default: NEO4J_* variables, else the local server)")
    group.add_argument("--uri", help="Bolt URI, e.g. bolt://127.0.0.1:7687 (NEO4J_URI)")
    group.add_argument("--user", help="user name (NEO4J_USER, default neo4j)")
    group.add_argument("--password-file", type=Path, metavar="FILE",
                       help="read the password from FILE's first line ('-': standard input)")
    group.add_argument("--password", help="the password itself: visible to other local users (ps) while the "
                                          "command runs; prefer NEO4J_PASSWORD or --password-file")
    group.add_argument("--database", help="database name (NEO4J_DATABASE, default neo4j)")
    for verbs in (server, data, models, serving):
        verbs.add_commands(commands, connection)
    return parser
