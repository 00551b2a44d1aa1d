"""A run configuration: one TOML file per model, read in one place.

    [model]      kind = "popularity" | "mf" | "lightgcn" | "filter" | "itemknn", the kind's hyper-parameters
                 (graphrec.model.kinds) and optionally `name` (the row's name in reports; default: file stem)
    [train]      the BPR loop of the trained kinds (graphrec.model.trainer.TrainConfig); refused for the others
    [export]     filters of graphrec.export.export_snapshot (since, users, groups, hops, min_interactions)
                 and `sessions`, its parallel read sessions
    [evaluate]   protocol, task and cut-offs (graphrec.evaluation.protocol.EvalConfig)
    [text]       item text (graphrec.model.fusion.TextConfig): the properties embedded, cold-start items, fusion

`graphrec train --config FILE` fits, evaluates and writes back the one model of FILE; `graphrec evaluate
--config FILE...` fits and evaluates several side by side on one export (the first file's [export] and
[evaluate] apply to all). Unknown tables or keys are errors naming the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from graphrec.errors import ConfigError
from graphrec.evaluation.protocol import EvalConfig
from graphrec.model.fusion import TextConfig
from graphrec.model.kinds import LightGCNSpec, Spec, SpecError, make_spec
from graphrec.model.trainer import TrainConfig

TABLES = ("model", "train", "export", "evaluate", "text")
EXPORT_KEYS = ("since", "users", "groups", "hops", "min_interactions", "sessions")
MODEL_KEYS = ("embedding_dim", "num_layers", "group_weight")
"""Keys of TrainConfig that belong to the model, hence to the [model] table."""


@dataclass
class RunConfig:
    """One model's run: its name, spec, training loop (trained kinds), export filters and evaluation."""

    name: str
    model: Spec
    train: TrainConfig | None = None
    export: dict[str, Any] = field(default_factory=dict)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    path: Path | None = None
    text: TextConfig | None = None


def read_config(path: str | Path, *, train: dict[str, Any] | None = None,
                evaluate: dict[str, Any] | None = None) -> RunConfig:
    """Read a run configuration; `train` / `evaluate` override keys of those tables (None values ignored)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the run configuration: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(document) - set(TABLES))
    if unknown:
        raise ConfigError(f"{path}: unknown tables or top-level keys: {', '.join(unknown)} "
                          f"(known tables: {', '.join(TABLES)})")
    if "model" not in document:
        raise ConfigError(f"{path}: no [model] table (kind = \"lightgcn\", \"filter\", ...)")
    try:
        spec = make_spec(document["model"], str(path))
    except SpecError as error:
        raise ConfigError(str(error)) from None
    text = _text(path, document.get("text"))
    if text is not None and (text.fusion or text.cold_boost) and not isinstance(spec, LightGCNSpec):
        raise ConfigError(f"{path}: [text] fusion and cold_boost need an embedding model (kind = \"lightgcn\" "
                          f"or \"mf\"), not {spec.kind!r}")
    return RunConfig(
        name=str(document["model"].get("name", path.stem)), model=spec,
        train=_train(path, spec, document.get("train"), train or {}),
        export=_table(path, "export", document.get("export", {}), EXPORT_KEYS),
        evaluate=_evaluate(path, document.get("evaluate", {}), evaluate or {}), path=path,
        text=text,
    )


def _table(path: Path, name: str, values: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown [{name}] keys: {', '.join(unknown)} (known: {', '.join(known)})")
    return dict(values)


def _train(path: Path, spec: Spec, table: dict[str, Any] | None, overrides: dict[str, Any]) -> TrainConfig | None:
    if not spec.trained:
        if table:
            raise ConfigError(f"{path}: kind {spec.kind!r} is not trained: remove the [train] table")
        return None
    known = tuple(f.name for f in fields(TrainConfig) if f.name not in MODEL_KEYS)
    values = _table(path, "train", table or {}, known)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TrainConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: [train] {error}") from None


def _text(path: Path, table: dict[str, Any] | None) -> TextConfig | None:
    if table is None:
        return None
    values = _table(path, "text", table, tuple(f.name for f in fields(TextConfig)))
    try:
        return TextConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: [text] {error}") from None


def _evaluate(path: Path, table: dict[str, Any], overrides: dict[str, Any]) -> EvalConfig:
    values = _table(path, "evaluate", table, tuple(f.name for f in fields(EvalConfig)))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return EvalConfig(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: [evaluate] {error}") from None
