"""A fitted model with fixed user and item vectors, for evaluation tests."""
from __future__ import annotations

import numpy as np
import torch

from graphrec.model.base import DotScorer, Fitted, Stored


class Fixed(Fitted):
    """Scores users by `users` . `items`; no group side; `unscorable` is its `unscorable_users` (None: all)."""

    kind = "fixed"

    def __init__(self, users: torch.Tensor, items: torch.Tensor, unscorable: np.ndarray | None = None) -> None:
        self.users, self.items, self.unscorable, self.record = users, items, unscorable, {}

    def scorer(self, side: str):
        return DotScorer(self.users, self.items) if side == "user" else None

    def unscorable_users(self) -> np.ndarray | None:
        return self.unscorable

    def stored(self) -> Stored:
        return Stored()
