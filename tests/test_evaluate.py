"""`graphrec evaluate` and group training on generated benchmark folders loaded into the real server.

The planted cases of `graphrec.synthetic`: groups following a taste no member has (the combined model must
beat popularity and every member aggregation), and groups choosing what no member dislikes (least misery must
beat the average).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from graphrec.cli import main
from graphrec.conductor import conduct
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.evaluation import STRATEGIES, EvalConfig, Report
from graphrec.evaluation.report import format_report
from graphrec.export import export_snapshot
from graphrec.load import load_group_benchmark
from graphrec.model.kinds import LightGCNSpec, PopularitySpec
from graphrec.model.trainer import TrainConfig
from graphrec.runconfig import RunConfig
from graphrec.synthetic import hidden_group_taste, least_misery_groups
from graphrec.writeback import active_model, read_embeddings

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

TRAIN = dict(lr=0.05, batch_size=256, epochs=40, patience=100, ks=(10,), monitor="ndcg@10", seed=1,
             validation="none")
BASELINES = ["popularity", *(f"lightgcn_users {strategy}" for strategy in STRATEGIES)]


def group_models(evaluate: EvalConfig, epochs: int = 40) -> list[RunConfig]:
    """The default models of `graphrec evaluate` (graphrec/configs/groups*.toml), sized for the generated data."""
    train = TrainConfig(**{**TRAIN, "epochs": epochs})
    return [RunConfig("combined", LightGCNSpec(embedding_dim=16, num_layers=2),
                      TrainConfig(**{**TRAIN, "epochs": epochs, "monitor": "group_ndcg@10"}), evaluate=evaluate),
            RunConfig("lightgcn_users", LightGCNSpec(embedding_dim=16, num_layers=2, graph="users"), train,
                      evaluate=evaluate),
            RunConfig("lightgcn_groups", LightGCNSpec(embedding_dim=16, num_layers=2, graph="groups"), train,
                      evaluate=evaluate),
            RunConfig("popularity", PopularitySpec(), evaluate=evaluate)]


def rows_by_method(report: Report | dict) -> dict[str, dict[str, float]]:
    rows = report["rows"] if isinstance(report, dict) else report.rows
    return {row["method"]: row for row in rows}


def test_combined_model_beats_popularity_and_every_member_aggregation_on_a_hidden_group_taste(
        runner: QueryRunner, tmp_path: Path) -> None:
    load_group_benchmark(runner, hidden_group_taste(seed=0).write(tmp_path / "data"))
    report, fitted = conduct(None, group_models(EvalConfig(task="both")), tmp_path / "run",
                             snapshot=export_snapshot(runner), progress=False)
    found = rows_by_method(report)
    assert set(found) == {"popularity", "lightgcn_users", "lightgcn_groups", "combined",
                          *(f"{model} {strategy}" for model in ("lightgcn_users", "combined") for strategy in STRATEGIES)}
    # measured on seeds 0-3 of the data: combined >= 0.83 HR@10 and >= 0.40 NDCG@10, baselines <= 0.29 and <= 0.12
    for metric, margin in (("group hr@10", 0.4), ("group ndcg@10", 0.25), ("group ndcg@5", 0.2)):
        best = max(found[name][metric] for name in BASELINES)
        assert found["combined"][metric] >= best + margin, (metric, found)
    assert found["combined"]["user hr@10"] >= 0.9 and "user hr@10" not in found["lightgcn_users average"]
    assert "user hr@10" not in found["lightgcn_groups"]
    assert int((~fitted["combined"].has_history).sum()) == 5, "5 of 60 groups have no train interactions"
    notes = " | ".join(report.notes)
    assert notes.startswith("data: users 160, items 240, groups 60, memberships 180, user_train 1,600")
    assert "group task: 60 test rows with stored negatives, 0 with negatives sampled" in notes
    assert "user task: 0 test rows with stored negatives, 160 with negatives sampled (seed 2018)" in notes
    assert any(note.startswith("ties broken pessimistically") for note in report.notes)
    assert 0.5 < fitted["combined"].group_weight < 1
    with open(tmp_path / "run" / "evaluation.csv") as handle:
        saved = list(csv.DictReader(handle))
    assert [row["method"] for row in saved] == [row["method"] for row in report.rows]
    fits = {row["method"]: row["fit_seconds"] for row in saved}  # a model's own row has its fit time, not others
    assert float(fits["combined"]) == report.seconds["fit combined"] > 0 and fits["combined average"] == ""
    assert format_report(report).splitlines()[len(report.notes) + 1].split(" | ")[-1].strip() == "fit s"
    assert (tmp_path / "run" / "evaluation.png").stat().st_size > 1000
    # per-case differences from the first model (combined): their means are the table's differences, and
    # popularity's deficit is far outside its 95 % interval
    paired = {(row["task"], row["method"], row["metric"]): row for row in report.paired}
    assert {(task, metric) for task, _, metric in paired} == {("group", "ndcg@5"), ("group", "ndcg@10"),
                                                              ("user", "ndcg@5"), ("user", "ndcg@10")}
    # group: every row but combined's and lightgcn_users' (no group row); user: lightgcn_users, popularity
    assert len(paired) == 2 * (len(found) - 2) + 2 * 2
    for (task, method, metric), row in paired.items():
        assert row["reference"] == "combined" and row["cases"] == (60 if task == "group" else 160)
        table = found[method][f"{task} {metric}"] - found["combined"][f"{task} {metric}"]
        assert row["difference"] == pytest.approx(table, abs=1e-9) and row["low"] <= row["difference"] <= row["high"]
    assert paired[("group", "popularity", "ndcg@10")]["high"] < -0.1
    with open(tmp_path / "run" / "paired.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(report.paired)
    assert "group ndcg@10 minus combined's, per case (60 cases; 95 % interval, * when it leaves out 0):" in \
        format_report(report).splitlines()


def test_least_misery_beats_the_average_when_groups_avoid_what_a_member_dislikes(
        runner: QueryRunner, tmp_path: Path) -> None:
    load_group_benchmark(runner, least_misery_groups(seed=0).write(tmp_path / "data"))
    report, _ = conduct(None, group_models(EvalConfig(task="group"))[1:2], tmp_path / "run",
                        snapshot=export_snapshot(runner), progress=False)
    found = rows_by_method(report)
    # measured on seeds 0-3: least misery ahead of the average by 0.30-0.45 HR@10 and 0.12-0.23 NDCG@10
    least, average = found["lightgcn_users least_misery"], found["lightgcn_users average"]
    assert least["group hr@10"] >= average["group hr@10"] + 0.2
    assert least["group ndcg@10"] >= average["group ndcg@10"] + 0.1
    assert "group task: 40 test rows with stored negatives, 0 with negatives sampled" in " ".join(report.notes)


def test_known_items_auto_keeps_the_planted_margin_and_reports_its_choice(runner: QueryRunner, tmp_path: Path) -> None:
    """`known_items = "auto"` on the least-misery data (no pair repeats: held-out rows are never known items):
    every ranking's known items are left out, the report says so, the record stays plain JSON, and least misery
    still leads the average by the margins above."""
    load_group_benchmark(runner, least_misery_groups(seed=0).write(tmp_path / "data"))
    report, fitted = conduct(None, group_models(EvalConfig(task="group", known_items="auto"))[1:2], tmp_path / "run",
                             snapshot=export_snapshot(runner), progress=False)
    found = rows_by_method(report)
    least, average = found["lightgcn_users least_misery"], found["lightgcn_users average"]
    assert least["group hr@10"] >= average["group hr@10"] + 0.2
    assert least["group ndcg@10"] >= average["group ndcg@10"] + 0.1
    chosen = fitted["lightgcn_users"].record["known_items"]
    assert chosen == {"user": "exclude", "group": "exclude",
                      **{f"group {strategy}": "exclude" for strategy in STRATEGIES}}
    json.dumps(chosen, allow_nan=False)
    assert "lightgcn_users: known items offset c (graphrec.evaluation.known, chosen on held-out train rows): " \
           "user -inf, group -inf, group average -inf" in " | ".join(report.notes)
    assert report.seconds["choose known lightgcn_users"] > 0


def test_evaluate_command_full_protocol_with_fairness_as_json(runner: QueryRunner, connection: Connection,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_group_benchmark(runner, least_misery_groups(n_groups=12, seed=1).write(tmp_path / "data"))
    combined, popularity = tmp_path / "groups.toml", tmp_path / "popularity.toml"
    combined.write_text("[model]\nkind = 'lightgcn'\nname = 'combined'\nembedding_dim = 8\nnum_layers = 2\n"
                        "[train]\nlr = 0.05\nepochs = 5\nbatch_size = 256\nks = [10]\nmonitor = 'group_ndcg@10'\n"
                        "validation = 'holdout'\n[evaluate]\nfull_ks = [5, 10]\nfairness_k = 5\n"
                        "strategies = ['least_misery']\n")
    popularity.write_text("[model]\nkind = 'popularity'\n")
    flags = ["--uri", connection.uri, "--password", connection.password]
    assert main(["evaluate", "--config", str(combined), str(popularity), "--protocol", "full", "--task", "group",
                 "--json", "--out", str(tmp_path / "report"), *flags]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "full" and report["task"] == "group"
    assert report["columns"] == ["group recall@5", "group recall@10", "group ndcg@5", "group ndcg@10",
                                 "group ild@10", "group coverage@10", "group fair_min@5", "group fair_spread@5"]
    found = rows_by_method(report)
    assert list(found) == ["combined", "combined least_misery", "popularity"]
    for row in found.values():
        assert row["group fair_min@5"] <= 1.0 and row["group fair_spread@5"] >= 0.0
    assert "fairness judged by combined's user scores" in report["notes"]
    with open(tmp_path / "report" / "fairness.csv") as handle:
        fairness = list(csv.DictReader(handle))
    assert len(fairness) == 3 * 12 and {row["method"] for row in fairness} == set(found)
    # full protocol: per-group Recall and NDCG differences from the first model, averaging to the table's
    paired = {(row["method"], row["metric"]): row for row in report["paired"]}
    assert set(paired) == {(method, f"{metric}@{k}") for method in ("combined least_misery", "popularity")
                           for metric in ("recall", "ndcg") for k in (5, 10)}
    for (method, metric), row in paired.items():
        assert row["cases"] == 12 and row["low"] <= row["difference"] <= row["high"]
        assert row["difference"] == pytest.approx(found[method][f"group {metric}"] - found["combined"][f"group {metric}"],
                                                  abs=1e-9)
    history = json.loads((tmp_path / "report" / "combined" / "metrics.json").read_text())["history"]
    assert all("group_ndcg@10" in row["metrics"] for row in history), "early stopping evaluates every epoch"
    assert main(["evaluate", "--config", str(combined), "--task", "user", "--quiet", "--out", str(tmp_path / "user"),
                 *flags]) == 0
    out = capsys.readouterr().out
    assert "ties broken pessimistically" in out and "user hr@5" in out and "least_misery" not in out


def test_training_on_group_data_writes_group_embeddings_and_the_group_weight(runner: QueryRunner,
                                                                             tmp_path: Path) -> None:
    data = hidden_group_taste(n_users=40, n_groups=12, ad_hoc_groups=2, seed=2)
    load_group_benchmark(runner, data.write(tmp_path / "data"))
    combined = group_models(EvalConfig(protocol="full", full_ks=(10,)), epochs=5)[0]
    report, fitted = conduct(runner, [combined], tmp_path / "run", write_back=True, progress=False)
    model = active_model(runner)
    assert model["group_weight"] == pytest.approx(fitted["combined"].group_weight) and 0 < model["group_weight"] < 1
    assert model["groups"] == 10, "the two groups without train interactions get no embedding"
    assert "group ndcg@10" in report.row("combined")
    version, vectors = read_embeddings(runner, "group", range(10))
    assert version == report.row("combined")["version"] and vectors.shape == (10, 16)
    rows = runner.run("MATCH (g:Group) WHERE g.id >= 10 RETURN count(g[$p]) AS held", {"p": model["property"]})
    assert rows == [{"held": 0}]


def test_a_task_without_test_interactions_is_reported_as_not_evaluated(runner: QueryRunner, tmp_path: Path) -> None:
    """The demo's data has group train interactions but no group test split: no zeros for the group task."""
    from graphrec.load import load_csv
    from graphrec.synthetic import taste_clusters

    load_csv(runner, **taste_clusters(n_users=40, n_items=20, n_groups=4, seed=2).as_dict())
    report, _ = conduct(None, group_models(EvalConfig(task="both"), epochs=2)[1:2], tmp_path,
                        snapshot=export_snapshot(runner), progress=False)
    assert "group task: no test interactions, not evaluated" in report.notes
    assert report.columns and all(column.startswith("user ") for column in report.columns)
    assert rows_by_method(report)["lightgcn_users"]["user hr@10"] > 0
