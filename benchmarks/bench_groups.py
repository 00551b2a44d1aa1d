"""Benchmark: group recommendation on generated data with planted structure, every method side by side.

    .venv/bin/python benchmarks/bench_groups.py [--config graphrec/configs/groups*.toml] [--cases hidden least_misery]

For each planted case of `graphrec.synthetic` (larger than in the tests):

* `hidden`: `hidden_group_taste` - 2,000 users, 1,500 items, 1,000 groups of 4 whose choices follow one of 10
  group tastes that no user has; 50 of the groups are ad hoc (no history: member-average fallback);
* `least_misery`: `least_misery_groups` - 600 groups of 2, 1,200 users, 600 items, groups choosing what both
  members like a little rather than what one loves;

starts a throw-away Neo4j, writes the benchmark files, loads them (`graphrec load groups`), exports the
snapshot, stops the server and runs what `graphrec evaluate` runs (its default models: the group model, its
baselines and popularity): the sampled protocol (both tasks) and the full protocol (groups, with fairness).
Prints each table and the seconds of every stage; the reports go to `runs/bench-groups/<case>-<protocol>/`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from graphrec.cli import GROUP_CONFIGS
from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.evaluation import format_report
from graphrec.export import export_snapshot
from graphrec.load import load_group_benchmark
from graphrec.runconfig import read_config
from graphrec.synthetic import hidden_group_taste, least_misery_groups

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "hidden": lambda: hidden_group_taste(n_users=2000, user_topics=20, group_topics=10, topic_size=50,
                                         n_groups=1000, group_size=4, per_user=20, per_group=8, ad_hoc_groups=50),
    "least_misery": lambda: least_misery_groups(n_groups=600, topics=30, topic_size=20),
}
RUNS = (("sampled", "both"), ("full", "group"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, nargs="+", default=GROUP_CONFIGS)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-groups")
    args = parser.parse_args()
    install_jars()
    for case in args.cases:
        with temporary_server() as server, QueryRunner(server.connection()) as runner, \
                tempfile.TemporaryDirectory() as scratch:
            tick = time.perf_counter()
            folder = CASES[case]().write(Path(scratch) / case)
            generated = time.perf_counter() - tick
            load_group_benchmark(runner, folder)
            loaded = time.perf_counter() - tick - generated
            snapshot = export_snapshot(runner)
            exported = time.perf_counter() - tick - generated - loaded
        print(f"\n=== {case}: generate {generated:.1f} s, load {loaded:.1f} s, export {exported:.1f} s")
        for protocol, task in RUNS:
            configs = [read_config(path, evaluate={"protocol": protocol, "task": task}) for path in args.config]
            report, _ = conduct(None, configs, args.run_dir / f"{case}-{protocol}", snapshot=snapshot, progress=False)
            print(f"\n{format_report(report)}\nreport in {args.run_dir / f'{case}-{protocol}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
