r"""One epoch of LightGCN training with the BPR loss."""
from typing import Optional

import torch
from torch import Tensor
from tqdm import tqdm

from graphrec.model.lightgcn import LightGCN, bpr_loss
from graphrec.model.sampling import NegativeSampler


def train_step(
    model: LightGCN,
    adj: Tensor,
    users: Tensor,
    pos_items: Tensor,
    neg_items: Tensor,
    optimizer: torch.optim.Optimizer,
    reg: float = 1e-4,
) -> float:
    r"""One optimiser step on a batch of triples :math:`(u, i, j)`: propagates
    the full graph, scores :math:`\hat{y}_{ui} = \mathbf{e}_u^\top
    \mathbf{e}_i` and :math:`\hat{y}_{uj}`, and minimises
    :func:`~graphrec.model.lightgcn.bpr_loss`. Returns the loss."""
    items_offset = model.num_users
    out = model.get_embedding(adj)
    user_emb, pos_emb, neg_emb = out[users], out[pos_items + items_offset], out[neg_items + items_offset]
    emb0 = model.embedding.weight
    loss = bpr_loss(
        (user_emb * pos_emb).sum(1), (user_emb * neg_emb).sum(1),
        emb0[users], emb0[pos_items + items_offset], emb0[neg_items + items_offset], reg,
    )
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


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
) -> float:
    r"""One pass over the training interactions in random order, in batches of
    :obj:`batch_size` positives, each paired with a fresh uniform negative
    (see :class:`~graphrec.model.sampling.NegativeSampler`) and trained on
    with :func:`train_step`. Returns the mean batch loss.

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
    """
    if not interactions.size(1):
        raise ValueError("no training interactions")
    model.train()
    order = torch.randperm(interactions.size(1), generator=generator)
    batches = order.split(batch_size)
    total = 0.0
    with tqdm(batches, desc="train", unit="batch", disable=not progress) as bar:
        for batch in bar:
            users, pos_items = interactions[0, batch].long(), interactions[1, batch].long()
            neg_items = sampler.sample(users, generator)
            loss = train_step(model, adj, users, pos_items, neg_items, optimizer, reg)
            total += loss
            bar.set_postfix(loss=f"{loss:.4f}")
    return total / len(batches)
