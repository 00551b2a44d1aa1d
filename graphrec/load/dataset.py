"""The validated, in-memory form of one load: what the readers produce and the writer stores.

Ids are 64-bit integers. Interaction tables have the columns `source` (user or group id), `item`, `weight`
(float, default 1.0), `ts` (Unix seconds or missing), `split` (`train`, `valid` or `test`) and `negatives`
(a list of item ids for evaluation protocols with sampled negatives, or missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")
INTERACTION_COLUMNS = ["source", "item", "weight", "ts", "split", "negatives"]


class InputError(ValueError):
    """Input that cannot be loaded, located by file (or DataFrame), line (or row) and field."""

    def __init__(self, source: str, message: str, line: int | None = None, field: str | None = None):
        self.source, self.line, self.field = source, line, field
        where = source
        if line is not None:
            where += f", line {line}" if not source.startswith("<") else f", row {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


def empty_nodes() -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series([], dtype="int64")})


def empty_interactions() -> pd.DataFrame:
    return pd.DataFrame({
        "source": pd.Series([], dtype="int64"), "item": pd.Series([], dtype="int64"),
        "weight": pd.Series([], dtype="float64"), "ts": pd.Series([], dtype="Int64"),
        "split": pd.Series([], dtype="object"), "negatives": pd.Series([], dtype="object"),
    })


@dataclass
class Dataset:
    """Everything one load writes. Node tables hold `id` and optional property columns."""

    users: pd.DataFrame = field(default_factory=empty_nodes)
    items: pd.DataFrame = field(default_factory=empty_nodes)
    groups: pd.DataFrame = field(default_factory=empty_nodes)
    memberships: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"user": pd.Series([], dtype="int64"),
                                              "group": pd.Series([], dtype="int64")}))
    user_interactions: pd.DataFrame = field(default_factory=empty_interactions)
    group_interactions: pd.DataFrame = field(default_factory=empty_interactions)

    def user_ids(self) -> np.ndarray:
        """Every user id the load touches: declared, interacting or member."""
        return _union(self.users["id"], self.user_interactions["source"], self.memberships["user"])

    def item_ids(self) -> np.ndarray:
        negatives = [n for table in (self.user_interactions, self.group_interactions)
                     for n in table["negatives"].dropna()]
        flat = np.concatenate(negatives) if negatives else np.array([], dtype=np.int64)
        return _union(self.items["id"], self.user_interactions["item"],
                      self.group_interactions["item"], pd.Series(flat, dtype="int64"))

    def group_ids(self) -> np.ndarray:
        return _union(self.groups["id"], self.memberships["group"], self.group_interactions["source"])


def _union(*columns: pd.Series) -> np.ndarray:
    return np.unique(np.concatenate([c.to_numpy(dtype=np.int64) for c in columns]))


def merge_repeats(table: pd.DataFrame, source: str = "<input>") -> pd.DataFrame:
    """One row per (source, item): weights summed, the latest timestamp and the last row's split and
    negatives kept, so that a load sets each interaction to the aggregate of its rows. A sum beyond the
    largest float is an `InputError` naming `source` (the files the table came from)."""
    if not table.duplicated(["source", "item"]).any():
        return table.reset_index(drop=True)
    grouped = table.groupby(["source", "item"], sort=False)
    with np.errstate(over="ignore"):  # an overflow is reported below, with its pair
        merged = grouped.agg(weight=("weight", "sum"), ts=("ts", "max"), split=("split", "last"),
                             negatives=("negatives", "last")).reset_index()
    merged["ts"] = merged["ts"].astype("Int64")
    infinite = ~np.isfinite(merged["weight"].to_numpy())
    if infinite.any():
        row = merged[infinite].iloc[0]
        raise InputError(source, f"the weights of the repeated pair ({row['source']}, {row['item']}) sum to more "
                         "than a 64-bit float holds", field="weight")
    return merged[INTERACTION_COLUMNS]
