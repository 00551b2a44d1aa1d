"""`graphrec init`, `load`, `cypher`, `export` and `forget user`: the data in the graph (`graphrec.load`,
`graphrec.db.cypher`, `graphrec.export`, `graphrec.forget`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from graphrec.cli.common import ID, at_least, format_table, parse_params, runner, settings, typed


def add_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Add `init`, `load`, `cypher`, `export` and `forget` to `commands` (an argparse subparsers action)."""
    init = commands.add_parser("init", parents=[connection], help="apply cypher/schema.cypher (idempotent)")
    init.set_defaults(run=_init)

    load = commands.add_parser("load", help="load data (validated first; idempotent)")
    formats = load.add_subparsers(title="formats", metavar="FORMAT", required=True)
    writing = argparse.ArgumentParser(add_help=False)
    writing.add_argument("--batch-size", type=at_least(1, "the batch size"), default=20_000,
                         help="rows per transaction (default 20000; not with --bulk)")
    writing.add_argument("--workers", type=typed("parse_id", 1, 64, "workers"), default=2,
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

    query = commands.add_parser("cypher", parents=[connection],
                                help="run a Cypher query or a .cypher file (from cypher/ or a path)")
    query.add_argument("query", metavar="QUERY_OR_FILE")
    query.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter; VALUE is read as JSON when it parses, else as a string")
    query.add_argument("--json", action="store_true", help="print the rows as JSON")
    query.set_defaults(run=_cypher)

    export = commands.add_parser("export", parents=[connection],
                                 help="export a subgraph snapshot (PyTorch Geometric) to a folder")
    export.add_argument("--out", type=Path, required=True, help="folder to write the snapshot into")
    export.add_argument("--since", type=typed("parse_timestamp"),
                        help="only interactions with ts >= SINCE (Unix seconds or an ISO 8601 date-time with offset)")
    export.add_argument("--users", type=ID, nargs="+", metavar="ID", help="these users and their neighbourhood")
    export.add_argument("--groups", type=ID, nargs="+", metavar="ID", help="these groups and their neighbourhood")
    export.add_argument("--hops", type=typed("parse_id", 0, 10, "hops"), default=0,
                        help="neighbourhood size around --users/--groups (default 0)")
    export.add_argument("--min-interactions", type=at_least(0, "the minimum"), default=0,
                        help="only users with at least this many train interactions (default 0)")
    export.add_argument("--sessions", type=typed("parse_id", 1, 64, "sessions"), default=1,
                        help="parallel READ sessions, each reading a range of ids (default 1; same snapshot)")
    export.set_defaults(run=_export)

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


def _init(args: argparse.Namespace) -> int:
    from graphrec.db import cypher
    from graphrec.load import apply_schema

    with runner(args) as db:
        apply_schema(db)
    print(f"schema applied ({len(cypher.statements('schema'))} statements)")
    return 0


def _load(args: argparse.Namespace, load: Callable[..., dict[str, int]]) -> int:
    """Run `load(runner, **options)` where `graphrec.load.load_into` decides (the server the settings name, or
    with --bulk the local one) and print what it wrote and the graph's counts."""
    from graphrec.load import load_into

    options = {} if args.bulk else {"batch_size": args.batch_size, "workers": args.workers}
    written, summary, server = load_into(load, bulk=args.bulk, **settings(args), **options)
    if server is not None:
        print(server.status().describe())
    print_load(written, summary)
    return 0


def print_load(written: dict[str, int], summary: dict[str, int]) -> None:
    """What a load wrote and the graph's counts, two lines."""
    print("written: " + ", ".join(f"{k} {v:,}" for k, v in written.items() if v))
    print("graph:   " + ", ".join(f"{k} {v:,}" for k, v in summary.items() if v))


def _load_csv(args: argparse.Namespace) -> int:
    from graphrec.load import load_csv

    tables = {name: getattr(args, name) for name in
              ("users", "items", "groups", "memberships", "interactions", "group_interactions")}
    return _load(args, lambda db, **options: load_csv(db, **options, **{k: v for k, v in tables.items() if v}))


def _load_lightgcn(args: argparse.Namespace) -> int:
    from graphrec.load import load_lightgcn

    return _load(args, lambda db, **options: load_lightgcn(db, args.directory, **options))


def _load_groups(args: argparse.Namespace) -> int:
    from graphrec.load import load_group_benchmark

    return _load(args, lambda db, **options: load_group_benchmark(db, args.directory, **options))


def _cypher(args: argparse.Namespace) -> int:
    from graphrec.db import cypher

    params = parse_params(args.param)
    text = args.query
    if Path(text).suffix == ".cypher" and Path(text).is_file():
        queries = cypher.split_statements(Path(text).read_text(encoding="utf-8"))
    elif text.endswith(".cypher") or (text.isidentifier() and (cypher.CYPHER_DIR / f"{text}.cypher").is_file()):
        queries = cypher.statements(text)
    else:
        queries = (text,)
    with runner(args) as db:
        rows: list[dict[str, Any]] = []
        for query in queries:
            rows = db.run(query, params)
    print(json.dumps(rows, indent=2, default=str) if args.json else format_table(rows))
    return 0


def _export(args: argparse.Namespace) -> int:
    from graphrec.export import export_snapshot

    with runner(args) as db:
        snapshot = export_snapshot(db, since=args.since, users=args.users, groups=args.groups,
                                   hops=args.hops, min_interactions=args.min_interactions, sessions=args.sessions)
    snapshot.save(args.out)
    print(f"snapshot in {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in snapshot.counts().items()))
    return 0


def _forget_user(args: argparse.Namespace) -> int:
    from graphrec.forget import forget_user

    config = None
    if args.refit:  # checked before anything is forgotten
        from graphrec.conductor import refittable
        from graphrec.runconfig import read_config

        config = refittable(read_config(args.refit))
    with runner(args) as db:
        done = forget_user(db, args.id)
        refitted = None
        if config is not None:
            from graphrec.conductor import refit

            refitted = refit(db, config, Path("runs") / f"{args.refit.stem}-forget",
                             [model["version"] for model in done.models], progress=not args.json)
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
