"""Serving without graphrec's procedures (issue 31; Aura allows no plugin but APOC core): on a second real server
started without the plugin, `Recommender` finds the procedures missing, says so in one line on standard error, and
serves from `recommend_user_plain` / `recommend_group_plain` the same rankings and scores as the procedure path
of the session's server on the same data and the same fitted model, for users, every group strategy, filters,
exclusions and MMR."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrec.conductor import conduct
from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.evaluation import EvalConfig
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.model.kinds import KINDS
from graphrec.model.trainer import TrainConfig
from graphrec.recommend import (
    EXACT,
    PROCEDURES,
    STRATEGIES,
    Ranking,
    Recommender,
    RecommendError,
)
from graphrec.runconfig import RunConfig
from graphrec.synthetic import taste_clusters
from graphrec.writeback import write_model
from tests.conftest import WIPE

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

K = 5
SPECS = {  # item–item weights, fold and item vectors, a group side; weights alone (graphrec.itemWeights cuts its
    # candidates to the k best); and vectors alone
    "filter": ("filter", {"filter": "chebycf", "k": 8, "neighbours": 10, "group_weight": 0.3}),
    "groupgf_weights": ("groupgf", {"neighbours": 10}),
    "lightgcn": ("lightgcn", {"embedding_dim": 8, "num_layers": 2}),
}
TRAIN = TrainConfig(lr=0.05, batch_size=128, epochs=1, ks=(10,), monitor="recall@10", validation="none")
NOTICE = "not installed on"


@pytest.fixture(scope="module")
def plain_session(plain_connection: Connection) -> Iterator[QueryRunner]:
    with QueryRunner(plain_connection) as runner:
        runner.verify()
        yield runner


@pytest.fixture
def plain(plain_session: QueryRunner) -> Iterator[QueryRunner]:
    """An empty database on the server without the plugin, wiped afterwards like `runner`'s."""
    try:
        yield plain_session
    finally:
        plain_session.run(WIPE)
        for row in plain_session.run("SHOW VECTOR INDEXES YIELD name"):
            plain_session.run(cypher.statement("embedding_index_drop"), {"name": row["name"]})
        plain_session.run("DROP CONSTRAINT model_version IF EXISTS")


def answer(call: Callable[..., Ranking], *args: Any, **kwargs: Any) -> Ranking | str:
    """`call(*args, **kwargs)`, or its RecommendError's message."""
    try:
        return call(*args, **kwargs)
    except RecommendError as error:
        return f"RecommendError: {error}"


def assert_same(plain: Ranking | str, reference: Ranking | str, what: str) -> None:
    """The same ids in the same order, scores (and each member's, the group's) to 1e-5, the same basis."""
    if isinstance(reference, str) or isinstance(plain, str):
        assert plain == reference, what
        return
    assert (plain.basis, plain.model_kind, plain.strategy) == (reference.basis, reference.model_kind,
                                                               reference.strategy), what
    assert plain.ids == reference.ids, what
    np.testing.assert_allclose([r["score"] for r in plain.items], [r["score"] for r in reference.items],
                               rtol=0, atol=1e-5, err_msg=what)
    for ours, theirs in zip(plain.items, reference.items):
        if "members" in theirs:
            assert [m["user"] for m in ours["members"]] == [m["user"] for m in theirs["members"]], what
            np.testing.assert_allclose([m["score"] for m in ours["members"]], [m["score"] for m in theirs["members"]],
                                       rtol=0, atol=1e-5, err_msg=what)
            assert ours["unscored"] == theirs["unscored"], what
            assert (ours["group_score"] is None) == (theirs["group_score"] is None), what
            if theirs["group_score"] is not None:
                assert abs(ours["group_score"] - theirs["group_score"]) < 1e-5, what


@pytest.mark.parametrize("name", sorted(SPECS))
def test_plain_cypher_serves_what_the_procedures_serve(plain: QueryRunner, runner: QueryRunner, tmp_path: Path,
                                                       name: str, capfd: pytest.CaptureFixture[str]) -> None:
    tables = taste_clusters(n_users=60, n_items=50, n_groups=6, seed=3)
    for target in (plain, runner):
        load_csv(target, **tables.as_dict())
    kind, params = SPECS[name]
    spec = KINDS[kind](**params)
    config = RunConfig(name, spec, TRAIN if spec.trained else None,
                       evaluate=EvalConfig(protocol="full", task="user", full_ks=(10,)))
    _, fitted = conduct(plain, [config], tmp_path, write_back=True, progress=False)
    write_model(runner, fitted[name].stored(), {"params": {"kind": kind, **params}}, progress=False)

    served = Recommender(plain)  # finds out that the plugin is missing
    exact, candidates = Recommender(runner, exact_max_items=EXACT), Recommender(runner, exact_max_items=0)
    genre = {"genre": "genre-1"}
    users = sorted(tables.users["id"].tolist())[:12]
    for user in users:
        for kwargs in ({}, {"filter": genre}, {"exclude": [1001, 1002, 1003]}):
            ours = served.recommend_user(user, K, **kwargs)
            assert len(ours.ids) == K or kwargs  # a filter may leave fewer
            for reference in (exact, candidates):
                assert_same(ours, reference.recommend_user(user, K, **kwargs), f"user {user} {kwargs}")
    for user in users[:4]:
        for lam in (0.3, 1.0):
            assert_same(served.recommend_user(user, K, diversity=lam), exact.recommend_user(user, K, diversity=lam),
                        f"user {user} MMR {lam}")
    if name != "groupgf_weights":  # MMR by the model's item vectors: without them it keeps the ranking
        assert served.recommend_user(users[0], K, diversity=1.0).ids != served.recommend_user(users[0], K).ids
    assert_same(answer(served.recommend_user, 99_999, K), answer(exact.recommend_user, 99_999, K), "unknown user")

    groups = sorted(tables.memberships["group_id"].unique().tolist())
    for group in groups:
        for strategy in STRATEGIES:
            for kwargs in ({}, {"exclude_member_items": True, "filter": genre}):
                ours = answer(served.recommend_group, group, K, strategy=strategy, **kwargs)
                # with a filter, the procedure path counts Borda points among its candidates
                references = (exact,) if strategy == "borda" and "filter" in kwargs else (exact, candidates)
                for reference in references:
                    assert_same(ours, answer(reference.recommend_group, group, K, strategy=strategy, **kwargs),
                                f"group {group} {strategy} {kwargs}")
        assert_same(served.recommend_group(group, K, strategy="least_misery", diversity=0.5),
                    exact.recommend_group(group, K, strategy="least_misery", diversity=0.5), f"group {group} MMR")
    if "group_weight" in params:  # a group side with a mix
        assert {served.recommend_group(group, K).basis for group in groups} == {"combined"}

    # no procedure in similar items and explanations: the same statements, the same answers
    assert served.similar_items(1001, K).items == exact.similar_items(1001, K).items
    assert served.explain(1001, user=users[0])["score"] == pytest.approx(exact.explain(1001, user=users[0])["score"])
    notices = [line for line in capfd.readouterr().err.splitlines() if NOTICE in line]
    assert len(notices) <= 1  # once per runner: the module's runner says it in its first test only
    assert all(plain.connection.uri in line and all(p in line for p in PROCEDURES) for line in notices)


def test_the_fallback_is_found_once_per_runner_and_said_in_one_line(plain: QueryRunner, runner: QueryRunner,
                                                                    plain_connection: Connection,
                                                                    capfd: pytest.CaptureFixture[str]) -> None:
    tables = taste_clusters(n_users=20, n_items=20, n_groups=2, seed=1)
    for target in (plain, runner):
        load_csv(target, **tables.as_dict())
        write_model(target, stored_vectors(tables, seed=4), {"params": {"kind": "mf"}}, progress=False)
    capfd.readouterr()
    with QueryRunner(plain_connection) as fresh:
        first = Recommender(fresh).recommend_user(1, 3)
        again = [Recommender(fresh).recommend_user(1, 3), Recommender(fresh).recommend_group(5001, 3)]
        lines = capfd.readouterr().err.splitlines()
        assert lines == [(f"graphrec: {', '.join(PROCEDURES)} not installed on {plain_connection.uri}: serving in "
                          "plain Cypher (an exact scan: slower on large catalogues, the same answers)")]
        assert again[0].ids == first.ids and len(first.ids) == 3 and len(again[1].ids) == 3
        forced = Recommender(fresh, procedures=True)
        with pytest.raises(Exception, match="graphrec.(itemWeights|topItems|innerProducts|mmr)"):
            forced.recommend_user(1, 3)  # asked never to fall back: the server's own error
    on_procedures = Recommender(runner)
    assert on_procedures.recommend_user(1, 3).ids == first.ids
    plain_items, native_items = (Recommender(runner, procedures=False).recommend_user(1, 3).items,
                                 on_procedures.recommend_user(1, 3).items)
    # q . v: float32 arithmetic by the euclidean identity in plain Cypher, float64 sums natively
    assert [{**x, "score": pytest.approx(x["score"], rel=1e-6)} for x in plain_items] == native_items
    assert NOTICE not in capfd.readouterr().err


def stored_vectors(tables: Any, seed: int) -> Stored:
    """Random 4-dimensional user, item and group vectors for the tables' nodes."""
    rng = np.random.default_rng(seed)
    ids = {"user": tables.users["id"].to_numpy(), "item": tables.items["id"].to_numpy(),
           "group": tables.groups["id"].to_numpy()}
    return Stored({kind: (values, rng.standard_normal((len(values), 4)).astype(np.float32))
                   for kind, values in ids.items()}, fold_in="propagate")
