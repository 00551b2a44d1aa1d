"""`graphrec train`, `evaluate`, `models`, `prune`, `activate` and `demo`: fitting models and the versions they
write back (`graphrec.conductor`, `graphrec.writeback.versions`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from graphrec.cli.common import at_least, format_table, known_items, named_server, runner
from graphrec.cli.data import print_load
from graphrec.cli.serving import format_ranking

DEMO_CONFIG = (Path(__file__).parent.parent / "configs" / "demo.toml").resolve()  # package data
GROUP_CONFIGS = [DEMO_CONFIG.with_name(name) for name in
                 ("groups-filter.toml", "groups.toml", "groups-users.toml", "groups-only.toml",
                  "groups-popularity.toml")]
"""`graphrec evaluate`'s default models: the group model (a graph filter), LightGCN with groups in the graph,
its baselines and popularity."""


def add_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Add `train`, `evaluate`, `models`, `prune`, `activate` and `demo` to `commands` (argparse subparsers)."""
    train = commands.add_parser("train", parents=[connection],
                                help="export, fit the configuration's model, evaluate it and write it back")
    train.add_argument("--config", type=Path, required=True,
                       help="a run configuration naming the model, e.g. graphrec/configs/gowalla-filter.toml")
    train.add_argument("--epochs", type=at_least(1, "epochs"), help="override [train] epochs (trained kinds)")
    train.add_argument("--run-dir", type=Path, help="where the run's files go (default runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run's last checkpoint")
    train.add_argument("--no-write-back", action="store_true", help="fit and evaluate only")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--nproc", type=at_least(1, "--nproc"), default=1,
                       help="data-parallel training in N processes on this machine (torchrun --standalone; "
                            "gloo on CPU, NCCL on CUDA; trained kinds only; default 1)")
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
    evaluate.add_argument("--known-items", type=known_items, metavar="{as_is,exclude,auto,NUMBER}",
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
    prune = commands.add_parser("prune", parents=[connection],
                                help="remove old model versions: keep the active one and the newest ready ones; "
                                     "abandoned write-backs (writer gone) go too, a live writer's never")
    prune.add_argument("--keep", type=at_least(1, "--keep"), default=2,
                       help="versions to keep, the active one included (default 2)")
    prune.set_defaults(run=_prune)
    activate = commands.add_parser("activate", parents=[connection], help="serve the embeddings of VERSION")
    activate.add_argument("version", type=at_least(1, "a version"))
    activate.set_defaults(run=_activate)

    demo = commands.add_parser("demo", parents=[connection],
                               help="start (or connect to) Neo4j, load a small generated dataset, train briefly, "
                                    "write the embeddings back and print recommendations")
    demo.add_argument("--run-dir", type=Path, default=Path("runs") / "demo", help="the training run's folder")
    demo.set_defaults(run=_demo)


def _train(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.errors import ConfigError
    from graphrec.evaluation.report import format_report
    from graphrec.model import distributed
    from graphrec.runconfig import read_config

    config = read_config(args.config, train={"epochs": args.epochs})
    if args.epochs is not None and config.train is None:
        raise ValueError(f"--epochs: kind {config.model.kind!r} is not trained")
    if args.nproc > 1 and config.train is None:
        raise ConfigError(f"--nproc: kind {config.model.kind!r} is not trained; data-parallel training is for "
                          "trained kinds (lightgcn, mf)")
    run_dir = args.run_dir or Path("runs") / args.config.stem
    if args.nproc > 1 and not distributed.launched():
        return _launch(args, run_dir)
    ranks = distributed.start(config.train.device if config.train is not None else "cpu")
    try:
        with runner(args) as db:
            report, _ = conduct(db, [config], run_dir, write_back=not args.no_write_back,
                                progress=not args.quiet, resume=args.resume)
    finally:
        distributed.stop()
    if ranks.is_main:
        print(format_report(report))
        print(f"run files in {run_dir} (evaluation.json/.csv/.png; {config.name}/: the fit's own files)")
    return 0


def _launch(args: argparse.Namespace, run_dir: Path) -> int:
    """`graphrec train` again in `args.nproc` processes under torch's elastic launcher (torchrun --standalone:
    one machine, a free rendezvous port); the connection settings travel in the NEO4J_* variables. Returns the
    launcher's exit status."""
    import os
    import subprocess
    import sys

    from graphrec.cli.common import settings

    env = dict(os.environ)
    for name, value in settings(args).items():
        if value is not None:
            env[f"NEO4J_{name.upper()}"] = value
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={args.nproc}",
               "-m", "graphrec", "train", "--config", str(args.config), "--run-dir", str(run_dir)]
    command += [flag for flag, on in (("--resume", args.resume), ("--no-write-back", args.no_write_back),
                                      ("--quiet", args.quiet)) if on]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    return subprocess.run(command, env=env, check=False).returncode


def _evaluate(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.evaluation.report import format_report
    from graphrec.runconfig import read_config

    overrides = {"protocol": args.protocol, "task": args.task, "variant": "leak_free" if args.leak_free else None,
                 "known_items": args.known_items}
    configs = [read_config(path, evaluate=overrides) for path in args.config]
    with runner(args) as db:
        report, _ = conduct(db, configs, args.out, progress=not (args.quiet or args.json))
    print(json.dumps(report.to_json(), indent=2) if args.json else f"{format_report(report)}\nreport in {args.out}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import describe_models

    with runner(args) as db:
        rows = describe_models(db)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    shown = ("version", "active", "status", "created", "kind", "chosen", "property", "dim", "users", "items", "groups",
             "metrics")
    print(format_table([{**{key: row.get(key) for key in shown},
                         "status": row["status"] + (" (abandoned: writer gone)" if row["abandoned"] else "")}
                        for row in rows]))
    abandoned = [row["version"] for row in rows if row["abandoned"]]
    if abandoned:
        print(f"abandoned write-backs: {', '.join(f'v{v}' for v in abandoned)}; `graphrec prune` removes them "
              "(the next write-back does too)")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import list_models, prune

    with runner(args) as db:
        removed = prune(db, keep=args.keep)
        left = list_models(db)
    print(f"removed: {', '.join(f'v{v}' for v in removed) or 'nothing'}; left: "
          + (", ".join(f"v{m['version']} ({m['status']}{', active' if m['active'] else ''})" for m in left)
             or "no model"))
    return 0


def _activate(args: argparse.Namespace) -> int:
    from graphrec.writeback.versions import activate

    with runner(args) as db:
        activate(db, args.version)
    print(f"version {args.version} is now active")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from graphrec.conductor import conduct
    from graphrec.db.server.lifecycle import LocalServer
    from graphrec.load import graph_summary, load_csv
    from graphrec.recommend import Recommender
    from graphrec.runconfig import read_config
    from graphrec.synthetic import taste_clusters

    if named_server(args) is None:
        print(LocalServer.from_environment().start().describe())
    tables = taste_clusters()
    config = read_config(DEMO_CONFIG)
    with runner(args) as db:
        print_load(load_csv(db, **tables.as_dict()), graph_summary(db))
        report, fitted = conduct(db, [config], args.run_dir, write_back=True, progress=False)
        row = report.row(config.name)
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
        print(f"trained LightGCN ({DEMO_CONFIG.name}, best epoch {fitted[config.name].record['best_epoch']}): "
              f"test {metrics}")
        print(f"model written back as version {row['version']} (graphrec models); run files in {args.run_dir}")
        recommender = Recommender(db)
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
