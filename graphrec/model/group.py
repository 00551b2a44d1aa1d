r"""LightGCN on one graph of users, items and groups, with a combined group score.

Nodes are numbered users, then items, then groups: item :math:`i` is node
:math:`|U| + i`, group :math:`g` is node :math:`|U| + |I| + g`. The graph
has three kinds of undirected edges: user-item and group-item training
interactions, and user-group memberships,

.. math::
    \mathbf{A} = \begin{pmatrix}
        \mathbf{0} & \mathbf{R} & \mathbf{M} \\
        \mathbf{R}^\top & \mathbf{0} & \mathbf{S}^\top \\
        \mathbf{M}^\top & \mathbf{S} & \mathbf{0}
    \end{pmatrix},
    \qquad \hat{\mathbf{A}} = \mathbf{D}^{-1/2}\mathbf{A}\mathbf{D}^{-1/2},

(:math:`\mathbf{R}` users x items, :math:`\mathbf{S}` groups x items,
:math:`\mathbf{M}` users x groups), so propagation gives a group an embedding
that also reflects its members and its items, and a member one that reflects
their groups. The score of group :math:`g` for item :math:`i` is linear in the
final embeddings,

.. math::
    s(g, i) = \alpha\, \mathbf{e}_g^\top \mathbf{e}_i
    + (1 - \alpha) \frac{1}{|\mathcal{M}_g|} \sum_{m \in \mathcal{M}_g}
    \mathbf{e}_m^\top \mathbf{e}_i
    = \mathbf{v}_g^\top \mathbf{e}_i, \qquad
    \mathbf{v}_g = \alpha \mathbf{e}_g + (1 - \alpha) \bar{\mathbf{e}}_{\mathcal{M}_g},

with :math:`\alpha = \sigma(w)` learned jointly (a scalar :math:`w`, starting
at 0, so :math:`\alpha = 0.5`) or fixed. A group with no training interaction
of its own falls back to the member average (:math:`\alpha = 0` for it). Users
are trained with BPR on :math:`\mathbf{e}_u^\top \mathbf{e}_i`, groups with BPR
on :math:`s(g, i)`, in the same steps.
"""
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from graphrec.model.lightgcn import LightGCN, symmetric_adjacency


def tripartite_adjacency(
    num_users: int,
    num_items: int,
    num_groups: int,
    user_items: Tensor,
    group_items: Tensor,
    memberships: Tensor,
) -> Tensor:
    r"""Returns :math:`\hat{\mathbf{A}}` of the user-item-group graph (see the
    module docstring) as a symmetric ``float32`` sparse CSR tensor; every
    distinct edge counts once, whatever its kind.

    Args:
        num_users (int), num_items (int), num_groups (int): Node counts.
        user_items (torch.Tensor): :obj:`(2, E)` [user, item] training
            interactions.
        group_items (torch.Tensor): :obj:`(2, F)` [group, item] training
            interactions.
        memberships (torch.Tensor): :obj:`(2, M)` [user, group].
    """
    for name, edges, bounds in (("user_items", user_items, (num_users, num_items)),
                                ("group_items", group_items, (num_groups, num_items)),
                                ("memberships", memberships, (num_users, num_groups))):
        if edges.numel() and (edges.min() < 0 or edges[0].max() >= bounds[0] or edges[1].max() >= bounds[1]):
            raise ValueError(f"{name}: ids out of range")
    groups = num_users + num_items
    rows = torch.cat([user_items[0], group_items[0] + groups, memberships[0]]).long()
    cols = torch.cat([user_items[1] + num_users, group_items[1] + num_users, memberships[1] + groups]).long()
    return symmetric_adjacency(num_users + num_items + num_groups, rows, cols)


def member_matrix(memberships: Tensor, num_groups: int, num_users: int) -> tuple[Tensor, Tensor, Tensor]:
    r"""The membership as :obj:`(group, user, weight)` triples with weight
    :math:`1 / |\mathcal{M}_g|`, so that the member mean of any user matrix
    :math:`\mathbf{X}` is ``zeros(G, d).index_add_(0, group, weight[:, None] * X[user])``.
    Repeated memberships count once."""
    key = torch.unique(memberships[1].long() * num_users + memberships[0].long())
    group, user = key // num_users, key % num_users
    size = torch.bincount(group, minlength=num_groups).float()
    return group, user, size[group].reciprocal()


def member_mean(members: tuple[Tensor, Tensor, Tensor], user_emb: Tensor, num_groups: int) -> Tensor:
    r""":math:`\bar{\mathbf{e}}_{\mathcal{M}_g}` for every group, shape
    :obj:`(num_groups, d)` (zeros for a group without members)."""
    group, user, weight = members
    out = user_emb.new_zeros(num_groups, user_emb.size(1))
    return out.index_add(0, group, user_emb[user] * weight.unsqueeze(1))


class GroupLightGCN(LightGCN):
    r"""LightGCN over the user-item-group graph of
    :func:`tripartite_adjacency`, with the combined group score of the module
    docstring.

    Args:
        num_users (int): :math:`|U|`, nodes :obj:`[0, |U|)`.
        num_items (int): :math:`|I|`, nodes :obj:`[|U|, |U| + |I|)`.
        num_groups (int): :math:`|G|`, the last nodes.
        embedding_dim (int, optional): (default: :obj:`64`)
        num_layers (int, optional): (default: :obj:`3`)
        group_weight (float, optional): A fixed :math:`\alpha` in
            :math:`[0, 1]`; :obj:`None` learns it. (default: :obj:`None`)
    """

    def __init__(self, num_users: int, num_items: int, num_groups: int, embedding_dim: int = 64,
                 num_layers: int = 3, group_weight: Optional[float] = None):
        PyGLightGCN.__init__(self, num_users + num_items + num_groups, embedding_dim, num_layers)
        self.num_users, self.num_items, self.num_groups = num_users, num_items, num_groups
        if group_weight is None:
            self.weight_logit = torch.nn.Parameter(torch.zeros(()))
        elif not 0.0 <= group_weight <= 1.0:
            raise ValueError(f"group_weight must be in [0, 1], got {group_weight}")
        else:
            self.register_buffer("fixed_weight", torch.tensor(float(group_weight)))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if "weight_logit" in self._parameters:
            torch.nn.init.zeros_(self.weight_logit)

    def group_weight(self) -> Tensor:
        r""":math:`\alpha`, a scalar tensor."""
        return torch.sigmoid(self.weight_logit) if "weight_logit" in self._parameters else self.fixed_weight

    def split_embeddings(self, adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r"""The final (user, item, group) embedding matrices."""
        return self.get_embedding(adj).split([self.num_users, self.num_items, self.num_groups])

    def user_item_embeddings(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        users, items, _ = self.split_embeddings(adj)
        return users, items

    def group_vectors(self, groups: Tensor, user_emb: Tensor, members: tuple[Tensor, Tensor, Tensor],
                      has_history: Optional[Tensor] = None) -> Tensor:
        r""":math:`\mathbf{v}_g` of every group (final group embeddings
        :obj:`groups`, shape :obj:`(|G|, d)`); where :obj:`has_history` is
        false, the member mean alone."""
        alpha = self.group_weight()
        mean = member_mean(members, user_emb, self.num_groups)
        vectors = alpha * groups + (1 - alpha) * mean
        if has_history is not None:
            vectors = torch.where(has_history.unsqueeze(1), vectors, mean)
        return vectors

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.num_users} users, {self.num_items} items, {self.num_groups} "
                f"groups, dim={self.embedding_dim}, num_layers={self.num_layers}, "
                f"group_weight={self.group_weight().item():.3f})")
