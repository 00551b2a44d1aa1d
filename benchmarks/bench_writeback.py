"""Benchmark: write random embeddings for Gowalla-sized node sets back to Neo4j, both property-write methods.

    .venv/bin/python benchmarks/bench_writeback.py [--users 29858] [--items 40981] [--dim 64]
        [--batch-size 20000] [--workers 2] [--rounds 2]

Starts a throw-away local server in a temporary folder on free ports, creates the User and Item nodes,
then runs `graphrec.writeback.write_model` `--rounds` times per method, alternating
('set', 'procedure', 'set', ...), each a new version that is activated; prints the seconds per stage
of every write-back, the best total per method, and stops the server.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.writeback import WRITE_METHODS, write_model

STAGES = ("validate", "prepare", "vectors", "index", "ready", "activate")



def embeddings(users: int, items: int, dim: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random normal vectors (scaled like trained LightGCN ones) for user ids 0.. and item ids 0.."""
    rng = np.random.default_rng(seed)
    return {kind: (np.arange(n, dtype=np.int64), (rng.standard_normal((n, dim)) * 0.1).astype(np.float32))
            for kind, n in (("user", users), ("item", items))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=29_858)
    parser.add_argument("--items", type=int, default=40_981)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="write-backs per method (default 2)")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    install_jars()
    results: list[tuple[str, float, dict[str, float]]] = []
    with temporary_server(args.heap, args.pagecache) as server, QueryRunner(server.connection()) as runner:
        load_csv(runner, users=pd.DataFrame({"id": range(args.users)}), items=pd.DataFrame({"id": range(args.items)}))
        for round_ in range(args.rounds):
            for method in sorted(WRITE_METHODS, reverse=True):
                timings: dict[str, float] = {}
                data = embeddings(args.users, args.items, args.dim, seed=len(results))
                started = time.perf_counter()
                write_model(runner, Stored(data, fold_in="propagate"), {"params": {"dim": args.dim}}, batch_size=args.batch_size,
                                 workers=args.workers, progress=False, method=method, timings=timings)
                results.append((method, time.perf_counter() - started, timings))
    count = args.users + args.items
    print(f"\n{count:,} embeddings ({args.users:,} users, {args.items:,} items), dim {args.dim}, "
          f"batch {args.batch_size:,}, workers {args.workers}")
    print(f"{'version':>7} {'method':>9} " + " ".join(f"{s:>8}" for s in STAGES) + f" {'total':>7}")
    for version, (method, total, timings) in enumerate(results, start=1):
        print(f"{version:>7} {method:>9} " + " ".join(f"{timings[s]:8.2f}" for s in STAGES) + f" {total:7.2f}")
    for method in WRITE_METHODS:
        best = min((r for r in results if r[0] == method), key=lambda r: r[1])
        print(f"{method:>9}: best total {best[1]:5.2f} s ({count / best[1]:,.0f} embeddings/s), "
              f"vectors stage {best[2]['vectors']:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
