"""Generated hostile input (Hypothesis) for the three loaders and the command line, against the real server.

Every example is a file (or a command line) built from tokens whose meaning the generator knows: a valid token
with its value, or a hostile one (an id beyond int64, `1e5`, `007`, Arabic-Indic digits, `nan`, a time in
milliseconds, a NUL byte, a byte that is not UTF-8, a duplicated or reserved column, a row with a field too
many...). The property checked on each: the input is either loaded exactly (what the database holds afterwards
is the baseline plus exactly what the input denotes) or refused with an error that names the file, a line
that holds a fault and its field, and the database is byte for byte as before.

About 390 examples, over 250 of them refused (`--hypothesis-show-statistics` counts them); `GRAPHREC_FUZZ_SCALE=10`
hunts ten times longer. Derandomized, so CI sees the same examples every run. Marked `fuzz`: `-m "not fuzz"`
leaves it out.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from graphrec.cli import main
from graphrec.db.runner import QueryRunner
from graphrec.load import InputError, load_csv, load_group_benchmark, load_lightgcn
from tests.conftest import WIPE
from tests.test_bulk_load import dump

pytestmark = [pytest.mark.neo4j, pytest.mark.fuzz]

FUZZ_SCALE = float(os.environ.get("GRAPHREC_FUZZ_SCALE", "1"))
INT64 = (-(2**63), 2**63 - 1)
TS_MAX = 32_503_680_000
KEPT = 4_242_424_242  # the baseline's ids: never generated
BASELINE = (f"CREATE (u:User {{id: {KEPT}, name: 'kept'}})-[:INTERACTED {{weight: 2.0, split: 'train'}}]->"
            f"(:Item {{id: {KEPT}}}), (u)-[:MEMBER_OF]->(:Group {{id: {KEPT}}})")


def fuzz(examples: int) -> Callable[[Any], Any]:
    return settings(max_examples=max(1, int(examples * FUZZ_SCALE)), deadline=None, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Token:
    """A generated token: its text, and its value when it is valid (`ok`)."""

    text: str
    value: Any = None
    ok: bool = True


def bad(text: str) -> Token:
    return Token(text, None, False)


ARABIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")

valid_ids = st.one_of(st.integers(-3, 12), st.sampled_from([INT64[0], INT64[1], 2**53 + 1, 9007199254740995]),
                      st.integers(*INT64)).map(lambda v: Token(str(v), v))
hostile_ids = st.one_of(
    st.integers(2**63, 2**70).map(str), st.integers(-(2**70), -(2**63) - 1).map(str),
    st.integers(0, 10**6).map(lambda v: f"{v}.0"), st.integers(1, 10**5).map(lambda v: f"{v}e2"),
    st.integers(10, 10**6).map(lambda v: f"{str(v)[0]}_{str(v)[1:]}"), st.integers(0, 999).map(lambda v: f"0{v}"),
    st.integers(0, 999).map(lambda v: f"+{v}"), st.integers(0, 999).map(lambda v: str(v).translate(ARABIC)),
    st.sampled_from(["\u00b2", "-0", "x7", "1.0003e5", "NaN", "0x1F", "\u2167", "1\u00a02", ""]),
).map(bad)
valid_weights = st.one_of(st.floats(1e-6, 1e6).map(lambda f: Token(repr(f), f)),
                          st.integers(1, 1000).map(lambda v: Token(str(v), float(v))), st.just(Token("", 1.0)))
hostile_weights = st.sampled_from(["nan", "inf", "-inf", "-1", "0", "-0.5", "1e400", ".5", "+1", "1_0", "x",
                                   "0.0", "\u0661"]).map(bad)
valid_times = st.one_of(
    st.integers(0, TS_MAX - 1).map(lambda v: Token(str(v), v)),
    st.datetimes(datetime(1970, 1, 2), datetime(2999, 12, 30), timezones=st.just(timezone.utc))
    .map(lambda d: d.replace(microsecond=0)).map(lambda d: Token(d.isoformat(), int(d.timestamp()))),
    st.just(Token("", None)))
hostile_times = st.one_of(
    st.integers(TS_MAX, 10**19).map(str), st.integers(1, 10**6).map(lambda v: f"-{v}"),
    st.sampled_from(["1.5", "1e9", "inf", "2024-01-01T00:00:00", "2024-01-01", "2024-01-01T00:00:00.5Z",
                     "2024-02-30T00:00:00Z", "yesterday", "1700000000000"]),
).map(bad)
valid_splits = st.sampled_from([Token("train", "train"), Token("valid", "valid"), Token("test", "test"),
                                Token("", "train")])
hostile_splits = st.sampled_from(["TRAIN", "tset", "x", "0"]).map(bad)


def sometimes_hostile(valid: st.SearchStrategy[Token], hostile: st.SearchStrategy[Token]) -> st.SearchStrategy[Token]:
    """A valid token 24 times in 25 (a file of a dozen tokens is then loadable about as often as not)."""
    return st.integers(0, 24).flatmap(lambda roll: hostile if roll == 0 else valid)


COLUMN_TOKENS = {
    "user_id": sometimes_hostile(valid_ids, hostile_ids), "item_id": sometimes_hostile(valid_ids, hostile_ids),
    "weight": sometimes_hostile(valid_weights, hostile_weights), "ts": sometimes_hostile(valid_times, hostile_times),
    "split": sometimes_hostile(valid_splits, hostile_splits),
}


@dataclass
class GeneratedFile:
    """A generated file: its bytes, and where the reader must find fault (line, field), if anywhere."""

    data: bytes
    faults: set[tuple[int, str | None]] = field(default_factory=set)
    first_line_fault: int | None = None  # a fault found while reading the file (encoding, fields per row)
    rows: list[dict[str, Token]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults and self.first_line_fault is None


def csv_bytes(header: list[str], rows: list[list[str]], draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """CSV text (every field quoted; CRLF or LF; blank lines here and there) and each row's first line."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    lines = []
    for row in rows:
        if draw(st.integers(0, 9)) == 0:
            out.write("\n")
        lines.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    prefix = draw(st.sampled_from(["", "", "\ufeff"]))
    return (prefix + out.getvalue()).encode(), lines


def spoil_bytes(generated: GeneratedFile, draw: st.DrawFn) -> GeneratedFile:
    """Once in ten files, a NUL byte or a byte that is not UTF-8 somewhere after the header."""
    roll = draw(st.integers(0, 29))
    if roll > 1 or b"\n" not in generated.data[:-1]:
        return generated
    start = generated.data.index(b"\n") + 1
    position = draw(st.integers(start, len(generated.data)))
    data = generated.data[:position] + (b"\x00" if roll == 0 else b"\xff") + generated.data[position:]
    return GeneratedFile(data, generated.faults, data[:position].count(b"\n") + 1, generated.rows)


@st.composite
def interaction_tables(draw: st.DrawFn) -> tuple[GeneratedFile, list[str]]:
    """An interactions CSV file; sometimes a faulty header or a row with a field too many or too few."""
    optional = draw(st.permutations(["weight", "ts", "split"]))[: draw(st.integers(0, 3))]
    header = ["user_id", "item_id", *optional]
    header_fault = draw(st.sampled_from([None] * 20 + ["duplicate", "unknown", "missing", "nameless"]))
    if header_fault == "duplicate":
        header.append(draw(st.sampled_from(header)))
    elif header_fault == "unknown":
        header.insert(draw(st.integers(0, len(header))), "rating")
    elif header_fault == "missing":
        header.remove(draw(st.sampled_from(["user_id", "item_id"])))
    elif header_fault == "nameless":
        header.append("")
    tokens = [{column: draw(COLUMN_TOKENS.get(column, valid_ids)) for column in header}
              for _ in range(draw(st.integers(1, 6)))]
    cells = [[row[column].text for column in header] for row in tokens]
    miscounted = None
    if draw(st.integers(0, 24)) == 0:
        miscounted = draw(st.integers(0, len(cells) - 1))
        cells[miscounted] = cells[miscounted] + ["7"] if draw(st.booleans()) else cells[miscounted][:-1]
    data, lines = csv_bytes(header, cells, draw)
    for row, line in zip(tokens, lines):  # a case is keyed by its line
        row["line"] = Token("", line)
    generated = GeneratedFile(data, rows=tokens)
    if miscounted is not None and len(cells[miscounted]) != len(header):  # found while reading, before the header
        generated.first_line_fault = lines[miscounted]
    elif header_fault:
        faulty = {"duplicate": header[-1], "unknown": "rating", "nameless": "",
                  "missing": ({"user_id", "item_id"} - set(header) or {None}).pop()}[header_fault]
        generated.faults = {(1, faulty)}
    else:
        generated.faults = {(line, column) for line, row in zip(lines, tokens)
                            for column, token in row.items() if not token.ok}
    return spoil_bytes(generated, draw), header


def expected_interactions(rows: list[dict[str, Token]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """What the rows must become: ('INTERACTED', source, item) → weight (summed over repeats), ts (the latest)
    for `train` rows; ('HELD_OUT', source, item, split, line) → the first such row's weight, ts, split and line
    for `valid` and `test` rows (a case per line)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        pair = (row["user_id"].value, row["item_id"].value)
        weight = row["weight"].value if "weight" in row else 1.0
        ts = row["ts"].value if "ts" in row else None
        split = row["split"].value if "split" in row else "train"
        if split != "train":
            line = row["line"].value
            merged.setdefault(("HELD_OUT", *pair, split, line),
                              {"weight": weight, "ts": ts, "split": split, "line": line, "repeated": False})
            continue
        key = ("INTERACTED", *pair)
        if key in merged:
            old = merged[key]
            times = [t for t in (old["ts"], ts) if t is not None]
            merged[key] = {"weight": old["weight"] + weight, "ts": max(times) if times else None, "repeated": True}
        else:
            merged[key] = {"weight": weight, "ts": ts, "repeated": False}
    return merged


_baseline: dict[str, Any] = {}


def fresh(runner: QueryRunner) -> dict[str, Any]:
    """The baseline graph (three nodes, two relationships) and its dump; rebuilt only when something else is
    there (a refused example leaves the database as the baseline, which is checked)."""
    counts = runner.run("RETURN COUNT { (n) } AS nodes, COUNT { ()-[]->() } AS relationships")[0]
    if _baseline.get("runner") is not runner or counts != {"nodes": 3, "relationships": 2}:
        runner.run(WIPE)
        runner.run(BASELINE)
        _baseline.update(runner=runner, dump=dump(runner))
    return _baseline["dump"]


def added(runner: QueryRunner, before: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The nodes and relationships that are new since `before`, which must all still be there."""
    after = dump(runner)
    assert set(before["nodes"]) <= set(after["nodes"]) and set(before["relationships"]) <= set(after["relationships"])
    return ([json.loads(n) for n in set(after["nodes"]) - set(before["nodes"])],
            [json.loads(r) for r in set(after["relationships"]) - set(before["relationships"])])


def assert_refused(error: InputError, path: Path, generated: GeneratedFile) -> None:
    assert error.source == str(path), error
    if generated.first_line_fault is not None:
        assert error.line == generated.first_line_fault and error.field is None, (error, generated.first_line_fault)
    else:
        assert (error.line, error.field) in generated.faults, (str(error), generated.faults)


def assert_interactions_loaded(runner: QueryRunner, before: dict[str, Any], rows: list[dict[str, Token]],
                               source_label: str = "User") -> None:
    nodes, relationships = added(runner, before)
    expected = expected_interactions(rows)
    stored = {(r["type"], r["a_id"], r["b_id"], *((r["props"]["split"], r["props"]["line"])
                                                  if r["type"] == "HELD_OUT" else ())): r["props"]
              for r in relationships}
    assert len(stored) == len(relationships) and set(stored) == set(expected)
    for key, want in expected.items():
        props = stored[key]
        assert props.get("ts") == want["ts"]
        assert props["weight"] == (pytest.approx(want["weight"], rel=1e-12) if want["repeated"] else want["weight"])
        assert set(props) - {"ts", "weight", "split", "line"} == set()
    assert sorted((n["labels"][0], n["props"]["id"]) for n in nodes) == sorted(
        {(source_label, key[1]) for key in expected} | {("Item", key[2]) for key in expected})


def load_or_refuse(runner: QueryRunner, path: Path, generated: GeneratedFile,
                   load: Callable[[Path], object]) -> dict[str, Any] | None:
    """Write the file and load it: the baseline's dump when it must load; None when it must be (and was)
    refused with its location, the database unchanged."""
    before = fresh(runner)
    path.write_bytes(generated.data)
    event("loaded" if generated.ok else "refused")
    if generated.ok:
        load(path)
        return before
    with pytest.raises(InputError) as error:
        load(path)
    assert_refused(error.value, path, generated)
    assert dump(runner) == before
    return None


@fuzz(70)
@given(interaction_tables())
def test_interaction_csv_is_loaded_exactly_or_refused_with_nothing_written(
        runner: QueryRunner, tmp_path: Path, generated_and_header: tuple[GeneratedFile, list[str]]) -> None:
    generated, _ = generated_and_header
    before = load_or_refuse(runner, tmp_path / "interactions.csv", generated,
                            lambda path: load_csv(runner, interactions=path, progress=False))
    if before is not None:
        assert_interactions_loaded(runner, before, generated.rows)


PROPERTY_NAMES = ["name", "zip", "score", "note"]
RESERVED = ["~embedding_v1", "~embedding_v12_mips", "id"]
property_text = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6),
    st.sampled_from(["007", "12", "-3", "1e3", "0.1", "9223372036854775808", "nan", " 5 ", "", "  ", "a,b", 'say "hi"',
                     "two\nlines", "1.5", "-0"]),
    st.integers(*INT64).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr))
ID_FORM = re.compile(r"0|-?[1-9][0-9]*")
NUMBER_FORM = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def typed_column(cells: list[str]) -> list[Any]:
    """The stored values of a property column by its specification (README: Loading data)."""
    present = [c.strip(" \t") for c in cells if c.strip(" \t")]
    if present and all(ID_FORM.fullmatch(c) and INT64[0] <= int(c) <= INT64[1] for c in present):
        return [int(c) if c.strip(" \t") else None for c in cells]
    if present and all(NUMBER_FORM.fullmatch(c) and math.isfinite(float(c)) for c in present):
        return [float(c) if c.strip(" \t") else None for c in cells]
    return [c if c.strip(" \t") else None for c in cells]


@st.composite
def user_tables(draw: st.DrawFn) -> tuple[GeneratedFile, list[str]]:
    """A users CSV file with property columns, now and then a reserved or repeated column name."""
    names = draw(st.lists(st.sampled_from(PROPERTY_NAMES), max_size=3, unique=True))
    if draw(st.integers(0, 11)) == 0:
        names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(RESERVED)))
    header = ["id", *names]
    rows = [{"id": draw(sometimes_hostile(valid_ids, hostile_ids)),
             **{name: Token(draw(property_text)) for name in names}} for _ in range(draw(st.integers(1, 5)))]
    data, lines = csv_bytes(header, [[row[c].text for c in header] for row in rows], draw)
    generated = GeneratedFile(data, rows=rows)
    reserved = [n for n in names if n in RESERVED]
    if reserved:
        generated.faults = {(1, reserved[0])}
    else:
        generated.faults = {(line, "id") for line, row in zip(lines, rows) if not row["id"].ok}
        ids = [row["id"].value for row in rows]
        repeated = [line for k, line in enumerate(lines) if rows[k]["id"].ok and ids[k] in ids[:k]]
        if repeated and not generated.faults:
            generated.faults = {(repeated[0], "id")}
    return spoil_bytes(generated, draw), header


@fuzz(55)
@given(user_tables())
def test_user_csv_with_properties_is_loaded_exactly_or_refused(
        runner: QueryRunner, tmp_path: Path, generated_and_header: tuple[GeneratedFile, list[str]]) -> None:
    generated, header = generated_and_header
    before = load_or_refuse(runner, tmp_path / "users.csv", generated,
                            lambda path: load_csv(runner, users=path, progress=False))
    if before is None:
        return
    nodes, relationships = added(runner, before)
    columns = {name: typed_column([row[name].text for row in generated.rows]) for name in header[1:]}
    expected = [{"id": row["id"].value, **{name: columns[name][k] for name in header[1:]
                                           if columns[name][k] is not None}}
                for k, row in enumerate(generated.rows)]
    assert relationships == [] and all(n["labels"] == ["User"] for n in nodes)
    assert sorted((n["props"] for n in nodes), key=lambda p: p["id"]) == sorted(expected, key=lambda p: p["id"])


SEPARATORS = st.sampled_from([" ", " ", "  ", "\t"])
HOSTILE_SEPARATORS = st.sampled_from(["\u00a0", "\u2003", "\x0b", ","])


@st.composite
def lightgcn_folders(draw: st.DrawFn) -> dict[str, tuple[bytes, list[tuple[int, list[Token]]]]]:
    """train.txt (and maybe test.txt): lines of ids (with their line numbers), now and then a hostile token or
    separator."""
    files = {}
    for name in ["train.txt", *(["test.txt"] if draw(st.booleans()) else [])]:
        lines, text = [], ""
        for _ in range(draw(st.integers(1, 5))):
            tokens = [draw(sometimes_hostile(valid_ids, hostile_ids)) for _ in range(draw(st.integers(1, 5)))]
            if any(t.text == "" for t in tokens):  # an empty token is no token in this format
                tokens = [t for t in tokens if t.text != ""] or [Token("0", 0)]
            separators = [draw(sometimes_hostile(SEPARATORS.map(Token), HOSTILE_SEPARATORS.map(bad)))
                          for _ in tokens[1:]]
            text += draw(st.sampled_from(["", " ", "\n"]))
            lines.append((text.count("\n") + 1, tokens))
            text += tokens[0].text + "".join(
                s.text + t.text for s, t in zip(separators, tokens[1:])) + draw(st.sampled_from(["\n", "\r\n", " \n"]))
        files[name] = (text.encode(), lines)
    return files


def lightgcn_fault(path: Path) -> tuple[int, str] | None:
    """The first token of the file that is not an id, by the format's specification: (line, field)."""
    for number, line in enumerate(path.read_text().split("\n"), start=1):
        stripped = line.strip(" \t\r")
        if not stripped:
            continue
        for k, token in enumerate(re.split(r"[ \t]+", stripped)):
            if not (ID_FORM.fullmatch(token) and INT64[0] <= int(token) <= INT64[1]):
                return number, "uid" if k == 0 else f"iid #{k}"
    return None


@fuzz(60)
@given(lightgcn_folders())
def test_lightgcn_folder_is_loaded_exactly_or_refused(runner: QueryRunner, tmp_path_factory: pytest.TempPathFactory,
                                                      files: dict[str, tuple[bytes, list[tuple[int, list[Token]]]]]
                                                      ) -> None:
    folder = tmp_path_factory.mktemp("lightgcn")
    before = fresh(runner)
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    faults = [(name, fault) for name in files if (fault := lightgcn_fault(folder / name))]
    event("refused" if faults else "loaded")
    if faults:
        name, (line, field) = faults[0]
        with pytest.raises(InputError) as error:
            load_lightgcn(runner, folder, progress=False)
        assert (error.value.source, error.value.line, error.value.field) == (str(folder / name), line, field)
        assert dump(runner) == before
        return
    load_lightgcn(runner, folder, progress=False)
    rows = [{"user_id": Token("", int(t[0].text)), "item_id": Token("", int(i.text)),
             "split": Token("", "train" if name == "train.txt" else "test"), "line": Token("", number)}
            for name, (_, lines) in files.items() for number, t in lines for i in t[1:]]
    assert_interactions_loaded(runner, before, rows)


valid_ratings = st.one_of(st.integers(1, 100).map(lambda v: Token(str(v), float(v))),
                          st.floats(0.01, 10).map(lambda f: Token(repr(f), f)), st.just(Token("0", 0.0)))
hostile_ratings = st.sampled_from(["NaN", "inf", "-1", "1e400", "x", "+2", ".5"]).map(bad)


@st.composite
def group_folders(draw: st.DrawFn) -> tuple[str, str, list[Any]]:
    """groupMember.txt ('<group> <user>,<user>') and groupRatingTrain.txt ('<group> <item> <rating>')."""
    groups = draw(st.lists(sometimes_hostile(valid_ids, hostile_ids), min_size=1, max_size=3))
    members = [[draw(sometimes_hostile(valid_ids, hostile_ids)) for _ in range(draw(st.integers(1, 3)))]
               for _ in groups]
    member_text = "".join(f"{g.text} {','.join(m.text for m in ms)}\n" for g, ms in zip(groups, members))
    known = [g for g in groups if g.ok] or [Token("0", 0)]
    ratings = [(draw(sometimes_hostile(st.sampled_from(known), valid_ids)),  # now and then an unknown group
                draw(sometimes_hostile(valid_ids, hostile_ids)), draw(sometimes_hostile(valid_ratings, hostile_ratings)))
               for _ in range(draw(st.integers(1, 5)))]
    rating_text = "".join(f"{g.text} {i.text} {r.text}\n" for g, i, r in ratings)
    return member_text, rating_text, [groups, members, ratings]


def group_fault(member_text: str, rating_text: str, parts: list[Any]) -> tuple[str, int, str | None] | None:
    """The first fault by the format's specification: (file, line, field)."""
    groups, members, ratings = parts
    for number, (group, users) in enumerate(zip(groups, members), start=1):
        if not group.ok:
            return "groupMember.txt", number, "group"
        if any(not u.ok for u in users):
            return "groupMember.txt", number, "member"
    known = {g.value for g in groups}
    for number, (group, item, rating) in enumerate(ratings, start=1):
        if not group.ok or group.value not in known:
            return "groupRatingTrain.txt", number, "group"
        if not item.ok:
            return "groupRatingTrain.txt", number, "item"
        if not rating.ok:
            return "groupRatingTrain.txt", number, "rating"
    return None


@fuzz(55)
@given(group_folders())
def test_group_folder_is_loaded_exactly_or_refused(runner: QueryRunner, tmp_path_factory: pytest.TempPathFactory,
                                                   folder_parts: tuple[str, str, list[Any]]) -> None:
    member_text, rating_text, parts = folder_parts
    folder = tmp_path_factory.mktemp("groups")
    (folder / "groupMember.txt").write_text(member_text)
    (folder / "groupRatingTrain.txt").write_text(rating_text)
    before = fresh(runner)
    fault = group_fault(member_text, rating_text, parts)
    event("loaded" if fault is None else "refused")
    if fault is not None:
        with pytest.raises(InputError) as error:
            load_group_benchmark(runner, folder, progress=False)
        name, line, field = fault
        assert (error.value.source, error.value.line, error.value.field) == (str(folder / name), line, field), \
            str(error.value)
        assert dump(runner) == before
        return
    load_group_benchmark(runner, folder, progress=False)
    groups, members, ratings = parts
    nodes, relationships = added(runner, before)
    memberships = {(r["a_id"], r["b_id"]) for r in relationships if r["type"] == "MEMBER_OF"}
    assert memberships == {(u.value, g.value) for g, users in zip(groups, members) for u in users}
    interactions = [r for r in relationships if r["type"] == "INTERACTED"]
    assert {(r["a_id"], r["b_id"]) for r in interactions} == {(g.value, i.value) for g, i, r in ratings if r.value != 0}
    rows = Counter((g.value, i.value) for g, i, r in ratings if r.value != 0)
    for r in interactions:  # a repeated pair once, its weight the number of its rows (models binarise)
        assert r["props"] == {"weight": float(rows[r["a_id"], r["b_id"]])} and r["a"] == ["Group"]
    labels = {(n["labels"][0], n["props"]["id"]) for n in nodes}
    assert labels == ({("Group", g.value) for g in groups} | {("User", u.value) for us in members for u in us}
                      | {("Item", i.value) for _, i, r in ratings if r.value != 0})


@st.composite
def one_hostile_token(draw: st.DrawFn) -> tuple[str, dict[str, str], tuple[str, int, str]]:
    """A valid file of one of the three formats with exactly one hostile token: (loader, files, where the
    error must point: file, line, field)."""
    kind = draw(st.sampled_from(["interactions", "lightgcn", "groups"]))
    count = draw(st.integers(1, 6))
    line = draw(st.integers(0, count - 1))
    ids = [[draw(valid_ids).text for _ in range(3)] for _ in range(count)]
    hostile = draw(hostile_ids.filter(lambda t: t.text != "" or kind == "interactions")).text
    if kind == "interactions":
        columns = ["user_id", "item_id", "weight", "ts"]
        column = draw(st.sampled_from(columns))
        rows = [[a, b, draw(valid_weights).text, draw(valid_times).text] for a, b, _ in ids]
        rows[line][columns.index(column)] = {"weight": draw(hostile_weights).text,
                                             "ts": draw(hostile_times).text}.get(column, hostile)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([columns, *rows])
        return kind, {"interactions.csv": out.getvalue()}, ("interactions.csv", line + 2, column)
    position = draw(st.integers(0, 2))
    ids[line][position] = hostile
    if kind == "lightgcn":
        return kind, {"train.txt": "".join(" ".join(row) + "\n" for row in ids)}, (
            "train.txt", line + 1, "uid" if position == 0 else f"iid #{position}")
    members = "".join(f"{g} {a},{b}\n" for g, a, b in ids)
    return kind, {"groupMember.txt": members}, ("groupMember.txt", line + 1, "group" if position == 0 else "member")


LOADERS: dict[str, Callable[[QueryRunner, Path], object]] = {
    "interactions": lambda runner, folder: load_csv(runner, interactions=folder / "interactions.csv", progress=False),
    "lightgcn": lambda runner, folder: load_lightgcn(runner, folder, progress=False),
    "groups": lambda runner, folder: load_group_benchmark(runner, folder, progress=False),
}


@fuzz(80)
@given(one_hostile_token())
def test_one_hostile_token_is_refused_at_its_place(runner: QueryRunner, tmp_path_factory: pytest.TempPathFactory,
                                                   case: tuple[str, dict[str, str], tuple[str, int, str]]) -> None:
    kind, files, (name, line, field) = case
    folder = tmp_path_factory.mktemp(kind)
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    before = fresh(runner)
    event(f"refused ({kind})")
    with pytest.raises(InputError) as error:
        LOADERS[kind](runner, folder)
    assert (error.value.source, error.value.line, error.value.field) == (str(folder / name), line, field), \
        str(error.value)
    assert dump(runner) == before


valid_k = st.integers(1, 1000).map(lambda v: Token(str(v), v))
hostile_k = st.one_of(st.integers(-5, 0).map(str), st.integers(1001, 10**30).map(str), hostile_ids.map(lambda t: t.text)
                      ).map(bad)
COMMANDS: list[Callable[[Token, Token], list[Token | str]]] = [
    lambda a, k: ["recommend", "user", a, "-k", k], lambda a, k: ["similar", a, "-k", k],
    lambda a, k: ["explain", "user", a, a], lambda a, k: ["forget", "user", a], lambda a, k: ["activate", a],
    lambda a, k: ["recommend", "group", a, "--exclude", a], lambda a, k: ["explain", "group", a, a, "-n", k],
]


@fuzz(40)
@given(st.sampled_from(COMMANDS), sometimes_hostile(valid_ids, hostile_ids), st.integers(0, 1).flatmap(
    lambda roll: hostile_k if roll == 0 else valid_k))
def test_command_line_ids_are_refused_as_usage_errors_or_answered(
        runner: QueryRunner, connection: Any, capsys: pytest.CaptureFixture[str],
        command: Callable[[Token, Token], list[Token | str]], id_token: Token, k: Token) -> None:
    before = fresh(runner)
    parts = command(id_token, k)
    tokens = [p for p in parts if isinstance(p, Token)]
    arguments = [p.text if isinstance(p, Token) else p for p in parts]
    code = main([*arguments, "--uri", connection.uri, "--password", connection.password])
    out, err = capsys.readouterr()
    event(f"exit code {code}")
    if all(t.ok for t in tokens) and not (parts[0] == "activate" and id_token.value < 1):  # versions are >= 1
        assert code in (0, 1)  # answered, or refused for an unknown id or no model
    else:
        assert code == 2, (arguments, code, err)
    if code:
        assert err.count("\n") == 1 and err.startswith("graphrec") and "Traceback" not in err, err
    assert dump(runner) == before


@fuzz(30)
@given(interaction_tables())
def test_loading_through_the_command_line_is_exact_or_one_line_with_file_and_line(
        runner: QueryRunner, connection: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        generated_and_header: tuple[GeneratedFile, list[str]]) -> None:
    generated, _ = generated_and_header
    before = fresh(runner)
    path = tmp_path / "interactions.csv"
    path.write_bytes(generated.data)
    code = main(["load", "csv", f"--interactions={path}", "--uri", connection.uri, "--password", connection.password])
    out, err = capsys.readouterr()
    event("loaded" if generated.ok else "refused")
    if generated.ok:
        assert code == 0, err
        assert_interactions_loaded(runner, before, generated.rows)
        return
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(f"graphrec: error: {path}, line ")
    located = re.match(rf"graphrec: error: {re.escape(str(path))}, line (\d+)(?:, field '([^']*)')?:", err)
    assert located, err
    line, field = int(located[1]), located[2]
    if generated.first_line_fault is not None:
        assert (line, field) == (generated.first_line_fault, None)
    else:
        assert (line, field) in generated.faults, (err, generated.faults)
    assert dump(runner) == before
