r"""One epoch of LightGCN training with the BPR loss, on users and items or on users, items and groups."""
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor

from graphrec.model.distributed import World
from graphrec.model.group import GroupLightGCN
from graphrec.model.lightgcn import LightGCN, bpr_loss
from graphrec.model.sampling import NegativeSampler
from graphrec.progress import progress_bar

SAMPLINGS = ("interaction", "user")
"""How `train_epoch` can draw an epoch's positives."""
ONE = World()
"""One process: no data parallelism."""


class BPRObjective(torch.nn.Module):
    r"""The BPR loss of a :class:`~graphrec.model.lightgcn.LightGCN` on a batch, as a module's forward: the unit
    :class:`~torch.nn.parallel.DistributedDataParallel` wraps (it averages the gradients of what the wrapped
    forward computed). :obj:`weight` scales the loss (a rank's share of a global batch,
    :meth:`~graphrec.model.distributed.World.share`); an empty batch gives a zero loss that still uses every
    parameter, so that every rank's backward takes part in the all-reduce.

    A model without layers (MF: :math:`\mathbf{X} = \alpha_0 \mathbf{X}^{(0)}`) is not propagated: the batch's
    rows are looked up through :obj:`model.embedding`, so a sparse embedding (:func:`make_sparse`) gets a
    gradient of the batch's rows alone, and a step costs its batch, not the whole table."""

    def __init__(self, model: LightGCN) -> None:
        super().__init__()
        self.model = model

    def forward(self, adj: Tensor, users: Tensor, pos_items: Tensor, neg_items: Tensor, reg: float = 1e-4,
                weight: float = 1.0) -> Tensor:
        model = self.model
        rows = (users, pos_items + model.num_users, neg_items + model.num_users)
        if model.num_layers == 0:
            if not users.numel():
                return model.embedding(users).sum() * 0.0
            emb0 = [model.embedding(index) for index in rows]
            user_emb, pos_emb, neg_emb = (rows0 * model.alpha[0] for rows0 in emb0)
        else:
            out = model.get_embedding(adj)
            if not users.numel():
                return out.sum() * 0.0
            # index_select rather than indexing: its backward (index_add) costs a third of index_put's on CPU.
            user_emb, pos_emb, neg_emb = (_gather(out, index) for index in rows)
            emb0 = [_gather(model.embedding.weight, index) for index in rows]
        neg_score = (user_emb.unsqueeze(1) * neg_emb).sum(2) if neg_items.dim() == 2 else (user_emb * neg_emb).sum(1)
        loss = bpr_loss((user_emb * pos_emb).sum(1), neg_score, *emb0, reg)
        return loss if weight == 1.0 else loss * weight


def make_sparse(model: LightGCN, lr: float) -> torch.optim.Optimizer | None:
    r"""For a model without layers (MF) on the user–item graph: switch its embedding to sparse gradients and
    return :class:`torch.optim.SparseAdam` over it; else None (the caller keeps dense Adam).

    Dense Adam updates every row of the table at every step, so an epoch of :math:`E / B` steps costs
    :math:`(E / B) \cdot (|U| + |I|) d`: more than linear when the table grows with the data. SparseAdam is
    "lazy" Adam: a row's moments and value move only on the steps whose batch holds it (the rule of TensorFlow's
    LazyAdam and of TorchRec's row-wise optimisers), so a step costs its batch. Under DDP the sparse gradients
    are all-reduced by gloo; NCCL has no sparse collectives, so a run on NCCL keeps dense Adam."""
    if model.num_layers != 0 or type(model) is not LightGCN:
        return None
    if dist.is_available() and dist.is_initialized() and dist.get_backend() != "gloo":
        return None
    model.embedding.sparse = True
    return torch.optim.SparseAdam(list(model.parameters()), lr=lr)


def train_step(
    model: LightGCN,
    adj: Tensor,
    users: Tensor,
    pos_items: Tensor,
    neg_items: Tensor,
    optimizer: torch.optim.Optimizer,
    reg: float = 1e-4,
    *,
    objective: torch.nn.Module | None = None,
    weight: float = 1.0,
) -> float:
    r"""One optimiser step on a batch of triples :math:`(u, i, j)` (:obj:`neg_items` of shape :obj:`(B,)`),
    or of positives with :math:`N` negatives each (:obj:`(B, N)`): propagates
    the full graph, scores :math:`\hat{y}_{ui} = \mathbf{e}_u^\top
    \mathbf{e}_i` and :math:`\hat{y}_{uj}`, and minimises :obj:`weight` times
    :func:`~graphrec.model.lightgcn.bpr_loss` through :obj:`objective` (default: :class:`BPRObjective` of
    :obj:`model`; under DDP, the wrapped one). Returns the (weighted) loss."""
    objective = BPRObjective(model) if objective is None else objective
    loss = objective(adj, users, pos_items, neg_items, reg, weight)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _gather(table: Tensor, index: Tensor) -> Tensor:
    """`table[index]` for an index of any shape, by `index_select`."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.size(1))


def train_epoch(
    model: LightGCN,
    adj: Tensor,
    interactions: Tensor,
    sampler: NegativeSampler,
    optimizer: torch.optim.Optimizer,
    batch_size: int = 2048,
    reg: float = 1e-4,
    progress: bool = True,
    generator: Optional[torch.Generator] = None,
    negatives: int = 1,
    sampling: str = "interaction",
    objective: torch.nn.Module | None = None,
    world: World = ONE,
) -> float:
    r"""One epoch: as many positives as there are training interactions, in batches of
    :obj:`batch_size` positives, each paired with :obj:`negatives` fresh uniform negatives
    (see :class:`~graphrec.model.sampling.NegativeSampler`) and trained on
    with :func:`train_step`. Returns the mean batch loss.

    :obj:`sampling` says how the positives are drawn: :obj:`"interaction"`, every training interaction once,
    in random order; :obj:`"user"`, as the LightGCN paper's code (both the TensorFlow and the PyTorch one): a
    user uniformly among those with training interactions, then one of the user's items uniformly
    (:meth:`~graphrec.model.sampling.NegativeSampler.sample_pairs`), so that every user weighs the same in
    the loss, as in the per-user mean of Recall@K.

    Args:
        model (LightGCN): The model.
        adj (torch.Tensor): The adjacency from
            :func:`~graphrec.model.lightgcn.normalized_adjacency`.
        interactions (torch.Tensor): Training interactions, shape
            :obj:`(2, E)`: user ids in row 0, item ids in row 1.
        sampler (NegativeSampler): Negative sampler over the same
            interactions.
        optimizer (torch.optim.Optimizer): Optimiser over
            :obj:`model.parameters()`.
        batch_size (int, optional): Positives per step; LightGCN's official
            code uses 2048. (default: :obj:`2048`)
        reg (float, optional): :math:`L_2` weight :math:`\lambda`.
            (default: :obj:`1e-4`)
        progress (bool, optional): Show a tqdm bar with the current loss.
            (default: :obj:`True`)
        generator (torch.Generator, optional): Random source for shuffling
            and sampling. (default: :obj:`None`)
        negatives (int, optional): Negatives per positive; more add gathers,
            not propagations (4 cost 33 % more per step on Gowalla at batch
            32,768, 2 CPU cores). (default: :obj:`1`, the paper's)
        sampling (str, optional): :obj:`"interaction"` or :obj:`"user"`, see
            above. (default: :obj:`"interaction"`)
        objective (torch.nn.Module, optional): What each step minimises: a
            :class:`BPRObjective` of :obj:`model`, under DDP the wrapped one.
            (default: :obj:`None`, a new :class:`BPRObjective`)
        world (World, optional): The data-parallel processes: every rank draws
            the same global batches and negatives, then trains on its own
            contiguous share, weighted so that the averaged gradient is the
            whole batch's (:class:`~graphrec.model.distributed.World`); the
            returned loss is the mean over ranks, the whole batch's.
            (default: one process)
    """
    if not interactions.size(1):
        raise ValueError("no training interactions")
    if sampling == "interaction":
        order = torch.randperm(interactions.size(1), generator=generator)
        pairs = interactions[0, order].long(), interactions[1, order].long()
    elif sampling == "user":
        pairs = sampler.sample_pairs(interactions.size(1), generator)
    else:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, not {sampling!r}")
    model.train()
    objective = BPRObjective(model) if objective is None else objective
    batches = list(zip(pairs[0].split(batch_size), pairs[1].split(batch_size)))
    total = 0.0
    with progress_bar(batches, desc="train", unit="batch", disable=not progress) as bar:
        for users, pos_items in bar:
            if negatives == 1:
                neg_items = sampler.sample(users, generator)
            else:
                neg_items = sampler.sample(users.repeat_interleave(negatives), generator).view(-1, negatives)
            rows, weight = world.share(users.numel())
            loss = train_step(model, adj, users[rows], pos_items[rows], neg_items[rows], optimizer, reg,
                              objective=objective, weight=weight)
            total += loss
            bar.set_postfix(loss=f"{loss:.4f}")
    return world.average(total / len(batches))


class GroupBPRObjective(torch.nn.Module):
    r"""The loss of :func:`group_train_step` as a module's forward (the unit DDP wraps, as
    :class:`BPRObjective`): :obj:`weights` scale the user term and the group term (each rank's share of each
    global batch); with both batches empty, a zero loss that uses the embeddings."""

    def __init__(self, model: GroupLightGCN) -> None:
        super().__init__()
        self.model = model

    def forward(self, adj: Tensor, members: tuple[Tensor, Tensor, Tensor],
                user_triples: tuple[Tensor, Tensor, Tensor], group_triples: tuple[Tensor, Tensor, Tensor],
                reg: float = 1e-4, group_loss_weight: float = 1.0,
                weights: tuple[float, float] = (1.0, 1.0)) -> Tensor:
        model = self.model
        users, items, groups = model.split_embeddings(adj)
        user_nodes, item_nodes, group_nodes = model.embedding.weight.split(
            [model.num_users, model.num_items, model.num_groups])
        u, i, j = user_triples
        g, gi, gj = group_triples
        if not u.numel() and not g.numel():
            return users.sum() * 0.0
        loss = users.new_zeros(())
        if u.numel():
            term = bpr_loss((users[u] * items[i]).sum(1), (users[u] * items[j]).sum(1),
                            user_nodes[u], item_nodes[i], item_nodes[j], reg)
            loss = loss + (term if weights[0] == 1.0 else term * weights[0])
        if g.numel():
            vectors = model.group_vectors(groups, users, members)[g]
            term = group_loss_weight * bpr_loss(
                (vectors * items[gi]).sum(1), (vectors * items[gj]).sum(1),
                group_nodes[g], item_nodes[gi], item_nodes[gj], reg)
            loss = loss + (term if weights[1] == 1.0 else term * weights[1])
        return loss


def group_train_step(
    model: GroupLightGCN,
    adj: Tensor,
    members: tuple[Tensor, Tensor, Tensor],
    user_triples: tuple[Tensor, Tensor, Tensor],
    group_triples: tuple[Tensor, Tensor, Tensor],
    optimizer: torch.optim.Optimizer,
    reg: float = 1e-4,
    group_loss_weight: float = 1.0,
    *,
    objective: torch.nn.Module | None = None,
    weights: tuple[float, float] = (1.0, 1.0),
) -> float:
    r"""One optimiser step of :class:`~graphrec.model.group.GroupLightGCN`
    on a batch of user triples :math:`(u, i, j)` and one of group triples
    :math:`(g, i, j)` (either may be empty): one propagation of the whole
    graph, then

    .. math::
        \mathcal{L} = w_U\, \mathrm{BPR}(\mathbf{e}_u^\top \mathbf{e}_i,
        \mathbf{e}_u^\top \mathbf{e}_j)
        + w_G\, \lambda_G\, \mathrm{BPR}(s(g, i), s(g, j)),

    each with :func:`~graphrec.model.lightgcn.bpr_loss` (:math:`L_2` on the
    layer-0 embeddings of the batch's sources and items) and
    :math:`s(g, i) = \mathbf{v}_g^\top \mathbf{e}_i`, the combined score;
    :math:`(w_U, w_G)` = :obj:`weights` (1 and 1 in one process), through
    :obj:`objective` (default: :class:`GroupBPRObjective` of :obj:`model`).
    Returns the loss."""
    objective = GroupBPRObjective(model) if objective is None else objective
    loss = objective(adj, members, user_triples, group_triples, reg, group_loss_weight, weights)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def group_train_epoch(
    model: GroupLightGCN,
    adj: Tensor,
    members: tuple[Tensor, Tensor, Tensor],
    interactions: Tensor,
    group_interactions: Tensor,
    samplers: tuple[NegativeSampler, NegativeSampler],
    optimizer: torch.optim.Optimizer,
    batch_size: int = 2048,
    reg: float = 1e-4,
    group_loss_weight: float = 1.0,
    progress: bool = True,
    generator: Optional[torch.Generator] = None,
    objective: torch.nn.Module | None = None,
    world: World = ONE,
) -> float:
    r"""One pass over the user and the group training interactions, each in
    random order, together: :math:`\lceil E_U / B \rceil` steps (or
    :math:`\lceil E_G / B \rceil` when there are no user interactions), each
    taking :obj:`batch_size` user positives and an equal share of the group
    positives, each positive with a fresh uniform negative (from
    :obj:`samplers`, user sampler first), trained with
    :func:`group_train_step`. Returns the mean step loss. Under data
    parallelism (:obj:`world`, :obj:`objective` as in :func:`train_epoch`),
    every rank draws the same triples and trains on its share of each side."""
    num_user, num_group = interactions.size(1), group_interactions.size(1)
    if not num_group:
        raise ValueError("no group training interactions")
    model.train()
    objective = GroupBPRObjective(model) if objective is None else objective
    steps = -(-(num_user or num_group) // batch_size)
    user_batches = torch.randperm(num_user, generator=generator).tensor_split(steps)
    group_batches = torch.randperm(num_group, generator=generator).tensor_split(steps)
    total = 0.0
    with progress_bar(zip(user_batches, group_batches), total=steps, desc="train", unit="batch",
              disable=not progress) as bar:
        for user_batch, group_batch in bar:
            triples, weights = [], []
            for rows, batch, sampler in ((interactions, user_batch, samplers[0]),
                                         (group_interactions, group_batch, samplers[1])):
                sources, pos = rows[0, batch].long(), rows[1, batch].long()
                neg = sampler.sample(sources, generator)
                share, weight = world.share(sources.numel())
                triples.append((sources[share], pos[share], neg[share]))
                weights.append(weight)
            loss = group_train_step(model, adj, members, triples[0], triples[1], optimizer, reg,
                                    group_loss_weight, objective=objective, weights=(weights[0], weights[1]))
            total += loss
            bar.set_postfix(loss=f"{loss:.4f}")
    return world.average(total / steps)
