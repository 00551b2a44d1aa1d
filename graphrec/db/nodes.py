"""Questions about graphrec's nodes that several rooms ask: which ids have no node.

Loading asks before members and group interactions reference users and groups, export before it walks from
seed ids, and write-back before it writes a vector: one lookup (`cypher/missing_ids.cypher`) for all three.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.names import LABELS

ID_CHUNK = 50_000
"""Ids per query: a lookup of millions of ids is several statements with bounded parameter lists."""


def missing_ids(runner: QueryRunner, label: str, ids: Iterable[int] | np.ndarray) -> list[int]:
    """The `ids` that have no node of `label`, in the order given (a repeated id is listed as often).

    Args:
        runner: the port the lookups go through (one read statement per `ID_CHUNK` ids).
        label: a node label of the allow-list `graphrec.names.LABELS` ('User', 'Item', 'Group'); any other is a
            `ValueError` before anything is sent.
        ids: integer node ids (a numpy array or any iterable of ints).
    """
    if label not in LABELS.values():
        raise ValueError(f"unknown node label {label!r}; expected one of {sorted(LABELS.values())}")
    wanted = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if wanted.size and not np.issubdtype(wanted.dtype, np.integer):
        raise ValueError(f"node ids are integers, got {wanted.dtype}")
    wanted = wanted.astype(np.int64).ravel().tolist()
    query = cypher.statement("missing_ids")
    missing: list[int] = []
    for start in range(0, len(wanted), ID_CHUNK):
        missing += runner.read(query, {"label": label, "ids": wanted[start : start + ID_CHUNK]})[0]["missing"]
    return missing
