"""Times LightGCN propagation forms on Gowalla, side by side.

For each form: one forward pass (no autograd), one forward + backward of the
full-graph propagation, and one training step on a batch of positives
(negative sampling, propagation, BPR loss, Adam step); the epoch estimate is
steps per epoch x median step time. The forms are timed in interleaved
rounds, so that load from other processes spreads over all of them; the
median and the minimum are printed. Every form starts from the same
parameters and is checked against the stock PyG form. Then the full-ranking
evaluation over all test users is timed.

    .venv/bin/python benchmarks/bench_propagation.py [--data DIR] [--threads N] [--reps N]

Forms:
  (a) stock PyG LightGCN on edge_index (LGConv normalises on every call)
  (b) stock PyG LightGCN, normalize=False, on the normalised CSR adjacency
  (c) loop of torch.sparse.mm over the CSR adjacency, autograd backward
  (c') the same loop over a COO adjacency
  (d) one autograd node using the adjacency's symmetry, torch.sparse.mm (MKL)
  (e) graphrec's default: (d) with the reduce="sum" kernel
"""
import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from graphrec.model import LightGCN, NegativeSampler, evaluate, normalized_adjacency, train_step

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla"


def read_interactions(path: Path) -> Tensor:
    """Reads lines ``uid iid iid ...`` into a (2, E) tensor."""
    users: list[int] = []
    items: list[int] = []
    for line in path.read_text().splitlines():
        ids = [int(token) for token in line.split()]
        users += ids[:1] * (len(ids) - 1)
        items += ids[1:]
    return torch.tensor([users, items])


class StockEdgeIndex(LightGCN):
    """(a): PyG's own get_embedding, LGConv normalising edge_index."""

    def get_embedding(self, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return PyGLightGCN.get_embedding(self, edge_index)


class StockAdjacency(LightGCN):
    """(b): PyG's own get_embedding, LGConv(normalize=False) on the CSR adj_t."""

    def __init__(self, num_users: int, num_items: int):
        super().__init__(num_users, num_items)
        for conv in self.convs:
            conv.normalize = False

    def get_embedding(self, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return PyGLightGCN.get_embedding(self, edge_index)


class SparseMMLoop(LightGCN):
    """(c), (c'): x_{l+1} = A x_l with torch.sparse.mm, autograd through it."""

    def get_embedding(self, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        x = self.embedding.weight
        out = x * self.alpha[0]
        for weight in self.alpha[1:]:
            x = torch.sparse.mm(edge_index, x)
            out = out + x * weight
        return out


class _SymmetricMKL(torch.autograd.Function):
    """graphrec's symmetric autograd node, with torch.sparse.mm's default (MKL) kernel."""

    @staticmethod
    def forward(ctx: FunctionCtx, adj: Tensor, x: Tensor, alpha: Tensor) -> Tensor:
        ctx.save_for_backward(adj, alpha)
        return _SymmetricMKL.propagate(adj, x, alpha)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[None, Tensor, None]:
        adj, alpha = ctx.saved_tensors
        return None, _SymmetricMKL.propagate(adj, grad, alpha), None

    @staticmethod
    def propagate(adj: Tensor, x: Tensor, alpha: Tensor) -> Tensor:
        out = x * alpha[0]
        for weight in alpha[1:]:
            x = torch.sparse.mm(adj, x)
            out.add_(x, alpha=weight.item())
        return out


class SymmetricMKL(LightGCN):
    """(d): the symmetric autograd node, torch.sparse.mm's default kernel."""

    def get_embedding(self, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return _SymmetricMKL.apply(edge_index, self.embedding.weight, self.alpha)


def timed_ms(fn: Callable[[], object]) -> float:
    """Wall time of one call, in ms."""
    start = time.perf_counter()
    fn()
    return 1e3 * (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train.txt, test.txt")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads")
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per form")
    parser.add_argument("--stock-reps", type=int, default=2, help="timed repetitions for form (a)")
    args = parser.parse_args()
    if not (args.data / "train.txt").is_file() or not (args.data / "test.txt").is_file():
        print(f"skipped: no train.txt/test.txt under {args.data}")
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    train = read_interactions(args.data / "train.txt")
    test = read_interactions(args.data / "test.txt")
    num_users = int(max(train[0].max(), test[0].max())) + 1
    num_items = int(max(train[1].max(), test[1].max())) + 1
    start = time.perf_counter()
    adj = normalized_adjacency(num_users, num_items, *train)
    adj_ms = 1e3 * (time.perf_counter() - start)
    users, items = torch.unique(train, dim=1)
    edge_index = torch.stack([torch.cat([users, items + num_users]), torch.cat([items + num_users, users])])
    steps = math.ceil(train.size(1) / args.batch_size)
    print(f"{args.data}: {num_users} users, {num_items} items, {train.size(1)} train / {test.size(1)} test "
          f"interactions; adjacency {adj._nnz()} nnz built in {adj_ms:.0f} ms; "
          f"{torch.get_num_threads()} threads; {steps} steps of {args.batch_size} per epoch")

    forms: list[tuple[str, type[LightGCN], Tensor]] = [
        ("(a) stock, edge_index", StockEdgeIndex, edge_index),
        ("(b) stock, normalize=False, CSR", StockAdjacency, adj),
        ("(c) sparse.mm loop, CSR", SparseMMLoop, adj),
        ("(c') sparse.mm loop, COO", SparseMMLoop, adj.to_sparse_coo().coalesce()),
        ("(d) symmetric node, sparse.mm", SymmetricMKL, adj),
        ("(e) symmetric node, reduce=sum [default]", LightGCN, adj),
    ]
    state = LightGCN(num_users, num_items).state_dict()
    sampler = NegativeSampler(train, num_items)
    batch_users, batch_items = train[:, torch.randperm(train.size(1))[: args.batch_size]]
    reference: Optional[tuple[Tensor, Tensor]] = None
    cases = []  # (name, repetitions, relative difference to (a), {measure: callable})
    for name, cls, graph in forms:
        model = cls(num_users, num_items)
        model.load_state_dict(state)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def forward(model: LightGCN = model, graph: Tensor = graph) -> None:
            with torch.no_grad():
                model.get_embedding(graph)

        def forward_backward(model: LightGCN = model, graph: Tensor = graph) -> None:
            model.zero_grad()
            model.get_embedding(graph).sum().backward()

        def step(model: LightGCN = model, graph: Tensor = graph, optimizer: torch.optim.Optimizer = optimizer) -> None:
            train_step(model, graph, batch_users, batch_items, sampler.sample(batch_users), optimizer)

        forward_backward()  # also the warm-up
        out, grad = model.get_embedding(graph).detach(), model.embedding.weight.grad.clone()
        reference = reference or (out, grad)
        error = max(((mine - ref).abs().max() / ref.abs().max()).item() for mine, ref in zip((out, grad), reference))
        step()  # warm-up: allocates the optimiser state
        reps = args.stock_reps if cls is StockEdgeIndex else args.reps
        cases.append((name, reps, error, {"fwd": forward, "fwd+bwd": forward_backward, "step": step}))
        print(f"  built {name}", file=sys.stderr, flush=True)

    # Round-robin over the forms, so that load from other processes hits all.
    times: dict[tuple[str, str], list[float]] = {}
    for rep in range(max(args.reps, args.stock_reps)):
        for name, form_reps, _, measures in cases:
            if rep < form_reps:
                for measure, fn in measures.items():
                    times.setdefault((name, measure), []).append(timed_ms(fn))
        print(f"  round {rep + 1} done", file=sys.stderr, flush=True)

    stock_step = statistics.median(times[(cases[0][0], "step")])
    print(f"\nmedian (min) of {args.reps} rounds, {args.stock_reps} for (a); ms unless stated; rel. diff: "
          "max |output or gradient - (a)'s| / max |(a)'s|")
    print(f"{'form':42} {'fwd':>11} {'fwd+bwd':>11} {'step':>11} {'epoch s':>8} {'vs (a)':>7} {'rel. diff':>10}")
    for name, _, error, measures in cases:
        cells = [f"{statistics.median(times[(name, m)]):5.0f} ({min(times[(name, m)]):4.0f})" for m in measures]
        step_ms = statistics.median(times[(name, "step")])
        print(f"{name:42} {' '.join(cells)} {steps * step_ms / 1e3:8.1f} {stock_step / step_ms:6.1f}x {error:10.1e}")

    model = LightGCN(num_users, num_items)
    model.load_state_dict(state)
    with torch.no_grad():
        user_emb, item_emb = model.user_item_embeddings(adj)
    start = time.perf_counter()
    result = evaluate(user_emb, item_emb, train, test, ks=(20,))
    eval_s = time.perf_counter() - start
    print(f"\nfull-ranking evaluation, {int(torch.unique(test[0]).numel())} test users x {num_items} items: "
          f"{eval_s:.1f} s (untrained model: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
