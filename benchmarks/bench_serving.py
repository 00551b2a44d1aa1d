"""Benchmark: what Cypher serves on Gowalla, beside the offline figures of the same model, and how fast.

    .venv/bin/python benchmarks/bench_serving.py [--config graphrec/configs/gowalla-filter.toml] [--users 3000]
        [--seed 7] [--queries 400] [--clients 8] [--groups 300] [--group-queries 20]

Starts a throw-away Neo4j, bulk-loads Gowalla (`../shared/data/gowalla`) into a new home, runs what `graphrec
train` runs for the configuration (export → fit → evaluate → write back), adds `--groups` groups of 2-10
random users (Gowalla has none), then, through `graphrec.recommend.Recommender` (one Cypher query per call,
Python and driver time included):

1. **served quality**: Recall@20 and NDCG@20 computed from the `recommend_user` answers for a seeded random
   sample of `--users` test users, beside the offline figures of the fitted model on the same users and on
   every test user (`graphrec.model.metrics.rank_metrics`, train items excluded);
2. **latency**: user top-20 and group top-20 (`GROUP_STRATEGIES`), p50 / p99, sequentially and with
   `--clients` concurrent clients;
3. **recall of the default path** (candidates from graphrec.topItems): its top-20 against the exact scan in
   Cypher, for users and every group strategy.

Prints the tables, writes summary.json and latency.png to runs/bench-serving/<config>/. Skips with a
message when the data is missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from graphrec.progress import progress_bar

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.export import Snapshot
from graphrec.load import load_csv, load_lightgcn
from graphrec.model.metrics import rank_metrics
from graphrec.recommend import EXACT, Recommender
from graphrec.runconfig import read_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"
K = 20
GROUP_STRATEGIES = ("combined", "least_misery", "most_pleasure", "borda")
"""The group strategies timed and checked (Gowalla's generated groups have no history: 'combined' is the
members' average, 'group' has nothing to rank)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", type=Path, default=ROOT / "graphrec" / "configs" / "gowalla-filter.toml")
    parser.add_argument("--users", type=int, default=3000, help="test users whose served top-20 is scored")
    parser.add_argument("--seed", type=int, default=7, help="seed of the user sample and of the groups")
    parser.add_argument("--queries", type=int, default=400, help="timed queries per latency measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--groups", type=int, default=300, help="random groups of 2-10 users to create")
    parser.add_argument("--group-queries", type=int, default=20,
                        help="groups per strategy checked against the exact scan (seconds each)")
    parser.add_argument("--out", type=Path, help="default runs/bench-serving/<config name>")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    config = read_config(args.config)
    out = args.out or ROOT / "runs" / "bench-serving" / args.config.stem
    install_jars()
    rng = np.random.default_rng(args.seed)
    summary: dict[str, object] = {"config": str(args.config), "users": args.users, "seed": args.seed}
    with temporary_server("2g", "1g", start=False) as server:
        load_lightgcn(None, args.data, bulk=True, server=server)
        with QueryRunner(server.connection()) as runner:
            tick = time.perf_counter()
            report, fitted = conduct(runner, [config], out / "run", write_back=True)
            summary["stage_seconds"] = report.seconds
            summary["offline_all_users"] = {k: v for k, v in report.row(config.name).items() if k != "method"}
            snapshot = Snapshot.load(out / "run" / "snapshot")
            summary |= served_quality(runner, fitted[config.name], snapshot, args.users, rng)
            out.mkdir(parents=True, exist_ok=True)
            (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
            print_quality(summary, config.name)
            print(f"\nstages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())
                  + f"; total {time.perf_counter() - tick:.1f}")
            users = snapshot.user_ids
            groups = add_groups(runner, users, args.groups, rng)
            summary["latency_ms"], summary["index_recall@20"] = latency_and_recall(runner, users, groups, rng, args)
    print_summary(summary, config.name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"written: {out / 'summary.json'}, {out / 'latency.png'}")
    return 0


def served_quality(runner: QueryRunner, fitted, snapshot: Snapshot, count: int,
                   rng: np.random.Generator) -> dict[str, object]:
    """Recall/NDCG@20 of the `recommend_user` answers of `count` sampled test users, and offline on them."""
    train, test = snapshot.interactions["train"], snapshot.interactions["test"]
    test_users = torch.unique(test[0]).numpy()
    sample = np.sort(rng.choice(test_users, min(count, len(test_users)), replace=False))
    recommender = Recommender(runner)
    truth: dict[int, set[int]] = {}
    for user, item in zip(snapshot.user_ids[test[0].numpy()].tolist(), snapshot.item_ids[test[1].numpy()].tolist()):
        truth.setdefault(user, set()).add(item)
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    recalls, ndcgs = [], []
    started = time.perf_counter()
    for user in progress_bar(snapshot.user_ids[sample].tolist(), desc="served top-20", unit="user"):
        ids = recommender.recommend_user(user, K).ids
        hits = np.array([item in truth[user] for item in ids] + [False] * (K - len(ids)))
        recalls.append(hits.sum() / len(truth[user]))
        ndcgs.append((hits * discount).sum() / discount[: min(len(truth[user]), K)].sum())
    seconds = time.perf_counter() - started
    from_cypher = {f"recall@{K}": float(np.mean(recalls)), f"ndcg@{K}": float(np.mean(ndcgs))}
    sampled_test = test[:, torch.isin(test[0], torch.from_numpy(sample))]
    scorer = fitted.scorer("user")
    offline = rank_metrics(lambda users: scorer(users, None), len(snapshot.item_ids), train, sampled_test, (K,))
    return {"served_sample": from_cypher,
            "offline_sample": {k: offline[k] for k in (f"recall@{K}", f"ndcg@{K}")},
            "served_seconds": seconds, "sample_users": int(len(sample))}


def add_groups(runner: QueryRunner, users: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` groups (ids from 1,000,000) of 2 to 10 distinct random users, loaded as Group nodes."""
    ids = np.arange(1_000_000, 1_000_000 + count)
    members = [(int(u), int(g)) for g in ids for u in rng.choice(users, rng.integers(2, 11), replace=False)]
    load_csv(runner, groups=pd.DataFrame({"id": ids}),
             memberships=pd.DataFrame(members, columns=["user_id", "group_id"]))
    return ids


def latency_and_recall(runner: QueryRunner, users: np.ndarray, groups: np.ndarray, rng: np.random.Generator,
                       args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    approximate, exact = Recommender(runner), Recommender(runner, exact_max_items=EXACT)
    sample_users = [int(u) for u in rng.choice(users, args.queries)]
    sample_groups = [int(g) for g in rng.choice(groups, args.queries)]
    calls: dict[str, Callable[[int], object]] = {"user top-20": lambda u: approximate.recommend_user(u, K)}
    for strategy in GROUP_STRATEGIES:
        calls[f"group top-20 {strategy}"] = lambda g, strategy=strategy: approximate.recommend_group(g, K, strategy=strategy)
    latencies: dict[str, list[float]] = {}
    for name, call in calls.items():
        ids = sample_users if name.startswith("user") else sample_groups
        for warm in ids[:20]:
            call(warm)
        latencies[f"{name}, sequential"] = timed(call, ids, clients=1)
        latencies[f"{name}, {args.clients} clients"] = timed(call, ids, clients=args.clients)
    recall = {"user": mean_recall(sample_users[:args.group_queries * 5],
                                  lambda u: approximate.recommend_user(u, K).ids,
                                  lambda u: exact.recommend_user(u, K).ids)}
    for strategy in GROUP_STRATEGIES:
        recall[f"group {strategy}"] = mean_recall(
            sample_groups[:args.group_queries], lambda g: approximate.recommend_group(g, K, strategy=strategy).ids,
            lambda g: exact.recommend_group(g, K, strategy=strategy).ids)
    plot(latencies, args.out or ROOT / "runs" / "bench-serving" / args.config.stem / "latency.png")
    stats = {}
    for name, values in latencies.items():
        clients = int(name.rsplit(", ", 1)[1].split()[0]) if "clients" in name else 1
        stats[name] = {"p50": statistics.median(values), "p99": float(np.percentile(values, 99)),
                       "queries_per_s": 1000 * clients / statistics.mean(values)}
    return stats, recall


def timed(call: Callable[[int], object], ids: list[int], clients: int) -> list[float]:
    """Milliseconds per call of `call(id)` over `ids`, split among `clients` threads."""

    def one(subject: int) -> float:
        started = time.perf_counter()
        call(subject)
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, ids))


def mean_recall(ids: list[int], approximate: Callable[[int], list[int]], exact: Callable[[int], list[int]]) -> float:
    """Mean over `ids` of |approximate top-k ∩ exact top-k| / |exact top-k|."""
    shares = []
    for subject in ids:
        truth = set(exact(subject))
        if truth:
            shares.append(len(truth & set(approximate(subject))) / len(truth))
    return float(np.mean(shares))


def print_quality(summary: dict[str, object], name: str) -> None:
    served, offline, everyone = summary["served_sample"], summary["offline_sample"], summary["offline_all_users"]
    print(f"\n{name}: Recall@{K} / NDCG@{K}")
    print(f"  served from Cypher, {summary['sample_users']} sampled test users: "
          f"{served[f'recall@{K}']:.4f} / {served[f'ndcg@{K}']:.4f}")
    print(f"  offline, the same users:                 {offline[f'recall@{K}']:.4f} / {offline[f'ndcg@{K}']:.4f}")
    print(f"  offline, every test user:                {everyone[f'user recall@{K}']:.4f} / "
          f"{everyone[f'user ndcg@{K}']:.4f}")
    print(f"  ({summary['served_seconds'] / summary['sample_users'] * 1000:.1f} ms per served query, sequential)")


def print_summary(summary: dict[str, object], name: str) -> None:
    print(f"\n{'query':<44} {'p50 ms':>8} {'p99 ms':>8} {'queries/s':>10}")
    for query, stats in summary["latency_ms"].items():
        print(f"{query:<44} {stats['p50']:>8.1f} {stats['p99']:>8.1f} {stats['queries_per_s']:>10.0f}")
    print("\ntop-20 of the default path against the exact scan: "
          + ", ".join(f"{k} {v:.4f}" for k, v in summary["index_recall@20"].items()))


def plot(latencies: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in latencies.items():
        ordered = np.sort(values)
        ax.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("latency per query (ms, log scale)")
    ax.set_ylabel("share of queries")
    ax.set_title("graphrec serving on Gowalla (top-20)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
