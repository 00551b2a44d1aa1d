"""`graphrec train`: export a snapshot from Neo4j, train LightGCN on it, evaluate, write the embeddings back."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from graphrec.db import QueryRunner
from graphrec.export import Snapshot, export_snapshot
from graphrec.model import evaluate, normalized_adjacency
from graphrec.training import TrainConfig, TrainResult, fit, save_record
from graphrec.writeback import write_embeddings


def validation_split(snapshot: Snapshot) -> str:
    """`valid` when the data has validation interactions, else `test` (as the LightGCN paper reports)."""
    valid = snapshot.interactions.get("valid")
    return "valid" if valid is not None and valid.size(1) else "test"


def run_training(
    runner: QueryRunner,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Export → fit → evaluate on `test` → write back (unless `config.write_back` is false).

    Returns the run's summary: counts, best epoch, validation and test metrics, the written version and the
    seconds of each stage (`stage_seconds`: export, train, evaluate, write_back).
    """
    run_dir = Path(run_dir)
    clock = time.perf_counter()
    stage_seconds: dict[str, float] = {}

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stage_seconds[stage] = now - clock
        clock = now

    snapshot = export_snapshot(runner, **config.export)
    snapshot.save(run_dir / "snapshot")
    lap("export")
    train = snapshot.interactions["train"]
    monitored = validation_split(snapshot)
    result = fit(len(snapshot.user_ids), len(snapshot.item_ids), train, snapshot.interactions[monitored],
                 config, run_dir, resume=resume, progress=progress)
    lap("train")
    users, items = embeddings(result, snapshot)
    test = snapshot.interactions.get("test")
    test_metrics = evaluate(torch.from_numpy(users), torch.from_numpy(items), train, test, config.ks) \
        if test is not None and test.size(1) else {}
    lap("evaluate")
    summary: dict[str, Any] = {
        "counts": snapshot.counts(), "validation_split": monitored, "best_epoch": result.best_epoch,
        "validation_metrics": result.best_metrics, "test_metrics": test_metrics,
        "train_seconds": result.seconds, "version": None, "stage_seconds": stage_seconds,
    }
    if config.write_back:
        summary["version"] = write_embeddings(
            runner, {"user": (snapshot.user_ids, users), "item": (snapshot.item_ids, items)},
            run={"params": asdict(config), "metrics": test_metrics, "dataset": snapshot.counts(),
                 "training": {"seconds": result.seconds, "best_epoch": result.best_epoch,
                              "epochs": len(result.history), "run_dir": str(run_dir.resolve())}},
            progress=progress,
        )
        lap("write_back")
    save_record(run_dir, config, result, summary=summary)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def embeddings(result: TrainResult, snapshot: Snapshot) -> tuple[Any, Any]:
    """The final (user, item) embeddings of the best model as float32 numpy arrays."""
    train = snapshot.interactions["train"]
    model = result.model
    adj = _adjacency(model, train)
    model.eval()
    with torch.no_grad():
        users, items = model.user_item_embeddings(adj)
    return users.cpu().numpy(), items.cpu().numpy()


def _adjacency(model: Any, train: torch.Tensor) -> torch.Tensor:
    device = next(model.parameters()).device
    return normalized_adjacency(model.num_users, model.num_items, train[0], train[1]).to(device)
