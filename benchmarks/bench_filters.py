"""Benchmark: graph filters and the classic baselines side by side on one dataset, full ranking.

    .venv/bin/python benchmarks/bench_filters.py [--data ../shared/data/gowalla] [--neighbours 200]
        [--models popularity itemknn gfcf bspm chebycf gfcf-served chebycf-served] [--json out.json]

Reads a LightGCN-format folder (`train.txt`, `test.txt`: Gowalla) or the user side of a group-benchmark folder
(`userRatingTrain.txt` rows with rating > 0 as train, `userRatingTest.txt` as test, test pairs already in train
dropped: they can never be recommended). Fits every model on train and scores every test user against all
items, train items excluded (`graphrec.model.filters.row_metrics`, i.e. `graphrec.model.metrics.rank_metrics`).
Each model runs in its own fresh process, so its peak resident memory is its own (interpreter, torch and data
included). `<model>-served` is the model's served form: the top-`--neighbours` rows of S
(`top_neighbours`, timed with the fit) plus the low-rank factors, scored by `truncated_scores`.

Prints one table: Recall@20, NDCG@20, fit seconds, scoring seconds, peak RSS. Skips when the data is missing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.load.text_formats import read_lightgcn
from graphrec.model.filters import BSPM, GFCF, SVD_SOLVERS, ChebyCF
from graphrec.model.item_item import ItemItemModel, row_metrics, top_neighbours, truncated_scores
from graphrec.model.itemknn import ItemKNN

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"

# The defaults chosen on a validation split of Gowalla's train.txt (benchmarks/tune_filters.py).
MODELS: dict[str, Callable[[], ItemItemModel]] = {
    "itemknn": ItemKNN,
    "gfcf": GFCF,
    "bspm": BSPM,
    "chebycf": ChebyCF,
}
PUBLISHED = {"gfcf": (0.1849, 0.1518), "bspm": (0.1920, 0.1597), "chebycf": (0.1941, 0.1616)}


def read_split(directory: Path) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(train, test) binary users x items CSR matrices of a LightGCN folder or a group benchmark's user side."""
    if (directory / "train.txt").is_file():
        dataset = read_lightgcn(directory)
        cases = dataset.user_cases[dataset.user_cases["split"] == "test"]
        pairs = {split: (table["source"].to_numpy(), table["item"].to_numpy())
                 for split, table in (("train", dataset.user_interactions), ("test", cases))}
    else:
        pairs = {}
        for split, name in (("train", "userRatingTrain.txt"), ("test", "userRatingTest.txt")):
            rows = np.loadtxt(directory / name, dtype=np.int64, ndmin=2)
            if split == "train" and rows.shape[1] > 2:
                rows = rows[rows[:, 2] > 0]
            pairs[split] = (rows[:, 0], rows[:, 1])
    shape = (max(int(u.max()) for u, _ in pairs.values()) + 1, max(int(i.max()) for _, i in pairs.values()) + 1)
    train, test = (sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=shape) for u, i in
                   (pairs["train"], pairs["test"]))
    train.data[:] = 1
    test.data[:] = 1
    test = test - test.multiply(train)
    test.eliminate_zeros()
    return train, sp.csr_matrix(test)


def holdout(train: sp.csr_matrix, fraction: float = 0.2, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Splits each user's train items at random (seeded): round(fraction * n) of the n items (at least one when
    n >= 2) become validation items, the rest stay to fit on. Returns (fit, validation)."""
    rng = np.random.default_rng(seed)
    keep = np.ones(train.nnz, dtype=bool)
    for user in range(train.shape[0]):
        start, end = train.indptr[user], train.indptr[user + 1]
        n = end - start
        held = max(1, round(fraction * n)) if n >= 2 else 0
        keep[start + rng.choice(n, size=held, replace=False)] = False
    coo = train.tocoo()
    parts = [sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=train.shape)
             for mask in (keep, ~keep)]
    return parts[0], parts[1]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate(name: str, data: Path, neighbours: int, threads: int, svd: str) -> dict:
    """Fits and scores one model (run in a fresh process); returns its row of the table."""
    torch.set_num_threads(threads)
    train, test = read_split(data)
    started = time.perf_counter()
    base, served = name.removesuffix("-served"), name.endswith("-served")
    if base == "popularity":
        popularity = np.asarray(train.sum(axis=0), dtype=np.float32)  # each item's number of train users
        score = lambda rows: np.repeat(popularity, rows.shape[0], axis=0)  # noqa: E731
        extra = {}
    else:
        model = (MODELS[base]() if base == "itemknn" else MODELS[base](svd=svd)).fit(train)
        score, extra = model.scores, {"model": repr(model)}
        if served:
            kept = top_neighbours(model, neighbours)
            a, b = model.factors()
            score = lambda rows: truncated_scores(rows, kept, a, b)  # noqa: E731
            extra.update(neighbours=neighbours, relationships=int(np.count_nonzero(kept[1])), rank=a.shape[1])
    fitted = time.perf_counter()
    metrics = row_metrics(score, train, test)
    return {"name": name, **metrics, "fit_s": fitted - started, "score_s": time.perf_counter() - fitted,
            "peak_rss_mib": peak_rss_mib(), **extra}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", nargs="+", default=["popularity", "itemknn", "gfcf", "bspm", "chebycf",
                                                        "gfcf-served", "chebycf-served"])
    parser.add_argument("--neighbours", type=int, default=200, help="rows of S kept per item when served")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--svd", choices=SVD_SOLVERS, default="propack", help="the filters' SVD solver")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no data at {args.data}")
        return 0
    unknown = [m for m in args.models if m != "popularity" and m.removesuffix("-served") not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; known: popularity, {', '.join(MODELS)} (and <name>-served)")
    context = multiprocessing.get_context("spawn")
    rows = []
    header = f"{'model':<18} {'Recall@20':>9} {'NDCG@20':>8} {'fit s':>7} {'score s':>8} {'peak RSS MiB':>12}"
    print(f"{args.data.name}: full ranking, train items excluded; {args.threads} torch threads, SVD {args.svd}")
    for name in args.models:
        with context.Pool(1) as pool:
            row = pool.apply(evaluate, (name, args.data, args.neighbours, args.threads, args.svd))
        rows.append(row)
        print(f"  {name}: {row['recall@20']:.4f} / {row['ndcg@20']:.4f}  {row.get('model', '')}", flush=True)
    print("\n" + header)
    for row in rows:
        print(f"{row['name']:<18} {row['recall@20']:>9.4f} {row['ndcg@20']:>8.4f} {row['fit_s']:>7.1f} "
              f"{row['score_s']:>8.1f} {row['peak_rss_mib']:>12.0f}")
        if "relationships" in row:
            print(f"{'':<18} served: top-{row['neighbours']} rows of S ({row['relationships']:,} relationships) "
                  f"+ {row['rank']}-dim factors")
    if args.data.name == "gowalla":
        for name, (recall, ndcg) in PUBLISHED.items():
            print(f"{'published ' + name:<18} {recall:>9.4f} {ndcg:>8.4f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
