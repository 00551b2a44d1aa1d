"""Every command of the CLI with hostile arguments: each failure is exactly one line on stderr naming what to fix,
exit code 1 (2 for a command line that does not parse), never a traceback, and nothing written."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.cli import build_parser, main
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import free_port
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.writeback import write_model
from tests.test_bulk_load import dump

pytestmark = pytest.mark.neo4j

BIG = str(2**63)
HUGE = "99999999999999999999"


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command of the parser, e.g. ('recommend', 'user')."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, (*prefix, name)) or {(*prefix, name)}
    return found


def hostile_cases(tmp: Path) -> list[tuple[list[str], int, str]]:
    """(arguments without connection flags, exit code, what the one line must contain)."""
    bad_csv = tmp / "bad.csv"
    bad_csv.write_bytes(b"user_id,item_id\n1,2\n3,\xff\n")
    big_csv = tmp / "big.csv"
    big_csv.write_text(f"id,name\n{BIG},big\n")
    reserved = tmp / "reserved.csv"
    reserved.write_text("id,~embedding_v1\n1108,oops\n")
    empty_dir = tmp / "empty"
    empty_dir.mkdir()
    lightgcn = tmp / "lightgcn"
    lightgcn.mkdir()
    (lightgcn / "train.txt").write_text("0 1 \u00b2\n")
    groups = tmp / "groups"
    groups.mkdir()
    (groups / "groupMember.txt").write_text(f"0 1,2\n1 {BIG}\n")
    toml = tmp / "bad.toml"
    toml.write_text("[train\n")
    return [
        (["recommend", "user", BIG], 2, f"argument USER: '{BIG}' is out of range"),
        (["recommend", "user", "--", "-9223372036854775809"], 2, "is out of range"),
        (["recommend", "user", "1", "-k", "-5"], 2, "argument -k: '-5' is out of range: k must be from 1 to 1000"),
        (["recommend", "user", "1", "-k", "1e3"], 2, "'1e3' is not an integer id"),
        (["recommend", "user", "1", "--exclude", HUGE], 2, "argument --exclude"),
        (["recommend", "user", "1", "--filter", "~embedding_v1=1"], 2, "--param wants NAME=VALUE"),
        (["recommend", "user", "1", "--filter", "nope"], 2, "--param wants NAME=VALUE"),
        (["recommend", "user", "424242"], 1, "unknown user 424242"),
        (["recommend", "user", "1", "--diversity", "1.5"], 2, "argument --diversity: a weight from 0 to 1, not 1.5"),
        (["recommend", "group", "1", "--diversity", "nan"], 2, "argument --diversity: a weight from 0 to 1, not nan"),
        (["similar", "1", "--by", "smell"], 2, "argument --by: invalid choice"),
        (["recommend", "group", "\u0661\u0662"], 2, "only the ASCII digits"),
        (["recommend", "group", "5001", "--strategy", "median"], 2, "invalid choice: 'median'"),
        (["recommend", "group", "424242"], 1, "unknown group 424242"),
        (["similar", "1.5"], 2, "no fraction or exponent"),
        (["similar", "1001", "-k", "0"], 2, "k must be from 1 to 1000"),
        (["explain", "user", "1", BIG], 2, "argument ITEM"),
        (["explain", "group", "x", "1001"], 2, "argument GROUP: 'x' is not an integer id"),
        (["explain", "user", "1", "1001", "-n", "0"], 2, "argument -n: '0' is out of range: n must be"),
        (["explain", "group", "424242", "1001"], 1, "unknown group 424242"),
        (["activate", "0"], 2, "a version must be at least 1"),
        (["activate", HUGE], 2, "out of range"),
        (["activate", "7"], 1, "model version 7 does not exist or is not 'ready'"),
        (["models", "--json", "--nope"], 2, "unrecognized arguments: --nope"),
        (["prune", "--keep", "0"], 2, "--keep must be at least 1"),
        (["forget", "user", BIG], 2, "out of range"),
        (["forget", "user", "424242"], 1, "no User node has id 424242"),
        (["export", "--out", str(tmp / "snap"), "--users", BIG], 2, "argument --users"),
        (["export", "--out", str(tmp / "snap"), "--since", "1700000000000"], 2, "it looks like milliseconds"),
        (["export", "--out", str(tmp / "snap"), "--hops", "-1"], 2, "hops must be from 0 to 10"),
        (["train", "--config", str(tmp / "missing.toml")], 1, "missing.toml"),
        (["train", "--config", str(toml)], 1, "graphrec: error: "),
        (["train", "--config", "graphrec/configs/demo.toml", "--epochs", "0"], 2, "epochs must be at least 1"),
        (["evaluate", "--config", str(empty_dir)], 1, "graphrec: error: "),
        (["evaluate", "--protocol", "exhaustive"], 2, "invalid choice: 'exhaustive'"),
        (["load", "csv"], 1, "no table given"),
        (["load", "csv", f"--interactions={bad_csv}"], 1, f"{bad_csv}, line 3: byte 0xff is not UTF-8"),
        (["load", "csv", f"--users={big_csv}"], 1, f"{big_csv}, line 2, field 'id': '{BIG}' is out of range"),
        (["load", "csv", f"--items={reserved}"], 1, "field '~embedding_v1': graphrec writes this property itself"),
        (["load", "csv", f"--users={tmp / 'missing.csv'}"], 1, "missing.csv: no such file"),
        (["load", "csv", f"--users={big_csv}", "--batch-size", "0"], 2, "the batch size must be at least 1"),
        (["load", "lightgcn", str(lightgcn), "--workers", "0"], 2, "workers must be from 1 to 64"),
        (["load", "lightgcn", str(lightgcn)], 1, "train.txt, line 1, field 'iid #2'"),
        (["load", "lightgcn", str(empty_dir)], 1, "train.txt: no such file"),
        (["load", "groups", str(groups)], 1, f"groupMember.txt, line 2, field 'member': '{BIG}' is out of range"),
        (["load", "groups", str(empty_dir)], 1, "groupMember.txt: no such file"),
        (["cypher", "RETURN nope"], 1, "Neo4j refused: Neo.ClientError.Statement.SyntaxError"),
        (["cypher", "RETURN $x", "--param", f"x={BIG}"], 2, f"x: {BIG} is beyond the 64-bit integers"),
        (["cypher", "no_such_file.cypher"], 1, "no Cypher file"),
        (["init", "--password-file", str(tmp / "missing")], 1, "missing"),
        (["demo", "--run-dir"], 2, "argument --run-dir: expected one argument"),
        (["init", "--password", "x", "--password-file", str(bad_csv)], 2, "give --password or --password-file"),
    ]


def assert_one_line(err: str, contains: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("graphrec") and "Traceback" not in err and contains in err, err


@pytest.fixture
def served(runner: QueryRunner) -> QueryRunner:
    """A user, a group, two items and an active model, so that commands fail on their arguments alone."""
    load_csv(runner, interactions=pd.DataFrame({"user_id": [1], "item_id": [1001]}),
             memberships=pd.DataFrame({"user_id": [1], "group_id": [5001]}),
             group_interactions=pd.DataFrame({"group_id": [5001], "item_id": [1002]}))
    vectors = {"item": (np.array([1001, 1002]), np.eye(2, dtype=np.float32)),
               "user": (np.array([1]), np.ones((1, 2), dtype=np.float32))}
    write_model(runner, Stored(vectors, fold_in="propagate"), {}, progress=False)
    return runner


def test_every_command_with_hostile_arguments_fails_in_one_line(
        served: QueryRunner, connection: Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHREC_NEO4J_HOME", str(tmp_path / "no-home"))
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    flags = ["--uri", connection.uri, "--password", connection.password]
    cases = hostile_cases(tmp_path)
    before = dump(served)
    for arguments, code, contains in cases:
        needs_connection = arguments[0] not in ("neo4j",) and "--password-file" not in arguments
        assert main([*arguments, *(flags if needs_connection else [])]) == code, arguments
        out, err = capsys.readouterr()
        assert_one_line(err, contains)
        assert "Traceback" not in out
    assert dump(served) == before

    (tmp_path / "plain").write_text("a file, not a folder")
    local = [
        (["backup", str(tmp_path)], 1, "is a folder: give the archive's file name"),
        (["backup", str(tmp_path / "x.dump")], 1, "there is no database 'neo4j'"),
        (["restore", str(tmp_path / "missing.dump")], 1, "missing.dump: no such file"),
        (["neo4j", "start", "--bolt-port", "70000"], 2, "a port must be from 1 to 65535"),
        (["neo4j", "start", "--heap", "1x"], 2, "not a memory size"),
        (["neo4j", "start", "--timeout", "-1"], 2, "seconds must be from"),
        (["neo4j", "start", "--password-file", str(tmp_path / "missing")], 1, "missing"),
        (["neo4j", "restart"], 2, "invalid choice: 'restart'"),
        (["neo4j", "browser-bundle"], 2, "the following arguments are required: DIR"),
        (["neo4j", "browser-bundle", str(tmp_path / "plain" / "web")], 1, "Not a directory"),
        (["neo4j", "procedures"], 2, "the following arguments are required: DIR"),
        (["neo4j", "procedures", str(tmp_path / "plain" / "jars")], 1, "Not a directory"),
        (["nonsense"], 2, "invalid choice: 'nonsense'"),
        ([], 2, "a command is needed"),
    ]
    for arguments, code, contains in local:
        assert main(arguments) == code, arguments
        assert_one_line(capsys.readouterr().err, contains)
    covered = {tuple(a[:2]) if a and a[0] in ("recommend", "explain", "load", "neo4j", "forget") else tuple(a[:1])
               for a, _, _ in cases + local}
    missing = commands(build_parser()) - covered - {("neo4j", "stop"), ("neo4j", "status")}
    assert not missing, f"commands without a hostile case: {sorted(missing)}"


def test_every_command_that_connects_names_an_unreachable_server(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHREC_RETRY_SECONDS", "0.2")
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    uri = f"bolt://127.0.0.1:{free_port()}"
    users = tmp_path / "users.csv"
    users.write_text("id\n1\n")
    (tmp_path / "lightgcn").mkdir()
    (tmp_path / "lightgcn" / "train.txt").write_text("0 1\n")
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "groupMember.txt").write_text("0 1\n")
    connecting = [
        ["init"], ["load", "csv", f"--users={users}"], ["load", "lightgcn", str(tmp_path / "lightgcn")],
        ["load", "groups", str(tmp_path / "groups")], ["cypher", "RETURN 1"], ["export", "--out", str(tmp_path / "s")],
        ["train", "--config", "graphrec/configs/demo.toml"], ["evaluate"], ["models"], ["prune"], ["activate", "1"],
        ["recommend", "user", "1"], ["recommend", "group", "1"], ["similar", "1"], ["explain", "user", "1", "2"],
        ["explain", "group", "1", "2"], ["forget", "user", "1"], ["demo", "--run-dir", str(tmp_path / "demo")],
    ]
    for arguments in connecting:
        assert main([*arguments, "--uri", uri, "--password", "whatever"]) == 1, arguments
        # an export (also inside train and evaluate) streams through the runner too (QueryRunner.stream), whose
        # retries name the server
        assert_one_line(capsys.readouterr().err, f"Neo4j at {uri} does not answer")
    assert main(["models", "--uri", "nonsense://x", "--password", "p"]) == 1
    assert_one_line(capsys.readouterr().err, "cannot use the Neo4j URI 'nonsense://x'")


def test_refused_credentials_and_password_files(connection: Connection, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["models", "--uri", connection.uri, "--password", "wrong-password"]) == 1
    assert_one_line(capsys.readouterr().err, "Neo4j refused the credentials")
    secret = tmp_path / "secret"
    secret.write_text(connection.password + "\nignored second line\n")
    assert main(["cypher", "RETURN 7 AS n", "--json", "--uri", connection.uri, "--password-file", str(secret)]) == 0
    assert '"n": 7' in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(connection.password + "\n"))
    assert main(["cypher", "RETURN 8 AS n", "--json", "--uri", connection.uri, "--password-file", "-"]) == 0
    assert '"n": 8' in capsys.readouterr().out
    (tmp_path / "empty").write_text("\n")
    assert main(["models", "--uri", connection.uri, "--password-file", str(tmp_path / "empty")]) == 1
    assert_one_line(capsys.readouterr().err, "holds no password on its first line")
