"""Data-parallel training in real processes (gloo on 127.0.0.1): 2 ranks follow the 1-process run exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from graphrec.cli import main
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import free_port
from graphrec.load import load_csv
from graphrec.model import (
    GroupLightGCN,
    LightGCN,
    NegativeSampler,
    normalized_adjacency,
    train_epoch,
)
from graphrec.model.bpr import BPRObjective, GroupBPRObjective, group_train_epoch
from graphrec.model.distributed import World
from graphrec.model.group import member_matrix, tripartite_adjacency
from graphrec.model.trainer import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("single_thread")

STEPS_BATCH = 37  # global batch: odd, so the 2 ranks' shares differ (19 and 18) and the last batch is short


def _graph(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """30 users, 16 items, two tastes (even users like even items), 6 train and 1 valid item each."""
    rng = torch.Generator().manual_seed(seed)
    train, valid = [], []
    for user in range(30):
        liked = torch.arange(user % 2, 16, 2)[torch.randperm(8, generator=rng)]
        valid.append((user, int(liked[0])))
        train += [(user, int(item)) for item in liked[1:7]]
    return torch.tensor(train).T, torch.tensor(valid).T


def _groups() -> tuple[torch.Tensor, torch.Tensor]:
    """5 groups of 3 users, 7 group train interactions: (group, item) and (user, group) pairs. 5 steps share
    them 2, 2, 1, 1, 1: on 3 steps rank 1 has no group triple (DDP then finds the group weight unused there)."""
    group_train = torch.tensor([(g, (2 * g + k) % 16) for g in range(5) for k in range(2)][:7]).T
    memberships = torch.tensor([(3 * g + k, g) for g in range(5) for k in range(3)]).T
    return group_train, memberships


def _epochs(world: World) -> dict[str, dict[str, torch.Tensor]]:
    """Two epochs of the user-item model and of the group model (learned weight) on `world`'s share."""
    train, _ = _graph()
    out = {}
    torch.manual_seed(3)
    model = LightGCN(30, 16, embedding_dim=8, num_layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    objective = world.wrap(BPRObjective(model))
    generator = torch.Generator().manual_seed(5)
    adj, sampler = normalized_adjacency(30, 16, train[0], train[1]), NegativeSampler(train, 16)
    for _ in range(2):
        train_epoch(model, adj, train, sampler, optimizer, STEPS_BATCH, reg=1e-2, progress=False,
                    generator=generator, negatives=2, objective=objective, world=world)
    out["lightgcn"] = {k: v.clone() for k, v in model.state_dict().items()}

    group_train, memberships = _groups()
    torch.manual_seed(4)
    model = GroupLightGCN(30, 16, 5, embedding_dim=8, num_layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    objective = world.wrap(GroupBPRObjective(model), find_unused_parameters=True)
    generator = torch.Generator().manual_seed(6)
    adj = tripartite_adjacency(30, 16, 5, train, group_train, memberships)
    members = member_matrix(memberships, 5, 30)
    samplers = (NegativeSampler(train, 16), NegativeSampler(group_train, 16))
    for _ in range(2):
        group_train_epoch(model, adj, members, train, group_train, samplers, optimizer, STEPS_BATCH, reg=1e-2,
                          progress=False, generator=generator, objective=objective, world=world)
    out["group"] = {k: v.clone() for k, v in model.state_dict().items()}
    return out


def _config(**overrides: object) -> TrainConfig:
    values: dict = {"embedding_dim": 8, "num_layers": 2, "lr": 0.05, "batch_size": STEPS_BATCH, "epochs": 3,
                    "patience": 100, "ks": (5,), "monitor": "hr@5", "seed": 1, "device": "cpu"}
    values.update(overrides)
    return TrainConfig(**values)


def _fits(folder: Path) -> dict:
    """`fit` for 3 epochs (the parity run); for 2, then resumed to 3; at lr 0 with patience 2 (early stopping)."""
    train, valid = _graph()
    parity = fit(30, 16, train, valid, _config(), folder / "parity", progress=False)
    fit(30, 16, train, valid, _config(epochs=2), folder / "resumed", progress=False)
    resumed = fit(30, 16, train, valid, _config(), folder / "resumed", resume=True, progress=False)
    stopped = fit(30, 16, train, valid, _config(lr=0.0, patience=2, epochs=40), folder / "stopped",
                  progress=False)
    last = torch.load(folder / "resumed" / "checkpoint.pt", weights_only=False)["model"]
    mf = fit(30, 16, train, valid, _config(num_layers=0), folder / "mf", progress=False)  # sparse rows, SparseAdam
    return {"parity_losses": [row["loss"] for row in parity.history], "stopped_epochs": len(stopped.history),
            "mf_model": {k: v.clone() for k, v in mf.model.state_dict().items()},
            "mf_losses": [row["loss"] for row in mf.history],
            "parity_model": {k: v.clone() for k, v in parity.model.state_dict().items()},
            "resumed_losses": [row["loss"] for row in resumed.history], "resumed_last": last,
            "parity_last": torch.load(folder / "parity" / "checkpoint.pt", weights_only=False)["model"]}


def _worker(rank: int, size: int, port: int, folder: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    try:
        world = World(dist.get_rank(), dist.get_world_size())
        result = {"epochs": _epochs(world), **_fits(Path(folder) / "run")}
        torch.save(result, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict]:
    """What 2 gloo processes and 1 plain process computed (spawned once for the module's tests)."""
    folder = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(2, free_port(), str(folder)), nprocs=2, join=True)
    ranks = [torch.load(folder / f"rank{rank}.pt", weights_only=False) for rank in range(2)]
    single = {"epochs": _epochs(World()), **_fits(folder / "single")}
    return ranks, single


def _max_difference(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> float:
    assert left.keys() == right.keys()
    return max((left[k].double() - right[k].double()).abs().max().item() for k in left)


def test_two_ranks_take_the_one_process_steps_of_the_same_global_batch(two_ranks: tuple[list[dict], dict]) -> None:
    ranks, single = two_ranks
    for rank in ranks:
        for model in ("lightgcn", "group"):
            assert _max_difference(rank["epochs"][model], single["epochs"][model]) < 1e-5, model
    # the group weight was learned (it moved from its start, sigmoid(0) = 0.5) and agrees too
    assert abs(ranks[1]["epochs"]["group"]["weight_logit"].item()) > 1e-3


def test_fit_in_two_ranks_matches_one_process(two_ranks: tuple[list[dict], dict]) -> None:
    ranks, single = two_ranks
    for rank in ranks:
        assert _max_difference(rank["parity_model"], single["parity_model"]) < 1e-5
        assert rank["parity_losses"] == pytest.approx(single["parity_losses"], rel=1e-5)
        assert _max_difference(rank["parity_last"], single["parity_last"]) < 1e-5
        # MF: gloo all-reduces the sparse row gradients, and SparseAdam follows the one-process run
        assert _max_difference(rank["mf_model"], single["mf_model"]) < 1e-5
        assert rank["mf_losses"] == pytest.approx(single["mf_losses"], rel=1e-5)
    assert len(single["parity_losses"]) == 3
    assert single["mf_losses"][-1] < single["mf_losses"][0]


def test_resume_in_two_ranks_continues_the_run_exactly(two_ranks: tuple[list[dict], dict]) -> None:
    ranks, single = two_ranks
    for rank in ranks:
        assert rank["resumed_losses"] == pytest.approx(single["parity_losses"], rel=1e-5)
        assert _max_difference(rank["resumed_last"], single["parity_last"]) < 1e-5


def test_early_stopping_decided_on_rank_0_stops_every_rank_at_the_same_epoch(
        two_ranks: tuple[list[dict], dict]) -> None:
    ranks, single = two_ranks
    # lr 0: the first evaluation is the best, two more without improvement stop the run at epoch 3
    assert [rank["stopped_epochs"] for rank in ranks] == [3, 3] == [single["stopped_epochs"]] * 2


def test_world_shares_cover_the_batch_and_weight_it_back() -> None:
    shares = [World(rank, 3).share(7) for rank in range(3)]
    assert [(s.start, s.stop) for s, _ in shares] == [(0, 3), (3, 5), (5, 7)]
    assert [w for _, w in shares] == pytest.approx([9 / 7, 6 / 7, 6 / 7])
    assert World(1, 2).share(1) == (slice(1, 1), 0.0) and World(0, 2).share(0) == (slice(0, 0), 0.0)
    assert World().share(5) == (slice(0, 5), 1.0)


def _planted_rows() -> pd.DataFrame:
    """24 users of two tastes (items 101-106, 201-206), every liked item in train but one test item each."""
    rows = [(user, item, "test" if item == base + user % 6 else "train")
            for user in range(1, 25) for base in ((101,) if user <= 12 else (201,)) for item in range(base, base + 6)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "split"])


@pytest.mark.neo4j
def test_train_command_in_two_processes_writes_one_version(runner: QueryRunner, connection: Connection,
                                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_csv(runner, interactions=_planted_rows())
    config = tmp_path / "toy.toml"
    config.write_text("[model]\nkind = 'lightgcn'\nembedding_dim = 8\n[train]\nepochs = 3\nbatch_size = 64\n"
                      "lr = 0.05\nks = [3]\nmonitor = 'recall@3'\ndevice = 'cpu'\n")
    flags = ["--uri", connection.uri, "--password", connection.password]
    run_dir = tmp_path / "run"
    assert main(["train", "--config", str(config), "--run-dir", str(run_dir), "--quiet", "--nproc", "2", *flags]) == 0
    assert runner.run("MATCH (m:Model) RETURN m.version AS version, m.active AS active") == [
        {"version": 1, "active": True}]
    record = json.loads((run_dir / "toy" / "metrics.json").read_text())
    assert [row["epoch"] for row in record["history"]] == [1, 2, 3]  # rank 0's record, written once
    assert (run_dir / "snapshot.token").is_file() and (run_dir / "evaluation.json").is_file()

    popularity = tmp_path / "popularity.toml"
    popularity.write_text("[model]\nkind = 'popularity'\n")
    capsys.readouterr()
    assert main(["train", "--config", str(popularity), "--nproc", "2", *flags]) != 0
    assert "not trained" in capsys.readouterr().err
