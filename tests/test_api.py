"""The Python API (`graphrec.connect`, graphrec/api.py): README's session runs as written, each method returns
what the room below it returns with the same defaults, connect() resolves like the CLI and never starts a
server, and `import graphrec` stays free of torch."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import graphrec
from graphrec.api import CONFIGS, GraphRec, packaged_configs, run_config
from graphrec.conductor import conduct, training_data
from graphrec.db.connection import Connection
from graphrec.db.resolve import resolve_connection
from graphrec.db.runner import QueryRunner
from graphrec.errors import ConfigError
from graphrec.export import export_snapshot
from graphrec.load import load_csv, load_group_benchmark, load_lightgcn
from graphrec.model.fusion import TextConfig
from graphrec.model.kinds import ItemKNNSpec, Spec
from graphrec.recommend import Recommender, RecommendError
from graphrec.runconfig import RunConfig
from graphrec.synthetic import hidden_group_taste, taste_clusters
from graphrec.writeback import active_model

ROOT = Path(__file__).resolve().parent.parent
ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")


def readme_blocks() -> list[str]:
    """The ```python blocks of README.md's Python API section (between its markers), in order."""
    text = (ROOT / "README.md").read_text()
    start, end = text.index("<!-- python-api:start -->"), text.index("<!-- python-api:end -->")
    return re.findall(r"^```python\n(.*?)^```$", text[start:end], flags=re.DOTALL | re.MULTILINE)


def point_at(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `graphrec.connect()` (the environment) reach the session's server."""
    for name, value in zip(ENV, (connection.uri, connection.user, connection.password, connection.database)):
        monkeypatch.setenv(name, value)


def offline() -> GraphRec:
    """A GraphRec whose driver points nowhere: enough for the checks made before any query."""
    return graphrec.connect("bolt://127.0.0.1:1", "neo4j", "unused", "neo4j")


# ---------------------------------------------------------------------------------------- the README session


@pytest.mark.neo4j
@pytest.mark.usefixtures("single_thread")
def test_the_readme_session_runs_as_written(runner: QueryRunner, connection: Connection,
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 11, "connect, load, export, fit, evaluate, write_back, four serving calls, close"
    for method in ("load", "export", "fit", "evaluate", "write_back", "recommend_user", "recommend_group",
                   "similar", "explain", "close"):
        assert any(f"gr.{method}(" in block for block in blocks), f"no example calls gr.{method}"
    point_at(connection, monkeypatch)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    try:
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"README.md python-api block {number}", "exec"), namespace)  # noqa: S102
    finally:
        gr = namespace.get("gr")
        if isinstance(gr, GraphRec):
            gr.close()
    tables = taste_clusters()
    assert namespace["written"]["users"] == len(tables.users) == 200
    assert namespace["written"]["memberships"] == len(tables.memberships)
    counts = namespace["snapshot"].counts()
    assert (counts["users"], counts["items"], counts["groups"]) == (200, 100, 20)
    assert namespace["model"].kind == "lightgcn"
    assert [row["method"] for row in namespace["report"].rows] == ["demo"]
    version = namespace["version"]
    assert version == active_model(runner)["version"]
    top = namespace["top"]
    seen = set(tables.interactions.loc[(tables.interactions["user_id"] == 1)
                                       & (tables.interactions["split"] == "train"), "item_id"])
    assert len(top.ids) == 5 and top.version == version and not seen & set(top.ids)
    picks = namespace["picks"]
    assert picks.strategy == "least_misery" and len(picks.ids) == 5
    assert {m["user"] for m in picks.items[0]["members"]} == set(
        tables.memberships.loc[tables.memberships["group_id"] == 5001, "user_id"])
    assert namespace["neighbours"].basis == "cosine" and 1001 not in namespace["neighbours"].ids
    assert namespace["why"]["item"] == top.ids[0] and namespace["why"]["score"] == pytest.approx(top.items[0]["score"])


# ------------------------------------------------------------------------- each method returns the room's answer


@pytest.mark.neo4j
def test_load_returns_what_the_loaders_return(runner: QueryRunner, connection: Connection, tmp_path: Path) -> None:
    tables = taste_clusters(n_users=30, n_items=20, n_groups=3)
    with graphrec.connect(connection.uri, connection.user, connection.password, connection.database) as gr:
        assert gr.load(**tables.as_dict(), progress=False) == load_csv(runner, **tables.as_dict(), progress=False)
        paths = tables.to_csv(str(tmp_path))
        assert gr.load("csv", **paths) == load_csv(runner, **paths)
        lightgcn = tmp_path / "lightgcn"
        lightgcn.mkdir()
        (lightgcn / "train.txt").write_text("0 1 2 3\n1 2 3\n2 1 4\n")
        (lightgcn / "test.txt").write_text("0 4\n1 1\n")
        assert gr.load("lightgcn", lightgcn) == load_lightgcn(runner, lightgcn)
        benchmark = hidden_group_taste().write(tmp_path / "benchmark")
        assert gr.load("groups", benchmark, batch_size=500) == load_group_benchmark(runner, benchmark, batch_size=500)


def test_load_refuses_a_mixed_up_call() -> None:
    with offline() as gr:
        with pytest.raises(ValueError, match="tables by name"):
            gr.load("csv", "some/folder")
        with pytest.raises(ValueError, match="unknown format 'parquet'"):
            gr.load("parquet", "some/folder")
        with pytest.raises(ValueError, match="reads the folder"):
            gr.load("lightgcn")
        with pytest.raises(ValueError, match="reads the folder"):
            gr.load("groups", "some/folder", users="users.csv")


@pytest.mark.neo4j
@pytest.mark.usefixtures("single_thread")
def test_the_conductor_methods_return_what_the_conductor_returns(runner: QueryRunner, connection: Connection,
                                                                 tmp_path: Path) -> None:
    load_csv(runner, **taste_clusters(n_users=60, n_items=40, n_groups=6).as_dict(), progress=False)
    gr = GraphRec(connection)
    try:
        snapshot = gr.export()
        reference = export_snapshot(runner)
        assert snapshot.counts() == reference.counts() and snapshot.filters == reference.filters
        for part in ("interactions", "group_interactions", "negatives"):
            for split, edges in getattr(snapshot, part).items():
                assert torch.equal(edges, getattr(reference, part)[split]), (part, split)
        assert torch.equal(snapshot.memberships, reference.memberships)
        seeded = gr.export(users=[1, 2], hops=1)
        assert seeded.counts() == export_snapshot(runner, users=[1, 2], hops=1).counts()

        config = run_config("gowalla-itemknn")
        fitted = gr.fit("gowalla-itemknn", run_dir=tmp_path / "api-fit", snapshot=snapshot)
        data = training_data(snapshot, config, config.evaluate.variant)
        expected = config.model.fit(data, config.train, tmp_path / "room-fit" / config.name)
        for mine, theirs in zip(fitted.stored().neighbours, expected.stored().neighbours, strict=True):
            np.testing.assert_array_equal(mine, theirs)
        exported = gr.fit(CONFIGS / "gowalla-itemknn.toml", run_dir=tmp_path / "api-fit-exported")
        np.testing.assert_array_equal(exported.stored().neighbours[2], expected.stored().neighbours[2])

        report, models = gr.evaluate("gowalla-itemknn", "groups-popularity", run_dir=tmp_path / "api-eval",
                                     snapshot=snapshot, progress=False)
        expected_report, expected_models = conduct(
            runner, [config, run_config("groups-popularity")], tmp_path / "room-eval", snapshot=snapshot,
            progress=False)
        assert report.rows == expected_report.rows and report.notes == expected_report.notes
        assert set(models) == set(expected_models) == {"gowalla-itemknn", "popularity"}
        assert (tmp_path / "api-eval" / "evaluation.json").exists()
        assert active_model(runner) is None, "evaluate writes nothing back"

        report, models = gr.write_back("gowalla-itemknn", run_dir=tmp_path / "api-train", snapshot=snapshot,
                                       progress=False)
        version = report.row("gowalla-itemknn")["version"]
        assert active_model(runner)["version"] == version
        expected_report, _ = conduct(runner, [config], tmp_path / "room-train", write_back=True, snapshot=snapshot,
                                     progress=False)
        assert expected_report.row("gowalla-itemknn")["version"] == version + 1
        assert ([{k: v for k, v in row.items() if k != "version"} for row in report.rows]
                == [{k: v for k, v in row.items() if k != "version"} for row in expected_report.rows])
    finally:
        gr.close()


@pytest.mark.neo4j
@pytest.mark.usefixtures("single_thread")
def test_the_serving_methods_return_what_the_recommender_returns(runner: QueryRunner, connection: Connection,
                                                                 tmp_path: Path) -> None:
    tables = taste_clusters(n_users=60, n_items=40, n_groups=6)
    load_csv(runner, **tables.as_dict(), progress=False)
    conduct(runner, [run_config("gowalla-itemknn")], tmp_path / "run", write_back=True, progress=False)
    recommender = Recommender(runner)
    with GraphRec(connection) as gr:
        assert gr.recommend_user(1) == recommender.recommend_user(1)
        assert (gr.recommend_user(2, 3, exclude=[1001], diversity=0.5)
                == recommender.recommend_user(2, 3, exclude=[1001], diversity=0.5))
        for strategy in ("combined", "least_misery", "borda"):
            assert (gr.recommend_group(5001, 4, strategy=strategy, exclude_member_items=True)
                    == recommender.recommend_group(5001, 4, strategy=strategy, exclude_member_items=True))
        assert gr.similar(1001) == recommender.similar_items(1001)
        assert gr.similar(1002, 3) == recommender.similar_items(1002, 3)
        item = gr.recommend_user(1).ids[0]
        assert gr.explain(item, user=1) == recommender.explain(item, user=1)
        assert gr.explain(item, group=5001, n=2) == recommender.explain(item, group=5001, n=2)
        with pytest.raises(RecommendError, match="unknown user 999999"):
            gr.recommend_user(999_999)


# ---------------------------------------------------------------------------------- the same arguments, defaults


def _parameters(function: Callable[..., object], leave_out: tuple[str, ...] = ()) -> dict[str, inspect.Parameter]:
    return {name: p for name, p in inspect.signature(function).parameters.items()
            if name not in ("self", "runner", *leave_out) and p.kind is not inspect.Parameter.VAR_KEYWORD}


@pytest.mark.parametrize(("method", "room", "leave_out"), [
    (graphrec.api.connect, resolve_connection, ()),
    (GraphRec.load, load_csv, ()),
    (GraphRec.load, load_lightgcn, ()),
    (GraphRec.load, load_group_benchmark, ()),
    (GraphRec.export, export_snapshot, ()),
    (GraphRec.fit, Spec.fit, ("data", "train")),
    (GraphRec.evaluate, conduct, ("configs", "write_back")),
    (GraphRec.write_back, conduct, ("configs", "write_back")),
    (GraphRec.recommend_user, Recommender.recommend_user, ()),
    (GraphRec.recommend_group, Recommender.recommend_group, ()),
    (GraphRec.similar, Recommender.similar_items, ()),
    (GraphRec.explain, Recommender.explain, ()),
], ids=lambda value: getattr(value, "__qualname__", None) or str(value))
def test_every_method_takes_the_rooms_arguments_with_their_defaults(method: Callable[..., object],
                                                                    room: Callable[..., object],
                                                                    leave_out: tuple[str, ...]) -> None:
    mine, theirs = _parameters(method), _parameters(room, leave_out)
    assert set(theirs) <= set(mine), f"{method.__qualname__} lacks {sorted(set(theirs) - set(mine))}"
    for name, parameter in theirs.items():
        if parameter.default is inspect.Parameter.empty and name != "directory":  # load: per format
            assert mine[name].default is inspect.Parameter.empty, f"{method.__qualname__}: {name} is required"
        elif parameter.default is not inspect.Parameter.empty:
            assert mine[name].default == parameter.default, f"{method.__qualname__}({name}=...)"


# ------------------------------------------------------------------------------------------- configurations


def test_a_configuration_is_a_packaged_name_a_path_or_a_run_config(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"demo", "gowalla-itemknn", "groups-popularity"} <= set(packaged_configs())
    demo = run_config("demo")
    assert demo.path == CONFIGS / "demo.toml" and demo.model.kind == "lightgcn"
    assert run_config("demo", train={"epochs": 3}).train.epochs == 3
    assert run_config(str(CONFIGS / "gowalla-itemknn.toml")).name == "gowalla-itemknn"
    assert run_config(CONFIGS / "gowalla-itemknn.toml").model == ItemKNNSpec()
    config = RunConfig("mine", ItemKNNSpec(neighbours=5))
    assert run_config(config) is config
    with pytest.raises(ConfigError, match="no packaged run configuration 'nope'.*demo"):
        run_config("nope")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="cannot read"):
        run_config("nope.toml")
    (tmp_path / "mine.toml").write_text('[model]\nkind = "popularity"\n')
    assert run_config("mine.toml").model.kind == "popularity"
    assert run_config(Path("mine.toml")).name == "mine"


def test_fit_refuses_a_text_configuration_before_touching_the_database() -> None:
    config = RunConfig("texty", ItemKNNSpec(), text=TextConfig(properties=("title",)))
    with offline() as gr, pytest.raises(ConfigError, match=r"\[text\] is fitted by evaluate\(\)"):
        gr.fit(config, run_dir="unused")


# ------------------------------------------------------------------------------------------------ connect()


def test_connect_without_settings_or_local_server_raises_config_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("GRAPHREC_NEO4J_HOME", str(home))
    with pytest.raises(ConfigError, match="no Neo4j server configured"):
        graphrec.connect()
    with pytest.raises(ConfigError, match="no password for bolt://elsewhere:7687"):
        graphrec.connect("bolt://elsewhere:7687")
    assert list(home.iterdir()) == [], "connect() never starts (nor installs) a server"


def test_connect_takes_arguments_before_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://from-env:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "from-env")
    monkeypatch.setenv("NEO4J_DATABASE", "envdb")
    with graphrec.connect(password="argument", user="me") as gr:
        assert gr.connection == Connection("bolt://from-env:7687", "me", "argument", "envdb")
        assert "argument" not in repr(gr) and "from-env" in repr(gr)
    with graphrec.connect("bolt://from-argument:7687") as gr:
        assert gr.connection.uri == "bolt://from-argument:7687" and gr.connection.password == "from-env"


# -------------------------------------------------------------------------------------------- light import


def _python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_import_graphrec_does_not_import_torch() -> None:
    assert _python("import graphrec, sys; print('torch' in sys.modules)") == "False"
    assert _python("import graphrec, sys; graphrec.connect('bolt://127.0.0.1:1', password='x'); "
                   "print('torch' in sys.modules, 'connect' in dir(graphrec))") == "False True"


@pytest.mark.neo4j
def test_loading_and_serving_through_the_api_never_import_torch(runner: QueryRunner,
                                                                connection: Connection) -> None:
    code = """
import sys
import graphrec
from graphrec.recommend import RecommendError
from graphrec.synthetic import taste_clusters

with graphrec.connect() as gr:
    gr.load(**taste_clusters(n_users=20, n_items=40, n_groups=2).as_dict(), progress=False)
    for call in (lambda: gr.recommend_user(1), lambda: gr.recommend_group(5001), lambda: gr.similar(1001),
                 lambda: gr.explain(1001, user=1)):
        try:
            call()
        except RecommendError as error:
            assert "no active model" in str(error), error
    before = 'torch' in sys.modules
    gr.export()
    print(before, 'torch' in sys.modules)
"""
    env = dict(zip(ENV, (connection.uri, connection.user, connection.password, connection.database)))
    assert _python(code, env) == "False True"
