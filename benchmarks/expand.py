"""Expand a LightGCN-format dataset by a factor F with the fractal expansion (graphrec.fractal).

    .venv/bin/python benchmarks/expand.py SOURCE_DIR OUT_DIR --factor F [--seed S] [--plot PNG]

Writes OUT_DIR/train.txt, test.txt (the source's format: `graphrec load lightgcn OUT_DIR` reads them, `--bulk`
for large ones) and groupMember.txt (random groups of 2-10 users, 1 % of the users: `graphrec load groups
OUT_DIR` adds them), prints the counts beside the source's, the time and the peak memory. With `--plot`, draws
the user and item degree distributions of the source and of the expansion on log-log axes (complementary
cumulative: the share of users or items with degree >= d), e.g. docs/fractal-degrees.png for Gowalla at 1x
and 10x:

    .venv/bin/python benchmarks/expand.py ../shared/data/gowalla /tmp/gowalla-x10 --factor 10 \\
        --plot docs/fractal-degrees.png
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from graphrec.fractal import SPLITS, expand, read_interactions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--factor", type=float, required=True, help="interactions grow by F, users and items by ~sqrt F")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="write the degree distributions (source and expansion) here")
    args = parser.parse_args()
    if not (args.source / "train.txt").is_file():
        print(f"skipped: {args.source / 'train.txt'} is missing", file=sys.stderr)
        return 0
    started = time.perf_counter()
    result = expand(args.source, args.out, args.factor, seed=args.seed)
    seconds = time.perf_counter() - started
    source = read_interactions(args.source)
    before = {name: int((source.split == index).sum()) for index, name in enumerate(SPLITS)}
    print(f"source     : {source.shape[0]:>10,} users {source.shape[1]:>10,} items "
          + " ".join(f"{before[name]:>12,} {name}" for name in result.interactions))
    print(f"x{args.factor:<9g}: {result.users:>10,} users {result.items:>10,} items "
          + " ".join(f"{count:>12,} {name}" for name, count in result.interactions.items()))
    ratio = sum(result.interactions.values()) / max(sum(before.values()), 1)
    print(f"interactions x{ratio:.3f}; seed matrix (sums to F, entries <= 1):\n{np.round(result.seed_matrix, 3)}")
    print(f"{seconds:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    if args.plot:
        plot_degrees(source, read_interactions(args.out), args.factor, args.plot)
        print(f"wrote {args.plot}")
    return 0


def plot_degrees(source, expanded, factor: float, path: Path) -> None:  # noqa: ANN001 (Interactions)
    """Log-log complementary cumulative degree distributions of users and items, source beside expansion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, side in zip(axes, ("users", "items")):
        for data, label in ((source, "1x (source)"), (expanded, f"{factor:g}x (fractal)")):
            degree = np.bincount(getattr(data, side))
            degree = np.sort(degree[degree > 0])
            share = 1.0 - np.arange(len(degree)) / len(degree)
            axis.loglog(degree, share, label=f"{label}: {len(degree):,} {side}")
        axis.set_xlabel(f"{side[:-1]} degree d (train and test interactions)")
        axis.set_ylabel(f"share of {side} with degree >= d")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("Degree distributions before and after the fractal expansion")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
