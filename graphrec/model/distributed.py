r"""Data-parallel training with `torch.distributed`: the world of processes, and helpers that are no-ops in one.

A run under `torchrun` (or `graphrec train --nproc N`) has N processes, each holding the whole graph (full-graph
propagation). Every process draws the same global batch of BPR triples from the run's seed and takes its
contiguous share (`World.share`); gradients are averaged across processes by
`torch.nn.parallel.DistributedDataParallel` (`World.wrap`). With shares of sizes :math:`b_r` of a global batch of
:math:`B` and a per-process loss that is a mean over its share, the loss is weighted by :math:`w_r = N b_r / B`:

.. math::
    \frac{1}{N} \sum_r w_r \nabla \Big(\frac{1}{b_r} \sum_{k \in r} \ell_k\Big)
    = \frac{1}{B} \sum_k \nabla \ell_k,

the gradient one process gets from the whole batch, whether or not N divides B. Process 0 (`is_main`) evaluates,
decides early stopping and writes files; it tells the others with `broadcast`. Backends: gloo on CPU, NCCL on
CUDA (`start`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's `rank` among `size` processes (0 of 1 without `torch.distributed`)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, count: int) -> tuple[slice, float]:
        """This rank's contiguous part of `count` global rows (as `torch.tensor_split`: the first `count % size`
        ranks get one more) and its loss weight `size * rows / count` (0 for an empty batch)."""
        base, extra = divmod(count, self.size)
        start = self.rank * base + min(self.rank, extra)
        rows = base + (self.rank < extra)
        return slice(start, start + rows), (self.size * rows / count if count else 0.0)

    def wrap(self, module: torch.nn.Module, *, find_unused_parameters: bool = False) -> torch.nn.Module:
        """`module` inside DistributedDataParallel when there are several processes (on this rank's GPU for a
        CUDA module), else `module` itself. DDP broadcasts rank 0's parameters once, then all-reduces (averages)
        the gradients of every backward of what the wrapper's forward computed."""
        if self.size == 1:
            return module
        device = next(module.parameters()).device
        ids = [device] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids,
                                                         find_unused_parameters=find_unused_parameters)

    def average(self, value: float) -> float:
        """The mean of `value` over the ranks (`value` in one process)."""
        if self.size == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(tensor)
        return tensor.item() / self.size

    def broadcast(self, value: T) -> T:
        """Rank 0's `value` (any picklable object) on every rank."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, device=_collective_device())
        return box[0]

    def barrier(self) -> None:
        """Wait until every rank has come here."""
        if self.size > 1:
            dist.barrier(device_ids=[torch.cuda.current_device()] if dist.get_backend() == "nccl" else None)


def world() -> World:
    """The world of the initialised process group; one process when there is none."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def launched() -> bool:
    """Whether torchrun (or another launcher) started this process as one of several (`WORLD_SIZE` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str = "auto", timeout_minutes: float = 60.0) -> World:
    """Join the process group the launcher's environment describes (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`,
    `MASTER_PORT`, `LOCAL_RANK`): backend NCCL when `device` is CUDA (`auto`: when CUDA is available; each
    process on GPU `LOCAL_RANK`), else gloo. Collectives wait `timeout_minutes` (default 60: rank 0 may export,
    evaluate or write back while the others wait). Returns the world; one process when not launched."""
    if not launched():
        return World()
    if not dist.is_initialized():
        cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(minutes=timeout_minutes))
    return world()


def local_device(device: torch.device) -> torch.device:
    """`device`, on this process's own GPU (`LOCAL_RANK`) when it is CUDA and several processes run."""
    if device.type == "cuda" and world().size > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def stop() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
