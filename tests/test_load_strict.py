"""Strict input: every token read exactly or refused with its file, line and field (the hostile inputs of
issue 14, each reproduced). Reading needs no server; the cases that store something check it on the real one."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from graphrec.db.runner import QueryRunner
from graphrec.load import InputError, graph_summary, load_csv, load_lightgcn
from graphrec.load.csv_tables import read_tables
from graphrec.load.text_formats import read_group_benchmark, read_lightgcn
from graphrec.load.tokens import TokenError, parse_id, parse_rating, parse_timestamp, parse_weight
from tests.test_load import EMPTY, write_group_benchmark, write_lightgcn

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize(("token", "value"), [
    ("0", 0), ("7", 7), ("-12", -12), (str(INT64_MAX), INT64_MAX), (str(-(2**63)), -(2**63)),
    ("9007199254740995", 9007199254740995),
])
def test_ids_are_read_exactly(token: str, value: int) -> None:
    assert parse_id(token) == value and type(parse_id(token)) is int


@pytest.mark.parametrize(("token", "reason"), [
    ("9223372036854775808", "out of range"), ("99999999999999999999", "out of range"),
    ("-9223372036854775809", "out of range"), ("1.0003e5", "no fraction or exponent"), ("7.0", "no fraction"),
    ("200_191", "no '_'"), ("\u0661\u0662", "only the ASCII digits"), ("\u00b2", "only the ASCII digits"),
    ("007", "leading zeros"), ("+5", "'+' sign"), ("-0", "'-0'"), ("", "missing id"), ("x7", "is not an integer id"),
    ("1 2", "is not an integer id"),
])
def test_ids_that_are_not_plain_int64_digits_are_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(TokenError, match=re.escape(reason)):
        parse_id(token)


@pytest.mark.parametrize("token", ["nan", "inf", "-inf", "-1", "0", "1e400", "1_0", "", "1,5", "\u0661", ".5", "+1", "01"])
def test_weights_are_finite_and_positive(token: str) -> None:
    with pytest.raises(TokenError):
        parse_weight(token)
    assert parse_weight("2.5") == 2.5 and parse_weight("1e-3") == 0.001 and parse_weight("1E+2") == 100


def test_ratings_may_be_zero_but_not_negative_or_infinite() -> None:
    assert parse_rating("0") == 0 and parse_rating("4.5") == 4.5
    for token in ("NaN", "inf", "-1", "1e999"):
        with pytest.raises(TokenError):
            parse_rating(token)


@pytest.mark.parametrize(("token", "seconds"), [
    ("0", 0), ("1700000000", 1_700_000_000), ("2024-03-01T12:00:00Z", 1_709_294_400),
    ("2024-03-01 14:00:00+02:00", 1_709_294_400), ("2024-03-01T12:00:00.000Z", 1_709_294_400),
    ("2999-12-31T23:59:59Z", 32_503_679_999),
])
def test_timestamps_in_seconds_or_iso_with_an_offset(token: str, seconds: int) -> None:
    assert parse_timestamp(token) == seconds


@pytest.mark.parametrize(("token", "reason"), [
    ("1700000000000", "looks like milliseconds"), ("1700000000000000", "looks like microseconds"),
    ("1700000000000000000", "looks like nanoseconds"), ("1e30", "not whole Unix seconds"), ("inf", "neither"),
    ("1700000000.5", "not whole Unix seconds"), ("-1", "out of range"), ("3000-01-01T00:00:00Z", "out of range"),
    ("2024-03-01T12:00:00", "no UTC offset"), ("2024-03-01", "no time"), ("2024-03-01T12:00:00.5Z", "fraction"),
    ("2024-02-30T00:00:00Z", "not a valid date-time"),
])
def test_timestamps_out_of_range_or_ambiguous_are_refused(token: str, reason: str) -> None:
    with pytest.raises(TokenError, match=re.escape(reason)):
        parse_timestamp(token)


def csv_file(tmp_path: Path, text: str | bytes, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


BAD_TABLES = [
    ("users", "id,name\n9223372036854775808,big\n", "line 2, field 'id': '9223372036854775808' is out of range"),
    ("users", "id,name\n1,a\n99999999999999999999,b\n", "line 3, field 'id': '99999999999999999999' is out of range"),
    ("users", "id,name\n1.0003e5,x\n", "line 2, field 'id': '1.0003e5' is not an integer id"),
    ("items", "id,~embedding_v1\n1108,oops\n", "line 1, field '~embedding_v1': graphrec writes this property itself"),
    ("items", "id,~embedding_v3_mips\n1108,oops\n", "line 1, field '~embedding_v3_mips': graphrec writes"),
    ("users", "id,name,name\n1,a,b\n", "line 1, field 'name': the column appears twice"),
    ("users", "id,\n1,a\n", "line 1, field '': a column has no name"),
    ("interactions", "user_id,item_id,rating\n1,2,5\n", "line 1, field 'rating': unknown column"),
    ("memberships", "user_id,group_id,role\n1,5,x\n", "line 1, field 'role': unknown column"),
    ("interactions", "user_id,item_id,ts\n1,2,inf\n", "line 2, field 'ts': 'inf' is neither"),
    ("interactions", "user_id,item_id,ts\n1,2,1e30\n", "line 2, field 'ts': '1e30' is not whole Unix seconds"),
    ("interactions", "user_id,item_id,ts\n1,2,1700000000000\n", "line 2, field 'ts': '1700000000000' is out of range: ts is "
                                                                "Unix seconds from 1970-01-01 to 2999-12-31; it looks "
                                                                "like milliseconds"),
    ("interactions", "user_id,item_id,ts\n1,2,2024-01-01T00:00:00\n", "line 2, field 'ts': '2024-01-01T00:00:00' has no UTC"),
    ("interactions", "user_id,item_id,weight\n1,2,nan\n", "line 2, field 'weight': 'nan' is not a positive number"),
    ("interactions", "user_id,item_id\n1,2,3\n", "line 2: 3 fields, but the header has 2"),
    ("interactions", "user_id,item_id\n1\n", "line 2: 1 fields, but the header has 2"),
    ("interactions", "user_id,item_id\n1,2\n\n3,\"4\"x\n", "line 4: not valid CSV"),
    ("users", b"id,name\n1,a\x00b\n", "line 2: holds a NUL byte"),
    ("users", b"id,name\n1,a\n2,caf\xe9\n", "line 3: byte 0xe9 is not UTF-8"),
    ("users", b"", "line 1: the file is empty"),
    ("users", b" \n\n", "line 1: the file is empty"),
]


@pytest.mark.parametrize(("table", "text", "message"), BAD_TABLES, ids=[m[:40] for *_, m in BAD_TABLES])
def test_bad_csv_names_file_line_and_field(tmp_path: Path, table: str, text: str | bytes, message: str) -> None:
    path = csv_file(tmp_path, text)
    with pytest.raises(InputError) as error:
        read_tables(**{table: path}, missing=lambda kind, ids: set())
    assert str(error.value).startswith(f"{path}, {message}"), str(error.value)


def test_a_missing_file_and_a_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"^{tmp_path / 'nope.csv'}: no such file"):
        read_tables(users=tmp_path / "nope.csv")
    with pytest.raises(InputError, match=f"^{tmp_path}: is a folder, not a file"):
        read_tables(users=tmp_path)


def test_csv_values_are_read_exactly(tmp_path: Path) -> None:
    """A byte-order mark and CRLF line ends are fine; property columns keep their exact values: integers beyond
    2^53, text with leading zeros, numbers with exponents as floats, and quoted multi-line text."""
    path = csv_file(tmp_path, "\ufeffid , zip,big,score,note\r\n"
                              "9007199254740995,007,9223372036854775807,1e3,\"two\r\nlines\"\r\n"
                              "-4,12,-1,0.1,\r\n")
    users = read_tables(users=path).users
    assert users["id"].tolist() == [9007199254740995, -4]
    assert users.to_dict("records") == [
        {"id": 9007199254740995, "zip": "007", "big": INT64_MAX, "score": 1000.0, "note": "two\r\nlines"},
        {"id": -4, "zip": "12", "big": -1, "score": 0.1, "note": None}]
    bad = csv_file(tmp_path, "id,name\n1,a\n\"2\n\",b\n", "lines.csv")
    with pytest.raises(InputError, match="line 3, field 'id': '2\\\\n' is not an integer id"):
        read_tables(users=bad)


def test_dataframes_are_checked_like_files() -> None:
    with pytest.raises(InputError, match=r"<users DataFrame>, row 1, field 'id': 1.5 is not an integer id"):
        read_tables(users=pd.DataFrame({"id": [1.0, 1.5]}))
    with pytest.raises(InputError, match=r"row 0, field 'id': 9.223372036854776e\+18 is not an integer id"):
        read_tables(users=pd.DataFrame({"id": [2.0**63]}))
    with pytest.raises(InputError, match=r"row 1, field 'name': a NUL character"):
        read_tables(users=pd.DataFrame({"id": [1, 2], "name": ["a", "b\0"]}))
    with pytest.raises(InputError, match=r"field 'ts': Timestamp\('2024-01-01 00:00:00'\) has no UTC offset"):
        read_tables(interactions=pd.DataFrame({"user_id": [1], "item_id": [2], "ts": [pd.Timestamp("2024-01-01")]}))
    frame = pd.DataFrame({"user_id": [1], "item_id": [2], "ts": [pd.Timestamp("2024-01-01", tz="UTC")]})
    assert read_tables(interactions=frame).user_interactions["ts"].tolist() == [1_704_067_200]
    with pytest.raises(InputError, match="the column appears twice"):
        read_tables(users=pd.DataFrame([[1, 2]], columns=["id", "id"]))


BAD_LIGHTGCN = [
    ("train.txt", "0 1 2\n1 200_191\n", "train.txt, line 2, field 'iid #1': '200_191' is not an integer id"),
    ("train.txt", "0 1\n1 \u0661\u0662\n", "train.txt, line 2, field 'iid #1': '\u0661\u0662' is not an integer id"),
    ("train.txt", "0 1 \u00b2\n", "train.txt, line 1, field 'iid #2': '\u00b2' is not an integer id"),
    ("train.txt", "9223372036854775808 1\n", "train.txt, line 1, field 'uid': '9223372036854775808' is out of range"),
    ("train.txt", "0 1\u00a02\n", "train.txt, line 1, field 'iid #1': '1\\xa02' is not an integer id"),
    ("test.txt", b"0 1\n\xff 2\n", "test.txt, line 2: byte 0xff is not UTF-8"),
    ("item_list.txt", "org_id remap_id\nx 200222.5\n", "item_list.txt, line 2, field 'remap_id': '200222.5' is not"),
    ("user_list.txt", "", "user_list.txt, line 1: the file is empty"),
    ("user_list.txt", "org_id remap_id\n", "user_list.txt, line 2: has a header but no data rows"),
    ("user_list.txt", "id remap\n1 2\n", "user_list.txt, line 1: expected the header 'org_id remap_id'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_LIGHTGCN, ids=[m[:40] for *_, m in BAD_LIGHTGCN])
def test_bad_lightgcn_files_name_file_line_and_field(tmp_path: Path, name: str, text: str | bytes,
                                                     message: str) -> None:
    write_lightgcn(tmp_path)
    csv_file(tmp_path, text, name)
    with pytest.raises(InputError) as error:
        read_lightgcn(tmp_path)
    assert str(error.value).startswith(f"{tmp_path}/{message}"), str(error.value)


BAD_GROUPS = [
    ("groupMember.txt", "0 1,2\n9223372036854775808 3\n", "groupMember.txt, line 2, field 'group': "
                                                          "'9223372036854775808' is out of range"),
    ("groupMember.txt", "0 1,,2\n1 3\n", "groupMember.txt, line 1, field 'member': missing id"),
    ("groupMember.txt", b"0 1,2\n1 3\xfe\n", "groupMember.txt, line 2: byte 0xfe is not UTF-8"),
    ("groupRatingTrain.txt", "0 10 NaN\n", "groupRatingTrain.txt, line 1, field 'rating': 'NaN' is not a rating"),
    ("groupRatingTrain.txt", "0 10 1\n0 11 inf\n", "groupRatingTrain.txt, line 2, field 'rating': 'inf' is not"),
    ("userRatingTrain.txt", "1 10 -1\n", "userRatingTrain.txt, line 1, field 'rating': '-1' is not a rating"),
    ("userRatingTest.txt", "1 16 1e999\n", "userRatingTest.txt, line 1, field 'rating': '1e999' is too large"),
    ("groupRatingNegative.txt", "(0,14) 20\n(1,15) 2.5\n", "groupRatingNegative.txt, line 2, field 'negative': "
                                                          "'2.5' is not an integer id"),
    ("groupRatingNegative.txt", "(0,1e1) 20\n", "groupRatingNegative.txt, line 1, field 'pair': '1e1' is not"),
    ("groupRatingNegative.txt", "(0,14) 20\n(0,15) 21\n", "groupRatingNegative.txt, line 2, field 'pair': pair "
                                                         "(0, 15), but the test line it belongs to"),
    ("groupRatingNegative.txt", "(0,14) 20\n", "groupRatingNegative.txt: has 1 lines and groupRatingTest.txt 2"),
    ("groupRatingNegative.txt", "(0,14) 20\n(1,15) 21\n(1,15) 22\n",
     "groupRatingNegative.txt, line 3: has 3 lines and groupRatingTest.txt 2"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_GROUPS, ids=[m[:40] for *_, m in BAD_GROUPS])
def test_bad_group_files_name_file_line_and_field(tmp_path: Path, name: str, text: str | bytes, message: str) -> None:
    write_group_benchmark(tmp_path)
    csv_file(tmp_path, text, name)
    with pytest.raises(InputError) as error:
        read_group_benchmark(tmp_path)
    assert str(error.value).startswith(f"{tmp_path}/{message}"), str(error.value)


def test_group_rating_zero_still_means_no_interaction(tmp_path: Path) -> None:
    write_group_benchmark(tmp_path)
    (tmp_path / "groupRatingTrain.txt").write_text("0 10 2.5\n0 11 0\n1 12 0.0\n1 13 1\n0 10 4\n")
    train = read_group_benchmark(tmp_path).group_interactions  # a repeated pair once, weighted by its rows
    assert sorted(zip(train["source"], train["item"], train["weight"])) == [(0, 10, 2.0), (1, 13, 1.0)]


@pytest.mark.neo4j
def test_large_ids_are_stored_exactly_and_a_refused_load_writes_nothing(runner: QueryRunner, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "id,name\n9007199254740995,a\n9223372036854775807,b\n-9223372036854775808,c\n")
    load_csv(runner, users=path)
    assert runner.run("MATCH (u:User) RETURN u.id AS id, u.name AS name ORDER BY id") == [
        {"id": -(2**63), "name": "c"}, {"id": 9007199254740995, "name": "a"}, {"id": INT64_MAX, "name": "b"}]
    before = graph_summary(runner)
    with pytest.raises(InputError, match="~embedding_v1"):
        load_csv(runner, items=csv_file(tmp_path, "id,~embedding_v1\n1108,oops\n", "items.csv"))
    assert graph_summary(runner) == before


@pytest.mark.neo4j
def test_a_refused_lightgcn_folder_writes_nothing(runner: QueryRunner, tmp_path: Path) -> None:
    write_lightgcn(tmp_path)
    (tmp_path / "test.txt").write_text("0 3\n1 4 \u00b2\n")
    with pytest.raises(InputError, match="test.txt, line 2, field 'iid #2'"):
        load_lightgcn(runner, tmp_path)
    assert graph_summary(runner) == EMPTY


def test_repeated_weights_that_sum_beyond_a_float_are_refused(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "user_id,item_id,weight\n1,2,1e308\n1,2,1e308\n")
    with pytest.raises(InputError, match=r"field 'weight': the weights of the repeated pair \(1, 2\) sum to more"):
        read_tables(interactions=path)
