r"""Per-group fairness of a group's top-:math:`K` list: how well it serves each member, relative to what the
member would have picked alone.

For group :math:`g` with recommended list :math:`R_g` (its top :math:`K` among the candidate items
:math:`C_g`, every item but the group's known ones), member :math:`m` with scores :math:`s_{mi}` from a
judge model (the same for every method compared, so the figures are comparable), and :math:`T_m` the
member's own top :math:`K` among :math:`C_g`:

.. math::
    \mathrm{sat}_m = \frac{\overline{s}_{m}(R_g) - \overline{s}_{m}(C_g)}
                          {\overline{s}_{m}(T_m) - \overline{s}_{m}(C_g)},

the mean score of the recommended items over the mean score of the member's own top items, both above the
member's mean over all candidates: 1 when the group's list is as good for :math:`m` as their own top
:math:`K`, 0 when it is no better than a random candidate, negative when worse. Per group:
:math:`\min_m \mathrm{sat}_m` (the least-served member) and the spread
:math:`\max_m \mathrm{sat}_m - \min_m \mathrm{sat}_m`.
"""
import torch
from torch import Tensor

from graphrec.evaluation.protocol import Scorer
from graphrec.evaluation.scorers import MemberScorer
from graphrec.model.metrics import _keys, _select_rows, chunk_rows


@torch.no_grad()
def member_satisfaction(score: Scorer, judge: MemberScorer, groups: Tensor, known: Tensor, num_items: int,
                        k: int = 10, chunk_size: int = 64) -> tuple[Tensor, Tensor]:
    r"""Per group of :obj:`groups`: (:math:`\min_m \mathrm{sat}_m`, spread), two float64 tensors (NaN for
    a group without members).

    Args:
        score: the method's group scorer.
        judge: gives the members' scores (its :obj:`member_scores`; its strategy does not matter).
        groups (torch.Tensor): :obj:`(B,)` group indices.
        known (torch.Tensor): :obj:`(2, E)` [group, item] interactions excluded from the candidates.
        num_items (int): :math:`|I|`. k (int, optional): :math:`K`. (default: :obj:`10`)
        chunk_size (int, optional): groups scored at once, at most
            :data:`graphrec.model.metrics.CHUNK_CELLS` member scores. (default: :obj:`64`)
    """
    keys = _keys(known, num_items)
    lows, spreads = [], []
    for chunk in groups.split(chunk_rows(chunk_size, num_items * judge.members.size(1))):
        excluded = torch.zeros(chunk.numel(), num_items, dtype=torch.bool)
        excluded[_select_rows(keys, num_items, chunk)] = True
        group_scores = score(chunk, None).masked_fill(excluded, float("-inf"))
        top = group_scores.topk(k, dim=1).indices
        member, real = judge.member_scores(chunk, None)
        member = member.double()
        allowed = ~excluded.unsqueeze(1)
        base = torch.where(allowed, member, 0.0).sum(2) / allowed.sum(2).clamp(min=1)
        recommended = member.gather(2, top.unsqueeze(1).expand(-1, member.size(1), -1)).mean(2)
        own = member.masked_fill(~allowed, float("-inf")).topk(k, dim=2).values.mean(2)
        sat = (recommended - base) / (own - base).clamp(min=1e-12)
        low = torch.where(real, sat, float("inf")).amin(1)
        spread = torch.where(real, sat, float("-inf")).amax(1) - low
        lows.append(torch.where(real.any(1), low, float("nan")))
        spreads.append(torch.where(real.any(1), spread, float("nan")))
    return torch.cat(lows), torch.cat(spreads)
