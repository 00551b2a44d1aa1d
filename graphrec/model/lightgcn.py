r"""LightGCN on a user-item bipartite graph (He et al., SIGIR 2020).

Nodes are numbered users first, then items: item :math:`i` is node
:math:`|U| + i`. The graph is held as the symmetric-normalised adjacency

.. math::
    \hat{\mathbf{A}} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2},
    \qquad
    \mathbf{A} = \begin{pmatrix} \mathbf{0} & \mathbf{R} \\
                 \mathbf{R}^\top & \mathbf{0} \end{pmatrix},

a ``torch.sparse_csr`` tensor built once by :func:`normalized_adjacency`;
:class:`LightGCN` propagates embeddings over it.
"""
import warnings
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable
from torch_geometric.nn.models import LightGCN as PyGLightGCN


def normalized_adjacency(
    num_users: int,
    num_items: int,
    user_index: Tensor,
    item_index: Tensor,
) -> Tensor:
    r"""Returns :math:`\mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}` of the
    bipartite interaction graph as a ``float32`` sparse CSR tensor of shape
    :obj:`(num_users + num_items, num_users + num_items)`.

    Entry :math:`(u, |U| + i)` and its mirror :math:`(|U| + i, u)` hold
    :math:`1 / \sqrt{\deg(u) \deg(i)}` for every distinct interaction
    :math:`(u, i)`; duplicate interactions count once. Nodes without
    interactions get an empty row. The matrix is symmetric, which
    :class:`LightGCN` relies on.

    Args:
        num_users (int): The number of users :math:`|U|`.
        num_items (int): The number of items :math:`|I|`.
        user_index (torch.Tensor): User id of each interaction, in
            :obj:`[0, num_users)`.
        item_index (torch.Tensor): Item id of each interaction, in
            :obj:`[0, num_items)`.
    """
    user_index = user_index.long()
    item_index = item_index.long()
    if user_index.shape != item_index.shape or user_index.dim() != 1:
        raise ValueError("user_index and item_index must be 1-D and of equal length")
    if user_index.numel() and (
        user_index.min() < 0 or user_index.max() >= num_users
        or item_index.min() < 0 or item_index.max() >= num_items
    ):
        raise ValueError("interaction ids out of range")

    return symmetric_adjacency(num_users + num_items, user_index, item_index + num_users)


def symmetric_adjacency(num_nodes: int, rows: Tensor, cols: Tensor) -> Tensor:
    r"""Returns :math:`\mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}` of the
    undirected graph with the edges :obj:`(rows[k], cols[k])` as a ``float32``
    sparse CSR tensor of shape :obj:`(num_nodes, num_nodes)`: entries
    :math:`(a, b)` and :math:`(b, a)` hold :math:`1 / \sqrt{\deg(a)\deg(b)}`
    for every distinct edge (either direction counts once). Nodes without an
    edge get an empty row.

    Args:
        num_nodes (int): The number of nodes.
        rows (torch.Tensor), cols (torch.Tensor): The edges' end nodes, in
            :obj:`[0, num_nodes)`, no self-loops.
    """
    low, high = torch.minimum(rows, cols).long(), torch.maximum(rows, cols).long()
    key = torch.unique(low * num_nodes + high)
    low, high = key // num_nodes, key % num_nodes
    degree = torch.bincount(torch.cat([low, high]), minlength=num_nodes).float()
    weight = (degree[low] * degree[high]).rsqrt()

    row = torch.cat([low, high])
    col = torch.cat([high, low])
    perm = torch.argsort(row * num_nodes + col)
    crow = torch.zeros(num_nodes + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=num_nodes), 0)
    with warnings.catch_warnings():
        # Emitted once per process on the first CSR tensor; informational.
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            crow, col[perm], torch.cat([weight, weight])[perm],
            (num_nodes, num_nodes), check_invariants=True,
        )


def _spmm(adj: Tensor, x: Tensor) -> Tensor:
    r""":math:`\hat{\mathbf{A}} \mathbf{x}`. On CPU with the reduce="sum"
    kernel: as fast as the default (MKL) one on Gowalla, and without its fixed
    cost on small graphs (7 us against 6 ms per product on a 32-node graph, 2
    cores); that kernel has no CUDA version."""
    if adj.device.type == "cpu":
        return torch.sparse.mm(adj, x, "sum")
    return torch.sparse.mm(adj, x)


def _propagate(adj: Tensor, x: Tensor, alpha: Tensor) -> Tensor:
    r""":math:`\sum_{l=0}^{L} \alpha_l \hat{\mathbf{A}}^l \mathbf{x}` with
    :math:`L = |\alpha| - 1`."""
    out = x * alpha[0]
    for weight in alpha[1:]:
        x = _spmm(adj, x)
        out.add_(x, alpha=weight.item())
    return out


class _SymmetricPropagation(torch.autograd.Function):
    r"""The LightGCN layer sum as one autograd node.

    The map :math:`\mathbf{x} \mapsto \sum_l \alpha_l \hat{\mathbf{A}}^l
    \mathbf{x}` is linear with a symmetric matrix, so its backward is the same
    map applied to the incoming gradient. Autograd through
    :func:`torch.sparse.mm` would instead transpose (re-sort) the CSR matrix on
    every layer and keep every layer's output alive.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, adj: Tensor, x: Tensor, alpha: Tensor) -> Tensor:
        ctx.save_for_backward(adj, alpha)
        return _propagate(adj, x, alpha)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[None, Tensor, None]:
        adj, alpha = ctx.saved_tensors
        return None, _propagate(adj, grad, alpha), None


class LightGCN(PyGLightGCN):
    r"""PyTorch Geometric's :class:`~torch_geometric.nn.models.LightGCN` with
    a faster propagation over a pre-normalised bipartite adjacency.

    The final embedding is the weighted sum of the layer embeddings

    .. math::
        \mathbf{x}_i = \sum_{l=0}^{L} \alpha_l \mathbf{x}^{(l)}_i,
        \qquad
        \mathbf{x}^{(l+1)}_i = \sum_{j \in \mathcal{N}(i)}
        \frac{1}{\sqrt{\deg(i)\deg(j)}}\mathbf{x}^{(l)}_j,

    i.e. :math:`\mathbf{X} = \sum_l \alpha_l \hat{\mathbf{A}}^l
    \mathbf{X}^{(0)}` with :math:`\hat{\mathbf{A}}` from
    :func:`normalized_adjacency`. Parameters, initialisation (Xavier uniform),
    buffers and state dict are those of the PyG model, whose outputs on the
    equivalent :obj:`edge_index` this model reproduces. Unlike the PyG model,
    every method taking :obj:`edge_index` here expects the normalised CSR
    adjacency (it is not normalised again) and no :obj:`edge_weight`.

    The propagation is one autograd node whose backward reuses
    :math:`\hat{\mathbf{A}}` (it is symmetric) and whose sparse products use
    :func:`torch.sparse.mm`'s :obj:`reduce="sum"` kernel on CPU: the fastest form
    measured by ``benchmarks/bench_propagation.py`` (on Gowalla, about 8-15x
    less time per training step than the PyG model on :obj:`edge_index`, and
    2-3x less than PyG's propagation over the same CSR adjacency).

    Args:
        num_users (int): The number of users; nodes :obj:`[0, num_users)`.
        num_items (int): The number of items; nodes
            :obj:`[num_users, num_users + num_items)`.
        embedding_dim (int, optional): The dimensionality of node embeddings.
            (default: :obj:`64`)
        num_layers (int, optional): The number of propagation layers
            :math:`L`. (default: :obj:`3`)
        alpha (float or torch.Tensor, optional): The scalar or vector of
            :math:`L + 1` layer weights :math:`\alpha_l`. If set to
            :obj:`None`, :obj:`1 / (num_layers + 1)` is used.
            (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        alpha: Optional[Union[float, Tensor]] = None,
    ):
        super().__init__(num_users + num_items, embedding_dim, num_layers, alpha)
        self.num_users = num_users
        self.num_items = num_items

    def get_embedding(self, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        r"""Returns the final embeddings of all nodes, users first.

        Args:
            edge_index (torch.Tensor): The adjacency from
                :func:`normalized_adjacency`.
            edge_weight: Must be :obj:`None` (the weights are in the
                adjacency); kept for the PyG signature.
        """
        if edge_index.layout != torch.sparse_csr or edge_weight is not None:
            raise TypeError("expected the CSR tensor from normalized_adjacency() and no edge_weight")
        return _SymmetricPropagation.apply(edge_index, self.embedding.weight, self.alpha)

    def user_item_embeddings(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        r"""Returns the final (user, item) embedding matrices."""
        return self.get_embedding(adj).split([self.num_users, self.num_items])


def bpr_loss(
    pos_score: Tensor,
    neg_score: Tensor,
    user_emb0: Tensor,
    pos_emb0: Tensor,
    neg_emb0: Tensor,
    reg: float = 1e-4,
) -> Tensor:
    r"""The BPR loss with :math:`L_2` regularisation of LightGCN's paper and
    official code, over a batch of :math:`B` positives :math:`(u, i)`, each
    with :math:`N` negatives :math:`j_1 \dots j_N` (the paper: :math:`N = 1`):

    .. math::
        \frac{1}{BN} \sum_{(u,i)} \sum_{n} \mathrm{softplus}(\hat{y}_{uj_n} - \hat{y}_{ui})
        + \lambda \frac{\lVert \mathbf{e}^{(0)}_u \rVert^2
        + \lVert \mathbf{e}^{(0)}_i \rVert^2
        + \frac{1}{N} \sum_n \lVert \mathbf{e}^{(0)}_{j_n} \rVert^2}{2B},

    where :math:`\mathrm{softplus}(x) = -\ln \sigma(-x)` and the norms are
    summed over the batch, on the layer-0 (free) embeddings.

    Args:
        pos_score (torch.Tensor): :math:`\hat{y}_{ui}`, shape :obj:`(B,)`.
        neg_score (torch.Tensor): :math:`\hat{y}_{uj}`, shape :obj:`(B,)` or
            :obj:`(B, N)`.
        user_emb0 (torch.Tensor): :math:`\mathbf{e}^{(0)}_u`, shape
            :obj:`(B, d)`.
        pos_emb0 (torch.Tensor): :math:`\mathbf{e}^{(0)}_i`, shape
            :obj:`(B, d)`.
        neg_emb0 (torch.Tensor): :math:`\mathbf{e}^{(0)}_j`, shape
            :obj:`(B, d)` or :obj:`(B, N, d)`.
        reg (float, optional): :math:`\lambda`. (default: :obj:`1e-4`)
    """
    batch_size = pos_score.numel()
    negatives = neg_score.numel() // max(batch_size, 1)
    if neg_score.dim() == 2:
        pos_score = pos_score.unsqueeze(1)
    norms = user_emb0.square().sum() + pos_emb0.square().sum() + neg_emb0.square().sum() / max(negatives, 1)
    return F.softplus(neg_score - pos_score).mean() + reg * norms / (2 * batch_size)
