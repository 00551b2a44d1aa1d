"""Benchmark: Group-GF (`graphrec/configs/groups-groupgf.toml`) beside the default group model under graphrec's
reference protocol (what `graphrec evaluate` runs), on AGREE-format group benchmarks.

    .venv/bin/python benchmarks/bench_groupgf.py ../shared/data/camra2011 ../shared/data/mafengwo-s \
        [--config graphrec/configs/groups-filter.toml graphrec/configs/groups-groupgf.toml] [--protocol sampled]

For each folder: loads it into a throw-away Neo4j (`graphrec load groups`), exports the snapshot and keeps it
in `runs/bench-groupgf/<folder>/snapshot` (later runs reuse it; delete it to reload), stops the server, then runs
`graphrec.conductor.conduct` on the configurations (the first one is the reference of the paired intervals) and
prints the report; it goes to `runs/bench-groupgf/<folder>/<protocol>/`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.evaluation import format_report
from graphrec.export import Snapshot, export_snapshot
from graphrec.load import load_group_benchmark
from graphrec.runconfig import read_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "graphrec" / "configs" / name for name in ("groups-filter.toml", "groups-groupgf.toml")]


def snapshot_of(folder: Path, cache: Path) -> Snapshot:
    """The exported snapshot of `folder` loaded as `graphrec load groups` loads it (cached in `cache`)."""
    if (cache / "snapshot.pt").exists():
        return Snapshot.load(cache)
    install_jars()
    tick = time.perf_counter()
    with temporary_server() as server, QueryRunner(server.connection()) as runner:
        load_group_benchmark(runner, folder)
        snapshot = export_snapshot(runner)
    snapshot.save(cache)
    print(f"{folder.name}: loaded and exported in {time.perf_counter() - tick:.1f} s")
    return snapshot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--config", type=Path, nargs="+", default=CONFIGS)
    parser.add_argument("--protocol", choices=("sampled", "full"), default="sampled")
    parser.add_argument("--task", choices=("group", "user", "both"), default="both")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-groupgf")
    args = parser.parse_args()
    for folder in args.folders:
        out = args.run_dir / folder.resolve().name
        snapshot = snapshot_of(folder, out / "snapshot")
        configs = [read_config(path, evaluate={"protocol": args.protocol, "task": args.task}) for path in args.config]
        tick = time.perf_counter()
        report, _ = conduct(None, configs, out / args.protocol, snapshot=snapshot, progress=False)
        print(f"\n=== {folder.name} ({time.perf_counter() - tick:.1f} s)\n{format_report(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
