"""Benchmark: every stage at several sizes of one dataset, and the slope of its cost against the size.

    .venv/bin/python benchmarks/bench_scale.py --factors 1,3,10 --out DIR [--source ../shared/data/gowalla]
        [--configs gowalla-popularity,gowalla-mf,...] [--serve gowalla-itemknn] [--queries 200] [--clients 8]
        [--users 200] [--heap 4g] [--pagecache 4g]

For each factor F the source (a LightGCN folder, Gowalla by default) is expanded F times with the fractal
expansion (`graphrec.fractal`: users and items grow by about sqrt F, interactions by F; F = 1 is a shuffled copy
of the source) and every stage runs on a fresh server home:

- `import`: the offline bulk import of train.txt / test.txt (`graphrec load lightgcn --bulk`), then
  `groups`: the generated groups (groupMember.txt, 1 % of the users) loaded online;
- `export`: the whole graph to a snapshot;
- per run configuration (default: every `graphrec/configs/gowalla-*.toml`; LightGCN and MF for one epoch):
  `fit <name>`, `evaluate <name>` (the full protocol of the configuration) and `write_back <name>` (its
  vectors and `SIMILAR` weights, activated);
- serving, of the version of `--serve` (activated again; default: the last configuration): user top-20 and
  group top-20 of every strategy, p50 and p99, sequential and with `--clients` clients, on `--queries`
  sampled users or groups; and served Recall@20 against offline on `--users` sampled test users.

Peak memory is the resident set of this process during each stage (Linux VmHWM, reset before each stage
through /proc/self/clear_refs; conduct's stages are split by a 20 ms sampler). The server's own memory is its
settings (`--heap`, `--pagecache`; by default sized from the store at each start, `graphrec.db.server.memory`),
recorded with the store size and the reason.

Writes DIR/scale.json (a list of rows {"stage", "factor", "users", "items", "interactions", "seconds",
"peak_rss_bytes"}; a latency row's stage ends in "p50" or "p99" and its seconds is that percentile),
DIR/settings.json (server settings and store size per factor), DIR/scale.png (log-log seconds against
interactions, one line per stage with its fitted slope) and prints the table with each stage's slope (least
squares of log seconds on log interactions over the factors). Skips with a message when the source is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from neo4j.exceptions import Neo4jError
from bench_serving import GROUP_STRATEGIES, K, served_quality, timed

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.db.server.memory import store_bytes
from graphrec.export import export_snapshot
from graphrec.fractal import expand
from graphrec.load import load_group_benchmark, load_lightgcn
from graphrec.recommend import Recommender
from graphrec.runconfig import read_config
from graphrec.writeback import activate

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "graphrec" / "configs"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "gowalla"
TRAINED = ("lightgcn", "mf")
"""Kinds fitted for one epoch (their cost per epoch is what scales)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", default="1,3,10", help="comma-separated expansion factors")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--configs", help="comma-separated names in graphrec/configs (default: every gowalla-*)")
    parser.add_argument("--serve", help="the configuration served for the latency rows (default: the last)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per latency row")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", type=int, default=200, help="test users whose served top-20 is scored")
    parser.add_argument("--heap", help="the server's heap (default: sized from the store at each start)")
    parser.add_argument("--pagecache", help="the server's page cache (default: sized likewise)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.source / "train.txt").is_file():
        print(f"skipped: no LightGCN data at {args.source}")
        return 0
    names = args.configs.split(",") if args.configs else sorted(p.stem for p in CONFIGS.glob("gowalla-*.toml"))
    serve = args.serve or names[-1]
    if serve not in names:
        parser.error(f"--serve {serve} is not among the configurations {names}")
    install_jars()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    settings: dict[str, object] = {}

    def save() -> None:  # after every stage: a run stopped at 10x keeps what it measured
        (args.out / "scale.json").write_text(json.dumps(rows, indent=1))
        (args.out / "settings.json").write_text(json.dumps(settings, indent=1))

    for factor in [float(f) for f in args.factors.split(",")]:
        run_factor(factor, names, serve, args, rows, settings, save)
    print_table(rows)
    plot(rows, args.out / "scale.png")
    print(f"written: {args.out / 'scale.json'}, {args.out / 'settings.json'}, {args.out / 'scale.png'}")
    return 0


def run_factor(factor: float, names: list[str], serve: str, args: argparse.Namespace, rows: list[dict[str, object]],
               settings: dict[str, object], save: Callable[[], None]) -> None:
    """Every stage at one factor, on a fresh server home: appends the rows of scale.json, `save()` after each."""
    data = args.out / f"data-x{factor:g}"
    expansion = expand(args.source, data, factor, seed=args.seed)
    size = {"factor": factor, "users": expansion.users, "items": expansion.items,
            "interactions": sum(expansion.interactions.values())}
    print(f"\n== x{factor:g}: {size['users']:,} users, {size['items']:,} items, {size['interactions']:,} interactions")

    def row(stage: str, seconds: float, peak: int | None) -> None:
        rows.append({"stage": stage, **size, "seconds": seconds, "peak_rss_bytes": peak})
        save()
        print(f"  {stage:<44} {seconds:>10.3f} s  {'' if peak is None else f'{peak / 2**30:.2f} GiB'}")

    with temporary_server(args.heap, args.pagecache, start=False) as server:
        with measured() as took:
            load_lightgcn(None, data, bulk=True, server=server, progress=False)
        row("import", *took())
        with QueryRunner(server.connection()) as runner:
            with measured() as took:
                load_group_benchmark(runner, data, progress=False)
            row("groups", *took())
            with measured() as took:
                snapshot = export_snapshot(runner)
            row("export", *took())
            versions = {}
            for name in names:
                overrides = {"epochs": 1, "max_minutes": None} if read_config(CONFIGS / f"{name}.toml").train else None
                config = read_config(CONFIGS / f"{name}.toml", train=overrides)
                with sampled() as stages:
                    report, fitted = conduct(runner, [config], args.out / f"run-x{factor:g}" / name, write_back=True,
                                             snapshot=snapshot, progress=False)
                for stage, (seconds, peak) in stages(report.seconds).items():
                    row(stage, seconds, peak)
                versions[name] = report.row(config.name)["version"]
                if name != serve:
                    del fitted
                else:
                    served = fitted[config.name]
            activate(runner, versions[serve])
            quality = served_quality(runner, served, snapshot, args.users, np.random.default_rng(args.seed))
            print(f"  served Recall@{K} on {quality['sample_users']} users: {quality['served_sample']}, "
                  f"offline {quality['offline_sample']}")
            settings[f"x{factor:g}"] = {"heap": server.heap, "pagecache": server.pagecache,
                                        "memory": server.memory.reason, "served": serve,
                                        "store_bytes": store_bytes(server.home), "served_quality": quality}
            latencies(runner, snapshot, args, row, settings[f"x{factor:g}"])


@contextmanager
def measured() -> Iterator[Callable[[], tuple[float, int]]]:
    """Seconds and peak resident bytes of the `with` block (VmHWM reset at its start)."""
    reset_peak()
    started = time.perf_counter()
    result: list[tuple[float, int]] = []
    yield lambda: result[0]
    result.append((time.perf_counter() - started, peak_bytes()))


@contextmanager
def sampled(interval: float = 0.02) -> Iterator[Callable[[dict[str, float]], dict[str, tuple[float, int]]]]:
    """Samples the resident set during the block; the callable splits it into consecutive stages (conduct's
    `report.seconds`, in order) and gives each its (seconds, peak bytes)."""
    reset_peak()
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(interval):
            samples.append((time.perf_counter(), rss_bytes()))

    started = time.perf_counter()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()

    def split(seconds: dict[str, float]) -> dict[str, tuple[float, int]]:
        out, start = {}, started
        for stage, length in seconds.items():
            inside = [rss for at, rss in samples if start <= at <= start + length] or [rss_bytes()]
            out[stage] = (length, max(inside))
            start += length
        return out

    try:
        yield split
    finally:
        done.set()
        thread.join()


def latencies(runner: QueryRunner, snapshot, args: argparse.Namespace,  # noqa: ANN001
              row: Callable[[str, float, int | None], None], settings: dict[str, object]) -> None:
    """p50 and p99 (seconds) of user and group top-20 queries, sequential and with `args.clients` clients, each a
    `row`; a load that fails (after the driver's retries) is recorded in `settings["failed"]` instead."""
    rng = np.random.default_rng(args.seed)
    recommender = Recommender(runner)
    groups = [row["id"] for row in runner.run("MATCH (g:Group) RETURN g.id AS id ORDER BY id")]
    calls: dict[str, tuple[Callable[[int], object], list[int]]] = {
        "user top-20": (lambda u: recommender.recommend_user(u, K),
                        [int(u) for u in rng.choice(snapshot.user_ids, args.queries)])}
    for strategy in GROUP_STRATEGIES:
        calls[f"group top-20 {strategy}"] = (
            lambda g, strategy=strategy: recommender.recommend_group(g, K, strategy=strategy),
            [int(g) for g in rng.choice(groups, args.queries)] if groups else [])
    for name, (call, ids) in calls.items():
        if not ids:
            continue
        for clients, label in ((1, "sequential"), (args.clients, f"{args.clients} clients")):
            try:
                for warm in ids[:10] if clients == 1 else []:
                    call(warm)
                values = timed(call, ids, clients=clients)
            except Neo4jError as error:  # e.g. the transactions' memory pool: recorded, the other rows go on
                settings.setdefault("failed", {})[f"{name} {label}"] = f"{type(error).__name__}: {error}"[:400]
                print(f"  {name} {label}: failed ({type(error).__name__}: {str(error)[:200]})")
                continue
            row(f"{name} {label} p50", statistics.median(values) / 1000, None)
            row(f"{name} {label} p99", float(np.percentile(values, 99)) / 1000, None)


def reset_peak() -> None:
    """Reset this process's peak resident set (VmHWM) to its current size."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_bytes() -> int:
    return _status("VmHWM")


def rss_bytes() -> int:
    return _status("VmRSS")


def _status(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def slopes(rows: list[dict[str, object]], key: str = "seconds") -> dict[str, float]:
    """Per stage, the least-squares slope of log `key` (seconds, or peak_rss_bytes) on log interactions (stages
    measured at >= 2 sizes)."""
    found: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row[key] and row[key] > 0:
            found.setdefault(str(row["stage"]), []).append((math.log(row["interactions"]), math.log(row[key])))
    return {stage: float(np.polyfit(*zip(*points), 1)[0]) for stage, points in found.items()
            if len({x for x, _ in points}) >= 2}


def print_table(rows: list[dict[str, object]]) -> None:
    factors = sorted({row["factor"] for row in rows})
    slope = slopes(rows)
    stages = list(dict.fromkeys(str(row["stage"]) for row in rows))
    cell = {(row["stage"], row["factor"]): row for row in rows}
    print(f"\n{'stage':<44}" + "".join(f"{f'x{f:g} s':>12}{'GiB':>6}" for f in factors) + f"{'slope':>8}")
    for stage in stages:
        line = f"{stage:<44}"
        for factor in factors:
            found = cell.get((stage, factor))
            peak = found and found["peak_rss_bytes"]
            line += (f"{found['seconds']:>12.3f}" if found else f"{'-':>12}") + (f"{peak / 2**30:>6.2f}" if peak else f"{'':>6}")
        print(line + (f"{slope[stage]:>8.2f}" if stage in slope else f"{'-':>8}"))


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slope = slopes(rows)
    figure, axes = plt.subplots(1, 2, figsize=(13, 5))
    for stage in dict.fromkeys(str(row["stage"]) for row in rows):
        points = sorted((row["interactions"], row["seconds"]) for row in rows if row["stage"] == stage)
        axis = axes[1] if stage.endswith(("p50", "p99")) else axes[0]
        label = f"{stage} (slope {slope[stage]:.2f})" if stage in slope else stage
        axis.loglog(*zip(*points), marker="o", label=label)
    for axis, title in zip(axes, ("stages", "serving latency")):
        axis.set_xlabel("interactions")
        axis.set_ylabel("seconds")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
