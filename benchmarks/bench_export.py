"""Benchmark: full export of Gowalla (LightGCN split) from Neo4j into a `Snapshot`.

    .venv/bin/python benchmarks/bench_export.py [--data ../shared/data/gowalla] [--batch-size 10000] [--repeat 3]

Starts a throw-away local server in a temporary folder on free ports, loads the data with
`graphrec.load.load_lightgcn` (about a minute), times `graphrec.export.export_snapshot` `--repeat` times
(seconds, interactions/s, Python heap peak by tracemalloc on the last run, process RSS peak), checks the
counts against Gowalla's and stops the server. Prints 'skipped' when the data folder is missing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.export import DEFAULT_BATCH_SIZE, export_snapshot
from graphrec.load import load_lightgcn

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"
GOWALLA = {"users": 29_858, "items": 40_981, "user_train": 810_128, "user_test": 217_242}



def timed_exports(runner: QueryRunner, batch_size: int, repeat: int) -> tuple[list[float], int, dict[str, int]]:
    """Seconds of each export, the traced Python heap peak of the last one (bytes), and its counts."""
    seconds = []
    for run in range(repeat):
        if run == repeat - 1:
            tracemalloc.start()
        started = time.perf_counter()
        snapshot = export_snapshot(runner, batch_size=batch_size)
        seconds.append(time.perf_counter() - started)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, snapshot.counts()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    with temporary_server(args.heap, args.pagecache) as server, QueryRunner(server.connection()) as runner:
        started = time.perf_counter()
        load_lightgcn(runner, args.data, progress=False)
        loaded = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds, heap_peak, counts = timed_exports(runner, args.batch_size, args.repeat)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    interactions = counts["user_train"] + counts["user_valid"] + counts["user_test"]
    best = min(seconds)
    print(f"\nGowalla from {args.data} (loaded in {loaded:.1f} s): {counts['users']:,} users, "
          f"{counts['items']:,} items, {interactions:,} interactions")
    print(f"full export (batch={args.batch_size}), {args.repeat} runs: "
          + ", ".join(f"{s:.2f}" for s in seconds) + f" s; best {best:.2f} s -> {interactions / best:,.0f} interactions/s")
    print(f"memory: Python heap peak {heap_peak / 2**20:.0f} MiB (tracemalloc, last run); process RSS peak "
          f"{rss_before / 1024:.0f} MiB before the exports, {rss_after / 1024:.0f} MiB after")
    wrong = {key: (counts[key], want) for key, want in GOWALLA.items() if counts[key] != want}
    if wrong:
        print(f"WRONG COUNTS (got, expected): {wrong}")
        return 1
    print("counts match Gowalla: " + ", ".join(f"{key} {want:,}" for key, want in GOWALLA.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
