"""Benchmark: serving latency while a write-back runs, and proof that no client ever sees a mixed version.

    .venv/bin/python benchmarks/bench_concurrent_writeback.py [--data generated|gowalla] [--users 5000]
        [--items 8000] [--per-user 20] [--dim 64] [--clients 8] [--k 20] [--warmup-seconds 15] [--idle-seconds 15]
        [--exact]

Starts a throw-away local server and fills it: `--data generated` (default) makes `--users` users and
`--items` items with `--per-user` random interactions each (online load); `--data gowalla` bulk-loads
../shared/data/gowalla (skipped, exit 0, when it is missing). Version 1 gets random vectors (scaled like
trained LightGCN ones) for every user and item. Then `--clients` threads, each with its own connection, call
`Recommender.recommend_user(random user, k)` back to back:

0. warm-up: for `--warmup-seconds` (answers checked, latencies discarded: the server's JIT compiles the query);
1. idle: for `--idle-seconds`, nothing else running;
2. during: while version 2 (new random vectors) is written back with `write_model` and activated;
3. idle after: for `--idle-seconds` again, version 2 serving.

Every answer is checked: its version must be 1 or 2, and the score of every item it returns must equal the
inner product of that user's and that item's vectors in that version (float32 tolerance 1e-3; the two
versions' scores differ by ~0.1), so an answer mixing a user vector of one version with item vectors of the
other would be caught. Prints p50 / p99 latency of each phase, the p99 during the write-back over the p99 of
each idle phase, the answers per version, and exits with 1 if any answer was mixed. `--exact` scans every item
in Cypher instead of taking candidates from graphrec.topItems.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import LocalServer, temporary_server
from graphrec.load import load_csv, load_lightgcn
from graphrec.model.base import Stored
from graphrec.recommend import EXACT, Recommender
from graphrec.writeback import write_model

GOWALLA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"
TOLERANCE = 1e-3


@dataclass
class Answers:
    """What the clients saw in one phase: latencies (s), versions, and the answers that matched no version."""

    latencies: list[float] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def vectors(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal((n, dim)) * 0.1).astype(np.float32)


def fill(runner: QueryRunner | None, server: LocalServer, args: argparse.Namespace,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Load the data; returns the user and item ids."""
    if args.data == "gowalla":
        load_lightgcn(None, GOWALLA, bulk=True, server=server, progress=False)
    else:
        users = np.arange(1, args.users + 1)
        items = np.arange(1_000_001, 1_000_001 + args.items)
        interactions = pd.DataFrame({"user_id": np.repeat(users, args.per_user),
                                     "item_id": rng.choice(items, args.users * args.per_user)})
        assert runner is not None
        load_csv(runner, items=pd.DataFrame({"id": items}), interactions=interactions, progress=False)
    with QueryRunner(server.connection()) as reader:
        ids = {label: np.array([row["id"] for row in reader.run(f"MATCH (n:{label}) RETURN n.id AS id ORDER BY id")])
               for label in ("User", "Item")}
    return ids["User"], ids["Item"]


def client(connection: object, users: np.ndarray, truth: dict[int, dict[str, dict[int, np.ndarray]]], k: int,
           exact: bool, answers: Answers, stop: threading.Event, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with QueryRunner(connection) as runner:  # type: ignore[arg-type]
        recommender = Recommender(runner, exact_max_items=EXACT) if exact else Recommender(runner)
        while not stop.is_set():
            user = int(rng.choice(users))
            started = time.perf_counter()
            ranking = recommender.recommend_user(user, k)
            elapsed = time.perf_counter() - started
            problem = check(ranking.version, user, [(row["id"], row["score"]) for row in ranking.items], truth)
            with answers.lock:
                answers.latencies.append(elapsed)
                answers.versions.append(ranking.version)
                if problem:
                    answers.mixed.append(problem)


def check(version: int | None, user: int, scored: list[tuple[int, float]],
          truth: dict[int, dict[str, dict[int, np.ndarray]]]) -> str | None:
    """None when every score is the inner product of the user's and the item's vectors in `version`."""
    if version not in truth:
        return f"user {user}: version {version} was never written"
    vectors_of = truth[version]
    for item, score in scored:
        expected = float(vectors_of["user"][user].astype(np.float64) @ vectors_of["item"][item].astype(np.float64))
        if abs(score - expected) > TOLERANCE:
            return f"user {user}, item {item}: score {score:.5f} is not v{version}'s {expected:.5f}"
    return None


def run_phase(connection: object, users: np.ndarray, truth: dict[int, dict[str, dict[int, np.ndarray]]],
              args: argparse.Namespace, work: object) -> Answers:
    """Clients query while `work()` runs (or for --idle-seconds when it is None)."""
    answers, stop = Answers(), threading.Event()
    threads = [threading.Thread(target=client, args=(connection, users, truth, args.k, args.exact, answers, stop, n))
               for n in range(args.clients)]
    for thread in threads:
        thread.start()
    try:
        if work is None:
            time.sleep(args.idle_seconds)
        else:
            work()  # type: ignore[operator]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return answers


def percentile(latencies: list[float], q: float) -> float:
    return float(np.percentile(np.array(latencies) * 1000, q)) if latencies else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("generated", "gowalla"), default="generated")
    parser.add_argument("--users", type=int, default=5000, help="generated users (default 5000)")
    parser.add_argument("--items", type=int, default=8000, help="generated items (default 8000)")
    parser.add_argument("--per-user", type=int, default=20, help="generated interactions per user (default 20)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--warmup-seconds", type=float, default=15.0)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--exact", action="store_true", help="exact scans in Cypher instead of graphrec.topItems' candidates")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    if args.data == "gowalla" and not (GOWALLA / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {GOWALLA}")
        return 0
    install_jars()
    rng = np.random.default_rng(0)
    bulk = args.data == "gowalla"
    with temporary_server(args.heap, args.pagecache, start=not bulk) as server:
        runner = None if bulk else QueryRunner(server.connection())
        users, items = fill(runner, server, args, rng)
        runner = runner or QueryRunner(server.connection())
        drawn = {version: (vectors(len(users), args.dim, rng), vectors(len(items), args.dim, rng)) for version in (1, 2)}
        truth = {version: {"user": dict(zip(users.tolist(), u)), "item": dict(zip(items.tolist(), i))}
                 for version, (u, i) in drawn.items()}  # the checker knows version 2 while it is written
        timings: dict[int, float] = {}

        def write(version: int) -> None:
            started = time.perf_counter()
            stored = Stored({"user": (users, drawn[version][0]), "item": (items, drawn[version][1])},
                            fold_in="propagate")
            written = write_model(runner, stored, {"params": {"version": version}}, progress=False)
            timings[version] = time.perf_counter() - started
            assert written == version, (written, version)

        write(1)
        connection = server.connection()
        warm = run_phase(connection, users, truth,
                         argparse.Namespace(**{**vars(args), "idle_seconds": args.warmup_seconds}), None)
        idle = run_phase(connection, users, truth, args, None)
        during = run_phase(connection, users, truth, args, lambda: write(2))
        after = run_phase(connection, users, truth, args, None)
        runner.close()
    interactions = "Gowalla's 1,027,370" if bulk else f"{args.users * args.per_user:,} (random)"
    print(f"\ndata: {args.data}: {len(users):,} users, {len(items):,} items, {interactions} interactions; "
          f"dim {args.dim}; {args.clients} clients, top-{args.k}, {'exact scan' if args.exact else 'graphrec.topItems candidates'}")
    print(f"write-back of version 2: {timings[2]:.1f} s ({len(users) + len(items):,} vectors); "
          f"warm-up answers (checked, latencies discarded): {len(warm.latencies)}")
    print(f"{'phase':<8} {'answers':>8} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    phases = (("idle", idle, args.idle_seconds), ("during", during, timings[2]), ("after", after, args.idle_seconds))
    for name, phase, seconds in phases:
        print(f"{name:<8} {len(phase.latencies):>8,} {len(phase.latencies) / seconds:>7.1f} "
              f"{percentile(phase.latencies, 50):>8.1f} {percentile(phase.latencies, 99):>8.1f}")
    for name, phase in (("idle", idle), ("idle after", after)):
        ratio = percentile(during.latencies, 99) / percentile(phase.latencies, 99)
        print(f"p99 during / {name}: {ratio:.2f} ({'within' if ratio <= 2 else 'above'} the 2x issue 14 asks)")
    counts = {v: during.versions.count(v) for v in sorted(set(during.versions))}
    print("answers during the write-back per version: " + ", ".join(f"v{v} {n:,}" for v, n in counts.items()))
    mixed = warm.mixed + idle.mixed + during.mixed + after.mixed
    print(f"answers matching neither version's vectors (mixed): {len(mixed)}"
          + (f", e.g. {mixed[0]}" if mixed else ""))
    return 1 if mixed else 0


if __name__ == "__main__":
    sys.exit(main())
