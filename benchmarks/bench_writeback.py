"""Benchmark: write random embeddings (and item-kNN-shaped item–item weights) for Gowalla-sized node sets back
to Neo4j: the write methods, and what the MIPS vector index that write-back no longer builds used to cost.

    .venv/bin/python benchmarks/bench_writeback.py [--users 29858] [--items 40981] [--dim 64]
        [--similar 0] [--batch-size 20000] [--relationship-batch 100000] [--workers 2|1,2] [--rounds 2]
        [--warmup 0] [--methods set,procedure,graphrec] [--mips-index off|on|both] [--heap 2g] [--pagecache 1g]

`--similar K` also writes K `SIMILAR` relationships per item (`neighbours`): targets drawn without replacement
with probability falling with popularity rank (rank + 20)^-0.9, as item-kNN's neighbours crowd on popular items,
random weights; `--dim 0` writes the relationships alone. Rates: vectors/s over the `vectors` stage,
relationships/s over the `neighbours` stage. `--heap sized --pagecache sized` lets graphrec size the server
(`graphrec.db.server.memory`, from the store at start: nodes only, so the smallest page cache).

    .venv/bin/python benchmarks/bench_writeback.py --similar 100 --dim 0 --methods procedure,graphrec --rounds 1

Starts a throw-away local server in a temporary folder on free ports, creates the User and Item nodes,
then runs `graphrec.writeback.write_model` `--rounds` times per variant, each a new version that is activated.
A variant is a write method ('set' or 'procedure', `--methods`) and whether the version also gets the old
euclidean vector index `item_embedding_vN_mips` on `~embedding_vN_mips` (`--mips-index on`; write-back built it
until no query was found to use it; here it is created and awaited exactly where write-back did, with the
cosine index, after the item vectors). The variants are interleaved on the one server, in reverse order every
other round (ABBA), so a warming JVM or a busy machine does not favour one of them; `--warmup` write-backs
(of the first variant) run before them and are left out of the summary.

    .venv/bin/python benchmarks/bench_writeback.py --methods procedure --mips-index both --rounds 4 --warmup 1

Prints, per write-back, the seconds per stage, the peak resident memory of this (client) process and of the
server during it (Linux: the peak is reset before each write-back through /proc/<pid>/clear_refs), and how
much the vector indexes on disk grew; then per variant the median and best total, and stops the server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.names import legacy_mips_index_name, mips_property_name
from graphrec.writeback import WRITE_METHODS, pipeline, write_model

STAGES = ("validate", "prepare", "vectors", "neighbours", "index", "ready", "activate")


def embeddings(users: int, items: int, dim: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random normal vectors (scaled like trained LightGCN ones) for user ids 0.. and item ids 0.."""
    rng = np.random.default_rng(seed)
    return {kind: (np.arange(n, dtype=np.int64), (rng.standard_normal((n, dim)) * 0.1).astype(np.float32))
            for kind, n in (("user", users), ("item", items))}


def neighbours(items: int, per_item: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About `per_item` distinct targets for each item 0..items-1 (never itself), drawn with probability falling
    with a random popularity rank as (rank + 20)^-0.9, and uniform random weights in [0, 1)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(items) + 20.0) ** 0.9
    rank = rng.permutation(items)
    draws = rank[rng.choice(items, size=(items, int(per_item * 1.6) + 1), p=popularity / popularity.sum())]
    sources = np.broadcast_to(np.arange(items)[:, None], draws.shape)
    drawn = np.sort(np.where(draws == sources, items, draws), axis=1)
    repeated = np.zeros_like(drawn, dtype=bool)
    repeated[:, 1:] = drawn[:, 1:] == drawn[:, :-1]
    targets = np.sort(np.where(repeated, items, drawn), axis=1)[:, :per_item]
    keep = targets < items
    return sources[:, :per_item][keep], targets[keep], rng.random(int(keep.sum()))


@contextmanager
def mips_index(enabled: bool) -> Iterator[None]:
    """While active (when `enabled`), write-back also builds the old MIPS index, as it did: euclidean, on the
    augmented item vectors (dimension + 1), created after the item vectors and awaited with the cosine index."""
    if not enabled:
        yield
        return
    original = pipeline._indexes

    def with_mips(version: int, dimensions: int) -> list[tuple[str, str, int, str]]:
        mips = (legacy_mips_index_name(version), mips_property_name(version), dimensions + 1, "euclidean")
        return [mips, *original(version, dimensions)]

    pipeline._indexes = with_mips
    try:
        yield
    finally:
        pipeline._indexes = original


def reset_peak(pid: int | str) -> None:
    """Reset the process's peak resident set (VmHWM) to its current one (Linux; ignored elsewhere)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib(pid: int | str) -> float:
    """The process's peak resident set since `reset_peak`, in MiB (NaN where /proc does not tell)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def index_bytes(home: Path) -> int:
    """Bytes of every index of the server's databases on disk (vector indexes among them)."""
    return sum(path.stat().st_size for path in (home / "data" / "databases").glob("*/schema/index/**/*")
               if path.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=29_858)
    parser.add_argument("--items", type=int, default=40_981)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--similar", type=int, default=0, help="SIMILAR relationships per item (default 0: none)")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--relationship-batch", type=int, default=100_000)
    parser.add_argument("--workers", default="2",
                        help="concurrent write sessions; a list (1,2) makes each a variant, interleaved (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="write-backs per variant (default 2)")
    parser.add_argument("--warmup", type=int, default=0,
                        help="write-backs of the first variant before the measured ones, left out of the summary")
    parser.add_argument("--methods", default="set,procedure,graphrec",
                        help=f"comma-separated write methods, of {sorted(WRITE_METHODS)} (default all)")
    parser.add_argument("--mips-index", choices=("off", "on", "both"), default="off",
                        help="also build the old MIPS vector index: off (what write-back does), on, or both, "
                             "interleaved (default off)")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    methods = [method.strip() for method in args.methods.split(",") if method.strip()]
    if not methods or set(methods) - set(WRITE_METHODS):
        parser.error(f"--methods takes {sorted(WRITE_METHODS)}, not {args.methods!r}")
    with_mips = {"off": [False], "on": [True], "both": [False, True]}[args.mips_index]
    workers = [int(sessions) for sessions in args.workers.split(",") if sessions.strip()]
    if not workers or min(workers) < 1:
        parser.error(f"--workers takes counts >= 1, not {args.workers!r}")
    variants = [(method, mips, sessions) for method in methods for mips in with_mips for sessions in workers]
    install_jars()
    results: list[dict[str, object]] = []
    heap, pagecache = (None if size == "sized" else size for size in (args.heap, args.pagecache))
    weights = neighbours(args.items, args.similar, seed=1) if args.similar else None
    with temporary_server(heap, pagecache) as server, QueryRunner(server.connection()) as runner:
        server_pid = server.status().pid
        print(f"server: heap {server.memory.heap}, page cache {server.memory.pagecache} ({server.memory.reason})")
        load_csv(runner, users=pd.DataFrame({"id": range(args.users)}), items=pd.DataFrame({"id": range(args.items)}))
        order = [(variants[0], True)] * args.warmup
        order += [(variant, False) for round_ in range(args.rounds)
                  for variant in (variants if round_ % 2 == 0 else variants[::-1])]
        for (method, mips, sessions), warmup in order:
            timings: dict[str, float] = {}
            data = embeddings(args.users, args.items, args.dim, seed=len(results)) if args.dim else {}
            disk = index_bytes(server.home)
            for pid in ("self", server_pid):
                reset_peak(pid)
            started = time.perf_counter()
            with mips_index(mips):
                version = write_model(runner, Stored(data, fold_in="propagate" if data else None, neighbours=weights),
                                      {"params": {"dim": args.dim}}, batch_size=args.batch_size,
                                      relationship_batch=args.relationship_batch, workers=sessions,
                                      progress=False, method=method, timings=timings)
            total = time.perf_counter() - started
            results.append({"version": version, "method": method, "mips": mips, "workers": sessions,
                            "total": total, "warmup": warmup, "timings": timings, "client": peak_mib("self"),
                            "server": peak_mib(server_pid),
                            "index_mib": (index_bytes(server.home) - disk) / 2**20})
            print(f"v{version} {method} mips index {'on' if mips else 'off'}, {sessions} workers"
                  f"{' (warm-up)' if warmup else ''}: {total:.2f} s", flush=True)
    count = (args.users + args.items) if args.dim else 0
    relationships = 0 if weights is None else len(weights[0])
    print(f"\n{count:,} embeddings ({args.users:,} users, {args.items:,} items), dim {args.dim}, "
          f"{relationships:,} relationships; batch {args.batch_size:,} vectors, {args.relationship_batch:,} "
          f"relationships; peak RSS in MiB, index growth on disk in MiB")
    print(f"{'version':>7} {'method':>9} {'mips':>4} {'workers':>7} " + " ".join(f"{s:>8}" for s in STAGES)
          + f" {'total':>7} {'client':>7} {'server':>7} {'index':>6}")
    for r in results:
        timings = r["timings"]
        print(f"{r['version']:>6}{'w' if r['warmup'] else ' '} {r['method']:>9} {'on' if r['mips'] else 'off':>4} "
              f"{r['workers']:>7} "
              + " ".join(f"{timings[s]:8.2f}" for s in STAGES)  # type: ignore[index]
              + f" {r['total']:7.2f} {r['client']:7.0f} {r['server']:7.0f} {r['index_mib']:6.1f}")
    for method, mips, sessions in variants:
        chosen = [r for r in results if (r["method"], r["mips"], r["workers"]) == (method, mips, sessions)
                  and not r["warmup"]]
        totals = [float(r["total"]) for r in chosen]  # type: ignore[arg-type]
        stage = {s: statistics.median(r["timings"][s] for r in chosen)  # type: ignore[index]
                 for s in ("vectors", "neighbours", "index")}
        print(f"{method:>9}, mips index {'on ' if mips else 'off'}, {sessions} workers: "
              f"median total {statistics.median(totals):5.2f} s, "
              f"best {min(totals):5.2f} s; median vectors {stage['vectors']:5.2f} s "
              f"({count / max(stage['vectors'], 1e-9):,.0f} vectors/s), neighbours {stage['neighbours']:5.2f} s "
              f"({relationships / max(stage['neighbours'], 1e-9):,.0f} relationships/s), index {stage['index']:5.2f} s; "
              f"peak server RSS {max(float(r['server']) for r in chosen):,.0f} MiB")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
