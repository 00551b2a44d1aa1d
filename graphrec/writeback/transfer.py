"""How a version's vectors and item–item weights travel to the server: graphrec's procedures, or plain Cypher.

Two ways to write, the same data either way (tests/test_writeback.py writes both and compares):

* 'graphrec': graphrec's own write procedures (`graphrec/db/server/procedures/WriteBack.java`, in graphrec's
  plugin): `graphrec.writeVectors` stores a batch of vectors sent as packed bytes (ids as little-endian
  int64, the vectors as one run of float32), `graphrec.writeSimilar` a batch of relationships sent as sources,
  how many targets each, and the targets (int64) and weights (float64) as bytes. The server does two core-API
  calls per relationship and looks each item up once per batch, instead of a Cypher row per relationship (an
  index seek and a dynamic CREATE). Bytes cost neither side a value per number: 70,839 vectors of dimension 64
  took 4.4 s to send as lists of floats and 0.3 s as bytes (idle 2-core machine, 2026-12-07).
* 'procedure' / 'set': plain Cypher, for a server without the plugin (Aura): vectors with
  `db.create.setNodeVectorProperty` (`cypher/embedding_write_procedure.cypher`) or a dynamic `SET`
  (`embedding_write_set.cypher`), relationships with `cypher/similar_write.cypher`, one row per source item.

'auto' (the default of `graphrec.writeback.write_model`) takes 'graphrec' when the server has the procedures
(`has_write_procedures`), else 'procedure'. Either way every batch is one managed WRITE transaction
(`QueryRunner.write_partitioned`), so a failed write-back leaves whole batches of a version that readers never
look at ('writing'), as before.

Batch sizes (defaults of `write_model`): 20,000 vectors and 100,000 relationships per transaction (5 times fewer
commits than 20,000). A batch of relationships holds whole source items of its block (below).

Relationships are written by `workers` sessions at once without sharing a node (Neo4j locks both ends of a new
relationship): the items are cut into 2 × workers parts by id, and the rounds of a round-robin tournament
(the circle method) pair every part with every other once; in a round each session writes the relationships
between the two parts of one pair, both ways (and, in the first round, those within each of its parts), so
the sessions of a round touch disjoint items. With one worker that is one session writing everything. Two
workers wrote 4.1M relationships at 88,400/s against one's 65,200/s (median of 2 interleaved write-backs,
`benchmarks/bench_writeback.py --similar 100 --dim 0 --methods graphrec --workers 1,2`, idle 2-core machine,
2026-12-07). Neo4j also locks the relationship at the head of the chain it inserts into, and a relationship
written in an earlier round between two parts heads a chain of each: two sessions may then deadlock (seen in
that run; in none of the scale runs' 8.2M and 32.8M), which the driver retries (`execute_write`), the
transaction rolled back first.

What a relationship costs (4.1M item-kNN-shaped weights, 41k items, 2026-12-06, machine under load): the server
spent 143 s of CPU on them with either method (about 29,000 relationships per CPU second), so the storage
engine's records and commits bound the rate, not Cypher; the procedures save the client nothing either (about
5 s of client CPU each way).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Literal

import numpy as np

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner

Method = Literal["auto", "graphrec", "procedure", "set"]

WRITE_METHODS: dict[str, str] = {
    "graphrec": "embedding_write_graphrec", "procedure": "embedding_write_procedure", "set": "embedding_write_set"}
"""How vectors are stored, by method: graphrec's `graphrec.writeVectors`, `db.create.setNodeVectorProperty`
(both float32 arrays) or `SET n[$property]` (64-bit floats)."""

BATCH_NUMBERS = 20_000 * 65
"""The most vector entries one write transaction holds: 20,000 items' vectors of dimension 64 and their MIPS
column."""

PROCEDURES = ("graphrec.writeSimilar", "graphrec.writeVectors")
"""The procedures that method 'graphrec' calls."""


def has_write_procedures(runner: QueryRunner) -> bool:
    """Whether the server has graphrec's write procedures (`PROCEDURES`), in a READ transaction."""
    found = runner.read(cypher.statement("writeback_procedures"), {"names": list(PROCEDURES)})
    return set(found[0]["names"]) == set(PROCEDURES)


def resolve_method(runner: QueryRunner, method: Method) -> str:
    """`method`, with 'auto' resolved: 'graphrec' when the server has the procedures, else 'procedure'."""
    if method not in ("auto", *WRITE_METHODS):
        raise ValueError(f"write method {method!r}: expected 'auto' or one of {sorted(WRITE_METHODS)}")
    if method == "auto":
        return "graphrec" if has_write_procedures(runner) else "procedure"
    return method


def write_vectors(runner: QueryRunner, method: str, label: str, ids: np.ndarray, vectors: np.ndarray, *, dim: int,
                  property: str, mips_property: str | None, batch_size: int, workers: int,
                  desc: str | None) -> None:
    """Store `vectors` (n x width, float32) on the `label` nodes `ids`: the first `dim` columns as `property`, and
    when `mips_property` is given (items, augmented for MIPS: width = dim + 1) all of them as `mips_property`.

    `workers` sessions write disjoint shares of the rows at once, `batch_size` rows per transaction, or fewer
    for vectors wider than 64: a transaction holds at most `BATCH_NUMBERS` numbers, so that its state on the
    server's heap stays the same whatever the width (20,000 vectors of dimension 1,024 took a 2 GiB heap past
    its end).
    """
    batch_size = max(1, min(batch_size, BATCH_NUMBERS // max(int(vectors.shape[1]), 1)))
    params = {"label": label, "dim": dim, "property": property, "mips_property": mips_property}
    if method == "graphrec":
        params["width"] = int(vectors.shape[1])
        # One row per transaction: a packed batch (ids, and their vectors one after the other), as bytes.
        rows = [{"ids": _packed(ids[a:b], "<i8"), "values": _packed(vectors[a:b], "<f4")}
                for a, b in _spans(len(ids), batch_size)]
        runner.write_partitioned(cypher.statement(WRITE_METHODS[method]), _shares(rows, workers), batch_size=1,
                                 params=params, desc=desc, weigh=lambda row: len(row["ids"]) // 8)
        return
    rows = [{"id": i, "vec": vec} for i, vec in zip(ids.tolist(), vectors.tolist())]
    runner.write_partitioned(cypher.statement(WRITE_METHODS[method]), _shares(rows, workers), batch_size=batch_size,
                             params=params, desc=desc)


def write_neighbours(runner: QueryRunner, method: str, rel_type: str, sources: np.ndarray, targets: np.ndarray,
                     weights: np.ndarray, *, batch_size: int, workers: int = 1, desc: str | None) -> None:
    """Create the relationships `(:Item {id: sources[k]})-[:rel_type {weight: weights[k]}]->(:Item {id:
    targets[k]})`, the arrays sorted by source; about `batch_size` per transaction (whole source items of a
    block), over `workers` concurrent sessions that never share an item (`_rounds`)."""
    params = {"type": rel_type}
    phases = [[_neighbour_rows(method, sources[keep], targets[keep], weights[keep], batch_size) for keep in rnd]
              for rnd in _rounds(sources, targets, workers)]
    if method == "graphrec":
        runner.write_partitioned(cypher.statement("similar_write_procedure"), phases, batch_size=1, params=params,
                                 desc=desc, weigh=lambda row: len(row["targets"]) // 8)
        return
    per_row = max(1, int(np.ceil(len(sources) / max(len(np.unique(sources)), 1))))
    runner.write_partitioned(cypher.statement("similar_write"), phases, params=params,
                             batch_size=max(1, batch_size // per_row), desc=desc,
                             weigh=lambda row: len(row["to"]))


def _neighbour_rows(method: str, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray,
                    batch_size: int) -> list[dict]:
    """The rows of one stream of relationships (sorted by source): for 'graphrec' one packed row per
    transaction (whole source items adding up to about `batch_size`), else one row per source item."""
    if not len(sources):
        return []
    starts = np.flatnonzero(np.r_[True, sources[1:] != sources[:-1]])
    ends = np.r_[starts[1:], len(sources)]
    if method != "graphrec":
        return [{"from": int(sources[a]), "to": targets[a:b].tolist(), "weight": weights[a:b].tolist()}
                for a, b in zip(starts, ends)]
    rows = []
    for first, last in _source_batches(starts, ends, batch_size):
        a, b = starts[first], ends[last - 1]
        rows.append({"sources": sources[starts[first:last]].tolist(),
                     "counts": (ends[first:last] - starts[first:last]).tolist(),
                     "targets": _packed(targets[a:b], "<i8"), "weights": _packed(weights[a:b], "<f8")})
    return rows


def _rounds(sources: np.ndarray, targets: np.ndarray, workers: int) -> list[list[np.ndarray]]:
    """Per round, per session, the positions (ascending) of the relationships it writes: the items cut into
    2 × `workers` parts by id, a session of a round writes the relationships between the two parts of one
    pair of `_tournament`, both ways, and in the first round those within each of its two parts. Every
    relationship is written once, and the sessions of a round share no item."""
    parts = 2 * max(workers, 1)
    cell = (sources % parts) * parts + targets % parts
    rounds = []
    for number, pairs in enumerate(_tournament(parts)):
        rounds.append([np.flatnonzero(np.isin(cell, [a * parts + b, b * parts + a]
                                              + ([a * parts + a, b * parts + b] if number == 0 else [])))
                       for a, b in pairs])
    return rounds


def _tournament(parts: int) -> list[list[tuple[int, int]]]:
    """The rounds of a round-robin tournament of `parts` (even) players, by the circle method: part 0 stays,
    the others turn one place a round; in each of the `parts - 1` rounds every part plays once, and every two
    parts meet in exactly one round."""
    ring = list(range(1, parts))
    rounds = []
    for _ in range(parts - 1):
        order = [0, *ring]
        rounds.append([(order[i], order[parts - 1 - i]) for i in range(parts // 2)])
        ring = ring[-1:] + ring[:-1]
    return rounds


def _packed(values: np.ndarray, dtype: str) -> bytes:
    """`values` as the little-endian bytes of `dtype` (row after row), what graphrec's write procedures read."""
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


def _spans(count: int, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive runs of `size` (the last shorter) over `count` rows."""
    for start in range(0, count, size):
        yield start, min(start + size, count)


def _source_batches(starts: np.ndarray, ends: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Runs [first, last) of source items whose relationships add up to about `size` (at least one item each):
    each run ends at the first item that reaches the next multiple of `size`."""
    bounds = np.searchsorted(ends, np.arange(size, ends[-1] + size, size), side="left") + 1
    bounds = np.unique(np.minimum(bounds, len(starts)))
    return list(zip(np.r_[0, bounds[:-1]].tolist(), bounds.tolist()))


def _shares(rows: list, workers: int) -> list[list[list]]:
    """`rows` cut into at most `workers` contiguous streams of about equal length, written at once: one phase
    for `QueryRunner.write_partitioned`."""
    if not rows:
        return [[]]
    cuts = np.linspace(0, len(rows), max(workers, 1) + 1).round().astype(int)
    return [[rows[a:b] for a, b in itertools.pairwise(np.unique(cuts).tolist())]]
