"""CSV files or pandas DataFrames → a validated `Dataset`.

Tables and their columns (extra columns of node tables become node properties; optional columns may be
absent or have empty cells; any other column is refused):

| table                | required columns      | optional columns            |
|----------------------|-----------------------|-----------------------------|
| `users`              | `id`                  | any property                |
| `items`              | `id`                  | any property (title, tags…) |
| `groups`             | `id`                  | any property                |
| `memberships`        | `user_id`, `group_id` |                             |
| `interactions`       | `user_id`, `item_id`  | `weight`, `ts`, `split`     |
| `group_interactions` | `group_id`, `item_id` | `weight`, `ts`, `split`     |

Cells are read by the strict parsers of `graphrec.load.tokens` (surrounding spaces ignored): ids are 64-bit
integers in plain digits; `weight` a finite JSON number > 0 (default 1.0); `ts` whole Unix seconds or an ISO 8601
date-time with an offset, 1970 to 2999 (stored as Unix seconds; milliseconds are refused with a hint);
`split` is `train` (default: an interaction; repeated pairs merged, weights summed, the latest `ts`) or `valid` /
`test` (a held-out case, one per row, keyed by its line: a pair may be both). A property column holds integers
when every non-empty cell is an id-form integer, floats when every one is a JSON number, and the cells' text
otherwise (`007` stays text), so every value is stored as written. Column names must be unique, non-empty and not one of graphrec's own
(`graphrec.names.is_reserved_property`: `id`, `~embedding_v…`).

A file must be UTF-8 text without NUL bytes (`graphrec.load.source`), every row must have as many fields as
the header, and lines are counted as in the file, the header being line 1 (a quoted field spanning lines is
located at its row's first line); DataFrame rows are counted from 0.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from graphrec.load.dataset import SPLITS, Dataset, InputError, split_rows
from graphrec.load.source import read_text
from graphrec.load.tokens import (
    TokenError,
    parse_id,
    parse_number,
    parse_timestamp,
    parse_weight,
)
from graphrec.names import is_reserved_property

TableSource = Union[str, Path, pd.DataFrame]

ANY_PROPERTY = None
"""The `optional` columns of a node table: any property column."""

_FLOAT_EXACT = 2**53
"""Floats (in DataFrames) up to this magnitude hold integers exactly."""


class Table:
    """One input table with the means to point at a line of its source.

    Args:
        source: a CSV path or a DataFrame.
        name: the table's name (`users`, `interactions`, ...), for messages.
        required: the columns it must have.
        optional: the other columns it may have; `ANY_PROPERTY` for node tables (any name but graphrec's own).
    """

    def __init__(self, source: TableSource, name: str, required: Sequence[str],
                 optional: Sequence[str] | None = ANY_PROPERTY) -> None:
        if isinstance(source, pd.DataFrame):
            self.label, self.lines = f"<{name} DataFrame>", None
            self.frame = source.reset_index(drop=True)
            header, header_line = [str(column) for column in self.frame.columns], None
            self.frame.columns = header
        else:
            self.label = str(source)
            header, columns, self.lines = _read_csv(Path(source))
            self.frame = pd.DataFrame(dict(zip(header, columns)), dtype=object) if columns else pd.DataFrame()
            header_line = 1
        self._check_header(header, header_line, required, optional)
        if self.frame.empty:
            raise InputError(self.label, "has a header but no data rows", line=self.line(0))

    def _check_header(self, header: list[str], line: int | None, required: Sequence[str],
                      optional: Sequence[str] | None) -> None:
        seen: set[str] = set()
        for column in header:
            if not column.strip():
                raise InputError(self.label, "a column has no name", line=line, field=column)
            if column in seen:
                raise InputError(self.label, "the column appears twice", line=line, field=column)
            seen.add(column)
        for column in required:
            if column not in seen:
                raise InputError(self.label, f"missing column (found: {', '.join(header)})", line=line, field=column)
        for column in header:
            if column in required:
                continue
            if optional is ANY_PROPERTY:
                if is_reserved_property(column):
                    raise InputError(self.label, "graphrec writes this property itself (ids, model vectors); "
                                     "rename the column", line=line, field=column)
            elif column not in optional:
                allowed = ", ".join([*required, *optional])
                raise InputError(self.label, f"unknown column (this table has: {allowed})", line=line, field=column)

    def line(self, position: int) -> int:
        """The line (CSV) or row (DataFrame) of the row at `position`."""
        if self.lines is None:
            return position
        return self.lines[position] if self.lines else 2

    def ids(self, column: str) -> pd.Series:
        """An integer id column (int64); an error names the first cell that is not an id."""
        raw = self.frame[column]
        if pd.api.types.is_signed_integer_dtype(raw.dtype):
            return raw.astype("int64")
        return pd.Series(self._parse(column, _id_value), dtype="int64", index=raw.index)

    def weights(self) -> pd.Series:
        if "weight" not in self.frame.columns:
            return pd.Series(1.0, index=self.frame.index)
        return pd.Series(self._parse("weight", _weight_value), dtype="float64", index=self.frame.index)

    def timestamps(self) -> pd.Series:
        if "ts" not in self.frame.columns:
            return pd.Series(pd.NA, index=self.frame.index, dtype="Int64")
        return pd.Series(self._parse("ts", _timestamp_value), dtype="Int64", index=self.frame.index)

    def splits(self) -> pd.Series:
        if "split" not in self.frame.columns:
            return pd.Series("train", index=self.frame.index, dtype="object")
        return pd.Series(self._parse("split", _split_value), dtype="object", index=self.frame.index)

    def properties(self, exclude: tuple[str, ...]) -> pd.DataFrame:
        """The remaining columns, typed (see the module docstring), empty cells as None."""
        props = {}
        for column in self.frame.columns:
            if column in exclude:
                continue
            values = self.frame[column].astype(object).tolist()
            for position, value in enumerate(values):
                if isinstance(value, str) and "\0" in value:
                    raise InputError(self.label, "a NUL character in a text value", line=self.line(position),
                                     field=column)
            props[column] = pd.Series(_typed(values), index=self.frame.index, dtype=object)
        return pd.DataFrame(props, index=self.frame.index)

    def _parse(self, column: str, parse: Callable[[Any], Any]) -> list[Any]:
        """`parse` applied to every cell of `column`; a `TokenError` becomes an error at its line."""
        values = self.frame[column].tolist()
        try:
            return [parse(value) for value in values]
        except TokenError:
            pass
        for position, value in enumerate(values):
            try:
                parse(value)
            except TokenError as error:
                raise InputError(self.label, str(error), line=self.line(position), field=column) from None
        raise AssertionError("unreachable: a cell failed once and then parsed")


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip(" \t"))


def _id_value(value: object) -> int:
    """An id cell: text (strictly parsed), an integer in int64, or a float holding an integer exactly."""
    if isinstance(value, str):
        return parse_id(value.strip(" \t"))
    if _blank(value):
        raise TokenError("missing id")
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return parse_id(str(int(value)))
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and abs(value) <= _FLOAT_EXACT:
        return int(value)
    raise TokenError(f"{value!r} is not an integer id")


def _weight_value(value: object) -> float:
    if _blank(value):
        return 1.0
    if isinstance(value, str):
        return parse_weight(value.strip(" \t"))
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if math.isfinite(value) and value > 0:
            return float(value)
    raise TokenError(f"{value!r} is not a positive number")


def _timestamp_value(value: object) -> object:
    if _blank(value):
        return pd.NA
    if isinstance(value, str):
        return parse_timestamp(value.strip(" \t"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TokenError(f"{value!r} has no UTC offset (no time zone is guessed)")
        return parse_timestamp(value.isoformat())
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return parse_timestamp(str(int(value)))
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and abs(value) <= _FLOAT_EXACT:
        return parse_timestamp(str(int(value)))
    raise TokenError(f"{value!r} is not whole Unix seconds")


def _split_value(value: object) -> str:
    if _blank(value):
        return "train"
    if isinstance(value, str) and value.strip(" \t") in SPLITS:
        return value.strip(" \t")
    raise TokenError(f"{value!r} is not one of {', '.join(SPLITS)}")


def _typed(values: list[Any]) -> list[Any]:
    """A property column's values: text cells as integers, floats or text (see the module docstring), other
    values (DataFrames) as given, blanks as None."""
    present = [value for value in values if not _blank(value)]
    if not present or not all(isinstance(value, str) for value in present):
        return [None if _blank(value) else value for value in values]
    for parse in (parse_id, parse_number):
        try:
            return [None if _blank(value) else parse(value.strip(" \t")) for value in values]
        except TokenError:
            continue
    return [None if _blank(value) else value for value in values]


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
            setattr(dataset, name, _nodes(Table(given[name], name, ["id"])))
    references: list[tuple[Table, pd.Series, str, str]] = []
    if memberships is not None:
        table = Table(memberships, "memberships", ["user_id", "group_id"], [])
        users_column = table.ids("user_id")
        dataset.memberships = pd.DataFrame({"user": users_column, "group": table.ids("group_id")}
                                           ).drop_duplicates(ignore_index=True)
        references.append((table, users_column, "user_id", "user"))
    if interactions is not None:
        dataset.user_interactions, dataset.user_cases, _ = _interactions(
            Table(interactions, "interactions", *_columns("user_id")), "user_id")
    if group_interactions is not None:
        table = Table(group_interactions, "group_interactions", *_columns("group_id"))
        dataset.group_interactions, dataset.group_cases, sources = _interactions(table, "group_id")
        references.append((table, sources, "group_id", "group"))
    declared = {"user": set(dataset.users["id"]) | set(dataset.user_interactions["source"])
                | set(dataset.user_cases["source"]),
                "group": set(dataset.groups["id"]) | set(dataset.memberships["group"])}
    for table, ids, column, kind in references:
        undeclared = sorted(set(ids.tolist()) - declared[kind])
        unknown = (missing(kind, undeclared) if missing else set(undeclared)) if undeclared else set()
        if unknown:
            position = int(np.flatnonzero(ids.isin(unknown).to_numpy())[0])
            what = "group member: no user" if kind == "user" else "group: no group"
            raise InputError(table.label, f"unknown {what} {ids.iloc[position]} in this load or the database",
                             line=table.line(position), field=column)
    return dataset


def _columns(source_column: str) -> tuple[list[str], list[str]]:
    return [source_column, "item_id"], ["weight", "ts", "split"]


def _nodes(table: Table) -> pd.DataFrame:
    ids = table.ids("id")
    duplicated = ids.duplicated()
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(table.label, f"id {ids.iloc[position]} appears twice", line=table.line(position), field="id")
    return pd.concat([ids.rename("id"), table.properties(exclude=("id",))], axis=1)


def _interactions(table: Table, source_column: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The table's interactions (`train` rows, repeats merged), its cases (`valid` and `test` rows, one per
    row, keyed by its line) and its source column, row by row (`graphrec.load.dataset.split_rows`)."""
    sources = table.ids(source_column)
    frame = pd.DataFrame({
        "source": sources, "item": table.ids("item_id"), "weight": table.weights(),
        "ts": table.timestamps(), "split": table.splits(),
        "line": np.array([table.line(position) for position in range(len(sources))], dtype=np.int64),
    })
    interactions, cases = split_rows(frame, table.label)
    return interactions, cases, sources


def _read_csv(path: Path) -> tuple[list[str], list[tuple[str, ...]], list[int]]:
    """The header, the columns (one tuple of cells each) and each row's first line; blank lines skipped."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        while True:
            first_line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                header = [name.strip(" \t") for name in row]
            elif len(row) != len(header):
                raise InputError(str(path), f"{len(row)} fields, but the header has {len(header)}", line=first_line)
            else:
                rows.append(row)
                lines.append(first_line)
    except csv.Error as error:
        raise InputError(str(path), f"not valid CSV ({error})", line=reader.line_num) from None
    assert header is not None  # read_text refused a blank file
    return header, list(zip(*rows)), lines
