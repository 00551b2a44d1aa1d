"""The `graphrec` command line (`graphrec.cli:main`); it parses and dispatches, every stage lives elsewhere.

- `parser`: the argument parser (`build_parser`); `common`: what the verbs share (argument types, connection
  settings, `parse_params`, `format_table`);
- one module per verb group, each with its commands' options (`add_commands`) and functions:
  `server` (neo4j, backup, restore), `data` (init, load, cypher, export, forget), `models` (train, evaluate,
  models, prune, activate, demo), `serving` (recommend, similar, explain).

No module of the command line imports a heavy library (torch, numpy, pandas, the Neo4j driver...) at its top:
each command imports what it needs when it runs, so that `graphrec --help` and `graphrec neo4j status` answer
at once. Every failure is one line on stderr (`describe_error`).
"""

from __future__ import annotations

import os
import sys
import warnings

from graphrec.cli.common import UsageError, format_table, parse_params
from graphrec.cli.models import DEMO_CONFIG, GROUP_CONFIGS
from graphrec.cli.parser import build_parser
from graphrec.cli.serving import format_ranking
from graphrec.errors import ConfigError

__all__ = ["DEMO_CONFIG", "GROUP_CONFIGS", "UsageError", "build_parser", "describe_error", "format_ranking",
           "format_table", "main", "parse_params"]


def main(argv: list[str] | None = None) -> int:
    # torch_geometric still calls torch.jit.script at import; the deprecation is theirs, not the user's. Set
    # before anything is parsed: an argument type or a command may be the first to import it.
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            raise UsageError("a command is needed")
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("graphrec: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # every failure becomes one line; GRAPHREC_DEBUG=1 shows the traceback
        if os.environ.get("GRAPHREC_DEBUG"):
            raise
        message, code = describe_error(error)
        print(message, file=sys.stderr)
        return code


def describe_error(error: Exception) -> tuple[str, int]:
    """The one line a failed command prints, and its exit code (2: usage, 1: anything else)."""
    if isinstance(error, UsageError):
        return _one_line(f"{error.prog}: error: {error} (see `{error.prog} --help`)"), 2
    neo4j = sys.modules.get("neo4j")  # a driver error comes from a loaded driver; none is loaded for it here
    if neo4j is not None:
        if isinstance(error, neo4j.exceptions.AuthError):
            return _one_line(f"graphrec: error: Neo4j refused the credentials ({error.message}): check --user and "
                             "the password (NEO4J_PASSWORD, --password-file)"), 1
        if isinstance(error, neo4j.exceptions.Neo4jError):
            return _one_line(f"graphrec: Neo4j refused: {error.code}: {error.message}"), 1
        if isinstance(error, neo4j.exceptions.DriverError):
            return _one_line(f"graphrec: cannot reach Neo4j: {' '.join(str(error).split())} (is it running? "
                             "`graphrec neo4j status`, `graphrec neo4j start`)"), 1
    # ConfigError, InputError, TokenError, WritebackError, SpecError, TextError (ValueError); ServerError,
    # BulkLoadRefused, BackupRefused (RuntimeError); RecommendError, ForgetError (LookupError); ServerGone (OSError)
    known = (ConfigError, ValueError, OSError, LookupError, RuntimeError)
    if isinstance(error, known):
        return _one_line(f"graphrec: error: {error}"), 1
    return _one_line(f"graphrec: internal error: {type(error).__name__}: {error} (please report it with the "
                     "command line; GRAPHREC_DEBUG=1 shows the traceback)"), 1


def _one_line(message: str) -> str:
    """The first line of a message (blanks collapsed); further lines (a log's end) are left to GRAPHREC_DEBUG=1."""
    lines = [line for line in message.strip().splitlines() if line.strip()] or ["(no message)"]
    first = " ".join(lines[0].split())
    if len(lines) > 1:
        first = first.rstrip(":") + " (GRAPHREC_DEBUG=1 shows the rest)"
    return first
