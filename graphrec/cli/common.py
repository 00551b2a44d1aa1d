"""What the verbs of the command line share: the usage error, argument types, the connection settings (and the
one place the command line tells the local server from a server named explicitly), parameters, tables.

Nothing heavy is imported here: a token parser, the driver or a stage is imported when an argument is
converted or a command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphrec.errors import ConfigError

if TYPE_CHECKING:
    from graphrec.db.runner import QueryRunner


class UsageError(ValueError):
    """A command line that does not parse (exit code 2)."""

    def __init__(self, message: str, prog: str = "graphrec") -> None:
        super().__init__(message)
        self.prog = prog


def typed(parser: str, low: float | None = None, high: float | None = None,
          what: str = "") -> Callable[[str], Any]:
    """An argparse `type`: the strict token parser `graphrec.load.tokens.<parser>` (imported when an argument
    is converted), then the range [low, high]."""

    def convert(text: str) -> Any:
        from graphrec.load import tokens

        try:
            value = getattr(tokens, parser)(text)
        except tokens.TokenError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: {what or 'it'} must be {bounds}")
        return value

    return convert


def at_least(low: int, what: str) -> Callable[[str], int]:
    """An argparse `type`: an integer of at least `low`."""
    return typed("parse_id", low, None, what)


ID = typed("parse_id")
"""An id argument: a 64-bit integer in plain digits (graphrec.load.tokens)."""
PORT = typed("parse_id", 1, 65535, "a port")
SECONDS = typed("parse_number", 0.001, 86400 * 365, "seconds")


def memory(text: str) -> str:
    """An argparse `type`: a JVM memory size such as 512m or 2g."""
    if not re.fullmatch(r"[1-9][0-9]*[kmgKMG]?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size such as 512m or 2g")
    return text


def weight(text: str) -> float:
    """An argparse `type`: a number from 0 to 1 (an MMR weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a weight from 0 to 1, not {text}")
    return value


def known_items(text: str) -> str | float:
    """An argparse `type` (`--known-items`): one of the settings, or a finite number."""
    from graphrec.evaluation.protocol import KNOWN_ITEMS

    if text in KNOWN_ITEMS:
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"one of {', '.join(KNOWN_ITEMS)} or a finite number, not {text!r}")
    return value


def named_server(args: argparse.Namespace) -> str | None:
    """The one place the command line tells the local server of `graphrec neo4j start` (None) from a server
    named explicitly (`--uri`, else `NEO4J_URI`; `graphrec.db.resolve.configured_uri`)."""
    from graphrec.db.resolve import configured_uri

    return configured_uri(getattr(args, "uri", None))


def settings(args: argparse.Namespace) -> dict[str, str | None]:
    """The connection settings of the command line (`graphrec.db.resolve.resolve_connection`'s arguments)."""
    return {"uri": named_server(args), "user": args.user, "password": password(args), "database": args.database}


def runner(args: argparse.Namespace) -> QueryRunner:
    """A runner on the server the command line, the environment or the local server names."""
    from graphrec.db.resolve import resolve_connection
    from graphrec.db.runner import QueryRunner

    return QueryRunner(resolve_connection(**settings(args)))


def password(args: argparse.Namespace) -> str | None:
    """`--password`, or the first line of `--password-file` ('-': standard input), or None."""
    if args.password_file is None:
        return args.password
    if args.password is not None:
        raise UsageError("give --password or --password-file, not both")
    source = args.password_file
    text = sys.stdin.readline() if str(source) == "-" else source.read_text(encoding="utf-8").partition("\n")[0]
    found = text.rstrip("\r\n")
    if not found:
        raise ConfigError(f"{'standard input' if str(source) == '-' else source} holds no password on its first line")
    return found


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs → parameters; a value is JSON when it parses as JSON, else a string.

    Raises `UsageError` for a pair without `=` and for integers beyond the 64-bit range Neo4j stores.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--param wants NAME=VALUE, got {pair!r}")
        try:
            params[name] = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            params[name] = value
        _check_integers(params[name], name)
    return params


def _check_integers(value: Any, name: str) -> None:
    from graphrec.load.tokens import INT64_MAX, INT64_MIN

    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise UsageError(f"{name}: {value} is beyond the 64-bit integers Neo4j stores")
    for inner in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()):
        _check_integers(inner, name)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Rows as an aligned text table (`(no rows)` when empty)."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[json.dumps(row.get(c), default=str) if not isinstance(row.get(c), str) else row[c]
              for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"
