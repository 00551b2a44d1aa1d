"""The one conductor of graphrec's stages: export → fit → evaluate → write back.

`graphrec train` (one model, written back), `graphrec evaluate` (several models side by side, nothing
written), `graphrec demo` and the benchmarks all run models through `conduct`:

1. **export** the snapshot once (`graphrec.export.export_snapshot` with the first configuration's
   `[export]`; every configuration must ask for the same);
2. **fit** each configuration's model (`graphrec.model.kinds`) on the train interactions (all of them under
   the reference protocol; without the pairs of test cases under `[evaluate] variant = "leak_free"`), with
   early stopping data chosen by its `[train] validation` (trained kinds): the `valid` split, else the `test`
   split (`auto`, as the LightGCN paper reports), one held-out train interaction per source (`holdout`), or
   none; a configuration with `[text]` reads its items' text from the server, embeds it (`graphrec.encoder`,
   once per set of properties), chooses its "auto" numbers on a validation split (one more fit,
   `graphrec.model.fusion.choose_text`) and wraps the model with it (`graphrec.model.fusion`); under the sampled
   protocol with `[evaluate] known_items = "auto"`, one more fit chooses how the model's known items rank
   (`graphrec.evaluation.known.choose_known`, on the model without its `[text]` part);
3. **evaluate** every fitted model on the test split with one `graphrec.evaluation.run.Evaluator` (the same
   cases for all), under the first configuration's `[evaluate]`;
4. **write back** (`write_back=True`) each model's stored form as a new version (`graphrec.writeback`).

Under `torch.distributed` (`graphrec train --nproc N`, or torchrun), every process conducts: rank 0 exports and
saves the snapshot, the others read it from the run folder (a shared path; where they cannot see rank 0's, each
exports its own in read sessions), every rank fits (data-parallel, `graphrec.model.trainer`), and after a
barrier rank 0 alone evaluates and writes back, so a run makes one version; the other ranks return their fits
and an empty report. Training-free kinds are refused there.

The run folder gets one sub-folder per model (training checkpoints, metrics.json, curves.png), the snapshot
and the report (`graphrec.evaluation.report`: evaluation.json/.csv/.png).

`refit` (`graphrec forget user --refit`) conducts a training-free model on the graph after a forget, writes it
back and removes the versions that learned from what was forgotten.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphrec.db.runner import QueryRunner
from graphrec.encoder import ENCODER, encode, item_texts
from graphrec.errors import ConfigError
from graphrec.evaluation.known import choose_known, known_offset
from graphrec.evaluation.paired import paired_rows
from graphrec.evaluation.protocol import EvalConfig
from graphrec.evaluation.report import Report, save_report
from graphrec.evaluation.run import Evaluator, ordered_splits, pair_order
from graphrec.export import Snapshot, export_snapshot
from graphrec.model.base import Fitted, TrainingData, holdout
from graphrec.model.distributed import World, world
from graphrec.model.fusion import choose_text, with_text
from graphrec.model.group_select import describe
from graphrec.model.kinds import Spec
from graphrec.progress import Stopwatch
from graphrec.runconfig import RunConfig
from graphrec.writeback.pipeline import write_model
from graphrec.writeback.versions import remove_version


def conduct(
    runner: QueryRunner | None,
    configs: Sequence[RunConfig],
    run_dir: str | Path,
    *,
    write_back: bool = False,
    snapshot: Snapshot | None = None,
    progress: bool = True,
    resume: bool = False,
) -> tuple[Report, dict[str, Fitted]]:
    """Run the stages for `configs` and return the report and the fitted models by name.

    `snapshot` skips the export (then `runner` is only needed to write back). With `write_back`, each model
    is written back as a new version, activated, and its row gets the `version`.
    """
    if not configs:
        raise ConfigError("no run configuration given")
    names = [config.name for config in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"model names must differ (set [model] name): {names}")
    for config in configs[1:]:
        if config.export != configs[0].export:
            raise ConfigError(f"{config.path}: [export] differs from {configs[0].path}'s; one run exports once")
    run_dir = Path(run_dir)
    ranks = world()
    if ranks.size > 1:
        for config in configs:
            if config.train is None:
                raise ConfigError(f"{config.path}: kind {config.model.kind!r} is not trained; data-parallel "
                                  "training (--nproc, torchrun) is for trained kinds (lightgcn, mf)")
    clock = Stopwatch()
    if snapshot is None:
        if runner is None:
            raise ValueError("conduct needs a runner or a snapshot")
        snapshot = _shared_export(runner, configs[0].export, run_dir, ranks)
        clock.lap("export")
    counts = snapshot.counts()
    if not counts["user_train"] + counts["group_train"]:
        raise ConfigError(f"nothing to fit: the snapshot holds no train interactions ({counts['users']:,} users, "
                          f"{counts['items']:,} items); load data first (graphrec load ...)")
    evaluation = configs[0].evaluate
    evaluator = Evaluator(snapshot, evaluation) if ranks.is_main else None
    report = Report(evaluation.protocol, evaluation.task, evaluation.variant,
                    notes=evaluator.notes if evaluator is not None else [],
                    config={"evaluate": asdict(evaluation), "models": {}})
    fitted: dict[str, Fitted] = {}
    known: dict[str, dict[str, float]] = {}
    texts: dict[tuple[str, ...], np.ndarray] = {}
    for config in configs:
        clock.lap("_")
        data = training_data(snapshot, config, evaluation.variant)
        fitted[config.name] = config.model.fit(data, config.train, run_dir / config.name,
                                               progress=progress, resume=resume)
        clock.lap(f"fit {config.name}")
        spec = fitted[config.name].refit_spec or config.model  # a self-choosing model's choice, not a new choice
        if "selection" in fitted[config.name].record:
            report.notes.append(f"{config.name}: chose {describe(fitted[config.name].record['selection'])} on held-out "
                                f"train rows ({fitted[config.name].record['selection']['cases']:,} pairs)")
        known[config.name] = _known_offsets(snapshot, config, spec, evaluation, data, run_dir, progress)
        if evaluation.known_items == "auto" and evaluation.protocol == "sampled":
            fitted[config.name].record["known_items"] = {  # plain JSON: no -Infinity
                ranking: "exclude" if c == -math.inf else c for ranking, c in known[config.name].items()}
            report.notes.append(f"{config.name}: known items offset c (graphrec.evaluation.known, chosen on "
                                "held-out train rows): " + ", ".join(
                                    f"{side} {c:g}" for side, c in known[config.name].items()))
            clock.lap(f"choose known {config.name}")
        if config.text is not None:
            if config.text.properties not in texts:
                if runner is None:
                    raise ValueError("[text] needs a runner: the items' text is read from the server")
                texts[config.text.properties] = encode(
                    item_texts(runner, snapshot.item_ids, config.text.properties), progress=progress)
                clock.lap(f"embed text {config.name}")
            text = texts[config.text.properties]
            chosen, sweep = choose_text(config.text, data, text, seed=config.evaluate.seed, fit=lambda valid: (
                spec.fit(valid, config.train, run_dir / config.name / "validation", progress=progress)))
            if sweep:
                clock.lap(f"choose text {config.name}")
            fitted[config.name] = with_text(fitted[config.name], data, text, chosen)
            if sweep:
                fitted[config.name].record.setdefault("text", {})["sweep"] = sweep
        report.config["models"][config.name] = _params(config)
    ranks.barrier()
    if evaluator is None:  # another rank of a data-parallel run: rank 0 evaluates and writes back
        return report, fitted
    for config in configs:
        evaluator.set_judge(config.name, fitted[config.name])
    for config in configs:
        rows, fairness = evaluator.evaluate(config.name, fitted[config.name], known[config.name])
        own = next((row for row in rows if row["method"] == config.name), None)
        if own is None:
            own = {"method": config.name}
            rows.insert(0, own)
        report.rows += rows
        report.fairness += fairness
        clock.lap(f"evaluate {config.name}")
        if write_back:
            if runner is None:
                raise ValueError("write_back needs a runner")
            own["version"] = write_model(runner, fitted[config.name].stored(), run={
                "params": _params(config), "metrics": {k: v for k, v in own.items() if k != "method"},
                "dataset": snapshot.counts(),
                "training": {**fitted[config.name].record, "run_dir": str((run_dir / config.name).resolve())},
            }, progress=progress)
            clock.lap(f"write_back {config.name}")
    report.paired = paired_rows(evaluator.per_case, configs[0].name)
    report.seconds = {stage: s for stage, s in clock.seconds.items() if stage != "_"}
    save_report(report, run_dir)
    return report, fitted


def _shared_export(runner: QueryRunner, export: dict[str, Any], run_dir: Path, ranks: World) -> Snapshot:
    """The run's snapshot: exported and saved under `run_dir` by rank 0; the other ranks wait for it and load it,
    or, when the run folder is not shared (rank 0's token is not there), export their own in read sessions."""
    token_file = run_dir / "snapshot.token"
    token = None
    if ranks.is_main:
        snapshot = export_snapshot(runner, **export)
        snapshot.save(run_dir / "snapshot")
        token = secrets.token_hex(8)
        token_file.write_text(token)
    token = ranks.broadcast(token)
    if ranks.is_main:
        return snapshot
    if token_file.is_file() and token_file.read_text() == token:
        return Snapshot.load(run_dir / "snapshot")
    return export_snapshot(runner, **export)


def refit(runner: QueryRunner, config: RunConfig, run_dir: str | Path, older: Sequence[int], *,
          progress: bool = True) -> dict[str, Any]:
    """Fit `config`'s training-free model on the graph as it is now (after `graphrec.forget.forget_user`), write
    it back as a new active version, then remove the `older` versions (those created before the forget, which
    learned from what was forgotten; an active one is left alone).

    Returns {"version": the new version, "pruned": the removed versions}. Raises `ConfigError` for a trained
    kind (`refittable`).
    """
    refittable(config)
    report, _ = conduct(runner, [config], run_dir, write_back=True, progress=progress)
    version = report.row(config.name)["version"]  # this fit's version, not whichever is newest
    return {"version": version, "pruned": [v for v in older if remove_version(runner, v)]}


def refittable(config: RunConfig) -> RunConfig:
    """`config` when `refit` takes it (a training-free kind); `ConfigError` for a trained kind, which a refit
    would retrain for minutes to hours: `graphrec train` does that."""
    if config.train is not None:
        raise ConfigError(f"{config.path}: kind {config.model.kind!r} is trained; a refit takes a training-free "
                          "kind (filter, itemknn, popularity); retrain with `graphrec train`")
    return config


def _known_offsets(snapshot: Snapshot, config: RunConfig, spec: Spec, evaluation: EvalConfig, data: TrainingData,
                   run_dir: Path, progress: bool) -> dict[str, float]:
    """The offset of `config`'s known items per side under `evaluation` (`graphrec.evaluation.known`): fixed,
    or chosen on held-out train rows ("auto", sampled protocol) with the model `spec` fits."""
    fixed = known_offset(evaluation.known_items)
    if fixed is not None or evaluation.protocol != "sampled":
        return {"user": fixed or 0.0, "group": fixed or 0.0}
    counts = {"user": train_counts(snapshot, "user", data.user_train),
              "group": train_counts(snapshot, "group", data.group_train)}
    offsets, _ = choose_known(data, counts, lambda valid: spec.fit(
        valid, config.train, run_dir / config.name / "known", progress=progress),
        evaluation.ks, evaluation.seed, evaluation.strategies, whole_pairs=evaluation.variant == "leak_free")
    return offsets


def train_counts(snapshot: Snapshot, side: str, train: Tensor) -> Tensor:
    """The weight (the loaders' count of rows) of each of `train`'s interactions (2, E), from `snapshot`."""
    edges = snapshot.interactions if side == "user" else snapshot.group_interactions
    weights = snapshot.interaction_weights if side == "user" else snapshot.group_interaction_weights
    num_items = len(snapshot.item_ids)
    order = pair_order(edges["train"], num_items)
    keys = edges["train"][0, order] * num_items + edges["train"][1, order]
    found = torch.searchsorted(keys, train[0] * num_items + train[1]).clamp(max=max(keys.numel() - 1, 0))
    return weights["train"][order][found] if keys.numel() else torch.ones(train.size(1))


def _params(config: RunConfig) -> dict[str, Any]:
    params = config.model.params()
    if config.text is not None:
        params["text"] = {**asdict(config.text), "encoder": ENCODER}
    if config.train is not None:
        params["train"] = {k: v for k, v in asdict(config.train).items()
                           if k not in ("embedding_dim", "num_layers", "group_weight")}
    return params


def training_data(snapshot: Snapshot, config: RunConfig, variant: str = "reference") -> TrainingData:
    """The interactions `config`'s model is fitted on and stops early with (see the module docstring); with
    `variant` `leak_free`, the train interactions whose pair is a test case left out."""
    users, _ = ordered_splits(snapshot, "user", variant)
    groups, _ = ordered_splits(snapshot, "group", variant)
    validation = config.train.validation if config.train is not None else "none"
    seed = config.evaluate.seed
    chosen = []
    for edges in (users, groups):
        if validation == "none":
            chosen.append((edges["train"], edges["train"][:, :0]))
        elif validation == "holdout":
            chosen.append(holdout(edges["train"], seed))
        else:
            chosen.append((edges["train"], edges["valid"] if _has_valid(users, groups) else edges["test"]))
    return TrainingData(
        num_users=len(snapshot.user_ids), num_items=len(snapshot.item_ids), num_groups=len(snapshot.group_ids),
        user_ids=snapshot.user_ids, item_ids=snapshot.item_ids, group_ids=snapshot.group_ids,
        user_train=chosen[0][0], user_valid=chosen[0][1], group_train=chosen[1][0], group_valid=chosen[1][1],
        memberships=snapshot.memberships,
    )


def _has_valid(users: dict[str, Tensor], groups: dict[str, Tensor]) -> bool:
    return bool(users["valid"].size(1) or groups["valid"].size(1))
