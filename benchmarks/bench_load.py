"""Benchmark: load Gowalla (LightGCN split, train + test) into an empty Neo4j, and time the server's cold start.

    .venv/bin/python benchmarks/bench_load.py [--data ../shared/data/gowalla] [--workers 2] [--batch-size 20000]

Starts a throw-away local server in a temporary folder on free ports (jars cached, so "cold start" is the
JVM + database start, not the download), loads the data with `graphrec.load.load_lightgcn`, prints the
timings and stops the server. Skips with a message when the data folder is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from graphrec.db import QueryRunner
from graphrec.load import apply_schema, graph_summary, write_dataset
from graphrec.load.text_formats import read_lightgcn
from graphrec.server.local import install_jars, temporary_server

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    started = time.perf_counter()
    with temporary_server(args.heap, args.pagecache) as server, QueryRunner(server.connection()) as runner:
        cold_start = time.perf_counter() - started
        started = time.perf_counter()
        dataset = read_lightgcn(args.data)
        parsed = time.perf_counter() - started
        apply_schema(runner)
        started = time.perf_counter()
        write_dataset(runner, dataset, batch_size=args.batch_size, workers=args.workers)
        written = time.perf_counter() - started
        summary = graph_summary(runner)
    nodes = summary["users"] + summary["items"]
    rels = summary["user_interactions"]
    total = parsed + written
    print(f"\nGowalla from {args.data}: {nodes:,} nodes, {rels:,} interactions "
          f"(train {summary['user_train']:,}, test {summary['user_test']:,})")
    print(f"server cold start (jars cached): {cold_start:6.1f} s")
    print(f"parse + validate:                {parsed:6.1f} s")
    print(f"write (workers={args.workers}, batch={args.batch_size}): {written:6.1f} s")
    print(f"total load:                      {total:6.1f} s  ->  {nodes / total:,.0f} nodes/s, "
          f"{rels / total:,.0f} relationships/s (nodes and relationships loaded together)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
