r"""Graph-filter recommenders (training free) on the normalised interaction matrix.

With :math:`\mathbf{R}` the binary :math:`|U| \times |I|` train interactions and :math:`\mathbf{D}_U`,
:math:`\mathbf{D}_I` its user and item degrees,

.. math::
    \tilde{\mathbf{R}} = \mathbf{D}_U^{-1/2} \mathbf{R} \mathbf{D}_I^{-1/2}
    = \mathbf{U} \boldsymbol{\Sigma} \mathbf{V}^\top,
    \qquad
    \mathbf{P} = \tilde{\mathbf{R}}^\top \tilde{\mathbf{R}}
    = \mathbf{V} \boldsymbol{\Sigma}^2 \mathbf{V}^\top,

:math:`\mathbf{P}` the normalised item-item graph (eigenvalues :math:`\lambda \in [0, 1]`), :math:`\mathbf{V}_k`
the top-:math:`k` right singular vectors of :math:`\tilde{\mathbf{R}}` (zero-degree rows and columns stay
zero: their :math:`d^{-1/2}` and :math:`d^{\pm\beta}` are taken as 0).

Every model here keeps the item–item contract of `graphrec.model.item_item`,
:math:`s(\mathbf{r}) = \mathbf{r} \mathbf{S} + (\mathbf{r} \mathbf{A}) \mathbf{B}^\top`.

The filters (:class:`GFCF`, :class:`BSPM`, :class:`ChebyCF`) are
:math:`\mathbf{S} = \mathbf{D}_I^{-\beta} h(\mathbf{P}) \mathbf{D}_I^{\beta}` for a polynomial :math:`h` (the
filter's frequency :meth:`~SpectralFilter.response`) plus an ideal low-pass part of rank :math:`k` in
:math:`\mathbf{A}, \mathbf{B}`. With :obj:`split = m`, the top-:math:`m` spectral components of
:math:`\mathbf{S}`, :math:`\mathbf{D}_I^{-\beta} \mathbf{V}_m h(\boldsymbol{\Sigma}_m^2) \mathbf{V}_m^\top
\mathbf{D}_I^{\beta}`, move from :math:`\mathbf{S}` into :math:`\mathbf{A}, \mathbf{B}` (the scores are
unchanged; what a truncated :math:`\mathbf{S}` loses changes).
"""
from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import svds
from torch import Tensor

from graphrec.model.item_item import ItemItemModel, binary_csr, checked_rows, degree_power, interaction_columns
from graphrec.model.lightgcn import _spmm


def normalized_interactions(interactions: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    r"""Returns :math:`\tilde{\mathbf{R}} = \mathbf{D}_U^{-1/2} \mathbf{R} \mathbf{D}_I^{-1/2}` (``float64``
    CSR) and the item degrees :math:`\mathbf{d}_I` of the binary :obj:`interactions`."""
    user_degree = np.asarray(interactions.sum(axis=1)).ravel()
    item_degree = np.asarray(interactions.sum(axis=0)).ravel()
    normalized = sp.diags(degree_power(user_degree, -0.5)) @ interactions.astype(np.float64)
    return sp.csr_matrix(normalized @ sp.diags(degree_power(item_degree, -0.5))), item_degree


SVD_SOLVERS = ("propack", "randomized")
DENSE_SVD_MAX_ENTRIES = 25_000_000  # a dense float64 copy of at most 200 MB


def top_singular_vectors(matrix: sp.csr_matrix, k: int, seed: int = 0,
                         solver: str = "propack") -> tuple[np.ndarray, np.ndarray]:
    r"""The :math:`k` largest singular values (descending, ``float64``) of a sparse matrix and their right
    singular vectors as the columns of an :math:`n \times k` ``float64`` array.

    :obj:`solver` ``"propack"``: :func:`scipy.sparse.linalg.svds` with PROPACK (converged Lanczos
    bidiagonalisation, start vector seeded by :obj:`seed`). ``"randomized"``: :func:`torch.svd_lowrank` (Halko
    et al., 2011) in ``float32`` with :math:`k + \max(k/4, 32)` columns and 4 power iterations, seeded: about
    5x faster on Gowalla at :math:`k = 512`, but its trailing vectors are only approximate. Either way, a matrix
    of at most :data:`DENSE_SVD_MAX_ENTRIES` entries gets the exact dense SVD (:func:`numpy.linalg.svd`): PROPACK
    may not converge on small or very sparse matrices (a group benchmark's), and dense is exact and fast there.
    """
    if not 0 < k < min(matrix.shape):
        raise ValueError(f"k must be in [1, {min(matrix.shape) - 1}] for a {matrix.shape} matrix, got {k}")
    if solver not in SVD_SOLVERS:
        raise ValueError(f"unknown SVD solver {solver!r}; expected one of {SVD_SOLVERS}")
    if matrix.shape[0] * matrix.shape[1] <= DENSE_SVD_MAX_ENTRIES:
        _, sigma, vt = np.linalg.svd(matrix.toarray().astype(np.float64), full_matrices=False)
        sigma, vectors = sigma[:k], vt[:k].T
    elif solver == "propack":
        _, sigma, vt = svds(matrix, k=k, solver="propack", random_state=seed)
        vectors = vt.T
    elif solver == "randomized":
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            _, sigma, vectors = torch.svd_lowrank(_csr_tensor(matrix), q=min(k + max(k // 4, 32), min(matrix.shape)),
                                                  niter=4)
        sigma, vectors = sigma[:k].double().numpy(), vectors[:, :k].double().numpy()
    order = np.argsort(-sigma, kind="stable")
    return sigma[order], vectors[:, order]


def _csr_tensor(matrix: sp.csr_matrix) -> Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)), torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)), matrix.shape, check_invariants=False,
        )


class SpectralFilter(ItemItemModel):
    r"""A polynomial graph filter plus an ideal low-pass part:

    .. math::
        s(\mathbf{r}) = \mathbf{r}\mathbf{D}_I^{-\beta} h(\mathbf{P}) \mathbf{D}_I^{\beta}
        + (\mathbf{r}\mathbf{A})\mathbf{B}^\top,
        \qquad h(\mathbf{P}) = \sum_t c_t\, b_t(\mathbf{P})

    in a polynomial basis :math:`b_t` (:meth:`basis`, :attr:`coefficients`); :math:`\beta` is :attr:`power`.
    Subclasses give the basis, the coefficients, :math:`\beta`, :meth:`response` and the ideal factors
    (from :math:`\mathbf{V}_k`). With :obj:`split = m > 0` the top-:math:`m` spectral components of
    :math:`\mathbf{S}` move into the factors:
    :math:`\mathbf{S} \leftarrow \mathbf{S} - \mathbf{D}_I^{-\beta} \mathbf{V}_m h(\boldsymbol{\Sigma}_m^2)
    \mathbf{V}_m^\top \mathbf{D}_I^{\beta}`,
    :math:`\mathbf{A} \leftarrow [\mathbf{A}, \mathbf{D}_I^{-\beta}\mathbf{V}_m]`,
    :math:`\mathbf{B} \leftarrow [\mathbf{B}, \mathbf{D}_I^{\beta}\mathbf{V}_m h(\boldsymbol{\Sigma}_m^2)]`.

    Args:
        k (int): Singular vectors of the ideal low-pass part (0: none, no SVD unless :obj:`split`).
        split (int): Top spectral components of :math:`\mathbf{S}` moved into the factors.
        seed (int): Seed of the SVD.
        svd (str): The SVD solver, one of :data:`SVD_SOLVERS` (see :func:`top_singular_vectors`).
    """

    power: float = 0.0
    coefficients: np.ndarray

    def __init__(self, k: int, split: int, seed: int, svd: str) -> None:
        if k < 0 or split < 0:
            raise ValueError("k and split must be >= 0")
        if svd not in SVD_SOLVERS:
            raise ValueError(f"unknown SVD solver {svd!r}; expected one of {SVD_SOLVERS}")
        self.k, self.split, self.seed, self.svd = k, split, seed, svd

    @abstractmethod
    def basis(self, columns: Tensor) -> Iterator[Tensor]:
        r"""Yields :math:`b_t(\mathbf{P})\mathbf{Z}` for :math:`t = 0, 1, \dots` (without end; each a new
        tensor, :math:`\mathbf{Z}` itself first)."""

    @abstractmethod
    def response(self, eigenvalues: np.ndarray) -> np.ndarray:
        r""":math:`h(\lambda)` at eigenvalues :math:`\lambda \in [0, 1]` of :math:`\mathbf{P}`."""

    @abstractmethod
    def _ideal(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        r"""The ideal low-pass factors :math:`(\mathbf{A}, \mathbf{B})` from :math:`\mathbf{V}_k`."""

    def fit(self, interactions: sp.spmatrix | sp.sparray) -> SpectralFilter:
        interactions = binary_csr(interactions)
        self.num_items = interactions.shape[1]
        normalized, self.item_degree = normalized_interactions(interactions)
        self._normalized, self._by_item = normalized, None
        self._norm = _csr_tensor(normalized)
        self._norm_t = _csr_tensor(sp.csr_matrix(normalized.T))
        rank = max(self.k, self.split)
        sigma, vectors = top_singular_vectors(normalized, rank, self.seed, self.svd) if rank else (np.zeros(0), None)
        self.singular_values = sigma
        vectors = torch.zeros(self.num_items, 0) if vectors is None else torch.from_numpy(vectors.astype(np.float32))
        self._ideal_a, self._ideal_b = (f.contiguous() for f in self._ideal(vectors[:, : self.k]))
        gain = torch.from_numpy(self.response(sigma[: self.split] ** 2).astype(np.float32))
        self._split_a = (self.degree(-self.power) * vectors[:, : self.split]).contiguous()
        self._split_b = (self.degree(self.power) * vectors[:, : self.split] * gain).contiguous()
        return self

    def degree(self, power: float) -> Tensor:
        r""":math:`\mathbf{d}_I^{p}` as a ``float32`` :math:`|I| \times 1` column (0 for unseen items)."""
        return torch.from_numpy(degree_power(self.item_degree, power).astype(np.float32)).unsqueeze(1)

    def propagate(self, columns: Tensor) -> Tensor:
        r""":math:`\mathbf{P}\mathbf{Z} = \tilde{\mathbf{R}}^\top (\tilde{\mathbf{R}} \mathbf{Z})`."""
        return _spmm(self._norm_t, _spmm(self._norm, columns))

    def polynomial(self, columns: Tensor, coefficients: Sequence[float] | None = None) -> Tensor:
        r""":math:`\sum_t c_t\, b_t(\mathbf{P})\mathbf{Z}` (:math:`c` = :attr:`coefficients` unless given)."""
        coefficients = self.coefficients if coefficients is None else coefficients
        out = torch.zeros_like(columns)
        for coefficient, block in zip(coefficients, self.basis(columns)):
            if coefficient:
                out.add_(block, alpha=float(coefficient))
        return out

    def _filtered_rows(self, columns: Tensor) -> Tensor:
        r""":math:`\mathbf{X}\mathbf{D}_I^{-\beta} h(\mathbf{P}) \mathbf{D}_I^{\beta}` (:math:`b \times |I|`,
        contiguous) for :math:`\mathbf{Z} = \mathbf{X}^\top`: the operator before any split."""
        out = self.polynomial(self.degree(-self.power) * columns).mul_(self.degree(self.power))
        return out.T.contiguous()

    def scores(self, rows: sp.spmatrix | sp.sparray) -> np.ndarray:
        # The split cancels out of the exact scores; r A is a product with the sparse rows.
        rows = checked_rows(rows, self.num_items)
        out = self._filtered_rows(interaction_columns(rows, self.num_items))
        out.addmm_(torch.from_numpy(rows @ self._ideal_a.numpy()), self._ideal_b.T)
        return out.numpy()

    def item_rows(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        columns = torch.zeros(self.num_items, items.size)
        columns[torch.from_numpy(items), torch.arange(items.size)] = 1.0
        out = self._filtered_rows(columns)
        out.addmm_(self._split_a[torch.from_numpy(items)], self._split_b.T, alpha=-1.0)
        return out.numpy()

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`(\mathbf{A}, \mathbf{B})`: the ideal part's columns, then the split's; where the two share
        :math:`\mathbf{A}` (ChebyCF with :obj:`split = k`: both :math:`\mathbf{D}_I^{-\beta}\mathbf{V}_k`),
        one set of :math:`k` columns with the two :math:`\mathbf{B}` summed (the same scores, half the width)."""
        if self.split == self.k and torch.equal(self._ideal_a, self._split_a):
            return self._ideal_a.numpy(), (self._ideal_b + self._split_b).numpy()
        return (torch.cat([self._ideal_a, self._split_a], 1).numpy(),
                torch.cat([self._ideal_b, self._split_b], 1).numpy())


def _monomials(model: SpectralFilter, columns: Tensor) -> Iterator[Tensor]:
    r"""Yields :math:`\mathbf{P}^t \mathbf{Z}` for :math:`t = 0, 1, \dots` (as many as asked for)."""
    block = columns
    while True:
        yield block
        block = model.propagate(block)


class GFCF(SpectralFilter):
    r"""GF-CF (Shen et al., "How Powerful is Graph Convolution for Recommendation?", CIKM 2021): the linear
    filter plus an ideal low-pass filter,

    .. math::
        s(\mathbf{r}) = \mathbf{r}\mathbf{P}
        + \alpha\, \mathbf{r}\mathbf{D}_I^{-1/2}\mathbf{V}_k\mathbf{V}_k^\top\mathbf{D}_I^{1/2},

    i.e. :math:`h(\lambda) = \lambda`, :math:`\beta = 0`, :math:`\mathbf{A} = \mathbf{D}_I^{-1/2}\mathbf{V}_k`,
    :math:`\mathbf{B} = \alpha\mathbf{D}_I^{1/2}\mathbf{V}_k`. The official code (yshenaw/GF_CF) with
    :math:`k = 256`, :math:`\alpha = 0.3` gives Recall@20 0.1849, NDCG@20 0.1518 on Gowalla.

    Args:
        k (int, optional): Singular vectors :math:`k`. (default: :obj:`256`)
        ideal_weight (float, optional): :math:`\alpha`. (default: :obj:`0.3`)
        split (int, optional): See :class:`SpectralFilter`. (default: :obj:`0`)
        seed (int, optional): Seed of the SVD. (default: :obj:`0`)
        svd (str, optional): SVD solver (:func:`top_singular_vectors`). (default: :obj:`"propack"`)
    """

    def __init__(self, k: int = 256, ideal_weight: float = 0.3, split: int = 0, seed: int = 0,
                 svd: str = "propack") -> None:
        super().__init__(k, split, seed, svd)
        self.ideal_weight = ideal_weight
        self.coefficients = np.array([0.0, 1.0])

    def basis(self, columns: Tensor) -> Iterator[Tensor]:
        return _monomials(self, columns)

    def response(self, eigenvalues: np.ndarray) -> np.ndarray:
        return np.asarray(eigenvalues, dtype=np.float64)

    def _ideal(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        return self.degree(-0.5) * vectors, self.ideal_weight * self.degree(0.5) * vectors

    def sparse_rows(self, items: np.ndarray) -> sp.csr_matrix | None:
        r"""Rows of :math:`\mathbf{S} = \mathbf{P} = \tilde{\mathbf{R}}^\top\tilde{\mathbf{R}}` by a
        sparse-sparse product (cost: the co-occurring pairs of the items); None with a split (then
        :math:`\mathbf{S}` is dense)."""
        if self.split:
            return None
        if self._by_item is None:
            self._by_item = sp.csr_matrix(self._normalized.T)
        return sp.csr_matrix(self._by_item[np.asarray(items, dtype=np.int64)] @ self._normalized)

    def __repr__(self) -> str:
        return f"GFCF(k={self.k}, ideal_weight={self.ideal_weight}, split={self.split})"


def exp_taylor4(x: np.ndarray | float) -> np.ndarray | float:
    r""":math:`p_4(x) = 1 + x + x^2/2 + x^3/6 + x^4/24`: one classical (or 3/8-rule) Runge-Kutta-4 step of
    :math:`\dot{y} = x y` over unit time."""
    return 1 + x + x**2 / 2 + x**3 / 6 + x**4 / 24


class BSPM(SpectralFilter):
    r"""BSPM-EM (Choi et al., "Blurring-Sharpening Process Models for Collaborative Filtering", SIGIR 2023)
    in its Gowalla configuration: one Euler step of blurring (:math:`\mathbf{r}\mathbf{P}`) and of the ideal
    low-pass filter merged early, then one RK4 step of sharpening
    :math:`\dot{\mathbf{y}} = -\mathbf{y}\mathbf{P}` over time :math:`T`,

    .. math::
        s(\mathbf{r}) = \bigl(\mathbf{r}\mathbf{P}
        + \beta\, \mathbf{r}\mathbf{D}_I^{-1/2}\mathbf{V}_k\mathbf{V}_k^\top\mathbf{D}_I^{1/2}\bigr)\,
        p_4(-T\mathbf{P})

    (:func:`exp_taylor4`: an RK4 step of a linear ODE is exactly :math:`p_4`), i.e.
    :math:`h(\lambda) = \lambda\, p_4(-T\lambda)` (degree 5), :math:`\mathbf{A} = \mathbf{D}_I^{-1/2}\mathbf{V}_k`,
    :math:`\mathbf{B} = \beta\, p_4(-T\mathbf{P})\mathbf{D}_I^{1/2}\mathbf{V}_k`. The official settings
    (jeongwhanchoi/BSPM: :math:`k = 448`, :math:`\beta = 0.2`, :math:`T = 2.5`, ``rk4``, one step) give
    Recall@20 0.1920, NDCG@20 0.1597 on Gowalla.

    Args:
        k (int, optional): Singular vectors :math:`k`. (default: :obj:`448`)
        ideal_weight (float, optional): :math:`\beta` (``idl_beta``). (default: :obj:`0.2`)
        sharpen_time (float, optional): :math:`T` (``T_s``). (default: :obj:`2.5`)
        split (int, optional): See :class:`SpectralFilter`. (default: :obj:`0`)
        seed (int, optional): Seed of the SVD. (default: :obj:`0`)
        svd (str, optional): SVD solver (:func:`top_singular_vectors`). (default: :obj:`"propack"`)
    """

    def __init__(self, k: int = 448, ideal_weight: float = 0.2, sharpen_time: float = 2.5, split: int = 0,
                 seed: int = 0, svd: str = "propack") -> None:
        super().__init__(k, split, seed, svd)
        self.ideal_weight, self.sharpen_time = ideal_weight, sharpen_time
        self.sharpen = np.array([(-sharpen_time) ** t / math.factorial(t) for t in range(5)])
        self.coefficients = np.concatenate([[0.0], self.sharpen])

    def basis(self, columns: Tensor) -> Iterator[Tensor]:
        return _monomials(self, columns)

    def response(self, eigenvalues: np.ndarray) -> np.ndarray:
        eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
        return eigenvalues * exp_taylor4(-self.sharpen_time * eigenvalues)

    def _ideal(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        b = self.polynomial(self.degree(0.5) * vectors, self.sharpen)
        return self.degree(-0.5) * vectors, self.ideal_weight * b

    def __repr__(self) -> str:
        return (f"BSPM(k={self.k}, ideal_weight={self.ideal_weight}, sharpen_time={self.sharpen_time}, "
                f"split={self.split})")


def plateau_coefficients(order: int, flatness: float) -> np.ndarray:
    r"""ChebyCF's Chebyshev coefficients :math:`c_0, \dots, c_K` (:math:`K` = :obj:`order`) of the plateau
    low-pass filter, computed as the official code (chanwoo0806/ChebyCF) does: targets
    :math:`y_j = \tfrac12 \mp \tfrac12 |x_j|^{\phi}` (:math:`-` for :math:`x_j \ge 0`) at
    :math:`x_j = \cos(\pi (K - j)/K)`, :math:`j = 0..K` (both rounded to 3 decimals), paired in order with the
    Chebyshev nodes :math:`\xi_j = \cos(\pi (K + 1.5 - j)/(K + 1))`, :math:`j = 1..K+1`, and
    :math:`c_t = \frac{2}{K+1} \sum_j y_j T_t(\xi_j)`, :math:`c_0` halved. The targets are computed in
    ``float32`` as there, so that their rounding matches."""
    single = np.float32
    x = np.round(np.cos((order - np.arange(order + 1, dtype=single)) / single(order) * single(np.pi)), 3)
    magnitude = np.abs(x) ** single(flatness)
    target = np.round(np.where(x < 0, magnitude * single(0.5) + single(0.5), magnitude * single(-0.5) + single(0.5)), 3)
    nodes = np.cos((order + 1.5 - np.arange(1, order + 2)) / (order + 1) * np.pi)
    coefficients = np.polynomial.chebyshev.chebvander(nodes, order).T @ target.astype(np.float64) * (2 / (order + 1))
    coefficients[0] /= 2
    return coefficients


class ChebyCF(SpectralFilter):
    r"""ChebyCF (Kim et al., "Graph Spectral Filtering with Chebyshev Interpolation for Recommendation",
    SIGIR 2025): a Chebyshev interpolant of a plateau low-pass filter on the rescaled Laplacian
    :math:`\tilde{\mathbf{L}} = \mathbf{I} - 2\mathbf{P}`, an ideal low-pass filter and degree normalisation,

    .. math::
        s(\mathbf{r}) = \mathbf{r}\mathbf{D}_I^{-\beta} \Bigl(\sum_{t=0}^{K} c_t T_t(\tilde{\mathbf{L}})
        + \alpha \mathbf{V}_k \mathbf{V}_k^\top\Bigr) \mathbf{D}_I^{\beta}

    (:math:`T_t` Chebyshev polynomials, :math:`c_t` from :func:`plateau_coefficients`), i.e.
    :math:`h(\lambda) = \sum_t c_t T_t(1 - 2\lambda)`, :math:`\mathbf{A} = \mathbf{D}_I^{-\beta}\mathbf{V}_k`,
    :math:`\mathbf{B} = \alpha\mathbf{D}_I^{\beta}\mathbf{V}_k`. The official Gowalla configuration
    (:math:`K = 8`, :math:`\phi = 1.5`, :math:`k = 512`, :math:`\alpha = 0.2`, :math:`\beta = 0.4`) reports
    Recall@20 0.1941, NDCG@20 0.1616.

    Args:
        order (int, optional): :math:`K` (:math:`K` products with :math:`\mathbf{P}` per block).
            (default: :obj:`8`)
        flatness (float, optional): :math:`\phi` of the plateau. (default: :obj:`1.5`)
        k (int, optional): Singular vectors :math:`k` (``eta``). (default: :obj:`512`)
        ideal_weight (float, optional): :math:`\alpha`. (default: :obj:`0.2`)
        power (float, optional): :math:`\beta` of the degree normalisation. (default: :obj:`0.4`)
        split (int, optional): See :class:`SpectralFilter`. (default: :obj:`0`)
        seed (int, optional): Seed of the SVD. (default: :obj:`0`)
        svd (str, optional): SVD solver (:func:`top_singular_vectors`). (default: :obj:`"propack"`)
    """

    def __init__(self, order: int = 8, flatness: float = 1.5, k: int = 512, ideal_weight: float = 0.2,
                 power: float = 0.4, split: int = 0, seed: int = 0,
                 svd: str = "propack") -> None:
        if order < 1:
            raise ValueError("order must be >= 1")
        super().__init__(k, split, seed, svd)
        self.order, self.flatness, self.ideal_weight, self.power = order, flatness, ideal_weight, power
        self.coefficients = plateau_coefficients(order, flatness)

    def basis(self, columns: Tensor) -> Iterator[Tensor]:
        r"""Yields :math:`T_t(\tilde{\mathbf{L}})\mathbf{Z}`: :math:`T_0 = \mathbf{Z}`,
        :math:`T_1 = \tilde{\mathbf{L}}\mathbf{Z}`, :math:`T_{t+1} = 2\tilde{\mathbf{L}}T_t - T_{t-1}`."""
        previous, current = None, columns
        while True:
            yield current
            laplacian = current - 2 * self.propagate(current)
            previous, current = current, laplacian if previous is None else laplacian.mul_(2).sub_(previous)

    def response(self, eigenvalues: np.ndarray) -> np.ndarray:
        return np.polynomial.chebyshev.chebval(1 - 2 * np.asarray(eigenvalues, dtype=np.float64),
                                               self.coefficients)

    def _ideal(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        return self.degree(-self.power) * vectors, self.ideal_weight * self.degree(self.power) * vectors

    def __repr__(self) -> str:
        return (f"ChebyCF(order={self.order}, flatness={self.flatness}, k={self.k}, "
                f"ideal_weight={self.ideal_weight}, power={self.power}, split={self.split})")


def spectral_embeddings(
    num_users: int,
    num_items: int,
    user_index: Tensor,
    item_index: Tensor,
    embedding_dim: int = 64,
    power: float = 0.5,
    std: float = 0.1,
    seed: int = 0,
) -> Tensor:
    r"""Layer-0 embeddings of :class:`~graphrec.model.lightgcn.LightGCN` from the spectrum of the interaction graph, users first: with
    :math:`\tilde{\mathbf{R}} = \mathbf{D}_U^{-1/2}\mathbf{R}\mathbf{D}_I^{-1/2} \approx \mathbf{U}_d
    \boldsymbol{\Sigma}_d \mathbf{V}_d^\top` (top :math:`d` = :obj:`embedding_dim` singular triplets),

    .. math::
        \mathbf{X}^{(0)} = c \begin{pmatrix} \mathbf{U}_d \boldsymbol{\Sigma}_d^{p} \\
        \mathbf{V}_d \boldsymbol{\Sigma}_d^{p} \end{pmatrix},

    :math:`c` such that the entries' root mean square is :obj:`std`. :math:`[\mathbf{U}_d; \mathbf{V}_d]` are
    eigenvectors of :math:`\hat{\mathbf{A}}` (:math:`\hat{\mathbf{A}} [\mathbf{u}; \mathbf{v}] = \sigma
    [\mathbf{u}; \mathbf{v}]`), so an untrained LightGCN so initialised already scores
    :math:`c^2 \mathbf{U}_d\, f(\boldsymbol{\Sigma}_d)^2 \boldsymbol{\Sigma}_d^{2p} \mathbf{V}_d^\top` with
    :math:`f(\sigma) = \sum_l \alpha_l \sigma^l`: a low-pass graph filter that training then refines.
    Computed with the randomized solver of :func:`top_singular_vectors`.

    Args:
        num_users (int), num_items (int), user_index (torch.Tensor), item_index (torch.Tensor): The graph, as
            for :func:`~graphrec.model.lightgcn.normalized_adjacency`.
        embedding_dim (int, optional): :math:`d`. (default: :obj:`64`)
        power (float, optional): :math:`p`. (default: :obj:`0.5`)
        std (float, optional): Root mean square of the entries; the official LightGCN code draws its
            initial embeddings with standard deviation 0.1. (default: :obj:`0.1`)
        seed (int, optional): Seed of the SVD. (default: :obj:`0`)
    """
    interactions = binary_csr(sp.csr_matrix(
        (np.ones(user_index.numel(), dtype=np.float32), (user_index.numpy(), item_index.numpy())),
        shape=(num_users, num_items)))
    normalized, _ = normalized_interactions(interactions)
    sigma, vectors = top_singular_vectors(normalized, embedding_dim, seed, "randomized")
    users = normalized @ vectors / sigma
    weights = np.vstack([users, vectors]) * sigma**power
    weights *= std / np.sqrt(np.mean(weights**2))
    return torch.from_numpy(weights.astype(np.float32))
