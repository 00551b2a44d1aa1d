"""The two text formats of the literature → a validated `Dataset`.

LightGCN (He et al., SIGIR 2020; the Gowalla split in `../shared/data/gowalla`): a folder with `train.txt`
and optionally `valid.txt` and `test.txt`, one line per user, `uid iid iid ...`, space-separated. `train.txt`
gives the interactions (an item repeated for a user: one interaction of summed weight); each item of a line of
`valid.txt` / `test.txt` is one held-out case of that split, at that line, also when the pair is a train
interaction, which it stays (the reference code trains on it and excludes it from the ranking). Optional
`user_list.txt` / `item_list.txt` (`org_id remap_id` with a header) give each node its original id as the
property `org_id`.

Group benchmark (AGREE, SIGIR 2018, and its successors; CAMRa2011, Mafengwo): a folder with
`groupMember.txt` (`<group> <user>,<user>,...`), `groupRatingTrain.txt`, `groupRatingTest.txt`,
`userRatingTrain.txt`, `userRatingTest.txt` (`<group-or-user> <item> [<rating>]`) and optionally
`groupRatingNegative.txt` / `userRatingNegative.txt` (`(<group-or-user>,<test item>) <neg> <neg> ...`, one
line per line of the test file, in its order). Exactly as the reference code (AGREE's `dataset.py`) reads
them: the train interactions are the train rows with a rating > 0 (or none), binarised, a repeated pair once
(the models see a binary matrix; the interaction's `weight` counts its rows, so that a repeat stays visible to
`graphrec.evaluation.known`); **every** line of a test file is one test case, whatever its rating, a repeated
pair once per line, also when the pair is a train interaction (the reference code trains on it and tests it);
the n-th line of a negatives file holds the negatives of the n-th case and must name its pair.

Both are read strictly (`graphrec.load.source`, `graphrec.load.tokens`): UTF-8 text without NUL bytes, fields
separated by ASCII spaces or tabs, ids 64-bit integers in plain digits, ratings finite numbers >= 0 (0: not an
interaction, as in the format); an error names the file, the line and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.load.dataset import (
    CASE_COLUMNS,
    Dataset,
    InputError,
    empty_cases,
    empty_interactions,
    merge_repeats,
    split_rows,
)
from graphrec.load.source import read_text
from graphrec.load.tokens import SHORT_ID_PATTERN, TokenError, parse_id, parse_rating

LIGHTGCN_SPLITS = {"train.txt": "train", "valid.txt": "valid", "test.txt": "test"}
GROUP_FILES = {
    ("group", "train"): "groupRatingTrain.txt", ("group", "test"): "groupRatingTest.txt",
    ("user", "train"): "userRatingTrain.txt", ("user", "test"): "userRatingTest.txt",
}
NEGATIVE_FILES = {"group": "groupRatingNegative.txt", "user": "userRatingNegative.txt"}
_PAIR = re.compile(r"\(([^,()]*),([^,()]*)\)")
_SEPARATOR = re.compile(r"[ \t]+")
_SHORT_IDS = re.compile(rf"(?:{SHORT_ID_PATTERN})(?:[ \t]+(?:{SHORT_ID_PATTERN}))*")


def read_lightgcn(directory: str | Path) -> Dataset:
    """Read a LightGCN-format folder (`train.txt` required)."""
    directory = Path(directory)
    if not (directory / "train.txt").is_file():
        raise InputError(str(directory / "train.txt"), "no such file (a LightGCN folder needs train.txt)")
    tables = [_lightgcn_file(directory / name, split)
              for name, split in LIGHTGCN_SPLITS.items() if (directory / name).is_file()]
    interactions, cases = split_rows(pd.concat(tables, ignore_index=True), str(directory))
    dataset = Dataset(user_interactions=interactions, user_cases=cases)
    for attribute, name in (("users", "user_list.txt"), ("items", "item_list.txt")):
        if (directory / name).is_file():
            setattr(dataset, attribute, _id_list(directory / name))
    return dataset


def read_group_benchmark(directory: str | Path) -> Dataset:
    """Read a group-benchmark folder (`groupMember.txt` required, rating files optional)."""
    directory = Path(directory)
    memberships = _memberships(directory / "groupMember.txt")
    groups = set(memberships["group"].tolist())
    found: dict[tuple[str, str], pd.DataFrame] = {}
    for (kind, split), name in GROUP_FILES.items():
        path = directory / name
        found[kind, split] = (_ratings(path, split, groups if kind == "group" else None) if path.is_file()
                              else (empty_interactions() if split == "train" else empty_cases()))
    for kind, name in NEGATIVE_FILES.items():
        if (directory / name).is_file():
            _attach_negatives(directory / name, found[kind, "test"], directory / GROUP_FILES[kind, "test"])
    return Dataset(memberships=memberships,
                   user_interactions=found["user", "train"], group_interactions=found["group", "train"],
                   user_cases=found["user", "test"], group_cases=found["group", "test"])


def _lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a file as (line number, line without surrounding blanks)."""
    text = read_text(path)
    return [(number, stripped) for number, line in enumerate(text.split("\n"), start=1)
            if (stripped := line.strip(" \t\r"))]


def _tokens(lines: list[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    """Each line's fields, separated by ASCII spaces and tabs."""
    return [(number, _SEPARATOR.split(line)) for number, line in lines]


def _int(token: str, path: Path, number: int, field: str) -> int:
    try:
        return parse_id(token)
    except TokenError as error:
        raise InputError(str(path), str(error), line=number, field=field) from None


def _lightgcn_file(path: Path, split: str) -> pd.DataFrame:
    users: list[int] = []
    counts: list[int] = []
    items: list[int] = []
    numbers: list[int] = []
    for number, line in _lines(path):
        if _SHORT_IDS.fullmatch(line):  # only short ids between spaces and tabs: in range, int() is exact
            row = list(map(int, line.split()))
        else:
            row = [_int(token, path, number, "uid" if k == 0 else f"iid #{k}")
                   for k, token in enumerate(_SEPARATOR.split(line))]
        users.append(row[0])
        counts.append(len(row) - 1)
        items.extend(row[1:])
        numbers.append(number)
    sources = np.repeat(np.array(users, dtype=np.int64), counts)
    return _frame(sources, np.array(items, dtype=np.int64), split, np.repeat(np.array(numbers, dtype=np.int64), counts))


def _id_list(path: Path) -> pd.DataFrame:
    """`org_id remap_id` lines after that header: the node ids (`remap_id`) and their original ids (text)."""
    lines = _tokens(_lines(path))
    number, header = lines[0]
    if header != ["org_id", "remap_id"]:
        raise InputError(str(path), f"expected the header 'org_id remap_id', found {' '.join(header)!r}", line=number)
    ids: list[int] = []
    originals: list[str] = []
    for number, tokens in lines[1:]:
        if len(tokens) != 2:
            raise InputError(str(path), f"expected '<org_id> <remap_id>', found {len(tokens)} fields", line=number)
        originals.append(tokens[0])
        ids.append(_int(tokens[1], path, number, "remap_id"))
    if not ids:
        raise InputError(str(path), "has a header but no data rows", line=number + 1)
    frame = pd.DataFrame({"id": np.array(ids, dtype=np.int64), "org_id": pd.Series(originals, dtype=object)})
    duplicated = frame["id"].duplicated()
    if duplicated.any():
        position = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(str(path), f"id {ids[position]} appears twice", line=lines[1 + position][0], field="remap_id")
    return frame


def _memberships(path: Path) -> pd.DataFrame:
    groups: list[int] = []
    users: list[int] = []
    for number, tokens in _tokens(_lines(path)):
        if len(tokens) != 2:
            raise InputError(str(path), "expected '<group> <user>,<user>,...'", line=number)
        group = _int(tokens[0], path, number, "group")
        members = [_int(token, path, number, "member") for token in tokens[1].split(",")]
        if not members:
            raise InputError(str(path), "a group needs at least one member", line=number, field="member")
        groups.extend([group] * len(members))
        users.extend(members)
    return pd.DataFrame({"user": users, "group": groups}, dtype="int64").drop_duplicates(ignore_index=True)


def _ratings(path: Path, split: str, known_groups: set[int] | None) -> pd.DataFrame:
    """A rating file as train interactions (`split` train) or test cases (see the module docstring)."""
    sources: list[int] = []
    items: list[int] = []
    numbers: list[int] = []
    for number, tokens in _tokens(_lines(path)):
        if len(tokens) not in (2, 3):
            raise InputError(str(path), "expected '<id> <item> [<rating>]'", line=number)
        source = _int(tokens[0], path, number, "group" if known_groups is not None else "user")
        if known_groups is not None and source not in known_groups:
            raise InputError(str(path), f"unknown group {source} (not in groupMember.txt)", line=number,
                             field="group")
        item = _int(tokens[1], path, number, "item")
        if len(tokens) == 3:
            try:
                rating = parse_rating(tokens[2])
            except TokenError as error:
                raise InputError(str(path), str(error), line=number, field="rating") from None
            if rating == 0 and split == "train":
                continue
        sources.append(source)
        items.append(item)
        numbers.append(number)
    frame = _frame(np.array(sources, dtype=np.int64), np.array(items, dtype=np.int64), split,
                   np.array(numbers, dtype=np.int64))
    if split == "train":
        return merge_repeats(frame, str(path))
    return frame.assign(negatives=None)[CASE_COLUMNS]


def _attach_negatives(path: Path, cases: pd.DataFrame, test_path: Path) -> None:
    """Store the n-th line's negatives on the n-th case (in place); its pair must be the case's."""
    lines = _tokens(_lines(path))
    negatives: list[list[int]] = []
    for (number, tokens), source, item, line in zip(lines, cases["source"].tolist(), cases["item"].tolist(),
                                                     cases["line"].tolist()):
        match = _PAIR.fullmatch(tokens[0])
        if match is None:
            raise InputError(str(path), f"{tokens[0]!r} is not '(<id>,<test item>)'", line=number, field="pair")
        key = (_int(match.group(1), path, number, "pair"), _int(match.group(2), path, number, "pair"))
        if key != (source, item):
            raise InputError(str(path), f"pair {key}, but the test line it belongs to ({test_path.name}, line "
                             f"{line}) is ({source}, {item}): the n-th line holds the n-th test line's negatives",
                             line=number, field="pair")
        negatives.append([_int(token, path, number, "negative") for token in tokens[1:]])
    if len(lines) != len(cases):
        raise InputError(str(path), f"has {len(lines)} lines and {test_path.name} {len(cases)}: each test line needs "
                         "one line of negatives, in the same order",
                         line=lines[len(cases)][0] if len(lines) > len(cases) else None)
    cases["negatives"] = pd.Series(negatives, index=cases.index, dtype=object)


def _frame(sources: np.ndarray, items: np.ndarray, split: str, lines: np.ndarray) -> pd.DataFrame:
    """Rows of one file, weight 1.0 and no time: `source, item, weight, ts, split, line`."""
    return pd.DataFrame({
        "source": sources, "item": items, "weight": np.ones(len(items)),
        "ts": pd.arrays.IntegerArray(np.zeros(len(items), dtype=np.int64), np.ones(len(items), dtype=bool)),
        "split": np.full(len(items), split, dtype=object), "line": lines,
    })
