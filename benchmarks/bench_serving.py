"""Benchmark: serving latency and the recall of the vector-index path on Gowalla.

    .venv/bin/python benchmarks/bench_serving.py [--data ../shared/data/gowalla] [--run-dir runs/bench-gowalla]
        [--epochs 3] [--queries 400] [--clients 8] [--groups 300] [--recall-queries 300]

Starts a throw-away Neo4j, loads Gowalla and writes back LightGCN embeddings: those of the trained run in
`--run-dir` (its snapshot/ and best.pt, made by training/bench_gowalla.py) when present, otherwise a short
training of `--epochs` epochs with training/gowalla-cpu.toml. Adds `--groups` groups of 2-10 random users
(Gowalla has none). Then, through `graphrec.recommend.Recommender` (one Cypher query per call, Python and
driver time included):

- latency of user top-20 and group top-20 (strategies combined — the members' average here, as Gowalla
  groups have no vectors — and least_misery), p50 / p99, sequentially and with `--clients` concurrent clients;
- recall@20 of the index path against the exact scan, for users and groups.

Prints a table, writes summary.json and latency.png (latency distributions) to runs/bench-serving/.
Skips with a message when the data is missing.
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

from graphrec.db import QueryRunner
from graphrec.export import Snapshot
from graphrec.load import load_csv, load_lightgcn
from graphrec.model import LightGCN, normalized_adjacency
from graphrec.pipeline import run_training
from graphrec.recommend import EXACT, Recommender
from graphrec.server.local import install_jars, temporary_server
from graphrec.training import TrainConfig
from graphrec.model.base import Stored
from graphrec.writeback import write_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"
K = 20
FLOORS_MS = {"user": 30.0, "group": 60.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-gowalla",
                        help="a trained Gowalla run to take the embeddings from (snapshot/ and best.pt)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to train when --run-dir has no model")
    parser.add_argument("--queries", type=int, default=400, help="timed queries per measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--groups", type=int, default=300, help="random groups of 2-10 users to create")
    parser.add_argument("--recall-queries", type=int, default=300, help="users checked (and a tenth as many groups per strategy: their exact scan takes seconds)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-serving")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with temporary_server("2g", "1g") as server, QueryRunner(server.connection()) as runner:
        load_lightgcn(runner, args.data)
        users = write_back(runner, args)
        groups = add_groups(runner, users, args.groups, rng)
        approximate, exact = Recommender(runner), Recommender(runner, exact_max_items=EXACT)
        print(f"\ncatalogue: {runner.run('MATCH (i:Item) RETURN count(i) AS n')[0]['n']:,} items; "
              f"index path above {approximate.exact_max_items:,} items, oversample {approximate.oversample} "
              f"(groups {approximate.group_oversample})")

        sample_users = [int(u) for u in rng.choice(users, args.queries)]
        sample_groups = [int(g) for g in rng.choice(groups, args.queries)]
        calls: dict[str, Callable[[int], object]] = {
            "user top-20": lambda u: approximate.recommend_user(u, K),
            "group top-20 combined": lambda g: approximate.recommend_group(g, K),
            "group top-20 least_misery": lambda g: approximate.recommend_group(g, K, strategy="least_misery"),
        }
        latencies: dict[str, list[float]] = {}
        for name, call in calls.items():
            ids = sample_users if name.startswith("user") else sample_groups
            for warm in ids[:20]:
                call(warm)
            latencies[f"{name}, sequential"] = timed(call, ids, clients=1)
            latencies[f"{name}, {args.clients} clients"] = timed(call, ids, clients=args.clients)

        recall = {
            "user": mean_recall([int(u) for u in rng.choice(users, args.recall_queries)],
                                lambda u: approximate.recommend_user(u, K).ids,
                                lambda u: exact.recommend_user(u, K).ids),
        }
        for strategy in ("combined", "least_misery", "most_pleasure"):
            recall[f"group {strategy}"] = mean_recall(
                [int(g) for g in rng.choice(groups, args.recall_queries // 10)],
                lambda g: approximate.recommend_group(g, K, strategy=strategy).ids,
                lambda g: exact.recommend_group(g, K, strategy=strategy).ids)

    report(latencies, recall, args)
    return 0


def write_back(runner: QueryRunner, args: argparse.Namespace) -> np.ndarray:
    """Write the run's embeddings back (training briefly when there is no run); return the user ids."""
    snapshot_dir, best = args.run_dir / "snapshot", args.run_dir / "best.pt"
    if not (snapshot_dir.is_dir() and best.is_file()):
        config = TrainConfig.from_toml(ROOT / "training" / "gowalla-cpu.toml", epochs=args.epochs, max_minutes=0)
        print(f"no trained run in {args.run_dir}: training {args.epochs} epochs")
        run_training(runner, config, args.out / "train")
        return Snapshot.load(args.out / "train" / "snapshot").user_ids
    snapshot = Snapshot.load(snapshot_dir)
    record = json.loads((args.run_dir / "metrics.json").read_text())
    config = record["config"]
    model = LightGCN(len(snapshot.user_ids), len(snapshot.item_ids), config["embedding_dim"], config["num_layers"])
    model.load_state_dict(torch.load(best, map_location="cpu"))
    train = snapshot.interactions["train"]
    with torch.no_grad():
        user_vectors, item_vectors = model.user_item_embeddings(
            normalized_adjacency(model.num_users, model.num_items, train[0], train[1]))
    print(f"embeddings of {args.run_dir} (best epoch {record['best_epoch']})")
    write_model(runner, Stored({"user": (snapshot.user_ids, user_vectors.numpy()),
                              "item": (snapshot.item_ids, item_vectors.numpy())}, fold_in="propagate"), {"params": config})
    return snapshot.user_ids


def add_groups(runner: QueryRunner, users: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` groups (ids from 1,000,000) of 2 to 10 distinct random users, loaded as Group nodes."""
    ids = np.arange(1_000_000, 1_000_000 + count)
    members = [(int(u), int(g)) for g in ids for u in rng.choice(users, rng.integers(2, 11), replace=False)]
    load_csv(runner, groups=pd.DataFrame({"id": ids}),
             memberships=pd.DataFrame(members, columns=["user_id", "group_id"]))
    return ids


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


def report(latencies: dict[str, list[float]], recall: dict[str, float], args: argparse.Namespace) -> None:
    print(f"\n{'query':<44} {'p50 ms':>8} {'p99 ms':>8} {'queries/s':>10}")
    summary: dict[str, object] = {"latency_ms": {}, "recall@20": recall, "queries": args.queries}
    for name, values in latencies.items():
        p50, p99 = statistics.median(values), float(np.percentile(values, 99))
        clients = int(name.rsplit(", ", 1)[1].split()[0]) if "clients" in name else 1
        throughput = 1000 * clients / statistics.mean(values)
        print(f"{name:<44} {p50:>8.1f} {p99:>8.1f} {throughput:>10.0f}")
        summary["latency_ms"][name] = {"p50": p50, "p99": p99, "queries_per_s": throughput}  # type: ignore[index]
    print(f"\nfloors (p50, sequential): user top-20 {FLOORS_MS['user']:.0f} ms, group top-20 {FLOORS_MS['group']:.0f} ms")
    print("recall@20 of the index path against the exact scan: "
          + ", ".join(f"{name} {value:.4f}" for name, value in recall.items()) + " (floor 0.95)")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot(latencies, args.out / "latency.png")
    print(f"written: {args.out / 'summary.json'}, {args.out / 'latency.png'}")


def plot(latencies: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
