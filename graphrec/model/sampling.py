r"""Uniform negative sampling for BPR training."""
from typing import Optional

import torch
from torch import Tensor


class NegativeSampler:
    r"""Draws, for each user :math:`u` given, an item :math:`j` uniformly from
    the items :math:`u` has no training interaction with.

    Membership is tested against the sorted keys :math:`u |I| + i` of the
    training interactions with :func:`torch.searchsorted`; colliding draws are
    redrawn, all at once, until none is left (rejection sampling, so exactly
    uniform over each user's non-interacted items).

    Args:
        interactions (torch.Tensor): Training interactions, shape
            :obj:`(2, E)`: user ids in row 0, item ids in row 1.
        num_items (int): The number of items :math:`|I|`.
    """

    def __init__(self, interactions: Tensor, num_items: int):
        self.num_items = num_items
        self.keys = torch.unique(interactions[0].long() * num_items + interactions[1].long())
        self.users, self.degree = torch.unique_consecutive(self.keys // num_items, return_counts=True)
        if self.degree.numel() and self.degree.max() >= num_items:
            raise ValueError("a user has interacted with every item: no negative to sample")
        self.start = torch.cumsum(self.degree, 0) - self.degree  # each user's first key

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        r"""Whether each :obj:`(users[k], items[k])` is a training
        interaction."""
        query = users * self.num_items + items
        if not self.keys.numel():
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, query).clamp_(max=self.keys.numel() - 1)
        return self.keys[pos] == query

    def sample_pairs(self, count: int, generator: Optional[torch.Generator] = None) -> tuple[Tensor, Tensor]:
        r"""Draws :obj:`count` training pairs the way the LightGCN paper's code does: a user uniformly from the
        users with a training interaction, then one of that user's items uniformly. Every user weighs the
        same, as in Recall@K averaged over users, whatever the user's number of interactions. Returns
        (users, items)."""
        if not self.users.numel():
            raise ValueError("no training interactions")
        rows = torch.randint(self.users.numel(), (count,), generator=generator)
        offset = (torch.rand(count, generator=generator) * self.degree[rows]).long().clamp_(max=self.degree[rows] - 1)
        return self.users[rows], self.keys[self.start[rows] + offset] % self.num_items

    def sample(self, users: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        r"""Returns one negative item per entry of :obj:`users`."""
        users = users.long()
        items = torch.randint(self.num_items, users.shape, generator=generator)
        redo = self.contains(users, items).nonzero().squeeze(1)
        while redo.numel():
            items[redo] = torch.randint(self.num_items, redo.shape, generator=generator)
            redo = redo[self.contains(users[redo], items[redo])]
        return items
