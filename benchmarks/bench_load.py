"""Benchmark: load Gowalla (LightGCN split, train + test) into an empty Neo4j, online and in bulk, side by side.

    .venv/bin/python benchmarks/bench_load.py [--data ../shared/data/gowalla] [--methods online bulk]
                                              [--workers 2] [--batch-size 20000] [--heap 2g] [--pagecache 1g]

Each method gets its own throw-away local server in a temporary folder on free ports (jars cached, so
"cold start" is the JVM + database start, not the download):

- online: `graphrec.load` writes through Bolt (`write_dataset`: batched, idempotent `MERGE`s);
- bulk: `graphrec.load.bulk` writes CSV files, stops the server, runs `neo4j-admin database import full`,
  starts the server again and applies the schema (`bulk_write`).

Both parse and validate the files first; a method's total is everything from reading the files to a
database that answers with its indexes online, the bulk's server restart included. Prints the figures and
checks that both graphs have the same counts. Skips with a message when the data folder is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from graphrec.db import QueryRunner
from graphrec.load import apply_schema, bulk_write, graph_summary, write_dataset
from graphrec.load.text_formats import read_lightgcn
from graphrec.server.local import install_jars, temporary_server

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"
STAGES = [("cold start", "server cold start (jars cached, not in the total)"), ("parse", "parse + validate"),
          ("write", "write through Bolt"), ("csv", "write CSV files"), ("stop", "stop the server"),
          ("import", "neo4j-admin import"), ("start", "start the server"), ("schema", "schema + indexes online")]


def run(method: str, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, int]]:
    """Load the data with one method into a fresh server; return the seconds per stage and the graph's counts."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with temporary_server(args.heap, args.pagecache) as server, QueryRunner(server.connection()) as runner:
        seconds["cold start"] = time.perf_counter() - started
        started = time.perf_counter()
        dataset = read_lightgcn(args.data)
        seconds["parse"] = time.perf_counter() - started
        if method == "online":
            apply_schema(runner)
            started = time.perf_counter()
            write_dataset(runner, dataset, batch_size=args.batch_size, workers=args.workers)
            seconds["write"] = time.perf_counter() - started
        else:
            bulk_write(runner, dataset, server=server, timings=seconds)
        summary = graph_summary(runner)
    return seconds, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--methods", nargs="+", choices=["online", "bulk"], default=["online", "bulk"])
    parser.add_argument("--workers", type=int, default=2, help="online writers (default 2)")
    parser.add_argument("--batch-size", type=int, default=20_000, help="online rows per transaction (default 20000)")
    parser.add_argument("--heap", default="2g", help="server heap, also the importer's (default 2g)")
    parser.add_argument("--pagecache", default="1g", help="server page cache (default 1g)")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    results = {method: run(method, args) for method in args.methods}
    summaries = [summary for _, summary in results.values()]
    if any(summary != summaries[0] for summary in summaries):
        print(f"the methods built different graphs: {summaries}")
        return 1
    nodes = summaries[0]["users"] + summaries[0]["items"]
    rels = summaries[0]["user_interactions"]
    print(f"\nGowalla from {args.data}: {nodes:,} nodes, {rels:,} interactions (train {summaries[0]['user_train']:,}, "
          f"test {summaries[0]['user_test']:,}); online: workers={args.workers}, batch={args.batch_size}\n")
    print(f"{'seconds':<50}" + "".join(f"{method:>10}" for method in results))
    for key, label in STAGES:
        if any(key in seconds for seconds, _ in results.values()):
            print(f"{label:<50}" + "".join(f"{seconds[key]:>10.1f}" if key in seconds else f"{'-':>10}"
                                           for seconds, _ in results.values()))
    totals = {method: sum(v for k, v in seconds.items() if k != "cold start") for method, (seconds, _) in results.items()}
    print(f"{'total load':<50}" + "".join(f"{total:>10.1f}" for total in totals.values()))
    print(f"{'relationships/s':<50}" + "".join(f"{rels / total:>10,.0f}" for total in totals.values()))
    print(f"{'nodes/s (loaded together with the relationships)':<50}"
          + "".join(f"{nodes / total:>10,.0f}" for total in totals.values()))
    if "bulk" in results:
        seconds = results["bulk"][0]
        print(f"\nbulk, server restart (stop + start) excluded: "
              f"{rels / (totals['bulk'] - seconds['stop'] - seconds['start']):,.0f} relationships/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
