r"""Group scoring by member aggregation, for the evaluation protocols (``score(sources, items)``, see
:mod:`graphrec.evaluation.protocol`): a group is scored by aggregating its members' scores
:math:`s_{mi}` from any user scorer (any model's :meth:`~graphrec.model.base.Fitted.scorer`) over its
members :math:`\mathcal{M}_g`, one of :data:`STRATEGIES`:

- ``average``: :math:`\frac{1}{|\mathcal{M}_g|}\sum_m s_{mi}`;
- ``least_misery``: :math:`\min_m s_{mi}`;
- ``most_pleasure``: :math:`\max_m s_{mi}`;
- ``borda``: :math:`\sum_m (n - r_{mi})`, where :math:`n` is the number of candidates scored together
  (the sampled list, or every item) and :math:`r_{mi}` the 1-based rank of :math:`i` among them for member
  :math:`m`, equal scores sharing the best rank; so :math:`n - r_{mi}` is the number of other candidates
  that :math:`m` scores at most as high as :math:`i`.

A group without members scores 0 everywhere. :class:`PopularFallback` scores the users a model has nothing
for as Cypher serves them.
"""
from typing import Any, Optional

import torch
from torch import Tensor

from graphrec.model.base import Scorer

STRATEGIES = ("average", "least_misery", "most_pleasure", "borda")


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
    """A group's score as an aggregation (`strategy`, one of `STRATEGIES`) of its members' scores by the
    user scorer `users`; `members` from `padded_members`, `num_items` the catalogue size. Groups are scored a
    few at a time so that members x candidates stay under `max_cells` floats."""

    def __init__(self, strategy: str, users: Scorer, members: Tensor, num_items: int,
                 max_cells: int = 1 << 24) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
        self.strategy, self.users, self.members, self.num_items = strategy, users, members, num_items
        self.max_cells = max_cells

    def __call__(self, groups: Tensor, items: Optional[Tensor] = None) -> Tensor:
        width = self.num_items if items is None else items.size(1)
        step = max(1, self.max_cells // (self.members.size(1) * width))
        parts = [self._score(groups[k : k + step], None if items is None else items[k : k + step])
                 for k in range(0, groups.numel(), step)]
        return torch.cat(parts) if parts else torch.zeros(0, width)

    def member_scores(self, groups: Tensor, items: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        """(B, S, C) scores of each group's members and the (B, S) mask of real members."""
        members = self.members[groups]
        flat = members.clamp(min=0).reshape(-1)
        if items is None:
            scores = self.users(flat, None)
        else:
            scores = self.users(flat, items.repeat_interleave(members.size(1), dim=0))
        return scores.reshape(members.size(0), members.size(1), -1), members >= 0

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


class PopularFallback:
    """`scorer`'s scores, except for the sources marked in `cold` ((num_sources,) bool): for them, each item's
    number of train interactions `counts` ((num_items,) float), what `recommend_user.cypher` serves a user
    with no stored vector and no history (basis 'popular')."""

    def __init__(self, scorer: Scorer, cold: Tensor, counts: Tensor) -> None:
        self.scorer, self.cold, self.counts = scorer, cold, counts

    def __call__(self, sources: Tensor, items: Optional[Tensor] = None) -> Tensor:
        out = self.scorer(sources, items)
        rows = self.cold[sources]
        if rows.any():
            out[rows] = self.counts if items is None else self.counts[items[rows]]
        return out


def served_users(fitted: Any, members: Tensor, popularity: Tensor) -> tuple[Optional[Scorer], Tensor]:
    """`fitted`'s user scorer and the groups' `members` (from `padded_members`) as Cypher serves them: the
    users it has nothing for (`Fitted.unscorable_users`) get the items' train interaction counts `popularity`
    (`PopularFallback`) and are left out of the members (-1, as padding)."""
    users = fitted.scorer("user")
    unscorable = fitted.unscorable_users() if fitted.personal else None
    if users is None or unscorable is None or not unscorable.any():
        return users, members
    cold = torch.from_numpy(unscorable)
    members = torch.where((members >= 0) & cold[members.clamp(min=0)], -1, members)
    return PopularFallback(users, cold, popularity), members
