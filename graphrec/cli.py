"""The `graphrec` command line. Every subcommand has `--help`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import neo4j

from graphrec import cypher_files
from graphrec.config import ConfigError, resolve_connection
from graphrec.db import QueryRunner
from graphrec.load import BulkLoadRefused, InputError
from graphrec.recommend import EXACT, STRATEGIES, Ranking, RecommendError, Recommender
from graphrec.server.local import LocalServer, ServerError


DEMO_CONFIG = (Path(__file__).parent / "configs" / "demo.toml").resolve()  # training/demo.toml, packaged
GROUPS_CONFIG = DEMO_CONFIG.with_name("groups.toml")


def main(argv: list[str] | None = None) -> int:
    # torch_geometric still calls torch.jit.script at import; the deprecation is theirs, not the user's.
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (ConfigError, ServerError, InputError, BulkLoadRefused, RecommendError, FileNotFoundError,
            ValueError) as error:
        print(f"graphrec: error: {error}", file=sys.stderr)
        return 1
    except neo4j.exceptions.Neo4jError as error:
        print(f"graphrec: Neo4j refused: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except neo4j.exceptions.DriverError as error:
        print(f"graphrec: cannot reach Neo4j: {error}\n(is it running? `graphrec neo4j status`, "
              "`graphrec neo4j start`)", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphrec", description=__doc__)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection (default: NEO4J_* variables, else the local server)")
    group.add_argument("--uri", help="Bolt URI, e.g. bolt://127.0.0.1:7687 (NEO4J_URI)")
    group.add_argument("--user", help="user name (NEO4J_USER, default neo4j)")
    group.add_argument("--password", help="password (NEO4J_PASSWORD)")
    group.add_argument("--database", help="database name (NEO4J_DATABASE, default neo4j)")

    neo4j_cmd = commands.add_parser("neo4j", help="run a local Neo4j 5.26 Community server with java")
    server_cmds = neo4j_cmd.add_subparsers(title="actions", metavar="ACTION", required=True)
    start = server_cmds.add_parser("start", help="fetch (once), configure and start the server; wait for Bolt")
    start.add_argument("--bolt-port", type=int, help="Bolt port (default: last start's, else 7687)")
    start.add_argument("--http-port", type=int, help="HTTP/Browser port (default: last start's, else 7474)")
    start.add_argument("--heap", default="1g", help="JVM heap (default 1g)")
    start.add_argument("--pagecache", default="512m", help="page cache (default 512m)")
    start.add_argument("--password", help="password set on the first start (default: generated)")
    start.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for Bolt (default 180)")
    start.set_defaults(run=_neo4j_start)
    server_cmds.add_parser("stop", help="shut the server down cleanly").set_defaults(run=_neo4j_stop)
    server_cmds.add_parser("status", help="whether it runs, and where").set_defaults(run=_neo4j_status)
    bundle = server_cmds.add_parser("browser-bundle", help="write graphrec's Browser (guide and style) as "
                                    "DIR/neo4j-browser.zip, for a Docker server's web folder (see README)")
    bundle.add_argument("dir", type=Path, metavar="DIR")
    bundle.set_defaults(run=_neo4j_browser_bundle)

    init = commands.add_parser("init", parents=[connection], help="apply cypher/schema.cypher (idempotent)")
    init.set_defaults(run=_init)

    load = commands.add_parser("load", help="load data (validated first; idempotent)")
    formats = load.add_subparsers(title="formats", metavar="FORMAT", required=True)
    writing = argparse.ArgumentParser(add_help=False)
    writing.add_argument("--batch-size", type=int, default=20_000,
                         help="rows per transaction (default 20000; not with --bulk)")
    writing.add_argument("--workers", type=int, default=2, help="concurrent writers (default 2; not with --bulk)")
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

    cypher = commands.add_parser("cypher", parents=[connection],
                                 help="run a Cypher query or a .cypher file (from cypher/ or a path)")
    cypher.add_argument("query", metavar="QUERY_OR_FILE")
    cypher.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter; VALUE is read as JSON when it parses, else as a string")
    cypher.add_argument("--json", action="store_true", help="print the rows as JSON")
    cypher.set_defaults(run=_cypher)

    export = commands.add_parser("export", parents=[connection],
                                 help="export a subgraph snapshot (PyTorch Geometric) to a folder")
    export.add_argument("--out", type=Path, required=True, help="folder to write the snapshot into")
    export.add_argument("--since", type=int, help="only interactions with ts >= SINCE (Unix seconds)")
    export.add_argument("--users", type=int, nargs="+", metavar="ID", help="these users and their neighbourhood")
    export.add_argument("--groups", type=int, nargs="+", metavar="ID", help="these groups and their neighbourhood")
    export.add_argument("--hops", type=int, default=0, help="neighbourhood size around --users/--groups (default 0)")
    export.add_argument("--min-interactions", type=int, default=0,
                        help="only users with at least this many train interactions (default 0)")
    export.set_defaults(run=_export)

    train = commands.add_parser("train", parents=[connection],
                                help="export, train LightGCN, evaluate and write the embeddings back")
    train.add_argument("--config", type=Path, required=True, help="a run configuration, e.g. training/demo.toml")
    train.add_argument("--epochs", type=int, help="override the configuration's epochs")
    train.add_argument("--run-dir", type=Path, help="where the run's files go (default runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run's last checkpoint")
    train.add_argument("--no-write-back", action="store_true", help="train and evaluate only")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", parents=[connection],
                                   help="export, train the group model and the baselines, evaluate them side by side")
    evaluate.add_argument("--config", type=Path, default=GROUPS_CONFIG,
                          help="[train] and [evaluate] settings (default training/groups.toml)")
    evaluate.add_argument("--protocol", choices=("sampled", "full"), help="override [evaluate] protocol")
    evaluate.add_argument("--task", choices=("group", "user", "both"), help="override [evaluate] task")
    evaluate.add_argument("--out", type=Path, default=Path("runs") / "evaluate",
                          help="report folder (default runs/evaluate)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(run=_evaluate)

    models = commands.add_parser("models", parents=[connection], help="the trained models; which is active")
    models.add_argument("--json", action="store_true", help="print the rows as JSON")
    models.set_defaults(run=_models)
    activate = commands.add_parser("activate", parents=[connection], help="serve the embeddings of VERSION")
    activate.add_argument("version", type=int)
    activate.set_defaults(run=_activate)

    serving = argparse.ArgumentParser(add_help=False, parents=[connection])
    serving.add_argument("-k", type=int, default=10, help="how many items (default 10)")
    serving.add_argument("--filter", action="append", default=[], metavar="PROPERTY=VALUE",
                         help="only items whose PROPERTY equals VALUE (JSON when it parses, else a string)")
    serving.add_argument("--json", action="store_true", help="print JSON")
    serving.add_argument("--exact", action="store_true",
                         help="scan every item instead of taking candidates from the vector index (slower)")
    excluding = argparse.ArgumentParser(add_help=False)
    excluding.add_argument("--exclude", type=int, nargs="+", default=[], metavar="ITEM", help="never these items")
    recommend = commands.add_parser("recommend", help="top-k items for a user or a group (active model)")
    subjects = recommend.add_subparsers(title="for", metavar="user|group", required=True)
    for_user = subjects.add_parser("user", parents=[serving, excluding],
                                   help="by the user's vector; new users folded in, users without history: popular")
    for_user.add_argument("id", type=int, metavar="USER")
    for_user.set_defaults(run=_recommend_user)
    for_group = subjects.add_parser("group", parents=[serving, excluding], help="by a group strategy")
    for_group.add_argument("id", type=int, metavar="GROUP")
    for_group.add_argument("--strategy", choices=STRATEGIES, default="combined",
                           help="how members' scores make the group's (default combined: the group's own "
                                "vector mixed with the members' average, or the average without one)")
    for_group.add_argument("--exclude-member-items", action="store_true",
                           help="also leave out items any member already has")
    for_group.set_defaults(run=_recommend_group)
    similar = commands.add_parser("similar", parents=[serving], help="items most similar to ITEM (cosine)")
    similar.add_argument("id", type=int, metavar="ITEM")
    similar.set_defaults(run=_similar)
    explain = commands.add_parser("explain", help="why an item suits a user or a group")
    explained = explain.add_subparsers(title="for", metavar="user|group", required=True)
    for kind in ("user", "group"):
        why = explained.add_parser(kind, parents=[connection], help=f"why ITEM suits {kind.upper()}")
        why.add_argument("id", type=int, metavar=kind.upper())
        why.add_argument("item", type=int, metavar="ITEM")
        why.add_argument("-n", type=int, default=3, help="how many of their own items to show (default 3)")
        why.add_argument("--json", action="store_true", help="print JSON")
        why.set_defaults(run=_explain, kind=kind)

    demo = commands.add_parser("demo", parents=[connection],
                               help="start (or connect to) Neo4j, load a small generated dataset, train briefly, "
                                    "write the embeddings back and print recommendations")
    demo.add_argument("--run-dir", type=Path, default=Path("runs") / "demo", help="the training run's folder")
    demo.set_defaults(run=_demo)
    return parser


def _runner(args: argparse.Namespace) -> QueryRunner:
    return QueryRunner(resolve_connection(args.uri, args.user, args.password, args.database))


def _neo4j_start(args: argparse.Namespace) -> int:
    server = LocalServer.from_environment(bolt_port=args.bolt_port, http_port=args.http_port,
                                          heap=args.heap, pagecache=args.pagecache)
    already = server.status().running
    status = server.start(password=args.password, timeout=args.timeout)
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
    from graphrec.server import browser
    from graphrec.server.local import install_jars

    print(f"wrote {browser.export_bundle(install_jars(), args.dir)}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from graphrec.load import apply_schema

    with _runner(args) as runner:
        apply_schema(runner)
    print(f"schema applied ({len(cypher_files.statements('schema'))} statements)")
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
    from graphrec.pipeline import run_training
    from graphrec.training import TrainConfig

    config = TrainConfig.from_toml(args.config, epochs=args.epochs, write_back=False if args.no_write_back else None)
    run_dir = args.run_dir or Path("runs") / args.config.stem
    with _runner(args) as runner:
        summary = run_training(runner, config, run_dir, resume=args.resume, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    print(f"run files in {run_dir} (metrics.json, curves.png, checkpoint.pt)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from graphrec.evaluation import EvalConfig, evaluate_snapshot, format_report
    from graphrec.export import export_snapshot
    from graphrec.training import TrainConfig

    train_config = TrainConfig.from_toml(args.config)
    config = EvalConfig.from_toml(args.config, protocol=args.protocol, task=args.task)
    with _runner(args) as runner:
        snapshot = export_snapshot(runner, **train_config.export)
    report = evaluate_snapshot(snapshot, train_config, config, args.out, progress=not (args.quiet or args.json))
    print(json.dumps(report, indent=2) if args.json else f"{format_report(report)}\nreport in {args.out}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from graphrec.writeback import list_models

    with _runner(args) as runner:
        rows = list_models(runner)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        shown = ("version", "active", "status", "created", "property", "dim", "users", "items", "groups", "metrics")
        print(format_table([{key: row.get(key) for key in shown} for row in rows]))
    return 0


def _activate(args: argparse.Namespace) -> int:
    from graphrec.writeback import activate

    with _runner(args) as runner:
        activate(runner, args.version)
    print(f"version {args.version} is now active")
    return 0


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs → parameters; a value is JSON when it parses as JSON, else a string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param wants NAME=VALUE, got {pair!r}")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    return params


def _cypher(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    text = args.query
    if Path(text).suffix == ".cypher" and Path(text).is_file():
        queries = cypher_files.split_statements(Path(text).read_text(encoding="utf-8"))
    elif text.endswith(".cypher") or (text.isidentifier() and (cypher_files.CYPHER_DIR / f"{text}.cypher").is_file()):
        queries = cypher_files.statements(text)
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


def _recommend_user(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).recommend_user(args.id, args.k, filter=parse_params(args.filter),
                                                    exclude=args.exclude)
    _print_ranking(ranking, args.json)
    return 0


def _recommend_group(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).recommend_group(
            args.id, args.k, strategy=args.strategy, exclude_member_items=args.exclude_member_items,
            filter=parse_params(args.filter), exclude=args.exclude)
    _print_ranking(ranking, args.json)
    return 0


def _similar(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        ranking = _recommender(runner, args).similar_items(args.id, args.k, filter=parse_params(args.filter))
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
    title = f"top {len(ranking.items)} {what} {ranking.id} ({how}basis {ranking.basis}, model v{ranking.version})"
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
        print(f"  like {subject} item {reason['item']} (cosine {reason['similarity']:.3f}; "
              f"{reason['co_users']} other users have both)")
    if why["steps"]:
        print("path: " + " - ".join(f"{step['label']} {step['id']}" for step in why["steps"]))
    return 0


def _number(value: float | None) -> str:
    return "n/a (no vector)" if value is None else f"{value:.4f}"


def _demo(args: argparse.Namespace) -> int:
    from graphrec.load import graph_summary, load_csv
    from graphrec.pipeline import run_training
    from graphrec.synthetic import taste_clusters
    from graphrec.training import TrainConfig

    if not (args.uri or os.environ.get("NEO4J_URI")):
        print(LocalServer.from_environment().start().describe())
    tables = taste_clusters()
    config = TrainConfig.from_toml(DEMO_CONFIG)
    with _runner(args) as runner:
        _print_load(load_csv(runner, **tables.as_dict()), graph_summary(runner))
        summary = run_training(runner, config, args.run_dir, progress=False)
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in summary["test_metrics"].items())
        print(f"trained LightGCN ({DEMO_CONFIG.name}, best epoch {summary['best_epoch']}): test {metrics}")
        print(f"embeddings written back as version {summary['version']} (graphrec models); run files in {args.run_dir}")
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
