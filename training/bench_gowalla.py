"""Benchmark: Gowalla through the whole learning loop, with each stage's time and the paper's figures.

    .venv/bin/python training/bench_gowalla.py [--config training/gowalla-cpu.toml] [--max-minutes M]

Starts a throw-away Neo4j, loads Gowalla (`../shared/data/gowalla`), then runs `graphrec train`'s pipeline:
export → LightGCN training (early stopping / time budget) → full-ranking evaluation on test → write-back.
Prints the seconds of every stage and Recall@20 / NDCG@20 next to the LightGCN paper's. The run folder
(`runs/bench-gowalla/`) keeps metrics.json and curves.png. The propagation forms are compared side by side
by `training/bench_propagation.py`. Skips with a message when the data is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from graphrec.db import QueryRunner
from graphrec.load import load_lightgcn
from graphrec.pipeline import run_training
from graphrec.server.local import install_jars, temporary_server
from graphrec.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"
PAPER = {"LightGCN, 3 layers (paper)": (0.1823, 0.1555), "NGCF (paper)": (0.1570, 0.1327),
         "MF-BPR, tuned (BARS)": (0.1627, 0.1378)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", type=Path, default=ROOT / "training" / "gowalla-cpu.toml")
    parser.add_argument("--max-minutes", type=float, help="override the configuration's training budget")
    parser.add_argument("--epochs", type=int, help="override the configuration's epochs")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-gowalla")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    config = TrainConfig.from_toml(args.config, max_minutes=args.max_minutes, epochs=args.epochs)
    install_jars()
    with temporary_server() as server, QueryRunner(server.connection()) as runner:
        started = time.perf_counter()
        load_lightgcn(runner, args.data)
        loaded = time.perf_counter() - started
        summary = run_training(runner, config, args.run_dir)
    stages = {"load": loaded, **summary["stage_seconds"]}
    print(f"\nGowalla, config {args.config.name}: batch {config.batch_size}, lr {config.lr}, "
          f"budget {config.max_minutes or 'none'} min; best epoch {summary['best_epoch']}")
    print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    history = (args.run_dir / "metrics.json")
    print(f"run files: {args.run_dir} ({history.name}, curves.png)")
    test = summary["test_metrics"]
    print(f"\n{'model':<32} {'Recall@20':>9} {'NDCG@20':>9}")
    print(f"{'graphrec (this run)':<32} {test['recall@20']:>9.4f} {test['ndcg@20']:>9.4f}")
    for name, (recall, ndcg) in PAPER.items():
        print(f"{name:<32} {recall:>9.4f} {ndcg:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
