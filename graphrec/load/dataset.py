"""The validated, in-memory form of one load: what the readers produce and the writer stores.

Ids are 64-bit integers. Two kinds of tables per side (users, groups):

* **interactions**, what models are trained on and serving counts as history, one row per (source, item):
  `source` (user or group id), `item`, `weight` (float, default 1.0) and `ts` (Unix seconds or missing);
* **cases**, the held-out evaluation cases, one row per line of the input that holds one out (a pair may have
  several, and may also be an interaction): `source`, `item`, `split` (`valid` or `test`), `line` (the line,
  or DataFrame row, of the input: the cases' order and, with the pair and the split, their key), `weight`,
  `ts` and `negatives` (a list of item ids for evaluation protocols with sampled negatives, or missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")
CASE_SPLITS = ("valid", "test")
INTERACTION_COLUMNS = ["source", "item", "weight", "ts"]
CASE_COLUMNS = ["source", "item", "split", "line", "weight", "ts", "negatives"]


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
    })


def empty_cases() -> pd.DataFrame:
    return pd.DataFrame({
        "source": pd.Series([], dtype="int64"), "item": pd.Series([], dtype="int64"),
        "split": pd.Series([], dtype="object"), "line": pd.Series([], dtype="int64"),
        "weight": pd.Series([], dtype="float64"), "ts": pd.Series([], dtype="Int64"),
        "negatives": pd.Series([], dtype="object"),
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
    user_cases: pd.DataFrame = field(default_factory=empty_cases)
    group_cases: pd.DataFrame = field(default_factory=empty_cases)

    def user_ids(self) -> np.ndarray:
        """Every user id the load touches: declared, interacting, held out or member."""
        return _union(self.users["id"], self.user_interactions["source"], self.user_cases["source"],
                      self.memberships["user"])

    def item_ids(self) -> np.ndarray:
        negatives = [n for table in (self.user_cases, self.group_cases) for n in table["negatives"].dropna()]
        flat = np.concatenate(negatives) if negatives else np.array([], dtype=np.int64)
        return _union(self.items["id"], self.user_interactions["item"], self.group_interactions["item"],
                      self.user_cases["item"], self.group_cases["item"], pd.Series(flat, dtype="int64"))

    def group_ids(self) -> np.ndarray:
        return _union(self.groups["id"], self.memberships["group"], self.group_interactions["source"],
                      self.group_cases["source"])


def _union(*columns: pd.Series) -> np.ndarray:
    return np.unique(np.concatenate([c.to_numpy(dtype=np.int64) for c in columns]))


def merge_repeats(table: pd.DataFrame, source: str = "<input>") -> pd.DataFrame:
    """One row per (source, item): weights summed and the latest timestamp kept, so that a load sets each
    interaction to the aggregate of its rows. A sum beyond the largest float is an `InputError` naming
    `source` (the files the table came from)."""
    table = table[INTERACTION_COLUMNS]
    if not table.duplicated(["source", "item"]).any():
        return table.reset_index(drop=True)
    grouped = table.groupby(["source", "item"], sort=False)
    with np.errstate(over="ignore"):  # an overflow is reported below, with its pair
        merged = grouped.agg(weight=("weight", "sum"), ts=("ts", "max")).reset_index()
    merged["ts"] = merged["ts"].astype("Int64")
    infinite = ~np.isfinite(merged["weight"].to_numpy())
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])  # ids read from their int64 columns, exactly
        pair = (int(merged["source"].iloc[first]), int(merged["item"].iloc[first]))
        raise InputError(source, f"the weights of the repeated pair {pair} sum to more than a 64-bit float holds",
                         field="weight")
    return merged[INTERACTION_COLUMNS]


def split_rows(table: pd.DataFrame, source: str = "<input>") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with the columns `source, item, weight, ts, split, line` → (interactions, cases).

    `train` rows become interactions (repeats merged by `merge_repeats`); `valid` and `test` rows become
    cases, one per row, in input order, a row repeating another's (source, item, split, line) dropped (an item
    listed twice on one line is one case). A pair may be both: it is trained on and held out."""
    train = table["split"].to_numpy() == "train"
    cases = table[~train].drop_duplicates(["source", "item", "split", "line"]).assign(negatives=None)
    return merge_repeats(table[train], source), cases[CASE_COLUMNS].reset_index(drop=True)
