"""Benchmark: data-parallel LightGCN training (DDP over gloo) on Gowalla, 1 process against 2.

    .venv/bin/python benchmarks/bench_ddp.py [--data ../shared/data/gowalla] [--epochs 2] [--out runs/bench-ddp.json]

Trains from the files directly (graphrec's LightGCN loader, no Neo4j) with `graphrec.model.trainer.fit`, the
loop `graphrec train --nproc N` runs in each process: the configuration of `graphrec/configs/gowalla-lightgcn.toml`
(batch 65,536, a user then one of its items, 2 negatives, reg 1e-4, dim 64, 3 layers) at a constant learning
rate 0.04 from the normal initialisation, for `--epochs` epochs, evaluated once at the end (Recall@20 on test).
1 process uses every core (2 threads here); 2 processes one core each. For each it reports seconds per epoch,
Recall@20 and the training losses (the same global batches: they must agree), and, measured in the 2-process run,
the seconds of one all-reduce of the gradient (every trainable parameter, float32, in one tensor; DDP buckets it)
and the share of embedding rows with a non-zero gradient after one step, for LightGCN (3 layers: the
propagation spreads a batch's gradient over the whole graph) and MF (0 layers: the batch's rows only). Then
the bytes all-reduced per step, rows x dim x 4, at 1x, 100x and 1,000x the rows, with the time one all-reduce
would take at the measured bandwidth and on a 10 Gb/s link, and the memory per rank of the parameters,
gradients and Adam's two moments (4 copies of the table). Prints a table and writes JSON to --out.
Skips with a message when the data is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from graphrec.db.server.lifecycle import free_port
from graphrec.load.text_formats import read_lightgcn
from graphrec.model import LightGCN, NegativeSampler, normalized_adjacency
from graphrec.model.bpr import BPRObjective
from graphrec.model.trainer import TrainConfig, fit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"
LINK = 10e9 / 8  # bytes per second of a 10 Gb/s network link


def load(directory: Path) -> tuple[int, int, torch.Tensor, torch.Tensor]:
    """(users, items, train (2, E), test (2, T)) as contiguous indices."""
    dataset = read_lightgcn(directory)
    cases = dataset.user_cases[dataset.user_cases["split"] == "test"]
    tables = (dataset.user_interactions, cases)
    users = np.unique(np.concatenate([t["source"].to_numpy() for t in tables]))
    items = np.unique(np.concatenate([t["item"].to_numpy() for t in tables]))
    train, test = (torch.from_numpy(np.stack([np.searchsorted(users, t["source"].to_numpy()),
                                              np.searchsorted(items, t["item"].to_numpy())])) for t in tables)
    return len(users), len(items), train, test


def config(epochs: int) -> TrainConfig:
    return TrainConfig(lr=0.04, reg=1e-4, batch_size=65536, epochs=epochs, eval_every=epochs, patience=100,
                       ks=(20,), monitor="recall@20", seed=2020, device="cpu", sampling="user", negatives=2)


def gradient_rows(num_users: int, num_items: int, train: torch.Tensor, layers: int) -> float:
    """The share of embedding rows with a non-zero gradient after one step's backward (batch 65,536)."""
    torch.manual_seed(0)
    model = LightGCN(num_users, num_items, 64, layers)
    sampler = NegativeSampler(train, num_items)
    users, items = sampler.sample_pairs(65536, torch.Generator().manual_seed(0))
    loss = BPRObjective(model)(normalized_adjacency(num_users, num_items, train[0], train[1]), users, items,
                               sampler.sample(users))
    loss.backward()
    return (model.embedding.weight.grad.abs().sum(1) > 0).double().mean().item()


def worker(rank: int, size: int, port: int, data: tuple, epochs: int, folder: str) -> None:
    num_users, num_items, train, test = data
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // size))
    if size > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=size)
    try:
        result = fit(num_users, num_items, train, test, config(epochs), Path(folder) / f"run{size}",
                     progress=rank == 0)
        out = {"epoch_seconds": [row["train_seconds"] for row in result.history],
               "losses": [row["loss"] for row in result.history],
               "recall@20": result.best_metrics.get("recall@20")}
        if size > 1:
            gradient = torch.zeros((num_users + num_items) * 64)
            dist.all_reduce(gradient)  # warm-up
            started = time.perf_counter()
            for _ in range(5):
                dist.all_reduce(gradient)
            out["allreduce_seconds"] = (time.perf_counter() - started) / 5
            if rank == 0:
                out["grad_rows_lightgcn"] = gradient_rows(num_users, num_items, train, 3)
                out["grad_rows_mf"] = gradient_rows(num_users, num_items, train, 0)
        if rank == 0:
            Path(folder, f"result{size}.json").write_text(json.dumps(out))
    finally:
        if size > 1:
            dist.destroy_process_group()


def scale_rows(rows: int, dim: int, nproc: int, allreduce_seconds: float) -> list[dict]:
    """Bytes all-reduced per step and what they cost, at 1x, 100x and 1,000x the rows."""
    measured = rows * dim * 4
    out = []
    for factor in (1, 100, 1000):
        size = measured * factor
        ring = 2 * (nproc - 1) / nproc * size  # bytes each rank sends (and receives) in a ring all-reduce
        out.append({"rows": rows * factor, "bytes_per_step": size,
                    "allreduce_seconds_measured_bandwidth": allreduce_seconds * factor,
                    "allreduce_seconds_10gbps_ring": ring / LINK,
                    "rank_memory_bytes_params_grads_adam": 4 * size})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-ddp.json")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {args.data}")
        return 0
    data = load(args.data)
    num_users, num_items, train, _ = data
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in (1, 2):
            started = time.perf_counter()
            mp.spawn(worker, args=(size, free_port(), data, args.epochs, folder), nprocs=size, join=True)
            results[size] = json.loads(Path(folder, f"result{size}.json").read_text())
            results[size]["wall_seconds"] = time.perf_counter() - started
    rows = num_users + num_items
    scale = scale_rows(rows, 64, 2, results[2]["allreduce_seconds"])
    record = {"data": str(args.data), "users": num_users, "items": num_items, "train": train.size(1),
              "epochs": args.epochs, "config": vars(config(args.epochs)), "cores": os.cpu_count(),
              "runs": {f"{size} process{'es' if size > 1 else ''}": r for size, r in results.items()},
              "dense_gradient": scale}
    print(f"\nGowalla: {num_users:,} users, {num_items:,} items, {train.size(1):,} train interactions; "
          f"{args.epochs} epochs, batch 65,536 (global), {os.cpu_count()} cores (shared: figures under load)")
    print(f"{'processes':>9} {'threads':>7} {'s/epoch':>8} {'Recall@20':>9}  losses")
    for size, r in results.items():
        print(f"{size:>9} {max(1, (os.cpu_count() or 1) // size):>7} {np.mean(r['epoch_seconds']):>8.1f} "
              f"{r['recall@20']:>9.4f}  {', '.join(f'{x:.5f}' for x in r['losses'])}")
    two = results[2]
    print(f"\none all-reduce of {rows * 64 * 4 / 1e6:.1f} MB (gloo, 2 local processes): "
          f"{two['allreduce_seconds'] * 1e3:.0f} ms; rows with a non-zero gradient after one step: "
          f"LightGCN (3 layers) {two['grad_rows_lightgcn']:.1%}, MF {two['grad_rows_mf']:.1%}")
    print(f"\n{'rows':>12} {'MB/step':>10} {'s (measured bw)':>15} {'s (10 Gb/s ring)':>16} {'GB/rank (p+g+Adam)':>19}")
    for row in scale:
        print(f"{row['rows']:>12,} {row['bytes_per_step'] / 1e6:>10,.0f} "
              f"{row['allreduce_seconds_measured_bandwidth']:>15.2f} {row['allreduce_seconds_10gbps_ring']:>16.2f} "
              f"{row['rank_memory_bytes_params_grads_adam'] / 1e9:>19.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
