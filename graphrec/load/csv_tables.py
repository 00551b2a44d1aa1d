"""CSV files or pandas DataFrames → a validated `Dataset`.

Tables and their columns (extra columns of node tables become node properties; optional columns may be
absent or have empty cells):

| table                | required columns      | optional columns            |
|----------------------|-----------------------|-----------------------------|
| `users`              | `id`                  | any property                |
| `items`              | `id`                  | any property (title, tags…) |
| `groups`             | `id`                  | any property                |
| `memberships`        | `user_id`, `group_id` |                             |
| `interactions`       | `user_id`, `item_id`  | `weight`, `ts`, `split`     |
| `group_interactions` | `group_id`, `item_id` | `weight`, `ts`, `split`     |

`weight` is a positive number (default 1.0); `ts` is Unix seconds or an ISO 8601 date-time (stored as Unix
seconds); `split` is `train` (default), `valid` or `test`. Lines are counted as in the file, the header being
line 1; DataFrame rows are counted from 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Union

import numpy as np
import pandas as pd

from graphrec.load.dataset import (
    INTERACTION_COLUMNS, SPLITS, Dataset, InputError, merge_repeats,
)

TableSource = Union[str, Path, pd.DataFrame]


class Table:
    """One input table with the means to point at a line of its source."""

    def __init__(self, source: TableSource, name: str) -> None:
        if isinstance(source, pd.DataFrame):
            self.label, self.first_line = f"<{name} DataFrame>", 0
            self.frame = source.reset_index(drop=True)
        else:
            self.label, self.first_line = str(source), 2
            self.frame = _read_csv(Path(source))
        if self.frame.empty:
            raise InputError(self.label, "has a header but no data rows", line=self.first_line)

    def line(self, position: int) -> int:
        return self.first_line + position

    def require(self, *columns: str) -> None:
        for column in columns:
            if column not in self.frame.columns:
                found = ", ".join(map(str, self.frame.columns))
                raise InputError(self.label, f"missing column (found: {found})",
                                 line=1 if self.first_line else None, field=column)

    def ids(self, column: str) -> pd.Series:
        """An integer id column; an error names the first cell that is not an integer."""
        raw = self.frame[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = numbers.isna() | (numbers % 1 != 0)
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            value = raw.iloc[position]
            problem = "missing id" if _blank(value) else f"{value!r} is not an integer id"
            raise InputError(self.label, problem, line=self.line(position), field=column)
        return numbers.astype("int64")

    def weights(self) -> pd.Series:
        if "weight" not in self.frame.columns:
            return pd.Series(1.0, index=self.frame.index)
        raw = self.frame["weight"]
        blank = raw.map(_blank)
        numbers = pd.to_numeric(raw.where(~blank, "1"), errors="coerce")
        bad = ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)) | (numbers <= 0)
        self._raise_first(bad, raw, "weight", "is not a positive number")
        return numbers.astype("float64")

    def timestamps(self) -> pd.Series:
        if "ts" not in self.frame.columns:
            return pd.Series(pd.NA, index=self.frame.index, dtype="Int64")
        raw = self.frame["ts"]
        blank = raw.map(_blank)
        numbers = pd.to_numeric(raw, errors="coerce")
        dates = pd.to_datetime(raw.where(numbers.isna() & ~blank), errors="coerce", utc=True, format="ISO8601")
        seconds = numbers.where(numbers.notna(), dates.map(lambda d: d.timestamp() if pd.notna(d) else np.nan))
        bad = seconds.isna() & ~blank
        self._raise_first(bad, raw, "ts", "is neither Unix seconds nor an ISO 8601 date-time")
        return seconds.round().astype("Int64")

    def splits(self) -> pd.Series:
        if "split" not in self.frame.columns:
            return pd.Series("train", index=self.frame.index, dtype="object")
        raw = self.frame["split"]
        values = raw.where(~raw.map(_blank), "train").astype(str).str.strip()
        self._raise_first(~values.isin(SPLITS), raw, "split", f"is not one of {', '.join(SPLITS)}")
        return values.astype("object")

    def properties(self, exclude: tuple[str, ...]) -> pd.DataFrame:
        """The remaining columns, numeric where every non-empty cell is a number, empty cells as None."""
        props = {}
        for column in self.frame.columns:
            if column in exclude:
                continue
            raw = self.frame[column]
            blank = raw.map(_blank)
            numbers = pd.to_numeric(raw.where(~blank), errors="coerce")
            values = numbers if numbers[~blank].notna().all() else raw
            props[str(column)] = values.astype(object).where(~blank, None)
        return pd.DataFrame(props, index=self.frame.index)

    def _raise_first(self, bad: pd.Series, raw: pd.Series, field: str, problem: str) -> None:
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(self.label, f"{raw.iloc[position]!r} {problem}", line=self.line(position), field=field)


def read_tables(
    users: TableSource | None = None,
    items: TableSource | None = None,
    groups: TableSource | None = None,
    memberships: TableSource | None = None,
    interactions: TableSource | None = None,
    group_interactions: TableSource | None = None,
    missing: Callable[[str, list[int]], set[int]] | None = None,
) -> Dataset:
    """Read and validate the given tables (each a CSV path or a DataFrame) into one `Dataset`.

    Members must be known users and group interactions must name known groups: declared by this load
    (a node table, an interaction or a membership) or, through `missing(kind, ids)` (which returns the
    ids of kind `user` or `group` that the database lacks), already stored.
    """
    given = {"users": users, "items": items, "groups": groups, "memberships": memberships,
             "interactions": interactions, "group_interactions": group_interactions}
    if all(source is None for source in given.values()):
        raise ValueError("no table given: pass at least one of " + ", ".join(given))
    dataset = Dataset()
    for name in ("users", "items", "groups"):
        if given[name] is not None:
            setattr(dataset, name, _nodes(Table(given[name], name)))
    references: list[tuple[Table, str, str]] = []
    if memberships is not None:
        table = Table(memberships, "memberships")
        table.require("user_id", "group_id")
        dataset.memberships = pd.DataFrame({"user": table.ids("user_id"), "group": table.ids("group_id")}
                                           ).drop_duplicates(ignore_index=True)
        references.append((table, "user_id", "user"))
    if interactions is not None:
        dataset.user_interactions = _interactions(Table(interactions, "interactions"), "user_id")
    if group_interactions is not None:
        table = Table(group_interactions, "group_interactions")
        dataset.group_interactions = _interactions(table, "group_id")
        references.append((table, "group_id", "group"))
    declared = {"user": set(dataset.users["id"]) | set(dataset.user_interactions["source"]),
                "group": set(dataset.groups["id"]) | set(dataset.memberships["group"])}
    for table, column, kind in references:
        ids = table.ids(column)
        undeclared = sorted(set(ids.tolist()) - declared[kind])
        unknown = (missing(kind, undeclared) if missing else set(undeclared)) if undeclared else set()
        if unknown:
            position = int(np.flatnonzero(ids.isin(unknown).to_numpy())[0])
            what = "group member: no user" if kind == "user" else "group: no group"
            raise InputError(table.label, f"unknown {what} {ids.iloc[position]} in this load or the database",
                             line=table.line(position), field=column)
    return dataset


def _nodes(table: Table) -> pd.DataFrame:
    table.require("id")
    ids = table.ids("id")
    duplicated = ids.duplicated()
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(table.label, f"id {ids.iloc[position]} appears twice", line=table.line(position), field="id")
    return pd.concat([ids.rename("id"), table.properties(exclude=("id",))], axis=1)


def _interactions(table: Table, source_column: str) -> pd.DataFrame:
    table.require(source_column, "item_id")
    frame = pd.DataFrame({
        "source": table.ids(source_column), "item": table.ids("item_id"), "weight": table.weights(),
        "ts": table.timestamps(), "split": table.splits(), "negatives": None,
    })[INTERACTION_COLUMNS]
    return merge_repeats(frame)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(str(path), "no such file")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "the file is empty", line=1) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(str(path), f"not a readable CSV file ({error})") from None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip())
