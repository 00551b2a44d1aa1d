"""Write a fitted model's stored form back to Neo4j as a new version, and switch readers to it atomically.

Each write-back is a version N, described by one `(:Model {version: N})` node, and stores what the model's
`graphrec.model.base.Stored` form holds (the serving formula is in that module's docstring):

* vectors: the node property `~embedding_vN` of the Users, Items and Groups it covers, the items' indexed by
  the cosine vector index `item_embedding_vN_cosine` (similar items, `cypher/embedding_index_create.cypher`);
  item vectors are also stored augmented for maximum-inner-product search as `~embedding_vN_mips`, which
  serving reads directly (`cypher/recommend_user.cypher`, `recommend_group.cypher`, `similar_items.cypher`),
  without an index (no query needs one);
* fold vectors (graph filters): the item property `~embedding_vN_fold`, summed over a new user's items;
* text vectors (a configuration with `[text]`, `graphrec.encoder`): the item property `~embedding_vN_text`, indexed
  by the cosine vector index `item_embedding_vN_text` (their own dimension);
* item–item weights: relationships `(:Item)-[:SIMILAR_vN {weight}]->(:Item)`.

A write-back goes:

1. validate everything in Python and resolve every id to its node (an error before anything is written);
2. create the Model node, status 'writing' (so an interrupted write-back stays visible);
3. write the vectors and relationships in batches, one transaction each (readers never look at a 'writing'
   version);
4. build the item vector indexes (cosine, and text) and wait until they are online, check the counts, mark
   the Model 'ready';
5. activate it: in one transaction the previous active Model is deactivated and this one activated.

Readers find the active version with `cypher/model_active.cypher` and read `n[m.property]` and
`[:$(m.similar)]`. Since a version's data is complete before it can be activated and is only removed by
`prune` once it is no longer active, a reader sees the old version or the new one, never a mix. A
write-back killed midway leaves the previous version active and intact, and its own Model 'writing':
abandoned once its writer is gone (`graphrec.writeback.writers`), removed by `prune` or by the next write-back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.db import cypher
from graphrec.db.nodes import missing_ids
from graphrec.db.runner import QueryRunner
from graphrec.names import (
    LABELS,
    fold_property_name,
    mips_property_name,
    property_name,
    safe_property,
    safe_type,
    similar_type,
    similarity_index_name,
    text_index_name,
    text_property_name,
)
from graphrec.progress import Stopwatch
from graphrec.writeback import transfer, versions
from graphrec.writeback.transfer import Method
from graphrec.writeback.versions import (
    WritebackError,
    clear_version,
    label,
    remove_abandoned,
    set_status,
)
from graphrec.writeback.writers import WriterLease, writer_identity

if TYPE_CHECKING:
    from graphrec.model.base import Stored

RUN_KEYS = frozenset({"params", "metrics", "dataset", "training"})
"""What a `run` dict may hold (each JSON-serialisable): hyper-parameters, metrics, dataset counts, training time."""

MAX_DIMENSIONS = 4095
"""The largest vector dimension: Neo4j vector indexes take at most 4096, and one is the augmentation."""


def _indexes(version: int, dimensions: int) -> list[tuple[str, str, int, str]]:
    """Version's item vector indexes: (name, indexed property, dimensions, similarity function). Only the
    cosine one on the plain vectors (similar items); the augmented `~embedding_vN_mips` is read without one."""
    return [(similarity_index_name(version), property_name(version), dimensions, "cosine")]


def _text_index(version: int, dimensions: int) -> list[tuple[str, str, int, str]]:
    """Version's text vector index: (name, indexed property, dimensions, similarity function)."""
    return [(text_index_name(version), text_property_name(version), dimensions, "cosine")]


def write_model(
    runner: QueryRunner,
    stored: Stored,
    run: Mapping[str, Any],
    *,
    batch_size: int = 20_000,
    workers: int = 2,
    activate: bool = True,
    progress: bool = True,
    method: Method = "auto",
    relationship_batch: int = 100_000,
    index_timeout: int = 600,
    timings: dict[str, float] | None = None,
) -> int:
    """Write one model's stored form as a new version and return its number.

    Args:
        stored: the form to store (`graphrec.model.base.Stored`): vectors per kind ('user', 'item', 'group'
            → (ids, (n, d) vectors): the nodes' integer `id`s, unique, and their vectors, finite, the same d
            for every kind, stored as float32), fold vectors of items, item–item weights, and the group
            weight alpha in [0, 1] of the combined group score alpha * (e_g . e_i) + (1 - alpha) * mean over
            members m of (e_m . e_i) (only with 'group' vectors). Every id must have a node of its label.
        run: the run's 'params' (hyper-parameters, with 'kind'), 'metrics', 'dataset' (counts of the
            exported snapshot) and 'training' (time, epochs, run folder), each stored on the Model node as a
            JSON string; `params['kind']` is also the Model's `kind`.
        batch_size: vectors per write transaction (default 20,000: faster than 10,000 in the benchmark; fewer
            for vectors wider than 64, `transfer.BATCH_NUMBERS`).
        relationship_batch: item–item relationships per write transaction, whole source items (default
            100,000; benchmarks/bench_writeback.py --similar).
        workers: concurrent write sessions (default 2); they never write the same node at once: vectors in
            disjoint shares of the nodes, relationships in the rounds of `graphrec.writeback.transfer`.
        activate: make the new version the active one once it is ready (default True); otherwise it stays
            'ready' until `activate` is called.
        progress: show progress bars (default True).
        method: how vectors and relationships are sent (`graphrec.writeback.transfer`): 'graphrec' (graphrec's
            write procedures), 'procedure' (plain Cypher, vectors by `db.create.setNodeVectorProperty`), 'set'
            (plain Cypher, vectors by `SET n[$property]`), or 'auto' (the default): 'graphrec' where the server
            has graphrec's plugin, else 'procedure'.
        index_timeout: seconds to wait for each item vector index to come online (default 600).
        timings: when given, filled with the seconds spent per stage ('validate', 'prepare', 'vectors',
            'neighbours', 'index', 'ready', 'activate'). Items are written first and their indexes are built
            while the rest is written; 'index' is the wait that remains after the last write.

    Raises `WritebackError` for invalid input (unknown ids, non-finite values, mismatched shapes, unknown
    kinds or run keys) before anything is written.
    """
    clock = Stopwatch(timings)
    checked = _validate(stored.vectors, run)
    fold = _check_kind("fold", *stored.fold) if stored.fold is not None else None
    if fold is not None and fold[1].shape[1] != checked["item"][1].shape[1]:
        raise WritebackError(f"fold vectors have dimension {fold[1].shape[1]}, the item vectors "
                             f"{checked['item'][1].shape[1]}")
    neighbours = _check_neighbours(stored.neighbours)
    _check_group_weight(stored.group_weight, "group" in checked)
    text = _check_kind("text", *stored.text) if stored.text is not None else None
    if text is not None and text[1].shape[1] > MAX_DIMENSIONS + 1:
        raise WritebackError(f"text vectors have dimension {text[1].shape[1]}, more than an index takes")
    if not checked and neighbours is None and text is None and run.get("params", {}).get("kind") != "popularity":
        raise WritebackError("nothing to store: no vectors and no item–item weights")
    for kind, (ids, _) in checked.items():
        _check_ids(runner, kind, ids)
    for part in (fold, text):
        if part is not None:
            _check_ids(runner, "item", part[0])
    if neighbours is not None:
        _check_ids(runner, "item", np.union1d(neighbours[0], neighbours[1]))
    runner.run_file("model_schema")
    version = runner.read(cypher.statement("model_next_version"))[0]["version"]
    augmented, max_norm = augment_for_mips(checked["item"][1]) if checked else (None, None)
    method = transfer.resolve_method(runner, method)
    clock.lap("validate")

    _create_model(runner, version, checked, stored, run, max_norm, neighbours, text)
    with WriterLease(runner, version):  # heartbeats; gives the version up if this block fails
        remove_abandoned(runner, below=version, batch_size=batch_size)
        clear_version(runner, version, batch_size)
        clock.lap("prepare")

        write = _writer(runner, method, version, batch_size, workers, progress)
        if checked:
            dim = checked["item"][1].shape[1]
            write("item", checked["item"][0], augmented)
            _create_indexes(runner, version, dim)
            for kind in ("user", "group"):
                if kind in checked:
                    write(kind, *checked[kind])
            if fold is not None:
                write("fold", *fold)
        if text is not None:
            write("text", *text)
            _create_indexes(runner, version, text[1].shape[1], _text_index)
        clock.lap("vectors")
        if neighbours is not None:
            transfer.write_neighbours(
                runner, method, safe_type(similar_type(version)), *neighbours, batch_size=relationship_batch,
                workers=workers, desc=f"item–item weights v{version}" if progress else None)
        clock.lap("neighbours")

        built = _indexes(version, dim) if checked else []
        built += _text_index(version, text[1].shape[1]) if text is not None else []
        _await_indexes(runner, version, index_timeout, [name for name, *_ in built])
        clock.lap("index")

        _check_counts(runner, version, checked, fold, neighbours, text)
        set_status(runner, version, ["writing"], "ready")
        clock.lap("ready")

    if activate:
        versions.activate(runner, version)
    clock.lap("activate")
    return version


def augment_for_mips(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """The item vectors with one more coordinate sqrt(M^2 - |v|^2), and M, the largest norm.

    Every augmented vector has norm M, so for a query (u, 0) the euclidean (or cosine) nearest items are
    those of highest inner product u.v. Computed in float64, returned as float32.
    """
    wide = vectors.astype(np.float64)
    squared = np.einsum("ij,ij->i", wide, wide)
    max_squared = float(squared.max(initial=0.0))
    extra = np.sqrt(np.maximum(max_squared - squared, 0.0))
    return np.hstack([wide, extra[:, None]]).astype(np.float32), math.sqrt(max_squared)


def _validate(
    embeddings: Mapping[str, tuple[np.ndarray, np.ndarray]], run: Mapping[str, Any],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The embeddings as (int64 ids, float32 vectors) per kind, in label order; raises on invalid input."""
    for kind in embeddings:
        label(kind)
    unknown = set(run) - RUN_KEYS
    if unknown:
        raise WritebackError(f"unknown run keys {sorted(unknown)}; expected {sorted(RUN_KEYS)}")
    _run_json(run)
    if not embeddings:
        return {}
    if "item" not in embeddings:
        raise WritebackError("item embeddings are required (they are what gets recommended)")
    checked = {kind: _check_kind(kind, *embeddings[kind]) for kind in LABELS if kind in embeddings}
    dims = {kind: vectors.shape[1] for kind, (_, vectors) in checked.items()}
    if len(set(dims.values())) != 1:
        raise WritebackError(f"all embeddings must have the same dimension, got {dims}")
    if not 1 <= dims["item"] <= MAX_DIMENSIONS:
        raise WritebackError(f"the dimension must be between 1 and {MAX_DIMENSIONS}, got {dims['item']}")
    return checked


Neighbours = tuple[np.ndarray, np.ndarray, np.ndarray]


def _check_neighbours(neighbours: Neighbours | None) -> Neighbours | None:
    """The item–item weights as (int64 from ids, int64 to ids, float64 weights), sorted by (from, to); raises
    on invalid input (ids not integers, repeated pairs, self-loops, non-finite weights)."""
    if neighbours is None:
        return None
    sources, targets, weights = (np.asarray(part) for part in neighbours)
    if not (sources.ndim == targets.ndim == weights.ndim == 1 and len(sources) == len(targets) == len(weights)):
        raise WritebackError("neighbours must be three 1-d arrays of equal length (from, to, weight)")
    if len(sources) == 0:
        raise WritebackError("neighbours are empty (leave them out of a model without item–item weights)")
    if not (np.issubdtype(sources.dtype, np.integer) and np.issubdtype(targets.dtype, np.integer)):
        raise WritebackError("neighbour ids must be integers")
    if not np.isfinite(weights.astype(np.float32)).all():
        raise WritebackError("neighbour weights must be finite")
    if (sources == targets).any():
        raise WritebackError("an item cannot be its own neighbour")
    order = np.lexsort((targets, sources))
    sources, targets, weights = sources[order], targets[order], weights[order]
    if ((sources[1:] == sources[:-1]) & (targets[1:] == targets[:-1])).any():
        raise WritebackError("a (from, to) neighbour pair is repeated")
    return sources.astype(np.int64), targets.astype(np.int64), weights.astype(np.float64)


def _check_kind(kind: str, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, vectors = np.asarray(ids), np.asarray(vectors)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer) or ids.size == 0:
        raise WritebackError(f"{kind} ids must be a non-empty 1-d integer array (leave out a kind without "
                             f"vectors), got {ids.dtype} of shape {ids.shape}")
    if vectors.ndim != 2 or vectors.shape[0] != ids.shape[0] or not np.issubdtype(vectors.dtype, np.number):
        raise WritebackError(f"{kind} vectors must be numbers of shape ({len(ids)}, d), "
                             f"got {vectors.dtype} of shape {vectors.shape}")
    if len(np.unique(ids)) != len(ids):
        raise WritebackError(f"{kind} ids must be unique")
    narrow = vectors.astype(np.float32)
    bad = ~np.isfinite(narrow).all(axis=1)
    if bad.any():
        raise WritebackError(f"{int(bad.sum())} {kind} vectors are not finite in float32 (NaN or inf), "
                             f"e.g. id {int(ids[bad][0])}")
    return ids.astype(np.int64), narrow


def _run_json(run: Mapping[str, Any]) -> dict[str, str]:
    """The run's params and metrics as JSON strings (numpy numbers and arrays allowed)."""

    def plain(value: object) -> object:
        if isinstance(value, (np.generic, np.ndarray)):
            return value.tolist()
        raise WritebackError(f"run values must be JSON-serialisable, got {type(value).__name__}")

    return {key: json.dumps(run.get(key, {}), default=plain, sort_keys=True) for key in sorted(RUN_KEYS)}


def _check_group_weight(weight: float | None, has_groups: bool) -> None:
    if weight is None:
        return
    if not has_groups:
        raise WritebackError("group_weight needs 'group' embeddings")
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating)) or not 0 <= weight <= 1:
        raise WritebackError(f"group_weight must be a number in [0, 1], got {weight!r}")


def _check_ids(runner: QueryRunner, kind: str, ids: np.ndarray) -> None:
    """Raise when some of the `kind` ids have no node of that label."""
    missing = missing_ids(runner, label(kind), ids)
    if missing:
        raise WritebackError(f"{len(missing)} {kind} ids have no {label(kind)} node, e.g. {missing[:5]}; "
                             "nothing was written")


def _create_model(
    runner: QueryRunner, version: int, checked: dict[str, tuple[np.ndarray, np.ndarray]], stored: Stored,
    run: Mapping[str, Any], max_norm: float | None, neighbours: Neighbours | None,
    text: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """The Model node, 'writing': what a reader needs to serve it (null where the model has no such part)."""
    vectors = bool(checked)
    props = {
        "version": version, "kind": run.get("params", {}).get("kind"), "fold_in": stored.fold_in,
        "property": property_name(version) if vectors else None,
        "mips_property": mips_property_name(version) if vectors else None,
        "similarity_index": similarity_index_name(version) if vectors else None,
        "fold_property": fold_property_name(version) if stored.fold is not None else None,
        "similar": similar_type(version) if neighbours is not None else None,
        "neighbours": 0 if neighbours is None else len(neighbours[0]),
        "dim": int(checked["item"][1].shape[1]) if vectors else None, "max_item_norm": max_norm,
        "text_property": text_property_name(version) if text is not None else None,
        "text_index": text_index_name(version) if text is not None else None,
        "text_dim": int(text[1].shape[1]) if text is not None else None,
        **{f"{kind}s": len(checked[kind][0]) if kind in checked else 0 for kind in LABELS},
        **_run_json(run), **writer_identity(),
    }
    runner.run(cypher.statement("model_create"), {
        "props": props, "group_weight": None if stored.group_weight is None else float(stored.group_weight)})


def _writer(runner: QueryRunner, method: str, version: int, batch_size: int, workers: int,
            progress: bool) -> Callable[[str, np.ndarray, np.ndarray], None]:
    """`write(kind, ids, vectors)`: stores one kind's vectors of `version` ('user', 'item', 'group', or 'fold',
    'text': items' fold or text vectors). Item vectors come augmented for MIPS: the first d columns are stored
    as the version's property and the whole as its MIPS property."""

    def write(kind: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        name = {"fold": fold_property_name, "text": text_property_name}.get(kind, property_name)(version)
        transfer.write_vectors(
            runner, method, label("item" if kind in ("fold", "text") else kind), ids, vectors,
            dim=vectors.shape[1] - (kind == "item"), property=safe_property(name),
            mips_property=safe_property(mips_property_name(version)) if kind == "item" else None,
            batch_size=batch_size, workers=workers, desc=f"{kind} vectors v{version}" if progress else None)

    return write


def _create_indexes(runner: QueryRunner, version: int, dimensions: int, which: Any = None) -> None:
    """Create version's item vector indexes (`which`: its text vectors' `_text_index`, by default its model
    vectors' `_indexes`); the server populates them meanwhile."""
    template = cypher.statement("embedding_index_create")
    for name, prop, size, similarity in (which or _indexes)(version, dimensions):
        ddl = template.replace("`{property}`", f"`{safe_property(prop)}`")
        runner.run(ddl, {"name": name, "dimensions": size, "similarity": similarity})


def _await_indexes(runner: QueryRunner, version: int, timeout: int, names: Sequence[str]) -> None:
    """Wait until version's item vector indexes `names` are ONLINE (raises when one failed or `timeout` s
    passed)."""
    for name in names:
        runner.read(cypher.statement("embedding_index_await"), {"name": name, "seconds": timeout})
        state = runner.read(cypher.statement("embedding_index_state"), {"name": name})
        if [row["state"] for row in state] != ["ONLINE"]:
            raise RuntimeError(f"vector index {name} is not online: {state}")


def _check_counts(runner: QueryRunner, version: int, checked: dict[str, tuple[np.ndarray, np.ndarray]],
                  fold: tuple[np.ndarray, np.ndarray] | None, neighbours: Neighbours | None,
                  text: tuple[np.ndarray, np.ndarray] | None) -> None:
    """Raise unless as many nodes hold version's properties, and as many relationships exist, as were written
    (none deleted meanwhile)."""
    query = cypher.statement("embedding_count")
    expected = {property_name(version): sum(len(ids) for ids, _ in checked.values()),
                mips_property_name(version): len(checked["item"][0]) if checked else 0,
                fold_property_name(version): 0 if fold is None else len(fold[0]),
                text_property_name(version): 0 if text is None else len(text[0])}
    for prop, count in expected.items():
        held = runner.read(query, {"property": prop})[0]["nodes"]
        if held != count:
            raise RuntimeError(f"{held} nodes hold {prop}, expected {count}; version {version} stays "
                               "'writing' (prune removes it)")
    held = runner.read(cypher.statement("similar_count"), {"type": similar_type(version)})[0]["relationships"]
    count = 0 if neighbours is None else len(neighbours[0])
    if held != count:
        raise RuntimeError(f"{held} {similar_type(version)} relationships, expected {count}; version {version} "
                           "stays 'writing' (prune removes it)")


