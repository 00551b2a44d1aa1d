"""Benchmark (issue 32, part 4): how much choosing the group model inside `fit` buys over fixed settings, by a
leave-one-dataset-out check under graphrec's reference protocol (what `graphrec evaluate` runs).

    .venv/bin/python benchmarks/bench_group_transfer.py [--data ../shared/data/camra2011 ../shared/data/mafengwo-s]
        [--generated hidden least_misery] [--task group]

1. On every dataset, the default group model (`graphrec/configs/groups-filter.toml`, kind 'group') chooses its
   kind and settings on its own validation split.
2. On every dataset, beside that default (the reference of the paired intervals), each other dataset's choice is
   fitted as fixed settings (`<source>'s choice`), with the earlier fixed default (the group filter at
   group_weight 0.5) and Group-GF at its published CAMRa2011 settings.

Real data: AGREE-format folders (snapshots cached as `benchmarks/bench_groupgf.py` caches them); generated data:
`bench_groups.py`'s planted cases. Prints, per target dataset, the report (group HR/NDCG and the paired NDCG@5
differences) and a summary table of NDCG@5 by (settings chosen on) x (applied to); writes
`runs/bench-group-transfer/summary.json`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench_groupgf import snapshot_of  # the sibling script (benchmarks/ is on sys.path when run as a script)
from bench_groups import CASES

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.evaluation import format_report
from graphrec.export import Snapshot, export_snapshot
from graphrec.load import load_group_benchmark
from graphrec.model.group_select import PUBLISHED
from graphrec.model.kinds import make_spec
from graphrec.runconfig import RunConfig, read_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "graphrec" / "configs" / "groups-filter.toml"


def generated_snapshot(case: str, cache: Path) -> Snapshot:
    """The snapshot of a planted case of bench_groups.py, loaded through a throw-away server (cached)."""
    if (cache / "snapshot.pt").exists():
        return Snapshot.load(cache)
    install_jars()
    with temporary_server() as server, QueryRunner(server.connection()) as runner:
        load_group_benchmark(runner, CASES[case]().write(cache / "data"))
        snapshot = export_snapshot(runner)
    snapshot.save(cache)
    return snapshot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="*",
                        default=[ROOT.parent / "shared" / "data" / name for name in ("camra2011", "mafengwo-s")])
    parser.add_argument("--generated", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--task", choices=("group", "user", "both"), default="group")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-group-transfer")
    args = parser.parse_args()
    snapshots = {}
    for folder in args.data:
        if not folder.exists():
            print(f"skipping {folder}: not found")
            continue
        snapshots[folder.name] = snapshot_of(folder, ROOT / "runs" / "bench-groupgf" / folder.resolve().name / "snapshot")
    for case in args.generated:
        snapshots[case] = generated_snapshot(case, args.out / case / "snapshot")
    snapshots = dict(sorted(snapshots.items(), key=lambda pair: len(pair[1].item_ids)))  # small catalogues first
    default = read_config(DEFAULT, evaluate={"task": args.task})
    chosen: dict[str, dict] = {}
    for name, snapshot in snapshots.items():  # 1. each dataset's own choice, evaluated
        tick = time.perf_counter()
        report, fitted = conduct(None, [default], args.out / name / "own", snapshot=snapshot, progress=False)
        chosen[name] = fitted[default.name].record["selection"]["chosen"]
        print(format_report(report))
        print(f"{name}: chose {chosen[name]} ({time.perf_counter() - tick:.1f} s)")
    summary = []
    for target, snapshot in snapshots.items():  # 2. every other choice, fixed, beside the default
        plain = replace(default.evaluate, strategies=())  # the models themselves, no member aggregations
        configs = [replace(default, evaluate=plain)]
        for source, params in chosen.items():
            if source != target:
                configs.append(RunConfig(f"{source}'s choice", make_spec(dict(params), f"{source}'s choice"), None,
                                         evaluate=plain))
        configs.append(RunConfig("fixed group filter (group_weight 0.5)",
                                 make_spec({"kind": "filter", **default.model.filter}, "fixed"), None,
                                 evaluate=plain))
        configs.append(RunConfig("Group-GF published", make_spec({"kind": "groupgf", **default.model.groupgf,
                                                                   **PUBLISHED}, "published"), None,
                                 evaluate=plain))
        tick = time.perf_counter()
        report, _ = conduct(None, configs, args.out / target / "transfer", snapshot=snapshot, progress=False)
        print(f"\n=== applied to {target} ({time.perf_counter() - tick:.1f} s)\n{format_report(report)}")
        names = [config.name for config in configs]
        summary += [{"target": target, "method": row["method"], "group ndcg@5": row.get("group ndcg@5")}
                    for row in report.rows if row["method"] in names]
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps({"chosen": chosen, "rows": summary}, indent=2, default=str))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({"chosen": chosen, "rows": summary}, indent=2, default=str))
    print("\nNDCG@5 by settings (rows) applied to dataset (columns):")
    methods = list(dict.fromkeys(row["method"] for row in summary))
    print(" | ".join(["settings", *snapshots]))
    for method in methods:
        cells = [next((f"{row['group ndcg@5']:.4f}" for row in summary
                       if row["method"] == method and row["target"] == target and row["group ndcg@5"] is not None),
                      "-") for target in snapshots]
        print(" | ".join([method, *cells]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
