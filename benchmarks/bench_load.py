"""Benchmark: load Gowalla (LightGCN split, train + test) into an empty Neo4j, three ways side by side.

    .venv/bin/python benchmarks/bench_load.py [--data ../shared/data/gowalla] [--methods online bulk bulk-new]
                                              [--repeat 1] [--workers 2] [--batch-size 20000]
                                              [--heap 2g] [--pagecache 1g]

Each run gets its own throw-away server home in a temporary folder on free ports (jars cached, so a server
start is the JVM and the databases, not the download):

- online: start the server, then `graphrec.load` writes through Bolt (`write_dataset`: batched, idempotent
  `MERGE`s);
- bulk: start the server, then `bulk_write` into its empty database: CSV files, stop, `neo4j-admin database
  import full`, start again, schema;
- bulk-new: `bulk_write` into a home that was never started: CSV files, import, first start, schema.

Every way starts the server once to serve the data (before loading, or after importing for bulk-new); that
start is the "server cold start" row and is not in the load's total, as the issue reports it separately.
Everything else is: parsing and validating the files, writing, and for bulk its extra stop and start. The
"files to a serving database" row adds the cold start back. Each method runs `--repeat` times, interleaved;
the table shows the median of each row and the rates of the median total. Checks that every run built the
same counts. Skips with a message when the data folder is missing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.load import apply_schema, bulk_write, graph_summary, write_dataset
from graphrec.load.text_formats import read_lightgcn

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"
METHODS = ["online", "bulk", "bulk-new"]
STAGES = [("cold start", "server cold start (jars cached; not in the load)"), ("parse", "parse + validate"),
          ("write", "write through Bolt"), ("check", "check that the database is empty"),
          ("csv", "write CSV files"), ("stop", "stop the server"), ("import", "neo4j-admin import"),
          ("restart", "start the server again"), ("schema", "schema + indexes online")]


def run(method: str, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, int]]:
    """Load the data with one method into a new server home; return the seconds per stage and the counts."""
    seconds: dict[str, float] = {}
    with temporary_server(args.heap, args.pagecache, start=False) as server:
        if method != "bulk-new":
            started = time.perf_counter()
            server.start()
            seconds["cold start"] = time.perf_counter() - started
        started = time.perf_counter()
        dataset = read_lightgcn(args.data)
        seconds["parse"] = time.perf_counter() - started
        if method == "online":
            with QueryRunner(server.connection()) as runner:
                apply_schema(runner)
                started = time.perf_counter()
                write_dataset(runner, dataset, batch_size=args.batch_size, workers=args.workers)
                seconds["write"] = time.perf_counter() - started
        else:
            stages: dict[str, float] = {}
            bulk_write(server, dataset, progress=args.repeat == 1, timings=stages)
            seconds.update(stages)
            seconds["restart" if method == "bulk" else "cold start"] = seconds.pop("start")
        with QueryRunner(server.connection()) as runner:
            summary = graph_summary(runner)
    return seconds, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per method, interleaved (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="online writers (default 2)")
    parser.add_argument("--batch-size", type=int, default=20_000, help="online rows per transaction (default 20000)")
    parser.add_argument("--heap", default="2g", help="server heap, also the importer's (default 2g)")
    parser.add_argument("--pagecache", default="1g", help="server page cache (default 1g)")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    install_jars()
    runs: dict[str, list[dict[str, float]]] = {method: [] for method in args.methods}
    summaries = []
    for _ in range(args.repeat):
        for method in args.methods:
            seconds, summary = run(method, args)
            seconds["load"] = sum(v for k, v in seconds.items() if k != "cold start")
            runs[method].append(seconds)
            summaries.append(summary)
    if any(summary != summaries[0] for summary in summaries):
        print(f"the runs built different graphs: {summaries}")
        return 1
    nodes = summaries[0]["users"] + summaries[0]["items"]
    rels = summaries[0]["user_interactions"]
    print(f"\nGowalla from {args.data}: {nodes:,} nodes, {rels:,} interactions (train {summaries[0]['user_train']:,}, "
          f"test {summaries[0]['user_test']:,}); online: workers={args.workers}, batch={args.batch_size}; "
          f"{args.repeat} run(s) per method, medians\n")
    median = {method: {key: statistics.median(run[key] for run in method_runs)
                       for key in method_runs[0]} for method, method_runs in runs.items()}
    print(f"{'seconds':<50}" + "".join(f"{method:>10}" for method in runs))
    for key, label in [*STAGES, ("load", "total load")]:
        if any(key in seconds for seconds in median.values()):
            print(f"{label:<50}" + "".join(f"{seconds[key]:>10.1f}" if key in seconds else f"{'-':>10}"
                                           for seconds in median.values()))
    rows = [("relationships/s", rels, "load"), ("nodes/s (loaded together with the relationships)", nodes, "load")]
    for label, count, key in rows:
        print(f"{label:<50}" + "".join(f"{count / seconds[key]:>10,.0f}" for seconds in median.values()))
    print(f"{'files to a serving database (cold start + load)':<50}"
          + "".join(f"{statistics.median(r['cold start'] + r['load'] for r in method_runs):>10.1f}"
                    for method_runs in runs.values()))
    if args.repeat > 1:
        print("\nevery run's total load (s): " + "; ".join(
            f"{method} " + ", ".join(f"{r['load']:.1f}" for r in method_runs) for method, method_runs in runs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
