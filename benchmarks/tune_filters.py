"""Hyper-parameters of the graph filters and item-kNN, chosen on a validation split of the train data only.

    .venv/bin/python benchmarks/tune_filters.py [--data ../shared/data/gowalla] [--families gfcf bspm chebycf itemknn]
        [--fraction 0.2] [--seed 0] [--users 10000] [--json out.json]

Holds out `--fraction` of each user's train items (seeded; `bench_filters.holdout`), fits on the rest and
measures Recall@20 / NDCG@20 of every setting of a grid on the held-out items of `--users` validation users
(a seeded sample; 0: all), full ranking, fit items excluded. The test split is never read.

A polynomial filter's scores are a weighted sum of blocks that do not depend on its hyper-parameters: the basis
b_t(P) Z of a chunk of users (`SpectralFilter.basis`) and the ideal low-pass parts for each k. Each chunk's blocks
are computed once and every setting combines them; each setting's top-20 items per user are kept and measured by
`graphrec.model.metrics.rank_metrics` like every other figure. The SVD is computed once (the largest k) and its
leading vectors serve every smaller k. Item-kNN: one fit per (shrink, asymmetry) with the largest n, smaller n as
the prefixes of `top_neighbours`. Prints each family's settings best first.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from bench_filters import DEFAULT_DATA, holdout, read_split
from torch import Tensor

import graphrec.model.filters as filters
from graphrec.model.filters import BSPM, GFCF, ChebyCF, plateau_coefficients
from graphrec.model.item_item import interaction_columns
from graphrec.model.itemknn import ItemKNN
from graphrec.model.metrics import rank_metrics

K = 20
CHUNK = 512


def cache_svd(directory: Path | None) -> None:
    """Makes `top_singular_vectors` remember its largest answer per matrix (in `directory` too, when given) and
    serve smaller k from it."""
    compute, memory = filters.top_singular_vectors, {}

    def cached(matrix: sp.csr_matrix, k: int, seed: int = 0, solver: str = "propack") -> tuple[np.ndarray, np.ndarray]:
        key = (matrix.shape, matrix.nnz, round(float(matrix.sum()), 3), seed, solver)
        path = directory / f"svd-{hashlib.sha1(str(key).encode()).hexdigest()[:12]}.npz" if directory else None
        if key not in memory and path and path.is_file():
            stored = np.load(path)
            memory[key] = stored["sigma"], stored["vectors"]
        if key not in memory or memory[key][0].size < k:
            started, cpu = time.perf_counter(), time.process_time()
            memory[key] = compute(matrix, k, seed, solver)
            print(f"  SVD ({solver}) k={k}: {time.perf_counter() - started:.0f} s, "
                  f"{time.process_time() - cpu:.0f} s CPU", flush=True)
            if path:
                np.savez(path, sigma=memory[key][0], vectors=memory[key][1])
        sigma, vectors = memory[key]
        return sigma[:k], vectors[:, :k]

    filters.top_singular_vectors = cached


class TopLists:
    """Every setting's top-K items for each evaluated user, then its metrics by `rank_metrics`."""

    def __init__(self, fit: sp.csr_matrix, valid: sp.csr_matrix, users: np.ndarray) -> None:
        self.fit, self.valid, self.users = fit, valid, users
        self.top: dict[tuple, np.ndarray] = {}

    def add(self, key: tuple, users: np.ndarray, scores: Tensor) -> None:
        """`scores`: (len(users), |I|), the users' fit items already at -inf."""
        if key not in self.top:
            self.top[key] = np.zeros((self.users.size, K), dtype=np.int32)
        self.top[key][np.searchsorted(self.users, users)] = scores.topk(K, dim=1).indices.numpy()

    def metrics(self, key: tuple) -> dict[str, float]:
        top = torch.from_numpy(self.top[key]).long()
        position = torch.from_numpy(self.users)
        ranks = torch.arange(K, 0, -1, dtype=torch.float32)
        valid = self.valid[self.users]
        test = torch.from_numpy(np.vstack([self.users[valid.nonzero()[0]], valid.nonzero()[1]]))
        train = torch.from_numpy(np.vstack(self.fit.nonzero()).astype(np.int64))

        def score(users: Tensor) -> Tensor:
            out = torch.full((users.numel(), self.fit.shape[1]), float("-inf"))
            return out.scatter_(1, top[torch.searchsorted(position, users)], ranks.expand(users.numel(), K))

        return rank_metrics(score, self.fit.shape[1], train, test, (K,), CHUNK)


def chunks(fit: sp.csr_matrix, users: np.ndarray) -> Iterator[tuple[np.ndarray, Tensor, Tensor]]:
    """(users, Z = X^T, mask of the users' fit items as (item, column) indices) per chunk."""
    for start in range(0, users.size, CHUNK):
        chunk = users[start : start + CHUNK]
        rows = fit[chunk]
        columns = interaction_columns(rows, fit.shape[1])
        mask = torch.from_numpy(np.repeat(np.arange(chunk.size), np.diff(rows.indptr))), torch.from_numpy(
            rows.indices.astype(np.int64))
        yield chunk, columns, mask


def run_grid(fit: sp.csr_matrix, users: np.ndarray, lists: TopLists, settings: list[tuple],
             parts: Callable[[Tensor], dict], combine: Callable[[dict, tuple], Tensor], label: str) -> None:
    """Scores every chunk once into `parts` and each setting as `combine(parts, setting)` (|I| x b)."""
    started = time.perf_counter()
    for number, (chunk, columns, mask) in enumerate(chunks(fit, users), 1):
        blocks = parts(columns)
        for setting in settings:
            scores = combine(blocks, setting).T.contiguous()
            scores[mask] = float("-inf")
            lists.add((label, *setting), chunk, scores)
        print(f"\r  {label}: chunk {number}/{math.ceil(users.size / CHUNK)}, "
              f"{time.perf_counter() - started:.0f} s", end="", flush=True)
    print()


def tune_gfcf(fit, users, lists) -> list[tuple]:
    ks, weights = (128, 256, 384, 512), (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
    model = GFCF(k=max(ks), ideal_weight=1.0).fit(fit)
    a, b = (torch.from_numpy(f) for f in model.factors())

    def parts(z: Tensor) -> dict:
        g = a.T @ z
        return {"linear": model.propagate(z), **{k: b[:, :k] @ g[:k] for k in ks}}

    settings = list(itertools.product(ks, weights))
    run_grid(fit, users, lists, settings, parts, lambda p, s: p["linear"] + s[1] * p[s[0]], "gfcf")
    return [("gfcf", *s) for s in settings]


def tune_bspm(fit, users, lists) -> list[tuple]:
    ks, times, weights = (256, 448, 512), (1.0, 1.5, 2.0, 2.5, 3.0, 3.5), (0.1, 0.2, 0.3, 0.5)
    model = GFCF(k=max(ks), ideal_weight=1.0).fit(fit)  # P and D^{-1/2} V_k, as BSPM's
    a = torch.from_numpy(model.factors()[0])
    # W_j = P^j D^{1/2} V_k, j = 0..4 (D^{1/2} V = D A).
    w = list(itertools.islice(model.basis(model.degree(1.0) * a), 5))

    def parts(z: Tensor) -> dict:
        g = a.T @ z
        monomials = list(itertools.islice(model.basis(z), 6))
        return {"P": monomials, **{(k, j): w[j][:, :k] @ g[:k] for k in ks for j in range(5)}}

    def combine(p: dict, s: tuple) -> Tensor:
        k, time_, weight = s
        out = torch.zeros_like(p["P"][0])
        for j in range(5):
            q = (-time_) ** j / math.factorial(j)
            out.add_(p["P"][j + 1], alpha=q).add_(p[(k, j)], alpha=weight * q)
        return out

    settings = list(itertools.product(ks, times, weights))
    run_grid(fit, users, lists, settings, parts, combine, "bspm")
    return [("bspm", *s) for s in settings]


CHEBYCF_POWERS = (0.3, 0.4, 0.5)


def tune_chebycf(fit, users, lists, powers: tuple[float, ...] = CHEBYCF_POWERS) -> list[tuple]:
    orders, flatness, ks, weights = (6, 8, 10), (1.0, 1.5, 2.0, 3.0), (512,), (0.1, 0.2, 0.3)
    keys = []
    for power in powers:
        model = ChebyCF(order=max(orders), k=max(ks), ideal_weight=1.0, power=power).fit(fit)
        a, b = (torch.from_numpy(f) for f in model.factors())
        pre, post = model.degree(-power), model.degree(power)

        def parts(z: Tensor) -> dict:
            g = a.T @ z
            basis = [block.mul(post) for block in itertools.islice(model.basis(pre * z), max(orders) + 1)]
            return {"T": basis, **{k: b[:, :k] @ g[:k] for k in ks}}

        def combine(p: dict, s: tuple) -> Tensor:
            order, phi, k, weight = s
            out = p[k] * weight
            for coefficient, block in zip(plateau_coefficients(order, phi), p["T"]):
                out.add_(block, alpha=float(coefficient))
            return out

        settings = list(itertools.product(orders, flatness, ks, weights))
        run_grid(fit, users, lists, settings, parts, combine, f"chebycf power={power}")
        keys += [(f"chebycf power={power}", *s) for s in settings]
    return keys


def tune_itemknn(fit, users, lists) -> list[tuple]:
    ns, shrinks, asymmetries = (50, 100, 200, 400, 1000), (0.0, 10.0, 50.0), (0.5, 0.3)
    keys = []
    for shrink, asymmetry in itertools.product(shrinks, asymmetries):
        model = ItemKNN(neighbours=max(ns), shrink=shrink, asymmetry=asymmetry).fit(fit)
        indices, weights = filters.top_neighbours(model, max(ns))
        for n in ns:
            kept = filters.neighbour_matrix(indices[:, :n], weights[:, :n])
            for chunk, _, mask in chunks(fit, users):
                scores = torch.from_numpy((filters.binary_csr(fit[chunk]) @ kept).toarray())
                scores[mask] = float("-inf")
                lists.add(("itemknn", n, shrink, asymmetry), chunk, scores)
            keys.append(("itemknn", n, shrink, asymmetry))
        print(f"  itemknn shrink={shrink} asymmetry={asymmetry} done", flush=True)
    return keys


FAMILIES = {"gfcf": (tune_gfcf, "k, ideal_weight"), "bspm": (tune_bspm, "k, sharpen_time, ideal_weight"),
            "chebycf": (tune_chebycf, "order, flatness, k, ideal_weight"),
            "itemknn": (tune_itemknn, "neighbours, shrink, asymmetry")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=10000, help="validation users evaluated (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chebycf-powers", type=float, nargs="+", default=CHEBYCF_POWERS,
                        help="degree-normalisation powers of ChebyCF's grid (one pass each)")
    parser.add_argument("--svd-cache", type=Path, help="a folder to keep SVDs in between runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no data at {args.data}")
        return 0
    torch.set_num_threads(args.threads)
    cache_svd(args.svd_cache)
    train, _ = read_split(args.data)
    fit, valid = holdout(train, args.fraction, args.seed)
    users = np.unique(valid.nonzero()[0])
    if 0 < args.users < users.size:
        users = np.sort(np.random.default_rng(args.seed).choice(users, args.users, replace=False))
    print(f"{args.data.name}: fit on {fit.nnz:,} interactions, validate on {valid[users].nnz:,} held-out items of "
          f"{users.size:,} users")
    results = {}
    for family in args.families:
        lists = TopLists(fit, valid, users)
        tune, names = FAMILIES[family]
        started = time.perf_counter()
        keys = tune(fit, users, lists, tuple(args.chebycf_powers)) if family == "chebycf" else tune(fit, users, lists)
        rows = sorted(((lists.metrics(key), key) for key in keys), key=lambda r: -r[0]["recall@20"])
        print(f"{family} ({time.perf_counter() - started:.0f} s): best first, setting = ({names})")
        for metrics, key in rows[:10]:
            print(f"  {metrics['recall@20']:.4f} {metrics['ndcg@20']:.4f}  {key}")
        results[family] = [{"setting": list(key), **metrics} for metrics, key in rows]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
