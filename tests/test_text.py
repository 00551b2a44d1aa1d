"""Item text: the local encoder on known sentences, the ridge projection of cold items, text vectors written back
and indexed, similar items by text on the real server, and a cold item recommended and explained."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec.db.runner import QueryRunner
from graphrec.encoder import DIMENSIONS, encode, join_text
from graphrec.load import load_csv
from graphrec.model.base import TrainingData
from graphrec.model.fusion import (
    BOOST_GRID,
    FUSION_GRID,
    TextConfig,
    choose_text,
    cold_gap,
    cold_items,
    ridge_projection,
    validation_split,
    with_text,
)
from graphrec.model.kinds import Embedding
from graphrec.recommend import Recommender, RecommendError
from graphrec.writeback import active_model, prune, write_model

EXACT, INDEX = 10_000, 0

MOUNTAINS = ["a hiking trail up a snowy mountain peak", "climbing the alpine ridge above the glacier",
             "a mountain hut for hikers at the summit", "trekking through high mountain passes"]
KITCHEN = ["a recipe for tomato soup with basil", "baking fresh bread in a wood oven",
           "a cookbook of quick pasta dinners", "slow roasted chicken with garlic and lemon"]
COLD = {200: "a steep mountain path to the peak, for hikers", 201: "an easy recipe for vegetable soup"}


def test_the_encoder_puts_similar_sentences_closer_than_dissimilar_ones() -> None:
    pairs = [("A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."),
             ("北京故宫", "故宫博物院", "上海外滩"),  # Chinese place names: the Forbidden City twice, the Bund
             ("The cat sleeps on the sofa.", "Die Katze schläft auf dem Sofa.", "Der Zug fährt um acht Uhr ab.")]
    vectors = encode([text for triple in pairs for text in triple], progress=False)
    assert vectors.shape == (9, DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for n in range(len(pairs)):
        anchor, similar, other = vectors[3 * n : 3 * n + 3]
        assert anchor @ similar > anchor @ other + 0.02, pairs[n]
    np.testing.assert_allclose(encode(["A man is playing a guitar."], progress=False)[0], vectors[0], atol=1e-6)


def test_an_items_text_joins_its_properties() -> None:
    assert join_text(["Everest", None, ["peak", "trek"], ""]) == "Everest. peak, trek"
    assert join_text([None]) == ""


def test_the_ridge_projection_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(0)
    text, truth = rng.standard_normal((200, 6)), rng.standard_normal((6, 3))
    np.testing.assert_allclose(ridge_projection(text, text @ truth, ridge=1e-6), truth, atol=1e-4)
    # by hand: one text dimension, W = sum t v / (sum t^2 + lambda) = (1*2 + 2*4) / (1 + 4 + 1)
    assert ridge_projection(np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]]), ridge=1.0)[0, 0] == pytest.approx(10 / 6)


def planted(fusion: float = 0.0) -> tuple[Embedding, TrainingData, np.ndarray]:
    """Two topics: users 0-3 like mountains (items 100-103, vector e1), users 4-7 kitchens (110-113, e2); the
    items 200 (a mountain path) and 201 (a soup) have text and no interaction."""
    item_ids = np.array([100, 101, 102, 103, 110, 111, 112, 113, 200, 201])
    user_ids = np.arange(8)
    pairs = [(u, i) for u in range(4) for i in range(4)] + [(u, i) for u in range(4, 8) for i in range(4, 8)]
    edges = torch.tensor(pairs).T
    empty = torch.zeros((2, 0), dtype=torch.long)
    data = TrainingData(8, 10, 0, user_ids, item_ids, np.zeros(0, dtype=np.int64), edges, empty, empty, empty, empty)
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    users = torch.stack([e1] * 4 + [e2] * 4)
    items = torch.stack([e1] * 4 + [e2] * 4 + [torch.tensor([0.05, 0.05])] * 2)  # cold: untrained vectors
    base = Embedding("mf", users, items, data, SimpleNamespace(seconds=0.0, best_epoch=0, history=[], best_metrics={}))
    text = encode(MOUNTAINS + KITCHEN + list(COLD.values()), progress=False)
    return base, data, text


def test_a_cold_item_gets_a_vector_in_the_models_space_from_its_text() -> None:
    base, data, text = planted()
    assert cold_items(data).tolist() == [False] * 8 + [True] * 2
    model = with_text(base, data, text, TextConfig(properties=("title",), ridge=0.1))
    items = model.vectors["item"].numpy()
    path, soup = items[8], items[9]
    assert path[0] > path[1] and soup[1] > soup[0]  # each lands on its topic's side
    scores = model.scorer("user")(torch.arange(8), None)
    assert scores[0, 8] > scores[0, 9] and scores[4, 9] > scores[4, 8]
    np.testing.assert_array_equal(items[:8], base.items.numpy()[:8])  # warm items keep their vectors
    stored = model.stored()
    assert stored.text is not None and stored.text[1].shape == (10, DIMENSIONS)
    np.testing.assert_array_equal(stored.vectors["item"][1], items)


def test_late_fusion_adds_beta_times_the_text_cosine() -> None:
    base, data, text = planted()
    beta = 0.5
    model = with_text(base, data, text, TextConfig(properties=("title",), cold_start=False, fusion=beta))
    profile = text[:4].sum(0) / np.linalg.norm(text[:4].sum(0))  # user 0's text profile
    expected = base.items.numpy() @ base.users.numpy()[0] + beta * (text @ profile)
    np.testing.assert_allclose(model.scorer("user")(torch.tensor([0]), None)[0].numpy(), expected, atol=1e-5)
    assert model.stored().vectors["user"][1].shape[1] == 2 + DIMENSIONS
    with pytest.raises(ValueError, match="fusion and cold_boost need an embedding model"):
        with_text(SimpleNamespace(kind="itemknn", personal=True, record={}), data, text,
                  TextConfig(properties=("title",), fusion=1.0))


def test_the_cold_gap_is_the_median_distance_from_the_kth_warm_score_to_the_best_cold_one() -> None:
    sources = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    items = torch.tensor([[3.0, 0.0], [2.0, 0.0], [0.0, 5.0], [0.0, 1.0], [1.0, 0.5]])
    cold = np.array([False, False, False, False, True])
    # 2nd best warm score minus the cold score, by hand: 2 - 1, 1 - 0.5, 3 - 1.5 -> median 1.0
    assert cold_gap(sources, items, cold, k=2) == pytest.approx(1.0)
    assert cold_gap(sources[:1], items, cold, k=1) == pytest.approx(2.0)
    assert cold_gap(sources[:1], torch.tensor([[1.0, 0.0], [5.0, 0.0]]), np.array([False, True]), k=1) == 0.0


def test_a_cold_boost_adds_c_times_the_gap_to_cold_items_through_one_more_dimension() -> None:
    base, data, text = planted()
    base.items[8:] = -1.0  # untrained cold vectors, left unprojected: every source scores them -1
    plain = with_text(base, data, text, TextConfig(properties=("title",), cold_start=False))
    boosted = with_text(base, data, text, TextConfig(properties=("title",), cold_start=False, cold_boost=0.5))
    gap = cold_gap(plain.vectors["user"], plain.vectors["item"], plain.cold)
    assert gap == pytest.approx(1.0)  # 8 warm items: the 8th (k = 20) best warm score is 0, the best cold -1
    assert boosted.boost == pytest.approx(0.5)
    before = plain.scorer("user")(torch.arange(8), None)
    after = boosted.scorer("user")(torch.arange(8), None)
    lift = torch.zeros(10)
    lift[8:] = 0.5 * gap
    torch.testing.assert_close(after, before + lift)
    stored = boosted.stored()
    assert stored.vectors["user"][1].shape[1] == 3 and (stored.vectors["user"][1][:, 2] == 1).all()
    np.testing.assert_allclose(stored.vectors["item"][1][:, 2], lift.numpy())
    assert boosted.record["text"]["boost"] == pytest.approx(0.5 * gap)


def test_auto_numbers_are_chosen_on_held_out_train_interactions_never_the_test() -> None:
    base, data, text = planted()
    valid, held = validation_split(data, seed=3)
    assert cold_items(data).sum() == 2  # 2 of 10 items cold: 2 of the 8 warm ones are made cold
    made_cold = cold_items(valid) & ~cold_items(data)
    assert made_cold.sum() == 2
    kept = set(map(tuple, valid.user_train.T.tolist()))
    warm, cold = (set(map(tuple, held["user", kind].T.tolist())) for kind in ("warm", "cold"))
    assert not kept & (warm | cold) and kept | warm | cold == set(map(tuple, data.user_train.T.tolist()))
    assert {i for _, i in cold} == set(np.flatnonzero(made_cold).tolist())
    assert not {i for _, i in kept | warm} & set(np.flatnonzero(made_cold).tolist())
    assert len(warm) == 8 and sorted(u for u, _ in warm) == list(range(8))  # one per user
    assert len(cold) == sum(int((data.user_train[1] == i).sum()) for i in np.flatnonzero(made_cold))
    fits = []

    def fit(train: TrainingData) -> Embedding:
        fits.append(train)
        return Embedding("mf", base.users, base.items, train, SimpleNamespace(seconds=0.0, best_epoch=0, history=[], best_metrics={}))

    config = TextConfig(properties=("title",), ridge=0.1, fusion="auto", cold_boost="auto")
    chosen, sweep = choose_text(config, data, text, fit, seed=3)
    assert len(fits) == 1 and torch.equal(fits[0].user_train, valid.user_train)
    assert [(row["fusion"], row["cold_boost"]) for row in sweep] == [(f, b) for f in FUSION_GRID for b in BOOST_GRID]
    for row in sweep:  # K = 20, or the 10 items of this catalogue; 2 of the 10 items are cold
        assert row["objective"] == pytest.approx(0.8 * row["warm ndcg@10"] + 0.2 * row["cold ndcg@10"])
        assert row["cold ndcg@10"] > 0
    best = max(sweep, key=lambda row: row["objective"])
    assert (chosen.fusion, chosen.cold_boost) == (best["fusion"], best["cold_boost"]) and chosen.chosen
    assert choose_text(chosen, data, text, fit) == (chosen, []) and len(fits) == 1
    with pytest.raises(ValueError, match="choose them first"):
        with_text(base, data, text, config)


@pytest.mark.neo4j
def test_text_vectors_are_served_a_cold_item_is_recommended_explained_and_similar_by_meaning(runner: QueryRunner) -> None:
    base, data, text = planted()
    titles = MOUNTAINS + KITCHEN + list(COLD.values())
    load_csv(runner, users=pd.DataFrame({"id": data.user_ids}),
             items=pd.DataFrame({"id": data.item_ids, "title": titles}),
             interactions=pd.DataFrame([(int(data.user_ids[u]), int(data.item_ids[i]))
                                        for u, i in data.user_train.T.tolist()], columns=["user_id", "item_id"]))
    model = with_text(base, data, text, TextConfig(properties=("title",), ridge=0.1))
    version = write_model(runner, model.stored(), {"params": {"kind": "mf"}}, progress=False)
    stored = active_model(runner)
    assert stored is not None and (stored["text_property"], stored["text_index"], stored["text_dim"]) == (
        f"~embedding_v{version}_text", f"item_embedding_v{version}_text", DIMENSIONS)
    for exact in (EXACT, INDEX):
        recommender = Recommender(runner, exact_max_items=exact)
        assert recommender.recommend_user(0, 1).ids == [200]  # the cold mountain path, for a hiker
        assert recommender.recommend_user(4, 1).ids == [201]  # the cold soup, for a cook
        by_text = recommender.similar_items(200, 3, by="text")
        assert by_text.basis == "text" and set(by_text.ids) <= {100, 101, 102, 103}
        cosines = {int(i): float(text[8] @ text[n]) for n, i in enumerate(data.item_ids) if i != 200}
        assert by_text.ids == sorted(cosines, key=lambda i: (-cosines[i], i))[:3]
        assert by_text.items[0]["score"] == pytest.approx(cosines[by_text.ids[0]], abs=1e-4)
        both = recommender.similar_items(200, 3, by="both")
        assert both.basis == "cosine+text" and set(both.ids) <= {100, 101, 102, 103}
        graph = recommender.similar_items(200, 3, by="graph")
        assert graph.basis == "cosine"
    why = Recommender(runner).explain(200, user=0)
    assert why["because"][0]["item"] in {100, 101, 102, 103}
    with pytest.raises(RecommendError, match="similar items by 'words'"):
        Recommender(runner).similar_items(200, 3, by="words")
    assert prune(runner, keep=1) == []
    write_model(runner, base.stored(), {"params": {"kind": "mf"}}, progress=False)  # a version without text
    with pytest.raises(RecommendError, match="no text vector of item 200"):
        Recommender(runner).similar_items(200, 3, by="text")
    assert prune(runner, keep=1) == [version]
    assert runner.run("MATCH (i:Item) WHERE i[$p] IS NOT NULL RETURN count(i) AS n",
                      {"p": f"~embedding_v{version}_text"})[0]["n"] == 0
    assert not runner.run("SHOW INDEXES YIELD name WHERE name = $name RETURN name",
                          {"name": f"item_embedding_v{version}_text"})


def test_a_run_configuration_reads_its_text_table(tmp_path) -> None:
    from graphrec.errors import ConfigError
    from graphrec.runconfig import read_config

    path = tmp_path / "text.toml"
    path.write_text("[model]\nkind = 'mf'\n[text]\nproperties = ['name', 'tags']\nfusion = 0.2\n")
    config = read_config(path)
    assert config.text == TextConfig(properties=("name", "tags"), cold_start=True, ridge=1.0, fusion=0.2)
    path.write_text("[model]\nkind = 'mf'\n[text]\nproperties = ['name']\nlanguage = 'zh'\n")
    with pytest.raises(ConfigError, match=r"unknown \[text\] keys: language"):
        read_config(path)
    path.write_text("[model]\nkind = 'mf'\n[text]\nproperties = []\n")
    with pytest.raises(ConfigError, match=r"\[text\] properties must be a non-empty list"):
        read_config(path)
    path.write_text("[model]\nkind = 'mf'\n[text]\nproperties = ['name']\nfusion = 'auto'\ncold_boost = 'auto'\n")
    assert (read_config(path).text.fusion, read_config(path).text.cold_boost) == ("auto", "auto")
    path.write_text("[model]\nkind = 'mf'\n[text]\nproperties = ['name']\ncold_boost = 'lots'\n")
    with pytest.raises(ConfigError, match=r'\[text\] cold_boost must be a number >= 0 or "auto", not \'lots\''):
        read_config(path)
    # refused when read, before any fit: a filter has no item vectors to fuse with or boost
    path.write_text("[model]\nkind = 'filter'\n[text]\nproperties = ['name']\nfusion = 'auto'\n")
    with pytest.raises(ConfigError, match=r"\[text\] fusion and cold_boost need an embedding model .* not 'filter'"):
        read_config(path)
    path.write_text("[model]\nkind = 'itemknn'\n[text]\nproperties = ['name']\ncold_start = true\n")
    assert read_config(path).text.cold_start  # the text alone is allowed: it only folds in cold items
