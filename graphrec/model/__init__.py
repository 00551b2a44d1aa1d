"""The learning core: LightGCN, BPR training and full-ranking evaluation."""
from graphrec.model.lightgcn import LightGCN, bpr_loss, normalized_adjacency
from graphrec.model.metrics import evaluate
from graphrec.model.sampling import NegativeSampler
from graphrec.model.train import train_epoch, train_step

__all__ = [
    "LightGCN",
    "NegativeSampler",
    "bpr_loss",
    "evaluate",
    "normalized_adjacency",
    "train_epoch",
    "train_step",
]
