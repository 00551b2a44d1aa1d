"""A training run on a planted graph: it learns, checkpoints, resumes exactly and stops early."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from graphrec.errors import ConfigError
from graphrec.model.trainer import GroupTask, TrainConfig, fit
from graphrec.runconfig import read_config

pytestmark = pytest.mark.usefixtures("single_thread")


def planted(num_users: int = 40, num_items: int = 20, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two tastes: even users like even items, odd users odd items; one liked item per user held out."""
    rng = torch.Generator().manual_seed(seed)
    train, valid = [], []
    for user in range(num_users):
        liked = torch.arange(user % 2, num_items, 2)
        liked = liked[torch.randperm(len(liked), generator=rng)]
        valid.append((user, int(liked[0])))
        train += [(user, int(item)) for item in liked[1:6]]
    return torch.tensor(train).T, torch.tensor(valid).T


def config(**overrides) -> TrainConfig:
    values = dict(embedding_dim=8, num_layers=2, lr=0.05, batch_size=64, epochs=30, patience=100,
                  ks=(5,), monitor="hr@5", seed=1)
    values.update(overrides)
    return TrainConfig(**values)


def test_fit_learns_the_planted_tastes_and_records_the_run(tmp_path: Path) -> None:
    train, valid = planted()
    result = fit(40, 20, train, valid, config(), tmp_path, progress=False)
    # 5 unseen items of each user's taste among 15 unseen: chance is 1/3, learning the tastes gives ~1.
    assert result.best_metrics["hr@5"] >= 0.9
    assert result.history[-1]["loss"] < 0.5 * result.history[0]["loss"]
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["best_epoch"] == result.best_epoch and len(record["history"]) == 30
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "best.pt").exists()


@pytest.mark.parametrize("num_layers", [2, 0])  # 0: MF, whose SparseAdam state is checkpointed too
def test_resume_continues_exactly_where_the_run_stopped(tmp_path: Path, num_layers: int) -> None:
    train, valid = planted()
    straight = fit(40, 20, train, valid, config(epochs=6, num_layers=num_layers), tmp_path / "straight",
                   progress=False)
    fit(40, 20, train, valid, config(epochs=3, num_layers=num_layers), tmp_path / "split", progress=False)
    resumed = fit(40, 20, train, valid, config(epochs=6, num_layers=num_layers), tmp_path / "split", resume=True,
                  progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in straight.history], rel=1e-5)


def test_early_stopping_after_patience_evaluations_without_improvement(tmp_path: Path) -> None:
    train, valid = planted()
    result = fit(40, 20, train, valid, config(lr=0.0, patience=3, epochs=50), tmp_path, progress=False)
    assert len(result.history) == 4  # epoch 1 sets the best, three more without improvement
    assert result.best_epoch == 1


def test_run_config_names_the_model_and_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("[model]\nkind = 'lightgcn'\n[train]\nepochs = 5\nlearning_rate = 0.1\n")
    with pytest.raises(ConfigError, match="run.toml: unknown \\[train\\] keys: learning_rate"):
        read_config(path)
    path.write_text("[model]\nkind = 'lightgcn'\nembedding_dim = 16\n[train]\nepochs = 5\nks = [10, 20]\n"
                    "monitor = 'ndcg@10'\n[export]\nmin_interactions = 2\n")
    loaded = read_config(path, train={"epochs": 7})
    assert (loaded.name, loaded.model.kind, loaded.model.embedding_dim) == ("run", "lightgcn", 16)
    assert (loaded.train.epochs, loaded.train.ks, loaded.train.monitor) == (7, (10, 20), "ndcg@10")
    assert loaded.export == {"min_interactions": 2}
    for text, message in [("[train]\nepochs = 1\n", "no \\[model\\] table"),
                          ("[model]\nkind = 'svd'\n", "kind must be one of"),
                          ("[model]\nkind = 'popularity'\n[train]\nepochs = 1\n", "is not trained"),
                          ("[model]\nkind = 'lightgcn'\nlr = 0.1\n", "unknown \\[model\\] keys for kind 'lightgcn': lr"),
                          ("[model]\nkind = 'lightgcn'\n[train]\nembedding_dim = 8\n", "unknown \\[train\\] keys"),
                          ("[model]\nkind = 'mf'\nnum_layers = 2\n", "kind 'mf' has num_layers = 0"),
                          ("[model]\nkind = 'lightgcn'\n[evaluate]\nprotocol = 'loo'\n", "protocol must be one of"),
                          ("[model\n", "not valid TOML")]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            read_config(path)


def test_time_budget_ends_the_run_with_an_evaluation(tmp_path: Path) -> None:
    train, valid = planted()
    result = fit(40, 20, train, valid, config(max_minutes=1e-6, eval_every=10), tmp_path, progress=False)
    assert len(result.history) == 1 and "metrics" in result.history[0]


def planted_groups(train: torch.Tensor) -> GroupTask:
    """Ten groups of four users of one taste (groups 0-4 even users, 5-9 odd), each with three train items of
    its taste and one held out."""
    rng = torch.Generator().manual_seed(3)
    members, group_train, group_valid = [], [], []
    for group in range(10):
        parity = 0 if group < 5 else 1
        for user in torch.arange(parity, 40, 2)[torch.randperm(20, generator=rng)[:4]].tolist():
            members.append((user, group))
        liked = torch.arange(parity, 20, 2)[torch.randperm(10, generator=rng)].tolist()
        group_valid.append((group, liked[0]))
        group_train += [(group, item) for item in liked[1:4]]
    return GroupTask(10, torch.tensor(group_train).T, torch.tensor(group_valid).T, torch.tensor(members).T)


def test_fit_with_groups_monitors_the_group_task_and_resumes(tmp_path: Path) -> None:
    train, valid = planted()
    groups = planted_groups(train)
    result = fit(40, 20, train, valid, config(monitor="group_hr@5", epochs=6), tmp_path / "straight",
                 groups=groups, progress=False)
    # the held-out item among 17 unseen: chance 5/17; top 5 of the group's 7 unseen taste items: 5/7
    assert result.best_metrics["group_hr@5"] >= 0.6 and result.best_metrics["hr@5"] >= 0.8
    assert 0 < result.history[-1]["group_weight"] < 1 and result.history[-1]["group_weight"] != 0.5
    final = result.embeddings
    assert final.groups.shape == final.group_vectors.shape == (10, 8) and final.has_history.all()
    assert final.group_weight == pytest.approx(result.model.group_weight().item())
    fit(40, 20, train, valid, config(monitor="group_hr@5", epochs=3), tmp_path / "split", groups=groups,
        progress=False)
    resumed = fit(40, 20, train, valid, config(monitor="group_hr@5", epochs=6), tmp_path / "split",
                  groups=groups, resume=True, progress=False)
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in result.history], rel=1e-5)
    fixed = fit(40, 20, train, valid, config(monitor="group_hr@5", epochs=2, group_weight=0.3), tmp_path / "fixed",
                groups=groups, progress=False)
    assert fixed.embeddings.group_weight == pytest.approx(0.3)


def test_a_group_monitor_needs_groups(tmp_path: Path) -> None:
    train, valid = planted()
    with pytest.raises(ValueError, match="monitor 'group_hr@5' needs groups"):
        fit(40, 20, train, valid, config(monitor="group_hr@5"), tmp_path, progress=False)


def test_spectral_init_starts_from_the_graph_filter_and_scores_the_planted_tastes_untrained(tmp_path: Path) -> None:
    from graphrec.model.filters import spectral_embeddings

    train, valid = planted()
    untrained = fit(40, 20, train, valid, config(lr=0.0, epochs=1, init="spectral", embedding_dim=4), tmp_path,
                    progress=False)
    assert torch.equal(untrained.model.embedding.weight.detach(),
                       spectral_embeddings(40, 20, train[0], train[1], 4, seed=1))
    # The two tastes are the graph's two leading components: without a step of training the spectral start
    # already ranks each user's unseen items of their taste first (chance: 1/3).
    assert untrained.best_metrics["hr@5"] >= 0.9
    normal = fit(40, 20, train, valid, config(lr=0.0, epochs=1, embedding_dim=4), tmp_path / "normal",
                 progress=False)
    assert normal.best_metrics["hr@5"] < 0.7
    with pytest.raises(ValueError, match="init must be one of"):
        config(init="svd")


def test_cosine_schedule_falls_from_lr_to_zero_over_the_first_budget_to_run_out(tmp_path: Path) -> None:
    from graphrec.model.trainer import scheduled_lr

    epochs = config(lr_schedule="cosine", lr=0.08, epochs=4)
    # Epoch e starts with (e - 1) / 4 of the epochs spent: 0.08 * (1 + cos(pi f)) / 2.
    assert [scheduled_lr(epochs, e, 0.0) for e in (1, 2, 3, 4)] == pytest.approx([0.08, 0.06828427, 0.04, 0.01171573])
    timed = config(lr_schedule="cosine", lr=0.08, epochs=1000, max_minutes=2.0)
    assert scheduled_lr(timed, 2, 60.0) == pytest.approx(0.04)      # half the 2 minutes spent
    assert scheduled_lr(timed, 2, 500.0) == 0.0                     # past the budget
    assert scheduled_lr(config(lr=0.08), 3, 1e9) == 0.08            # constant
    train, valid = planted()
    result = fit(40, 20, train, valid, epochs, tmp_path, progress=False)
    assert [row["lr"] for row in result.history] == pytest.approx([0.08, 0.06828427, 0.04, 0.01171573])
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        config(lr_schedule="step")


def test_user_sampling_learns_the_tastes_and_is_refused_for_groups(tmp_path: Path) -> None:
    train, valid = planted()
    result = fit(40, 20, train, valid, config(sampling="user"), tmp_path / "users", progress=False)
    assert result.best_metrics["hr@5"] >= 0.9
    assert json.loads((tmp_path / "users" / "metrics.json").read_text())["config"]["sampling"] == "user"
    with pytest.raises(ValueError, match="sampling 'user' is for user–item graphs"):
        fit(40, 20, train, valid, config(sampling="user"), tmp_path / "groups", groups=planted_groups(train),
            progress=False)
    with pytest.raises(ValueError, match="sampling must be one of"):
        config(sampling="items")


def test_steps_per_epoch_sets_the_batch_from_the_data_and_excludes_batch_size(tmp_path: Path) -> None:
    # An epoch of E positives in n steps: batches of ceil(E / n), so its cost grows with E, not E^2 / batch.
    assert TrainConfig(steps_per_epoch=3).batch(100) == 34 and TrainConfig(steps_per_epoch=3).batch(1) == 1
    assert TrainConfig().batch(100) == 2048 and TrainConfig(batch_size=64).batch(100) == 64
    with pytest.raises(ValueError, match="batch_size or steps_per_epoch, not both"):
        TrainConfig(batch_size=64, steps_per_epoch=3)
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive integer"):
        TrainConfig(steps_per_epoch=0)
    path = tmp_path / "run.toml"
    path.write_text("[model]\nkind = 'lightgcn'\n[train]\nbatch_size = 64\nsteps_per_epoch = 3\n")
    with pytest.raises(ConfigError, match="not both"):
        read_config(path)
    train, valid = planted()  # 200 train interactions
    result = fit(40, 20, train, valid, config(batch_size=None, steps_per_epoch=3, epochs=20), tmp_path / "run",
                 progress=False)
    assert result.best_metrics["hr@5"] >= 0.9
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["optimizer"]["state"]
    assert int(state[0]["step"]) == 20 * 3  # 3 optimiser steps an epoch
