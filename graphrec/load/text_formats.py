"""The two text formats of the literature → a validated `Dataset`.

LightGCN (He et al., SIGIR 2020; the Gowalla split in `../shared/data/gowalla`): a folder with `train.txt`
and optionally `valid.txt` and `test.txt`, one line per user, `uid iid iid ...`, space-separated; the file
names the interactions' `split`. Optional `user_list.txt` / `item_list.txt` (`org_id remap_id` with a header)
give each node its original id as the property `org_id`.

Group benchmark (AGREE, SIGIR 2018, and its successors; CAMRa2011, Mafengwo): a folder with
`groupMember.txt` (`<group> <user>,<user>,...`), `groupRatingTrain.txt`, `groupRatingTest.txt`,
`userRatingTrain.txt`, `userRatingTest.txt` (`<group-or-user> <item> [<rating>]`, rating 0 rows are not
interactions; a rating becomes the weight) and optionally `groupRatingNegative.txt` / `userRatingNegative.txt`
(`(<group-or-user>,<test item>) <neg> <neg> ...`), whose negatives are kept on the test interaction.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.load.dataset import INTERACTION_COLUMNS, Dataset, InputError, empty_interactions, merge_repeats

LIGHTGCN_SPLITS = {"train.txt": "train", "valid.txt": "valid", "test.txt": "test"}
GROUP_FILES = {
    ("group", "train"): "groupRatingTrain.txt", ("group", "test"): "groupRatingTest.txt",
    ("user", "train"): "userRatingTrain.txt", ("user", "test"): "userRatingTest.txt",
}
NEGATIVE_FILES = {"group": "groupRatingNegative.txt", "user": "userRatingNegative.txt"}
_PAIR = re.compile(r"^\((-?\d+),(-?\d+)\)$")


def read_lightgcn(directory: str | Path) -> Dataset:
    """Read a LightGCN-format folder (`train.txt` required)."""
    directory = Path(directory)
    if not (directory / "train.txt").is_file():
        raise InputError(str(directory / "train.txt"), "no such file (a LightGCN folder needs train.txt)")
    tables = [_lightgcn_file(directory / name, split)
              for name, split in LIGHTGCN_SPLITS.items() if (directory / name).is_file()]
    dataset = Dataset(user_interactions=merge_repeats(pd.concat(tables, ignore_index=True)))
    for attribute, name in (("users", "user_list.txt"), ("items", "item_list.txt")):
        if (directory / name).is_file():
            setattr(dataset, attribute, _id_list(directory / name))
    return dataset


def read_group_benchmark(directory: str | Path) -> Dataset:
    """Read a group-benchmark folder (`groupMember.txt` required, rating files optional)."""
    directory = Path(directory)
    members_path = directory / "groupMember.txt"
    memberships = _memberships(members_path)
    groups = set(memberships["group"].tolist())
    tables: dict[str, list[pd.DataFrame]] = {"group": [], "user": []}
    for (kind, split), name in GROUP_FILES.items():
        if (directory / name).is_file():
            tables[kind].append(_ratings(directory / name, split, groups if kind == "group" else None))
    interactions = {kind: pd.concat(found, ignore_index=True) if found else empty_interactions()
                    for kind, found in tables.items()}
    for kind, name in NEGATIVE_FILES.items():
        if (directory / name).is_file():
            _attach_negatives(directory / name, interactions[kind])
    return Dataset(
        memberships=memberships,
        user_interactions=merge_repeats(interactions["user"]),
        group_interactions=merge_repeats(interactions["group"]),
    )


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank lines of a file as (line number, tokens); an error if there are none."""
    if not path.is_file():
        raise InputError(str(path), "no such file")
    with open(path, encoding="utf-8") as handle:
        lines = [(number, line.split()) for number, line in enumerate(handle, start=1) if line.strip()]
    if not lines:
        raise InputError(str(path), "the file is empty", line=1)
    return lines


def _int(token: str, path: Path, number: int, field: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise InputError(str(path), f"{token!r} is not an integer id", line=number, field=field) from None


def _lightgcn_file(path: Path, split: str) -> pd.DataFrame:
    users: list[int] = []
    counts: list[int] = []
    items: list[int] = []
    for number, tokens in _lines(path):
        users.append(_int(tokens[0], path, number, "uid"))
        try:
            row_items = [int(token) for token in tokens[1:]]
        except ValueError:
            position = next(k for k, token in enumerate(tokens[1:], 1) if not token.lstrip("-").isdigit())
            raise InputError(str(path), f"{tokens[position]!r} is not an integer id", line=number,
                             field=f"iid #{position}") from None
        counts.append(len(row_items))
        items.extend(row_items)
    sources = np.repeat(np.array(users, dtype=np.int64), counts)
    return _interaction_frame(sources, np.array(items, dtype=np.int64), np.ones(len(items)), split)


def _id_list(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", dtype=str)
    if list(frame.columns[:2]) != ["org_id", "remap_id"]:
        raise InputError(str(path), "expected the header 'org_id remap_id'", line=1)
    ids = pd.to_numeric(frame["remap_id"], errors="coerce")
    if ids.isna().any():
        position = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError(str(path), f"{frame['remap_id'].iloc[position]!r} is not an integer id",
                         line=position + 2, field="remap_id")
    return pd.DataFrame({"id": ids.astype("int64"), "org_id": frame["org_id"].astype(object)})


def _memberships(path: Path) -> pd.DataFrame:
    groups: list[int] = []
    users: list[int] = []
    for number, tokens in _lines(path):
        if len(tokens) != 2:
            raise InputError(str(path), "expected '<group> <user>,<user>,...'", line=number)
        group = _int(tokens[0], path, number, "group")
        members = [_int(token, path, number, "member") for token in tokens[1].split(",") if token]
        if not members:
            raise InputError(str(path), "a group needs at least one member", line=number, field="member")
        groups.extend([group] * len(members))
        users.extend(members)
    return pd.DataFrame({"user": users, "group": groups}, dtype="int64").drop_duplicates(ignore_index=True)


def _ratings(path: Path, split: str, known_groups: set[int] | None) -> pd.DataFrame:
    sources: list[int] = []
    items: list[int] = []
    weights: list[float] = []
    for number, tokens in _lines(path):
        if len(tokens) not in (2, 3):
            raise InputError(str(path), "expected '<id> <item> [<rating>]'", line=number)
        source = _int(tokens[0], path, number, "group" if known_groups is not None else "user")
        if known_groups is not None and source not in known_groups:
            raise InputError(str(path), f"unknown group {source} (not in groupMember.txt)", line=number,
                             field="group")
        item = _int(tokens[1], path, number, "item")
        rating = 1.0
        if len(tokens) == 3:
            try:
                rating = float(tokens[2])
            except ValueError:
                raise InputError(str(path), f"{tokens[2]!r} is not a number", line=number, field="rating") from None
            if rating == 0:
                continue
        sources.append(source)
        items.append(item)
        weights.append(rating)
    return _interaction_frame(np.array(sources, dtype=np.int64), np.array(items, dtype=np.int64),
                              np.array(weights, dtype=float), split)


def _attach_negatives(path: Path, interactions: pd.DataFrame) -> None:
    """Store each line's negatives on its test interaction (in place)."""
    test = interactions["split"] == "test"
    position = {(s, i): k for k, s, i in zip(interactions.index[test], interactions["source"][test],
                                             interactions["item"][test])}
    for number, tokens in _lines(path):
        match = _PAIR.match(tokens[0])
        if match is None:
            raise InputError(str(path), f"{tokens[0]!r} is not '(<id>,<test item>)'", line=number, field="pair")
        key = (int(match.group(1)), int(match.group(2)))
        if key not in position:
            raise InputError(str(path), f"no test interaction {key} in the test file", line=number, field="pair")
        negatives = [_int(token, path, number, "negative") for token in tokens[1:]]
        interactions.at[position[key], "negatives"] = negatives


def _interaction_frame(sources: np.ndarray, items: np.ndarray, weights: np.ndarray, split: str) -> pd.DataFrame:
    return pd.DataFrame({
        "source": sources, "item": items, "weight": weights,
        "ts": pd.arrays.IntegerArray(np.zeros(len(items), dtype=np.int64), np.ones(len(items), dtype=bool)),
        "split": np.full(len(items), split, dtype=object), "negatives": None,
    })[INTERACTION_COLUMNS]
