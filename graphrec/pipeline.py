"""`graphrec train`: export a snapshot from Neo4j, train LightGCN on it, evaluate, write the embeddings back.

When the snapshot has group train interactions, the model is `GroupLightGCN` on users, items and groups
(`graphrec.model.group`): the write-back then also holds the group embeddings, for the groups with train
interactions of their own only (the others have none and are served by member aggregation), and the Model's
`group_weight` (alpha of the combined score).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from graphrec.db import QueryRunner
from graphrec.export import Snapshot, export_snapshot
from graphrec.model import evaluate
from graphrec.training import Embeddings, GroupTask, TrainConfig, fit, save_record
from graphrec.writeback import write_embeddings


def validation_split(snapshot: Snapshot) -> str:
    """`valid` when the data has validation interactions (of users or groups), else `test` (as the LightGCN
    paper reports)."""
    has_valid = snapshot.interactions["valid"].size(1) or snapshot.group_interactions["valid"].size(1)
    return "valid" if has_valid else "test"


def group_task(snapshot: Snapshot, split: str) -> GroupTask | None:
    """The snapshot's groups as a `GroupTask` validated on `split`, or None when no group has train
    interactions."""
    if not snapshot.group_interactions["train"].size(1):
        return None
    return GroupTask(len(snapshot.group_ids), snapshot.group_interactions["train"],
                     snapshot.group_interactions[split], snapshot.memberships)


def embedding_tables(snapshot: Snapshot, final: Embeddings) -> dict[str, tuple[Any, Any]]:
    """The write-back's (ids, vectors) per kind: users, items and, when trained, the groups with train
    interactions of their own (their e_g)."""
    tables = {"user": (snapshot.user_ids, final.users.numpy()), "item": (snapshot.item_ids, final.items.numpy())}
    if final.groups is not None and bool(final.has_history.any()):
        kept = final.has_history.numpy()
        tables["group"] = (snapshot.group_ids[kept], final.groups.numpy()[kept])
    return tables


def run_training(
    runner: QueryRunner,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Export → fit → evaluate on `test` → write back (unless `config.write_back` is false).

    Returns the run's summary: counts, best epoch, validation and test metrics (group ones prefixed `group_`),
    `group_weight` (alpha) and `groups_without_history` (groups left without an embedding, served by member
    aggregation; both None without groups), the written version and the seconds of each stage
    (`stage_seconds`: export, train, evaluate, write_back).
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
    groups = group_task(snapshot, monitored)
    result = fit(len(snapshot.user_ids), len(snapshot.item_ids), train, snapshot.interactions[monitored],
                 config, run_dir, groups=groups, resume=resume, progress=progress)
    lap("train")
    final = result.embeddings
    test = snapshot.interactions["test"]
    test_metrics = evaluate(final.users, final.items, train, test, config.ks) if test.size(1) else {}
    group_test = snapshot.group_interactions["test"]
    if groups is not None and group_test.size(1):
        found = evaluate(final.group_vectors, final.items, groups.train, group_test, config.ks)
        test_metrics |= {f"group_{name}": value for name, value in found.items()}
    lap("evaluate")
    summary: dict[str, Any] = {
        "counts": snapshot.counts(), "validation_split": monitored, "best_epoch": result.best_epoch,
        "validation_metrics": result.best_metrics, "test_metrics": test_metrics,
        "train_seconds": result.seconds, "group_weight": final.group_weight,
        "groups_without_history": None if final.has_history is None else int((~final.has_history).sum()),
        "version": None, "stage_seconds": stage_seconds,
    }
    if config.write_back:
        summary["version"] = write_embeddings(
            runner, embedding_tables(snapshot, final), group_weight=final.group_weight,
            run={"params": asdict(config), "metrics": test_metrics, "dataset": snapshot.counts(),
                 "training": {"seconds": result.seconds, "best_epoch": result.best_epoch,
                              "epochs": len(result.history), "run_dir": str(run_dir.resolve())}},
            progress=progress,
        )
        lap("write_back")
    save_record(run_dir, config, result, summary=summary)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
