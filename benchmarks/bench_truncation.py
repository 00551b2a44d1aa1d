"""Benchmark: what serving a filter from the database costs, against n (rows of S kept) and the spectral split.

    .venv/bin/python benchmarks/bench_truncation.py [--data ../shared/data/gowalla] [--model chebycf]
        [--neighbours 50 100 200 400] [--splits 0 64 256] [--test]

The served form keeps each item's n strongest entries of its row of S (relationships in Neo4j) and the low-rank
factors A, B exactly (node vectors): s(u, i) = sum_{j in N(u)} w_ji + (sum_{j in N(u)} A_j) . B_i. With split m,
S's top-m spectral components move into A, B first (`SpectralFilter`'s `split`). For each split, S's rows are
computed once (blockwise) and each item keeps its top max(n) entries twice, by value and by magnitude; every n is a
prefix. Each (split, selection, n) is then scored by `truncated_scores`, full ranking, beside the exact filter.

Without `--test`, the model is fitted on the validation split of train (`bench_filters.holdout`) and measured on
the held-out items, so the serving choice is made without test data; `--test` fits on train and measures test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_filters import DEFAULT_DATA, MODELS, holdout, read_split
from tqdm import tqdm

from graphrec.model.filters import SpectralFilter
from graphrec.model.item_item import row_metrics, truncated_scores


def strongest(rows: np.ndarray, items: np.ndarray, n: int, magnitude: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each row's n entries of largest value (or |value|), the diagonal left out, by decreasing key."""
    key = np.abs(rows) if magnitude else rows.copy()
    key[np.arange(items.size), items] = -np.inf
    top = np.argpartition(key, key.shape[1] - n, axis=1)[:, key.shape[1] - n:]
    order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return top.astype(np.int32), np.take_along_axis(rows, top, axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="chebycf", choices=[m for m in MODELS if m != "itemknn"])
    parser.add_argument("--neighbours", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 64, 256])
    parser.add_argument("--test", action="store_true", help="fit on train, measure test (default: validation)")
    parser.add_argument("--block-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no data at {args.data}")
        return 0
    torch.set_num_threads(args.threads)
    train, test = read_split(args.data)
    if not args.test:
        train, test = holdout(train)
    model: SpectralFilter = MODELS[args.model]()
    model.split = max(args.splits)
    started = time.perf_counter()
    model.fit(train)
    exact = row_metrics(model.scores, train, test)
    print(f"{args.data.name} ({'test' if args.test else 'validation'}), {model!r}: exact "
          f"{exact['recall@20']:.4f} / {exact['ndcg@20']:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)

    num_items, n_max = model.num_items, max(args.neighbours)
    a_all, b_all = model.factors()
    rank = a_all.shape[1] - model.split
    top_a, top_b = a_all[:, rank:], b_all[:, rank:]  # the split's columns come last
    kept = {(m, magnitude): (np.empty((num_items, n_max), np.int32), np.empty((num_items, n_max), np.float32))
            for m in args.splits for magnitude in (False, True)}
    for start in tqdm(range(0, num_items, args.block_size), desc="rows of S", unit="block"):
        items = np.arange(start, min(start + args.block_size, num_items))
        full = model.item_rows(items) + top_a[items] @ top_b.T  # S without any split
        for m in args.splits:
            rows = full - top_a[items, :m] @ top_b[:, :m].T
            for magnitude in (False, True):
                indices, weights = kept[(m, magnitude)]
                indices[items], weights[items] = strongest(rows, items, n_max, magnitude)

    print(f"\n{'split':>5} {'select':>9} {'n':>5} {'relationships':>14} {'Recall@20':>9} {'NDCG@20':>8} "
          f"{'loss R@20':>9}")
    for m in args.splits:
        a = np.hstack([a_all[:, :rank], top_a[:, :m]])
        b = np.hstack([b_all[:, :rank], top_b[:, :m]])
        for magnitude in (False, True):
            indices, weights = kept[(m, magnitude)]
            for n in args.neighbours:
                neighbours = (indices[:, :n], weights[:, :n])
                metrics = row_metrics(lambda rows: truncated_scores(rows, neighbours, a, b), train, test)
                print(f"{m:>5} {'magnitude' if magnitude else 'value':>9} {n:>5} "
                      f"{np.count_nonzero(weights[:, :n]):>14,} {metrics['recall@20']:>9.4f} "
                      f"{metrics['ndcg@20']:>8.4f} {exact['recall@20'] - metrics['recall@20']:>9.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
