"""The models under one contract (`base`, `kinds`): LightGCN and MF trained with BPR (`trainer`, `bpr`), the
training-free graph filters (`filters`), item-kNN, popularity, the group models (`group`, `groupgf`), and
full-ranking metrics."""
from graphrec.model import group_select, groupgf  # noqa: F401  register the model kinds 'group', 'groupgf'
from graphrec.model.bpr import group_train_epoch, group_train_step, train_epoch, train_step
from graphrec.model.group import GroupLightGCN, member_matrix, member_mean, tripartite_adjacency
from graphrec.model.lightgcn import LightGCN, bpr_loss, normalized_adjacency
from graphrec.model.metrics import evaluate
from graphrec.model.sampling import NegativeSampler

__all__ = [
    "GroupLightGCN",
    "LightGCN",
    "NegativeSampler",
    "bpr_loss",
    "evaluate",
    "group_train_epoch",
    "group_train_step",
    "member_matrix",
    "member_mean",
    "normalized_adjacency",
    "train_epoch",
    "train_step",
    "tripartite_adjacency",
]
