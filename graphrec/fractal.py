r"""Scaled copies of a real interaction dataset: the fractal (randomised Kronecker) expansion.

Belletti et al., "Scalable Realistic Recommendation Datasets through Fractal Expansions" (arXiv 1901.08910),
the method behind MLPerf's recommendation data. With :math:`\mathbf{R}` the :math:`|U| \times |I|` interactions
(train and test together, each entry remembering its split) and a small *seed* matrix
:math:`\mathbf{L} \in [0, 1]^{a \times b}`, the expansion is the block matrix

.. math::
    \mathbf{E} = \begin{bmatrix} F(L_{11}, \mathbf{R}) & \cdots & F(L_{1b}, \mathbf{R}) \\
                 \vdots & & \vdots \\ F(L_{a1}, \mathbf{R}) & \cdots & F(L_{ab}, \mathbf{R}) \end{bmatrix},

where each block :math:`F(p, \mathbf{R})` is a copy of :math:`\mathbf{R}` with its rows and its columns
shuffled independently at random and each entry kept with probability :math:`p` (dropout :math:`1 - p`). So
:math:`\mathbf{E}` has :math:`a|U|` users, :math:`b|I|` items and, in expectation,
:math:`(\sum_{xy} L_{xy})\,\mathrm{nnz}(\mathbf{R})` interactions; every kept entry keeps the split of the
entry it copies (a test interaction stays a test interaction), so the paper protocol applies unchanged. An
expanded user's degree is a sum of :math:`b` thinned degrees of random original users (and likewise for
items), so the heavy tails of both degree distributions survive the expansion.

**Factor** :math:`F`: :math:`a = \mathrm{round}(\sqrt F)` block rows and :math:`b = \lceil F / a \rceil` block
columns (users and items each grow by about :math:`\sqrt F`: :func:`seed_shape`), and :math:`\mathbf{L}` is
scaled to sum to :math:`F` (interactions grow by :math:`F`), so the density is :math:`F / (ab)` times the
original: 1 at 4, 9, 30 or 100, 0.75 at 3, 0.83 at 10.

**Seed** :math:`\mathbf{L}` (:func:`seed_matrix`), as in the paper: the rank-:math:`\min(a, b)` truncated SVD of
:math:`\mathbf{R}`, :math:`\mathbf{U}_k \boldsymbol\Sigma_k \mathbf{V}_k^\top`, with the singular vectors
*resized* to :math:`a` and :math:`b` rows by averaging over equal runs of users (items) ordered by degree; the
result, negative entries set to 0, is scaled to sum :math:`F` with no entry above 1 (what the cap takes is
spread over the other entries). Denser regions of :math:`\mathbf{R}` thus make denser blocks of
:math:`\mathbf{E}`.

Seeded (:class:`numpy.random.Generator` from `seed`), and written block-row by block-row: memory is one block
row of :math:`\mathbf{E}` (about :math:`F \cdot \mathrm{nnz} / a` entries), time is linear in the output.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from graphrec.load.text_formats import LIGHTGCN_SPLITS, read_lightgcn

SPLITS = tuple(LIGHTGCN_SPLITS.values())
"""The splits of a LightGCN folder (`train.txt`, `valid.txt`, `test.txt`), in that order; an expansion writes the
files of those its source has."""


@dataclass(frozen=True)
class Interactions:
    """Interactions as parallel arrays: `users`, `items` (int64 ids) and `split` (index into `SPLITS`)."""

    users: np.ndarray
    items: np.ndarray
    split: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(users, items): one more than the largest id of each (ids are 0-based)."""
        return (int(self.users.max(initial=-1)) + 1, int(self.items.max(initial=-1)) + 1)

    def matrix(self) -> sp.csr_matrix:
        """The binary |U| x |I| matrix of every interaction, train and test."""
        ones = np.ones(len(self.users), dtype=np.float64)
        matrix = sp.csr_matrix((ones, (self.users, self.items)), shape=self.shape)
        matrix.data[:] = 1.0
        return matrix


def read_interactions(directory: str | Path) -> Interactions:
    """The interactions of a LightGCN-format folder, read and checked by graphrec's loader
    (`graphrec.load.text_formats.read_lightgcn`: a bad line is an error naming the file, line and field): its
    train interactions (a pair repeated in train.txt once) and every valid and test case."""
    dataset = read_lightgcn(directory)
    train, cases = dataset.user_interactions, dataset.user_cases
    split = np.concatenate([np.zeros(len(train), dtype=np.int8),
                            cases["split"].map({name: index for index, name in enumerate(SPLITS)}).to_numpy(np.int8)])
    return Interactions(np.concatenate([train["source"].to_numpy(np.int64), cases["source"].to_numpy(np.int64)]),
                        np.concatenate([train["item"].to_numpy(np.int64), cases["item"].to_numpy(np.int64)]), split)


def seed_shape(factor: float) -> tuple[int, int]:
    r"""(a, b) = (round(sqrt F), ceil(F / a)): the blocks per column and per row of an expansion by `factor`
    (>= 1); a * b >= F, so a seed with entries in [0, 1] can sum to F."""
    if not factor >= 1:
        raise ValueError(f"the factor must be at least 1, not {factor}")
    rows = max(1, round(math.sqrt(factor)))
    return rows, math.ceil(factor / rows - 1e-9)


def seed_matrix(matrix: sp.csr_matrix, rows: int, cols: int, total: float) -> np.ndarray:
    """The seed L (module docstring): `rows` x `cols`, entries in [0, 1], summing to `total` (at most
    rows * cols)."""
    if not 0 < total <= rows * cols:
        raise ValueError(f"a {rows}x{cols} seed with entries in [0, 1] cannot sum to {total}")
    if rows * cols == total:
        return np.ones((rows, cols))
    k = min(rows, cols, min(matrix.shape) - 1)
    if k >= 1:
        u, s, vt = svds(matrix.astype(np.float64), k=k, random_state=0)
        low = _resized(u, matrix.getnnz(axis=1), rows) @ np.diag(s) @ _resized(vt.T, matrix.getnnz(axis=0), cols).T
        # svds' signs are arbitrary per component; the product is not, but a component may flip the whole
        # seed's sign, whose mass is positive for a non-negative matrix.
        low = low if low.sum() >= 0 else -low
        low = np.maximum(low, 0.0)
    else:
        low = np.ones((rows, cols))
    if low.sum() <= 0:
        low = np.ones((rows, cols))
    return _capped_scale(low, total)


def _resized(vectors: np.ndarray, degree: np.ndarray, size: int) -> np.ndarray:
    """`vectors` (n x k) averaged over `size` equal runs of their rows ordered by decreasing `degree`."""
    order = np.argsort(-degree, kind="stable")
    runs = np.array_split(order, size)
    return np.stack([vectors[run].mean(axis=0) if len(run) else np.zeros(vectors.shape[1]) for run in runs])


def _capped_scale(values: np.ndarray, total: float) -> np.ndarray:
    """`values` (>= 0) scaled to sum to `total` with no entry above 1; the excess of capped entries is spread
    over the others in proportion to their values (uniformly when those are all 0)."""
    out = np.zeros_like(values, dtype=np.float64)
    free = np.ones(values.shape, dtype=bool)
    left = float(total)
    while True:
        weights = np.where(free, values, 0.0)
        if weights.sum() <= 0:
            weights = free.astype(np.float64)
        scaled = left * weights / weights.sum()
        over = free & (scaled > 1.0)
        if not over.any():
            out[free] = scaled[free]
            return out
        out[over] = 1.0
        free &= ~over
        left -= float(over.sum())


@dataclass(frozen=True)
class Expansion:
    """What :func:`expand` wrote: the counts of the output and the seed used."""

    users: int
    items: int
    interactions: dict[str, int]
    seed_matrix: np.ndarray


def expand_blocks(data: Interactions, seed_l: np.ndarray, seed: int = 0) -> Iterator[Interactions]:
    """The expansion of `data` by the seed matrix `seed_l` (a x b), one block row at a time (module docstring);
    block row x holds the users x * |U| ... (x + 1) * |U| - 1."""
    num_users, num_items = data.shape
    rng = np.random.default_rng(seed)
    for x in range(seed_l.shape[0]):
        parts = []
        for y in range(seed_l.shape[1]):
            keep = rng.random(len(data.users)) < seed_l[x, y]
            rows, cols = rng.permutation(num_users), rng.permutation(num_items)
            parts.append(Interactions(x * num_users + rows[data.users[keep]], y * num_items + cols[data.items[keep]],
                                      data.split[keep]))
        yield Interactions(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("users", "items", "split")))


def expand(source: str | Path, target: str | Path, factor: float, seed: int = 0,
           group_share: float = 0.01, group_sizes: tuple[int, int] = (2, 10)) -> Expansion:
    """Expand the LightGCN folder `source` by `factor` into the folder `target` (created; its `train.txt`,
    `test.txt` and `groupMember.txt` are replaced).

    Writes `train.txt`, and `valid.txt` and `test.txt` when the source has those splits (`uid iid iid ...`, users in increasing order, items in increasing
    order on a line) and `groupMember.txt` (`<group> <user>,<user>,...`: `group_share` of the users, rounded,
    in random groups of `group_sizes[0]` to `group_sizes[1]` distinct users each, drawn from the users with a
    train interaction), readable by `graphrec load lightgcn` and `graphrec load groups`. Every random choice
    follows `seed`.
    """
    data = read_interactions(source)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    rows, cols = seed_shape(factor)
    num_users, num_items = data.shape
    counts = dict.fromkeys(SPLITS, 0)
    seed_l = seed_matrix(data.matrix(), rows, cols, factor)
    active: list[np.ndarray] = []
    files = {name: open(target / f"{name}.txt.partial", "w") for name in SPLITS}
    try:
        for block in expand_blocks(data, seed_l, seed):
            for index, name in enumerate(SPLITS):
                chosen = block.split == index
                counts[name] += int(chosen.sum())
                _write_lines(files[name], block.users[chosen], block.items[chosen])
                if name == "train":
                    active.append(np.unique(block.users[chosen]))
    finally:
        for handle in files.values():
            handle.close()
    for name in SPLITS:
        partial = target / f"{name}.txt.partial"
        if counts[name] or name == "train":
            partial.replace(target / f"{name}.txt")
        else:
            partial.unlink()
    users = np.concatenate(active) if active else np.zeros(0, np.int64)
    _write_groups(target / "groupMember.txt", users, group_share, group_sizes, seed)
    return Expansion(rows * num_users, cols * num_items,
                     {name: n for name, n in counts.items() if n or name == "train"}, seed_l)


def _write_lines(handle, users: np.ndarray, items: np.ndarray) -> None:  # noqa: ANN001 (a text file)
    """`uid iid iid ...` lines for the pairs (users, items), users and items in increasing order."""
    if not len(users):
        return
    order = np.lexsort((items, users))
    users, items = users[order], items[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    text = items.astype(str)
    handle.write("".join(f"{users[a]} {' '.join(text[a:b])}\n" for a, b in zip(starts, ends)))


def _write_groups(path: Path, users: np.ndarray, share: float, sizes: tuple[int, int], seed: int) -> None:
    """`groupMember.txt`: round(share * len(users)) groups of sizes[0]..sizes[1] distinct users."""
    rng = np.random.default_rng([seed, 1])
    low, high = sizes
    count = int(round(share * len(users))) if len(users) >= low else 0
    lines = []
    for group in range(count):
        members = np.sort(rng.choice(users, size=min(int(rng.integers(low, high + 1)), len(users)), replace=False))
        lines.append(f"{group} {','.join(map(str, members.tolist()))}\n")
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(lines))
    partial.replace(path)
