"""Benchmark: full export of Gowalla (LightGCN split) from Neo4j into a `Snapshot`, in 1 or more parallel sessions.

    .venv/bin/python benchmarks/bench_export.py [--data ../shared/data/gowalla] [--batch-size 10000] [--repeat 3]
                                                [--sessions 1 2 4]

Starts a throw-away local server in a temporary folder on free ports, loads the data with
`graphrec.load.load_lightgcn` (about a minute), exports once to warm the page cache, then times
`graphrec.export.export_snapshot(sessions=N)` `--repeat` times for each N of `--sessions`, in rounds (N = 1, 2, 4,
then again), so that a change in the machine's load falls on every N alike. Each export runs in a fresh process
(spawned), so its peak RSS (VmHWM of /proc/self/status: the high-water mark of that process's own memory, where
`ru_maxrss` would carry the parent's over the exec) is that export's own: reported per N as the highest over its
runs, with the same mark just before the export (the imports, the connection) beside it. Every export's arrays are hashed (SHA-256 over every
id array and tensor, in a fixed order): all must hash alike, whatever N. Checks the counts against Gowalla's and
stops the server. Prints 'skipped' when the data folder is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np

from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.export import DEFAULT_BATCH_SIZE, Snapshot, export_snapshot
from graphrec.load import load_lightgcn

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"
GOWALLA = {"users": 29_858, "items": 40_981, "user_train": 810_128, "user_test": 217_242}


def digest(snapshot: Snapshot) -> str:
    """SHA-256 over every id array and tensor of `snapshot` (dtype, shape and bytes), in a fixed order."""
    arrays = []
    for name in (f.name for f in fields(Snapshot) if f.name != "filters"):
        value = getattr(snapshot, name)
        values = [value[key] for key in sorted(value)] if isinstance(value, dict) else [value]
        arrays += [v if isinstance(v, np.ndarray) else v.numpy() for v in values]
    hashed = hashlib.sha256()
    for array in arrays:
        hashed.update(f"{array.dtype}{array.shape}".encode())
        hashed.update(np.ascontiguousarray(array))
    return hashed.hexdigest()


def rss_peak_kib() -> int:
    """This process's peak resident set size so far (VmHWM, KiB)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))


def one_export(connection: Connection, batch_size: int, sessions: int) -> dict:
    """In a fresh process: one export; its seconds, the RSS peak before and after it (KiB), counts and digest."""
    with QueryRunner(connection) as runner:
        runner.verify()
        before = rss_peak_kib()
        started = time.perf_counter()
        snapshot = export_snapshot(runner, batch_size=batch_size, sessions=sessions)
        seconds = time.perf_counter() - started
        peak = rss_peak_kib()
    return {"seconds": seconds, "rss_before": before, "rss_peak": peak, "counts": snapshot.counts(),
            "digest": digest(snapshot)}


def in_fresh_process(connection: Connection, batch_size: int, sessions: int) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(one_export, connection, batch_size, sessions).result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1], metavar="N",
                        help="parallel read sessions to compare (default 1)")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    runs: dict[int, list[dict]] = {n: [] for n in args.sessions}
    with temporary_server(args.heap, args.pagecache) as server, QueryRunner(server.connection()) as runner:
        started = time.perf_counter()
        load_lightgcn(runner, args.data, progress=False)
        loaded = time.perf_counter() - started
        warm = in_fresh_process(server.connection(), args.batch_size, 1)
        for _ in range(args.repeat):
            for n in args.sessions:
                runs[n].append(in_fresh_process(server.connection(), args.batch_size, n))
    counts = warm["counts"]
    interactions = counts["user_train"] + counts["user_valid"] + counts["user_test"]
    print(f"\nGowalla from {args.data} (loaded in {loaded:.1f} s): {counts['users']:,} users, "
          f"{counts['items']:,} items, {interactions:,} interactions; warm-up export {warm['seconds']:.2f} s")
    print(f"full export (batch={args.batch_size}), {args.repeat} runs per N in rounds, each in a fresh process:\n")
    print("| sessions | runs (s) | best (s) | interactions/s (best) | peak RSS (MiB) | RSS before export (MiB) |")
    print("|---|---|---|---|---|---|")
    for n, done in runs.items():
        best = min(run["seconds"] for run in done)
        print(f"| {n} | " + ", ".join(f"{run['seconds']:.2f}" for run in done) + f" | {best:.2f} | "
              f"{interactions / best:,.0f} | {max(run['rss_peak'] for run in done) / 1024:.0f} | "
              f"{max(run['rss_before'] for run in done) / 1024:.0f} |")
    digests = {run["digest"] for done in runs.values() for run in done} | {warm["digest"]}
    print(f"\nsnapshots identical across every run and N: {'yes' if len(digests) == 1 else 'NO'} "
          f"(sha256 {min(digests)[:16]}...)")
    wrong = {key: (counts[key], want) for key, want in GOWALLA.items() if counts[key] != want}
    if wrong:
        print(f"WRONG COUNTS (got, expected): {wrong}")
        return 1
    print("counts match Gowalla: " + ", ".join(f"{key} {want:,}" for key, want in GOWALLA.items()))
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
