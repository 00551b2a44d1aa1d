r"""Scoring functions for the evaluation protocols: ``score(sources, items)`` (see
:mod:`graphrec.evaluation.protocol`).

* :class:`DotScorer`: :math:`s(x, i) = \mathbf{v}_x^\top \mathbf{e}_i` for any source vectors, e.g. a
  LightGCN's users or groups, or the combined group vectors of
  :class:`~graphrec.model.group.GroupLightGCN`.
* :class:`PopularityScorer`: the item's number of training interactions, whoever the source.
* :class:`MemberScorer`: a group scored by aggregating its members' scores
  :math:`s_{mi} = \mathbf{e}_m^\top \mathbf{e}_i` over its members :math:`\mathcal{M}_g`, one of
  :data:`STRATEGIES`:

  - ``average``: :math:`\frac{1}{|\mathcal{M}_g|}\sum_m s_{mi}`;
  - ``least_misery``: :math:`\min_m s_{mi}`;
  - ``most_pleasure``: :math:`\max_m s_{mi}`;
  - ``borda``: :math:`\sum_m (n - r_{mi})`, where :math:`n` is the number of candidates scored together
    (the sampled list, or every item) and :math:`r_{mi}` the 1-based rank of :math:`i` among them for member
    :math:`m`, equal scores sharing the best rank; so :math:`n - r_{mi}` is the number of other candidates
    that :math:`m` scores at most as high as :math:`i`.

  A group without members scores 0 everywhere.
"""
from typing import Optional

import torch
from torch import Tensor

STRATEGIES = ("average", "least_misery", "most_pleasure", "borda")


class DotScorer:
    """Inner products of `sources` (S, d) and `items` (I, d) embeddings."""

    def __init__(self, sources: Tensor, items: Tensor) -> None:
        self.sources, self.items = sources, items

    def __call__(self, sources: Tensor, items: Optional[Tensor] = None) -> Tensor:
        vectors = self.sources[sources]
        if items is None:
            return vectors @ self.items.T
        return torch.einsum("bd,bcd->bc", vectors, self.items[items])


class PopularityScorer:
    """The number of training interactions (2, E) of each item: `bincount` over row 1."""

    def __init__(self, interactions: Tensor, num_items: int) -> None:
        self.counts = torch.bincount(interactions[1], minlength=num_items).float()

    def __call__(self, sources: Tensor, items: Optional[Tensor] = None) -> Tensor:
        if items is None:
            return self.counts.expand(sources.numel(), -1).clone()
        return self.counts[items]


def padded_members(memberships: Tensor, num_groups: int) -> Tensor:
    """(num_groups, S) user indices of each group's members, -1 padded (S = the largest group, at least 1)."""
    group, user = memberships[1].long(), memberships[0].long()
    order = torch.argsort(group * (user.max().item() + 1 if user.numel() else 1) + user)
    group, user = group[order], user[order]
    size = torch.bincount(group, minlength=num_groups)
    start = torch.cumsum(size, 0) - size
    padded = torch.full((num_groups, max(int(size.max()) if size.numel() else 0, 1)), -1, dtype=torch.long)
    padded[group, torch.arange(group.numel()) - start[group]] = user
    return padded


class MemberScorer:
    """A group's score as an aggregation (`strategy`, one of `STRATEGIES`) of its members' inner-product
    scores, from user embeddings `users` (U, d) and item embeddings `items` (I, d); `members` from
    `padded_members`. Groups are scored a few at a time so that members x candidates stay under
    `max_cells` floats."""

    def __init__(self, strategy: str, users: Tensor, items: Tensor, members: Tensor,
                 max_cells: int = 1 << 24) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
        self.strategy, self.users, self.items, self.members = strategy, users, items, members
        self.max_cells = max_cells

    def __call__(self, groups: Tensor, items: Optional[Tensor] = None) -> Tensor:
        width = self.items.size(0) if items is None else items.size(1)
        step = max(1, self.max_cells // (self.members.size(1) * width))
        parts = [self._score(groups[k : k + step], None if items is None else items[k : k + step])
                 for k in range(0, groups.numel(), step)]
        return torch.cat(parts) if parts else self.items.new_zeros(0, width)

    def member_scores(self, groups: Tensor, items: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        """(B, S, C) scores of each group's members and the (B, S) mask of real members."""
        members = self.members[groups]
        vectors = self.users[members.clamp(min=0)]
        if items is None:
            scores = vectors @ self.items.T
        else:
            scores = torch.einsum("bsd,bcd->bsc", vectors, self.items[items])
        return scores, members >= 0

    def _score(self, groups: Tensor, items: Optional[Tensor]) -> Tensor:
        scores, real = self.member_scores(groups, items)
        mask = real.unsqueeze(2)
        count = real.sum(1, keepdim=True)
        if self.strategy == "average":
            out = torch.where(mask, scores, 0.0).sum(1) / count.clamp(min=1)
        elif self.strategy == "least_misery":
            out = torch.where(mask, scores, float("inf")).amin(1)
        elif self.strategy == "most_pleasure":
            out = torch.where(mask, scores, float("-inf")).amax(1)
        else:
            ordered = scores.sort(dim=2).values
            points = torch.searchsorted(ordered, scores, side="right") - 1  # n - r
            out = torch.where(mask, points.to(scores.dtype), 0.0).sum(1)
        return torch.where(count > 0, out, 0.0)
