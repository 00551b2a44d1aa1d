"""Model versions in the graph: list them, activate one, read a version's vectors, remove old ones.

Each write-back (`graphrec.writeback.pipeline`) is a version N with one `(:Model {version: N})` node whose
`status` goes 'writing' → 'ready' (→ 'deleting' when removed) and of which at most one is `active`. Readers
find the active version with `cypher/model_active.cypher`. A version's data is complete before it can be
activated and is only removed once it is no longer active, so a reader sees the old version or the new one,
never a mix. The names of a version's parts are `graphrec.names`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.names import (
    LABELS,
    fold_property_name,
    index_names,
    mips_property_name,
    property_name,
    safe_property,
    safe_type,
    similar_type,
    text_property_name,
)
from graphrec.writeback.writers import abandoned_versions, writers


class WritebackError(ValueError):
    """Embeddings that cannot be written (nothing was), or a version that cannot be activated."""


def activate(runner: QueryRunner, version: int) -> int | None:
    """Make `version` (a 'ready' Model) the active one, in one transaction; return the previously active.

    Raises `WritebackError` when there is no such version or it is not 'ready' (nothing changes then).
    """
    rows = runner.run(cypher.statement("model_activate"), {"version": version})
    if not rows:
        raise WritebackError(f"model version {version} does not exist or is not 'ready'; models: "
                             f"{[(m['version'], m['status']) for m in list_models(runner)]}")
    return rows[0]["previous"]


def active_model(runner: QueryRunner) -> dict[str, Any] | None:
    """The active Model node's properties (version, property, mips_property, similarity_index, dim, ...), or
    None."""
    rows = runner.read(cypher.statement("model_active"))
    return rows[0]["model"] if rows else None


def list_models(runner: QueryRunner) -> list[dict[str, Any]]:
    """Every Model node's properties, oldest version first, whatever its status."""
    return [row["model"] for row in runner.read(cypher.statement("model_list"))]


def describe_models(runner: QueryRunner) -> list[dict[str, Any]]:
    """`list_models`' rows, each with `abandoned`: for a 'writing' version, whether its writer is gone (an
    abandoned write-back, which `prune` removes; `graphrec.writeback.writers`), None for the other statuses."""
    rows = list_models(runner)
    gone = {row["version"]: row["gone"] for row in writers(runner)}
    return [{**row, "abandoned": gone.get(row["version"], False) if row["status"] == "writing" else None,
             "chosen": chosen_model(row)} for row in rows]


def chosen_model(row: dict[str, Any]) -> str | None:
    """For a model that chose itself in `fit` (kind 'group'): `graphrec.model.group_select.describe` of the choice
    stored in the Model node's `training`; None for every other model."""
    import json

    from graphrec.model.group_select import describe

    try:
        selection = json.loads(row.get("training") or "{}").get("selection")
    except (TypeError, ValueError, AttributeError):
        return None
    return describe(selection) if selection else None


def read_embeddings(
    runner: QueryRunner, kind: str, ids: Sequence[int] | np.ndarray, version: int | None = None,
) -> tuple[int, np.ndarray]:
    """The vectors of the `kind` nodes `ids` (in that order) under `version`, by default the active one.

    Returns (version, float32 array of shape (len(ids), d)), read in one query, so all from one version.
    Raises `WritebackError` when there is no such model or some id has no vector in it.
    """
    wanted = [int(i) for i in ids]
    rows = runner.read(cypher.statement("embedding_read"),
                       {"label": label(kind), "ids": wanted, "version": version})
    if not rows:
        raise WritebackError("no active model" if version is None else f"no model version {version}")
    found = dict(zip(rows[0]["ids"], rows[0]["vectors"]))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise WritebackError(f"{len(missing)} {kind} ids have no vector in version {rows[0]['version']}, "
                             f"e.g. {missing[:5]}")
    return rows[0]["version"], np.array([found[i] for i in wanted], dtype=np.float32).reshape(len(wanted), -1)


def prune(runner: QueryRunner, keep: int = 2, *, batch_size: int = 10_000) -> list[int]:
    """Remove old versions so that `keep` remain: the active one and the newest 'ready' ones.

    Every other version is removed: older 'ready' ones, abandoned 'writing' ones (interrupted write-backs
    whose writer is gone, see `graphrec.writeback.writers`; a live writer's version is left alone) and 'deleting' ones
    (interrupted prunes). Each goes by `remove_version`: its vectors, item–item relationships and indexes.
    Returns the removed versions.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the active model), not {keep}")
    models = sorted(list_models(runner), key=lambda m: m["version"], reverse=True)
    abandoned = set(abandoned_versions(runner))
    kept = [m["version"] for m in models if m["active"]]
    kept += [m["version"] for m in models if m["status"] == "ready" and not m["active"]][: keep - len(kept)]
    candidates = [m["version"] for m in models if m["version"] not in kept
                  and (m["status"] != "writing" or m["version"] in abandoned)]
    return [version for version in candidates if remove_version(runner, version, batch_size)]


def remove_abandoned(runner: QueryRunner, below: int | None = None, *, batch_size: int = 10_000) -> list[int]:
    """Remove the abandoned 'writing' versions (numbered below `below`, when given); returns them."""
    versions = [v for v in abandoned_versions(runner) if below is None or v < below]
    return [version for version in versions if remove_version(runner, version, batch_size, statuses=("writing",))]


def remove_version(runner: QueryRunner, version: int, batch_size: int = 10_000, *,
                   statuses: tuple[str, ...] = ("writing", "ready", "deleting")) -> bool:
    """Remove one version that is not active and has one of `statuses`: its Model is marked 'deleting' (it can
    no longer be activated), its indexes dropped, its node properties removed `batch_size` nodes per
    transaction, its Model node deleted. Returns False, changing nothing, when the version is active (or
    activated meanwhile), has another status or does not exist."""
    if not set_status(runner, version, list(statuses), "deleting", check=False):
        return False
    clear_version(runner, version, batch_size)
    runner.run(cypher.statement("model_delete"), {"version": version})
    return True


def label(kind: str) -> str:
    """The node label of an embedding kind ('user', 'item', 'group'); `WritebackError` for any other."""
    if kind not in LABELS:
        raise WritebackError(f"unknown embedding kind {kind!r}; expected one of {sorted(LABELS)}")
    return LABELS[kind]


def set_status(runner: QueryRunner, version: int, current: list[str], status: str, *, check: bool = True) -> bool:
    """Move `version` from one of the `current` statuses to `status`; whether it did (raises if `check`)."""
    rows = runner.run(cypher.statement("model_set_status"),
                      {"version": version, "from": current, "to": status})
    if check and not rows:
        raise RuntimeError(f"model version {version} is no longer {' or '.join(current)}")
    return bool(rows)


def clear_version(runner: QueryRunner, version: int, batch_size: int) -> None:
    """Drop version's indexes, remove its properties from every node and delete its relationships (leftovers
    of an earlier use of the number)."""
    for name in index_names(version):
        runner.run(cypher.statement("embedding_index_drop"), {"name": name})
    runner.run(cypher.statement("embedding_remove"), {
        "properties": [safe_property(property_name(version)), safe_property(mips_property_name(version)),
                       safe_property(fold_property_name(version)), safe_property(text_property_name(version))],
        "batch_size": batch_size,
    })
    runner.run(cypher.statement("similar_remove"), {"type": safe_type(similar_type(version)),
                                                           "batch_size": batch_size})
