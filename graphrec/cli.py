"""The `graphrec` command line. Every subcommand has `--help`.

Every failure is one line on stderr, `graphrec: error: ...` naming what to fix, with exit code 1; a
command line that does not parse (an unknown option, an id beyond the 64-bit integers, k out of range...)
exits with 2. `GRAPHREC_DEBUG=1` shows the traceback of an error instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import neo4j

from graphrec.db import cypher
from graphrec.db.resolve import resolve_connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import ServerError
from graphrec.db.server.lifecycle import LocalServer
from graphrec.errors import ConfigError
from graphrec.load import BulkLoadRefused, InputError
from graphrec.load.tokens import INT64_MAX, INT64_MIN, TokenError, parse_id, parse_number, parse_timestamp
from graphrec.recommend import EXACT, MAX_K, SIMILAR_BY, STRATEGIES, Ranking, Recommender, RecommendError

DEMO_CONFIG = (Path(__file__).parent / "configs" / "demo.toml").resolve()  # package data
GROUP_CONFIGS = [DEMO_CONFIG.with_name(name) for name in
                 ("groups-filter.toml", "groups.toml", "groups-users.toml", "groups-only.toml",
                  "groups-popularity.toml")]
"""`graphrec evaluate`'s default models: the group model (a graph filter), LightGCN with groups in the graph,
its baselines and popularity."""


class UsageError(ValueError):
    """A command line that does not parse (exit code 2)."""

    def __init__(self, message: str, prog: str = "graphrec") -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are `UsageError`s, printed in one line by `main`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.prog)


def main(argv: list[str] | None = None) -> int:
    # torch_geometric still calls torch.jit.script at import; the deprecation is theirs, not the user's.
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
    if isinstance(error, neo4j.exceptions.AuthError):
        return _one_line(f"graphrec: error: Neo4j refused the credentials ({error.message}): check --user and "
                         "the password (NEO4J_PASSWORD, --password-file)"), 1
    if isinstance(error, neo4j.exceptions.Neo4jError):
        return _one_line(f"graphrec: Neo4j refused: {error.code}: {error.message}"), 1
    if isinstance(error, neo4j.exceptions.DriverError):
        return _one_line(f"graphrec: cannot reach Neo4j: {' '.join(str(error).split())} (is it running? "
                         "`graphrec neo4j status`, `graphrec neo4j start`)"), 1
    known = (ConfigError, ServerError, InputError, BulkLoadRefused, RecommendError, ValueError, OSError,
             LookupError, RuntimeError)  # BackupRefused, WritebackError, ForgetError, ServerGone among them
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


def _typed(parse: Callable[[str], Any], low: float | None = None, high: float | None = None,
           what: str = "") -> Callable[[str], Any]:
    """An argparse `type`: `parse` (a strict token parser), then the range [low, high]."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except TokenError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: {what or 'it'} must be {bounds}")
        return value

    return convert


def _memory(text: str) -> str:
    """A JVM memory size such as 512m or 2g."""
    if not re.fullmatch(r"[1-9][0-9]*[kmgKMG]?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size such as 512m or 2g")
    return text


ID = _typed(parse_id)
"""An id argument: a 64-bit integer in plain digits (graphrec.load.tokens)."""
K = _typed(parse_id, 1, MAX_K, "k")
PORT = _typed(parse_id, 1, 65535, "a port")
SECONDS = _typed(parse_number, 0.001, 86400 * 365, "seconds")


def _at_least(low: int, what: str) -> Callable[[str], int]:
    return _typed(parse_id, low, None, what)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="graphrec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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

    neo4j_cmd = commands.add_parser("neo4j", help="run a local Neo4j 5.26 Community server with java")
    server_cmds = neo4j_cmd.add_subparsers(title="actions", metavar="ACTION", required=True)
    start = server_cmds.add_parser("start", help="fetch (once), configure and start the server; wait for Bolt")
    start.add_argument("--bolt-port", type=PORT, help="Bolt port (default: last start's, else 7687)")
    start.add_argument("--http-port", type=PORT, help="HTTP/Browser port (default: last start's, else 7474)")
    start.add_argument("--heap", type=_memory, default="1g", help="JVM heap (default 1g)")
    start.add_argument("--pagecache", type=_memory, default="512m", help="page cache (default 512m)")
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
    procedures = server_cmds.add_parser("procedures", help="write graphrec's procedures (graphrec.topItems, which "
                                        "group recommendations call) as DIR/graphrec-procedures.jar, for a Docker "
                                        "server's plugins (see README)")
    procedures.add_argument("dir", type=Path, metavar="DIR")
    procedures.set_defaults(run=_neo4j_procedures)

    init = commands.add_parser("init", parents=[connection], help="apply cypher/schema.cypher (idempotent)")
    init.set_defaults(run=_init)

    load = commands.add_parser("load", help="load data (validated first; idempotent)")
    formats = load.add_subparsers(title="formats", metavar="FORMAT", required=True)
    writing = argparse.ArgumentParser(add_help=False)
    writing.add_argument("--batch-size", type=_at_least(1, "the batch size"), default=20_000,
                         help="rows per transaction (default 20000; not with --bulk)")
    writing.add_argument("--workers", type=_typed(parse_id, 1, 64, "workers"), default=2,
                         help="concurrent writers (default 2; not with --bulk)")
    writing.add_argument("--bulk", action="store_true",
                         help="a first load into the local server of `graphrec neo4j start`, offline "
                              "(neo4j-admin database import full), then the schema: the same graph, faster. "
                              "A new home is imported and then started; a running server's empty database is "
                              "stopped, imported and started again. Refused, with nothing written, when the "
                              "database is not empty or --uri/NEO4J_URI names another server")
    csv = formats.add_parser("csv", parents=[connection, writing],
                             help="CSV tables: users, items, groups, memberships, interactions")
    for table in ("users", "items", "groups", "memberships", "interactions", "group-interactions"):
        csv.add_argument(f"--{table}", metavar="FILE", help=f"CSV file of {table.replace('-', ' ')}")
    csv.set_defaults(run=_load_csv)
    lightgcn = formats.add_parser("lightgcn", parents=[connection, writing],
                                  help="LightGCN folder: train.txt, test.txt ('uid iid iid ...')")
    lightgcn.add_argument("directory", type=Path)
    lightgcn.set_defaults(run=_load_lightgcn)
    groups = formats.add_parser("groups", parents=[connection, writing],
                                help="group-benchmark folder: groupMember.txt, *Rating{Train,Test,Negative}.txt")
    groups.add_argument("directory", type=Path)
    groups.set_defaults(run=_load_groups)

    cypher_parser = commands.add_parser("cypher", parents=[connection],
                                 help="run a Cypher query or a .cypher file (from cypher/ or a path)")
    cypher_parser.add_argument("query", metavar="QUERY_OR_FILE")
    cypher_parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter; VALUE is read as JSON when it parses, else as a string")
    cypher_parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    cypher_parser.set_defaults(run=_cypher)

    export = commands.add_parser("export", parents=[connection],
                                 help="export a subgraph snapshot (PyTorch Geometric) to a folder")
    export.add_argument("--out", type=Path, required=True, help="folder to write the snapshot into")
    export.add_argument("--since", type=_typed(parse_timestamp),
                        help="only interactions with ts >= SINCE (Unix seconds or an ISO 8601 date-time with offset)")
    export.add_argument("--users", type=ID, nargs="+", metavar="ID", help="these users and their neighbourhood")
    export.add_argument("--groups", type=ID, nargs="+", metavar="ID", help="these groups and their neighbourhood")
    export.add_argument("--hops", type=_typed(parse_id, 0, 10, "hops"), default=0,
                        help="neighbourhood size around --users/--groups (default 0)")
    export.add_argument("--min-interactions", type=_at_least(0, "the minimum"), default=0,
                        help="only users with at least this many train interactions (default 0)")
    export.set_defaults(run=_export)

    train = commands.add_parser("train", parents=[connection],
                                help="export, fit the configuration's model, evaluate it and write it back")
    train.add_argument("--config", type=Path, required=True,
                       help="a run configuration naming the model, e.g. graphrec/configs/gowalla-filter.toml")
    train.add_argument("--epochs", type=_at_least(1, "epochs"), help="override [train] epochs (trained kinds)")
    train.add_argument("--run-dir", type=Path, help="where the run's files go (default runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run's last checkpoint")
    train.add_argument("--no-write-back", action="store_true", help="fit and evaluate only")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", parents=[connection],
                                   help="export once, fit several models and evaluate them side by side")
    evaluate.add_argument("--config", type=Path, nargs="+", default=GROUP_CONFIGS, metavar="FILE",
                          help="run configurations, one model each; the first's [export] and [evaluate] apply "
                               "(default: graphrec/configs/groups-filter.toml, groups.toml, groups-users.toml, "
                               "groups-only.toml, groups-popularity.toml)")
    evaluate.add_argument("--protocol", choices=("sampled", "full"), help="override [evaluate] protocol")
    evaluate.add_argument("--task", choices=("group", "user", "both"), help="override [evaluate] task")
    evaluate.add_argument("--leak-free", action="store_true",
                          help="the leak-free variant: train without the pairs of test cases (default: the reference "
                               "protocol, which trains on them; [evaluate] variant)")
    evaluate.add_argument("--known-items", type=_known_items, metavar="{as_is,exclude,auto,NUMBER}",
                          help="override [evaluate] known_items: how the sampled protocol ranks a source's train "
                               "items among its candidates (as_is: by the model's scores; exclude: last, as served; "
                               "auto: an offset per model chosen on held-out train rows; a number: that offset)")
    evaluate.add_argument("--out", type=Path, default=Path("runs") / "evaluate",
                          help="report folder (default runs/evaluate)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(run=_evaluate)

    models = commands.add_parser("models", parents=[connection], help="the trained models; which is active")
    models.add_argument("--json", action="store_true", help="print the rows as JSON")
    models.set_defaults(run=_models)
    forget = commands.add_parser("forget", help="delete a user and everything stored about them; name the model "
                                                "versions that still carry what was learned from them")
    forgettable = forget.add_subparsers(title="what", metavar="user", required=True)
    forget_user = forgettable.add_parser(
        "user", parents=[connection],
        help="delete USER's node, interactions, memberships and vectors in every model version")
    forget_user.add_argument("id", type=ID, metavar="USER")
    forget_user.add_argument("--json", action="store_true", help="print JSON")
    forget_user.add_argument("--refit", type=Path, metavar="CONFIG",
                             help="then recompute CONFIG's training-free model (filter, itemknn, popularity) "
                                  "without the user, write it back as a new active version and prune the "
                                  "versions that learned from them")
    forget_user.set_defaults(run=_forget_user)

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

    prune = commands.add_parser("prune", parents=[connection],
                                help="remove old model versions: keep the active one and the newest ready ones; "
                                     "abandoned write-backs (writer gone) go too, a live writer's never")
    prune.add_argument("--keep", type=_at_least(1, "--keep"), default=2,
                       help="versions to keep, the active one included (default 2)")
    prune.set_defaults(run=_prune)
    activate = commands.add_parser("activate", parents=[connection], help="serve the embeddings of VERSION")
    activate.add_argument("version", type=_at_least(1, "a version"))
    activate.set_defaults(run=_activate)

    serving = argparse.ArgumentParser(add_help=False, parents=[connection])
    serving.add_argument("-k", type=K, default=10, help=f"how many items, 1 to {MAX_K} (default 10)")
    serving.add_argument("--filter", action="append", default=[], metavar="PROPERTY=VALUE",
                         help="only items whose PROPERTY equals VALUE (JSON when it parses, else a string)")
    serving.add_argument("--json", action="store_true", help="print JSON")
    serving.add_argument("--exact", action="store_true",
                         help="scan every item instead of taking candidates from the vector index (slower)")
    excluding = argparse.ArgumentParser(add_help=False)
    excluding.add_argument("--exclude", type=ID, nargs="+", default=[], metavar="ITEM", help="never these items")
    excluding.add_argument("--diversity", type=_weight, default=None, metavar="LAMBDA",
                           help="re-rank the 3k best by MMR with this weight in [0, 1] (default: none)")
    excluding.add_argument("--diversity-by", choices=("graph", "text"), default="graph",
                           help="the vectors MMR compares: the model's item vectors (graph, default) or text")
    recommend = commands.add_parser("recommend", help="top-k items for a user or a group (active model)")
    subjects = recommend.add_subparsers(title="for", metavar="user|group", required=True)
    for_user = subjects.add_parser("user", parents=[serving, excluding],
                                   help="by the user's vector; new users folded in, users without history: popular")
    for_user.add_argument("id", type=ID, metavar="USER")
    for_user.set_defaults(run=_recommend_user)
    for_group = subjects.add_parser("group", parents=[serving, excluding], help="by a group strategy")
    for_group.add_argument("id", type=ID, metavar="GROUP")
    for_group.add_argument("--strategy", choices=STRATEGIES, default="combined",
                           help="how members' scores make the group's (default combined: the group's own "
                                "vector mixed with the members' average, or the average without one)")
    for_group.add_argument("--exclude-member-items", action="store_true",
                           help="also leave out items any member already has")
    for_group.set_defaults(run=_recommend_group)
    similar = commands.add_parser("similar", parents=[serving], help="items most similar to ITEM (cosine)")
    similar.add_argument("id", type=ID, metavar="ITEM")
    similar.add_argument("--by", choices=SIMILAR_BY, default="graph",
                         help="similar by the model's vectors or weights (graph, default), the items' text "
                              "vectors (text: a version trained with [text]) or the mean of both")
    similar.set_defaults(run=_similar)
    explain = commands.add_parser("explain", help="why an item suits a user or a group")
    explained = explain.add_subparsers(title="for", metavar="user|group", required=True)
    for kind in ("user", "group"):
        why = explained.add_parser(kind, parents=[connection], help=f"why ITEM suits {kind.upper()}")
        why.add_argument("id", type=ID, metavar=kind.upper())
        why.add_argument("item", type=ID, metavar="ITEM")
        why.add_argument("-n", type=_typed(parse_id, 1, MAX_K, "n"), default=3,
                         help="how many of their own items to show (default 3)")
        why.add_argument("--json", action="store_true", help="print JSON")
        why.set_defaults(run=_explain, kind=kind)

    demo = commands.add_parser("demo", parents=[connection],
                               help="start (or connect to) Neo4j, load a small generated dataset, train briefly, "
                                    "write the embeddings back and print recommendations")
    demo.add_argument("--run-dir", type=Path, default=Path("runs") / "demo", help="the training run's folder")
    demo.set_defaults(run=_demo)
    return parser


def _runner(args: argparse.Namespace) -> QueryRunner:
    return QueryRunner(resolve_connection(args.uri, args.user, _password(args), args.database))


def _password(args: argparse.Namespace) -> str | None:
    """`--password`, or the first line of `--password-file` ('-': standard input), or None."""
    if args.password_file is None:
        return args.password
    if args.password is not None:
        raise UsageError("give --password or --password-file, not both")
    source = args.password_file
    text = sys.stdin.readline() if str(source) == "-" else source.read_text(encoding="utf-8").partition("\n")[0]
    password = text.rstrip("\r\n")
    if not password:
        raise ConfigError(f"{'standard input' if str(source) == '-' else source} holds no password on its first line")
    return password


def _neo4j_start(args: argparse.Namespace) -> int:
    server = LocalServer.from_environment(bolt_port=args.bolt_port, http_port=args.http_port,
                                          heap=args.heap, pagecache=args.pagecache)
    already = server.status().running
    status = server.start(password=_password(args), timeout=args.timeout)
    print(("already running\n" if already else "started\n") + status.describe())
    return 0


def _neo4j_stop(args: argparse.Namespace) -> int:
    stopped = LocalServer.from_environment().stop()
    print("stopped" if stopped else "not running")
    return 0


def _neo4j_status(args: argparse.Namespace) -> int:
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


def _init(args: argparse.Namespace) -> int:
    from graphrec.load import apply_schema

    with _runner(args) as runner:
        apply_schema(runner)
    print(f"schema applied ({len(cypher.statements('schema'))} statements)")
    return 0


def _load(args: argparse.Namespace, load: Callable[..., dict[str, int]]) -> int:
    """Run `load(runner, **options)` and print what it wrote and the graph's counts.

    A bulk load targets the local server, whose home may be new or its server stopped; it is connected to
    only when a server is configured explicitly (`--uri`, `NEO4J_URI`), and then must be that server.
    """
    from graphrec.load import graph_summary

    if not args.bulk:
        with _runner(args) as runner:
            written = load(runner, batch_size=args.batch_size, workers=args.workers)
            summary = graph_summary(runner)
    else:
        server = LocalServer.from_environment()
        database = args.database or os.environ.get("NEO4J_DATABASE") or "neo4j"
        configured = _runner(args) if args.uri or os.environ.get("NEO4J_URI") else None
        try:
            written = load(configured, bulk=True, server=server, database=database)
        finally:
            if configured is not None:
                configured.close()
        with QueryRunner(server.connection(database)) as runner:
            summary = graph_summary(runner)
        print(server.status().describe())
    _print_load(written, summary)
    return 0


def _print_load(written: dict[str, int], summary: dict[str, int]) -> None:
    print("written: " + ", ".join(f"{k} {v:,}" for k, v in written.items() if v))
    print("graph:   " + ", ".join(f"{k} {v:,}" for k, v in summary.items() if v))


def _load_csv(args: argparse.Namespace) -> int:
    from graphrec.load import load_csv

    tables = {name: getattr(args, name) for name in
              ("users", "items", "groups", "memberships", "interactions", "group_interactions")}
    return _load(args, lambda runner, **options: load_csv(runner, **options, **{k: v for k, v in tables.items() if v}))


def _load_lightgcn(args: argparse.Namespace) -> int:
    from graphrec.load import load_lightgcn

    return _load(args, lambda runner, **options: load_lightgcn(runner, args.directory, **options))


def _load_groups(args: argparse.Namespace) -> int:
    from graphrec.load import load_group_benchmark

    return _load(args, lambda runner, **options: load_group_benchmark(runner, args.directory, **options))


def _export(args: argparse.Namespace) -> int:
    from graphrec.export import export_snapshot

    with _runner(args) as runner:
        snapshot = export_snapshot(runner, since=args.since, users=args.users, groups=args.groups,
                                   hops=args.hops, min_interactions=args.min_interactions)
    snapshot.save(args.out)
    print(f"snapshot in {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in snapshot.counts().items()))
    return 0


def _train(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.evaluation.report import format_report
    from graphrec.runconfig import read_config

    config = read_config(args.config, train={"epochs": args.epochs})
    if args.epochs is not None and config.train is None:
        raise ValueError(f"--epochs: kind {config.model.kind!r} is not trained")
    run_dir = args.run_dir or Path("runs") / args.config.stem
    with _runner(args) as runner:
        report, _ = conduct(runner, [config], run_dir, write_back=not args.no_write_back,
                            progress=not args.quiet, resume=args.resume)
    print(format_report(report))
    print(f"run files in {run_dir} (evaluation.json/.csv/.png; {config.name}/: the fit's own files)")
    return 0


def _known_items(text: str) -> str | float:
    """`--known-items`: one of the settings, or a finite number."""
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


def _evaluate(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.evaluation.report import format_report
    from graphrec.runconfig import read_config

    overrides = {"protocol": args.protocol, "task": args.task, "variant": "leak_free" if args.leak_free else None,
                 "known_items": args.known_items}
    configs = [read_config(path, evaluate=overrides) for path in args.config]
    with _runner(args) as runner:
        report, _ = conduct(runner, configs, args.out, progress=not (args.quiet or args.json))
    print(json.dumps(report.to_json(), indent=2) if args.json else f"{format_report(report)}\nreport in {args.out}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import list_models
    from graphrec.writeback.writers import writers

    with _runner(args) as runner:
        rows = list_models(runner)
        gone = {row["version"]: row["gone"] for row in writers(runner)}
    for row in rows:  # abandoned: a 'writing' version whose writer is gone (graphrec.writeback.writers)
        row["abandoned"] = gone.get(row["version"], False) if row["status"] == "writing" else None
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    shown = ("version", "active", "status", "created", "property", "dim", "users", "items", "groups", "metrics")
    print(format_table([{**{key: row.get(key) for key in shown},
                         "status": row["status"] + (" (abandoned: writer gone)" if row["abandoned"] else "")}
                        for row in rows]))
    abandoned = [row["version"] for row in rows if row["abandoned"]]
    if abandoned:
        print(f"abandoned write-backs: {', '.join(f'v{v}' for v in abandoned)}; `graphrec prune` removes them "
              "(the next write-back does too)")
    return 0


def _forget_user(args: argparse.Namespace) -> int:
    from graphrec.forget import forget_user
    from graphrec.runconfig import read_config

    config = read_config(args.refit) if args.refit else None
    if config is not None and config.train is not None:
        raise ValueError(f"--refit {args.refit}: kind {config.model.kind!r} is trained; --refit takes a "
                         "training-free kind (filter, itemknn, popularity); retrain with `graphrec train`")
    with _runner(args) as runner:
        done = forget_user(runner, args.id)
        refitted = _refit(runner, config, args, done) if config is not None else None
    if args.json:
        print(json.dumps({**asdict(done), "refitted": refitted}, indent=2))
        return 0
    groups = f" (groups {', '.join(map(str, done.groups))})" if done.groups else ""
    vectors = f" ({', '.join(done.vectors)})" if done.vectors else ""
    print(f"forgot user {done.user}: deleted the node, {done.interactions} interactions, {done.memberships} "
          f"memberships{groups} and {len(done.vectors)} vectors{vectors}")
    if refitted is not None:
        print(f"recomputed {config.name!r} without user {done.user} as v{refitted['version']} (active); pruned "
              f"{', '.join(f'v{v}' for v in refitted['pruned']) or 'nothing'}")
    elif done.models:
        print(f"model versions that still carry what was learned from user {done.user} (every version created "
              "before this forget):")
        for model in done.models:
            state = model["status"] + (", active" if model["active"] else "")
            print(f"  v{model['version']} ({state}): {', '.join(model['stored']) or 'no stored data'}")
        print("to stop using them: `graphrec forget user ID --refit CONFIG` recomputes a training-free model "
              "without the user (minutes); a trained one: `graphrec train --config CONFIG`, then `graphrec prune "
              "--keep 1` removes the older versions")
    else:
        print(f"no stored model version learned from user {done.user}")
    print(f"not touched, outside the database: training run folders (runs/...: checkpoint.pt holds every user's "
          f"vector) and exported snapshots (`graphrec export --out`) that include user {done.user}: delete them")
    return 0


def _refit(runner: Any, config: Any, args: argparse.Namespace, done: Any) -> dict[str, Any]:
    """Fit `config`'s training-free model on the graph without the forgotten user, write it back (active),
    then remove every version created before the forget."""
    from graphrec.conductor import conduct
    from graphrec.writeback.versions import remove_version

    report, _ = conduct(runner, [config], Path("runs") / f"{args.refit.stem}-forget", write_back=True,
                        progress=not args.json)
    version = next(row["version"] for row in report.rows if row["method"] == config.name)  # ours, not the newest
    pruned = [m["version"] for m in done.models if remove_version(runner, m["version"])]
    return {"version": version, "pruned": pruned}


def _backup(args: argparse.Namespace) -> int:
    from graphrec.backup import backup

    server = _local_server_only("backup")
    path = backup(server, args.path, database=args.database, force=args.force)
    print(f"database '{args.database}' of {server.home} backed up into {path} ({path.stat().st_size:,} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from graphrec.backup import restore

    server = _local_server_only("restore")
    restore(server, args.path, database=args.database, force=args.force)
    print(f"database '{args.database}' of {server.home} restored from {args.path}")
    print(server.status().describe())
    return 0


def _local_server_only(what: str) -> LocalServer:
    """The local server of `graphrec neo4j start`; an error when NEO4J_URI names another server."""
    server = LocalServer.from_environment()
    uri = os.environ.get("NEO4J_URI")
    if uri and uri.rstrip("/") not in (server.bolt_uri, server.bolt_uri.replace("127.0.0.1", "localhost")):
        raise ConfigError(f"{what} works on the local server graphrec manages ({server.bolt_uri}, home "
                          f"{server.home}), not on NEO4J_URI={uri}; unset it (or set GRAPHREC_NEO4J_HOME)")
    return server


def _prune(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import list_models, prune

    with _runner(args) as runner:
        removed = prune(runner, keep=args.keep)
        left = list_models(runner)
    print(f"removed: {', '.join(f'v{v}' for v in removed) or 'nothing'}; left: "
          + (", ".join(f"v{m['version']} ({m['status']}{', active' if m['active'] else ''})" for m in left)
             or "no model"))
    return 0


def _activate(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import activate

    with _runner(args) as runner:
        activate(runner, args.version)
    print(f"version {args.version} is now active")
    return 0


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
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise UsageError(f"{name}: {value} is beyond the 64-bit integers Neo4j stores")
    for inner in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()):
        _check_integers(inner, name)


def _cypher(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    text = args.query
    if Path(text).suffix == ".cypher" and Path(text).is_file():
        queries = cypher.split_statements(Path(text).read_text(encoding="utf-8"))
    elif text.endswith(".cypher") or (text.isidentifier() and (cypher.CYPHER_DIR / f"{text}.cypher").is_file()):
        queries = cypher.statements(text)
    else:
        queries = (text,)
    with _runner(args) as runner:
        rows: list[dict[str, Any]] = []
        for query in queries:
            rows = runner.run(query, params)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(format_table(rows))
    return 0


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


def _weight(text: str) -> float:
    """An argparse type: a number from 0 to 1 (an MMR weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a weight from 0 to 1, not {text}")
    return value


def _recommend_user(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).recommend_user(args.id, args.k, filter=parse_params(args.filter),
                                                    exclude=args.exclude, diversity=args.diversity,
                                                    diversity_by=args.diversity_by)
    _print_ranking(ranking, args.json)
    return 0


def _recommend_group(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).recommend_group(
            args.id, args.k, strategy=args.strategy, exclude_member_items=args.exclude_member_items,
            filter=parse_params(args.filter), exclude=args.exclude, diversity=args.diversity,
            diversity_by=args.diversity_by)
    _print_ranking(ranking, args.json)
    return 0


def _similar(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).similar_items(args.id, args.k, by=args.by,
                                                              filter=parse_params(args.filter))
    _print_ranking(ranking, args.json)
    return 0


def _recommender(runner: QueryRunner, args: argparse.Namespace) -> Recommender:
    return Recommender(runner, exact_max_items=EXACT) if args.exact else Recommender(runner)


def _print_ranking(ranking: Ranking, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(ranking), indent=2))
        return
    print(format_ranking(ranking))


def format_ranking(ranking: Ranking) -> str:
    """A ranking as a title line and a table (member scores as user:score for groups)."""
    what = {"user": "for user", "group": "for group", "item": "similar to item"}[ranking.kind]
    how = f"strategy {ranking.strategy}, " if ranking.strategy else ""
    title = (f"top {len(ranking.items)} {what} {ranking.id} ({how}basis {ranking.basis}, model v{ranking.version}"
             + (f" {ranking.model_kind})" if ranking.model_kind else ")"))
    rows = []
    for item in ranking.items:
        row = {"rank": item["rank"], "item": item["id"], "score": round(item["score"], 4)}
        if "members" in item:
            row["members (user:score)"] = " ".join(f"{m['user']}:{m['score']:.3f}" for m in item["members"])
        row |= {key: value for key, value in item["properties"].items()}
        rows.append(row)
    return title + "\n" + format_table(rows)


def _explain(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        why = Recommender(runner).explain(args.item, n=args.n, **{args.kind: args.id})
    if args.json:
        print(json.dumps(why, indent=2))
        return 0
    print(f"item {why['item']} for {args.kind} {args.id} (model v{why['version']})"
          + (" - already interacted with" if why["interacted"] else ""))
    if args.kind == "user":
        print(f"score: {_number(why['score'])}")
    else:
        print(f"group's own score: {_number(why['group_score'])}")
        print("members, most in favour first: "
              + ", ".join(f"{m['user']} ({_number(m['score'])})" for m in why["members"]))
    subject = "their" if args.kind == "user" else f"member {why['members'][0]['user']}'s"
    for reason in why["because"]:
        print(f"  like {subject} item {reason['item']} ({reason['basis']} {reason['value']:.3f}; "
              f"{reason['co_users']} other users have both)")
    if why["steps"]:
        print("path: " + " - ".join(f"{step['label']} {step['id']}" for step in why["steps"]))
    return 0


def _number(value: float | None) -> str:
    return "n/a (no vector)" if value is None else f"{value:.4f}"


def _demo(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.load import graph_summary, load_csv
    from graphrec.runconfig import read_config
    from graphrec.synthetic import taste_clusters

    if not (args.uri or os.environ.get("NEO4J_URI")):
        print(LocalServer.from_environment().start().describe())
    tables = taste_clusters()
    config = read_config(DEMO_CONFIG)
    with _runner(args) as runner:
        _print_load(load_csv(runner, **tables.as_dict()), graph_summary(runner))
        report, fitted = conduct(runner, [config], args.run_dir, write_back=True, progress=False)
        row = report.row(config.name)
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
        print(f"trained LightGCN ({DEMO_CONFIG.name}, best epoch {fitted[config.name].record['best_epoch']}): "
              f"test {metrics}")
        print(f"model written back as version {row['version']} (graphrec models); run files in {args.run_dir}")
        recommender = Recommender(runner)
        user = int(tables.users["id"].iloc[0])
        group = int(tables.groups["id"].iloc[0])
        print()
        print(format_ranking(recommender.recommend_user(user, 5)))
        for strategy in ("combined", "least_misery"):
            print()
            print(format_ranking(recommender.recommend_group(group, 5, strategy=strategy)))
    print(f"\nTry: graphrec recommend user {user} --json")
    print(f"     graphrec recommend group {group} --strategy borda")
    print(f"     graphrec explain group {group} ITEM")
    print(f"Explore it in Browser, e.g.: MATCH p=(:Group {{id: {group}}})<-[:MEMBER_OF]-(:User)-[:INTERACTED]->() RETURN p")
    return 0


if __name__ == "__main__":
    sys.exit(main())
