"""Benchmark: Gowalla through the whole learning loop, with each stage's time and the paper's figures.

    .venv/bin/python benchmarks/bench_gowalla.py [--config graphrec/configs/gowalla-lightgcn.toml] [--max-minutes M]

Starts a throw-away Neo4j, loads Gowalla (`../shared/data/gowalla`), then runs what `graphrec train` runs:
export → fit (LightGCN: early stopping / time budget) → full-ranking evaluation on test → write-back.
Prints the seconds of every stage and Recall@20 / NDCG@20 next to the LightGCN paper's. The run folder
(`runs/bench-gowalla/`) keeps metrics.json and curves.png. The propagation forms are compared side by side
by `benchmarks/bench_propagation.py`. Skips with a message when the data is missing.
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
from graphrec.load import load_lightgcn
from graphrec.runconfig import read_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"
PAPER = {"LightGCN, 3 layers (paper)": (0.1823, 0.1555), "NGCF (paper)": (0.1570, 0.1327),
         "MF-BPR, tuned (BARS)": (0.1627, 0.1378)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", type=Path, default=ROOT / "graphrec" / "configs" / "gowalla-lightgcn.toml")
    parser.add_argument("--max-minutes", type=float, help="override the configuration's training budget")
    parser.add_argument("--epochs", type=int, help="override the configuration's epochs")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-gowalla")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    config = read_config(args.config, train={"max_minutes": args.max_minutes, "epochs": args.epochs})
    install_jars()
    with temporary_server() as server, QueryRunner(server.connection()) as runner:
        started = time.perf_counter()
        load_lightgcn(runner, args.data)
        loaded = time.perf_counter() - started
        report, fitted = conduct(runner, [config], args.run_dir, write_back=True)
    stages = {"load": loaded, **report.seconds}
    train = config.train
    if train is not None:
        batch = train.batch_size or f"1/{train.steps_per_epoch} of the train interactions"
        print(f"\nGowalla, config {args.config.name}: batch {batch}, lr {train.lr}, "
              f"budget {train.max_minutes or 'none'} min; record {fitted[config.name].record}")
    print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    print(f"run files: {args.run_dir}")
    test = report.row(config.name)
    print(f"\n{'model':<32} {'Recall@20':>9} {'NDCG@20':>9}")
    print(f"{'graphrec (this run)':<32} {test['user recall@20']:>9.4f} {test['user ndcg@20']:>9.4f}")
    for name, (recall, ndcg) in PAPER.items():
        print(f"{name:<32} {recall:>9.4f} {ndcg:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
