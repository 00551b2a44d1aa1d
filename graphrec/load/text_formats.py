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

Both are read strictly (`graphrec.load.source`, `graphrec.load.tokens`): UTF-8 text without NUL bytes, fields
separated by ASCII spaces or tabs, ids 64-bit integers in plain digits, ratings finite numbers >= 0 (0: not an
interaction, as in the format); an error names the file, the line and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.load.dataset import INTERACTION_COLUMNS, Dataset, InputError, empty_interactions, merge_repeats
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
    dataset = Dataset(user_interactions=merge_repeats(pd.concat(tables, ignore_index=True), str(directory)))
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
        user_interactions=merge_repeats(interactions["user"], str(directory / "userRating*.txt")),
        group_interactions=merge_repeats(interactions["group"], str(directory / "groupRating*.txt")),
    )


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
    for number, line in _lines(path):
        if _SHORT_IDS.fullmatch(line):  # only short ids between spaces and tabs: in range, int() is exact
            row = list(map(int, line.split()))
        else:
            row = [_int(token, path, number, "uid" if k == 0 else f"iid #{k}")
                   for k, token in enumerate(_SEPARATOR.split(line))]
        users.append(row[0])
        counts.append(len(row) - 1)
        items.extend(row[1:])
    sources = np.repeat(np.array(users, dtype=np.int64), counts)
    return _interaction_frame(sources, np.array(items, dtype=np.int64), np.ones(len(items)), split)


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
    sources: list[int] = []
    items: list[int] = []
    weights: list[float] = []
    for number, tokens in _tokens(_lines(path)):
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
                rating = parse_rating(tokens[2])
            except TokenError as error:
                raise InputError(str(path), str(error), line=number, field="rating") from None
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
    for number, tokens in _tokens(_lines(path)):
        match = _PAIR.fullmatch(tokens[0])
        if match is None:
            raise InputError(str(path), f"{tokens[0]!r} is not '(<id>,<test item>)'", line=number, field="pair")
        key = (_int(match.group(1), path, number, "pair"), _int(match.group(2), path, number, "pair"))
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
