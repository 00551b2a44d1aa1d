"""Benchmark: item text on Mafengwo-S (Chinese place names): the encoder's speed, late fusion against the graph
model alone, and cold-start items.

    .venv/bin/python benchmarks/bench_text.py [--data ../shared/data/mafengwo-s] [--config graphrec/configs/groups.toml]
                                            [--fusion 0.05 0.2 1.0] [--holdout 0.1] [--seed 2024]
                                            [--parts fusion cold]

Starts a throw-away Neo4j, loads the benchmark (`graphrec load groups`) and the item names of `itemSemantic.txt`
as the items' property `name`, then:

1. **encoder**: embeds the 1,236 names (`graphrec.encoder.encode`), items/s;
2. **fusion**: `graphrec evaluate` of the configuration (the group model) alone and with `[text] properties =
   ["name"], fusion = beta` for each beta (test-set figures, for reference) and with `fusion = "auto"` (beta
   chosen on a validation split of train, `graphrec.model.fusion.choose_text`): sampled protocol, group and user
   tasks, pessimistic ties;
3. **cold start**: a new server with a seeded `--holdout` share of the items held out with all their
   interactions (train and test rows, users' and groups', and the negatives lines of those test rows), the same
   configuration fitted with `[text] cold_start = true` (text projected into the model's space by ridge
   regression), with the projection and `cold_boost = "auto"`, with the projection and both `fusion` and
   `cold_boost` "auto", and without text (the held-out items keep untrained vectors), popularity and random:
   Recall@20 and NDCG@20 of each source's held-out items, ranked among every item it has no train interaction
   with ("all items") and among the held-out items alone ("cold items"); and the usual evaluation of the test
   cases left (warm items), what the boost costs there.

Prints the tables; the reports go to `runs/bench-text/`. Needs the data folder (skips with a message without it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.encoder import ENCODER, encode, item_texts
from graphrec.evaluation import format_report
from graphrec.export import export_snapshot
from graphrec.load import load_csv, load_group_benchmark
from graphrec.model.fusion import TextConfig
from graphrec.model.metrics import full_metrics
from graphrec.runconfig import read_config

ROOT = Path(__file__).resolve().parents[1]
FILES = ("userRatingTrain.txt", "userRatingTest.txt", "groupRatingTrain.txt", "groupRatingTest.txt")


def item_names(folder: Path) -> pd.DataFrame:
    """`itemSemantic.txt`: `<name>, <item id>` per line (split on the last comma)."""
    rows = []
    for line in (folder / "itemSemantic.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, _, item = line.rpartition(",")
            rows.append((int(item), name.strip()))
    return pd.DataFrame(rows, columns=["id", "name"])


def hold_out(folder: Path, target: Path, share: float, seed: int) -> tuple[np.ndarray, dict[str, list[tuple[int, int]]]]:
    """Copy the benchmark to `target` without a seeded `share` of the items (those with interactions) and every
    row of theirs; return the held-out item ids and their (source, item) pairs per side ('user', 'group')."""
    target.mkdir(parents=True, exist_ok=True)
    items = sorted({int(line.split()[1]) for name in FILES for line in (folder / name).read_text().splitlines()
                    if line.strip()})
    rng = np.random.default_rng(seed)
    held = np.sort(rng.choice(items, size=round(share * len(items)), replace=False))
    gone = set(held.tolist())
    pairs: dict[str, list[tuple[int, int]]] = {"user": [], "group": []}
    for name in ("groupMember.txt", "itemSemantic.txt"):
        (target / name).write_bytes((folder / name).read_bytes())
    for side in ("user", "group"):
        dropped_tests = set()
        for split in ("Train", "Test"):
            kept = []
            for line in (folder / f"{side}Rating{split}.txt").read_text().splitlines():
                if not line.strip():
                    continue
                source, item = (int(x) for x in line.split()[:2])
                if item in gone:
                    pairs[side].append((source, item))
                    if split == "Test":
                        dropped_tests.add((source, item))
                else:
                    kept.append(line)
            (target / f"{side}Rating{split}.txt").write_text("\n".join(kept) + "\n")
        negatives = [line for line in (folder / f"{side}RatingNegative.txt").read_text().splitlines()
                     if line.strip() and tuple(int(x) for x in line.split()[0].strip("()").split(",")) not in dropped_tests]
        (target / f"{side}RatingNegative.txt").write_text("\n".join(negatives) + "\n")
    return held, pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mafengwo-s")
    parser.add_argument("--config", type=Path, default=ROOT / "graphrec" / "configs" / "groups.toml")
    parser.add_argument("--fusion", type=float, nargs="*", default=[0.05, 0.2, 1.0])
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--parts", nargs="+", choices=("fusion", "cold"), default=["fusion", "cold"])
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "bench-text")
    args = parser.parse_args()
    if not (args.data / "itemSemantic.txt").is_file():
        print(f"no Mafengwo-S at {args.data}: skipped")
        return 0
    install_jars()
    names = item_names(args.data)
    base = read_config(args.config, evaluate={"protocol": "sampled", "task": "both"})
    text = TextConfig(properties=("name",), cold_start=True)

    if "fusion" in args.parts:
        encoder_and_fusion(args, base, text, names)
    if "cold" in args.parts:
        cold_start(args, base, text, names)
    return 0


def encoder_and_fusion(args: argparse.Namespace, base, text: TextConfig, names: pd.DataFrame) -> None:
    """Parts 1 and 2 of the module docstring."""
    with temporary_server() as server, QueryRunner(server.connection()) as runner:
        load_group_benchmark(runner, args.data)
        load_csv(runner, items=names)
        snapshot = export_snapshot(runner)
        texts = item_texts(runner, snapshot.item_ids, ("name",))
        tick, cpu = time.perf_counter(), time.process_time()
        encode(texts, progress=False)  # embedded once per process: the runs below reuse these
        seconds, cpu = time.perf_counter() - tick, time.process_time() - cpu
        print(f"\n=== encoder {ENCODER}: {len(texts)} item names in {seconds:.2f} s, {len(texts) / seconds:.1f} "
              f"items/s; {cpu:.2f} s of CPU time, {len(texts) / cpu:.0f} items per CPU second (load {_load()})")
        configs = [dataclasses.replace(base, name="graph")] + [
            dataclasses.replace(base, name=f"graph+text {beta:g}", text=dataclasses.replace(text, fusion=beta))
            for beta in args.fusion] + [
            dataclasses.replace(base, name="graph+text auto", text=dataclasses.replace(text, fusion="auto"))]
        report, fitted = conduct(runner, configs, args.run_dir / "fusion", snapshot=snapshot, progress=False)
        print(f"\n=== fusion, Mafengwo-S, sampled protocol\n{format_report(report)}")
        _print_sweep("graph+text auto", fitted["graph+text auto"])


def cold_start(args: argparse.Namespace, base, text: TextConfig, names: pd.DataFrame) -> None:
    """Part 3 of the module docstring."""
    with tempfile.TemporaryDirectory() as scratch, temporary_server() as server, \
            QueryRunner(server.connection()) as runner:
        held, pairs = hold_out(args.data, Path(scratch) / "mafengwo-held", args.holdout, args.seed)
        load_group_benchmark(runner, Path(scratch) / "mafengwo-held")
        load_csv(runner, items=names)
        snapshot = export_snapshot(runner)
        popularity = read_config(ROOT / "graphrec" / "configs" / "groups-popularity.toml")
        configs = [dataclasses.replace(base, name="graph", text=dataclasses.replace(text, cold_start=False)),
                   dataclasses.replace(base, name="graph+text projection", text=text),
                   dataclasses.replace(base, name="projection+boost auto",
                                       text=dataclasses.replace(text, cold_boost="auto")),
                   dataclasses.replace(base, name="projection+fusion+boost auto",
                                       text=dataclasses.replace(text, fusion="auto", cold_boost="auto")),
                   dataclasses.replace(popularity, evaluate=base.evaluate)]
        report, fitted = conduct(runner, configs, args.run_dir / "cold", snapshot=snapshot, progress=False)
        print(f"\n=== cold start, Mafengwo-S: the test cases left (warm items), sampled protocol\n"
              f"{format_report(report)}")
        for name in ("projection+boost auto", "projection+fusion+boost auto"):
            _print_sweep(name, fitted[name])
        cold = torch.from_numpy(np.isin(snapshot.item_ids, held))
        print(f"\n=== cold start, Mafengwo-S: {len(held)} of the items held out with all their interactions "
              f"(seed {args.seed}); {int(cold.sum())} in the snapshot")
        lines = []
        for side in ("user", "group"):
            index = snapshot.user_index if side == "user" else snapshot.group_index
            sources = index([s for s, _ in pairs[side]])
            test = torch.tensor(np.stack([sources, snapshot.item_index([i for _, i in pairs[side]])]))
            train = snapshot.interactions["train"] if side == "user" else snapshot.group_interactions["train"]
            for name, model in fitted.items():
                score = model.scorer(side)
                if score is None:
                    continue
                for where, mask in (("all items", None), ("cold items", cold)):
                    found = full_metrics(_only(score, mask), len(snapshot.item_ids), train, test, (20,))
                    lines.append((side, where, name, found["recall@20"], found["ndcg@20"]))
            for where, mask in (("all items", None), ("cold items", cold)):
                lines.append((side, where, "random (expected)", _random_recall(test, train, len(snapshot.item_ids), mask), None))
        print("task  | ranked among | method | recall@20 | ndcg@20")
        for side, where, name, recall, ndcg in lines:
            print(f"{side} | {where} | {name} | {recall:.4f} | {'-' if ndcg is None else f'{ndcg:.4f}'}")


def _print_sweep(name: str, model) -> None:
    """The validation sweep of an "auto" text configuration and what it chose."""
    record = model.record["text"]
    print(f"\n=== {name}: chosen on validation fusion {record['fusion']:g}, cold_boost {record['cold_boost']:g} "
          f"(boost {record['boost']:.4f})")
    for row in record.get("sweep", []):
        print("  " + ", ".join(f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
                                for key, value in row.items()))


def _load() -> str:
    """The machine's 1-minute load average (others' work included)."""
    import os

    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _only(score, mask):
    """`score` with the items outside `mask` (when given) scored -inf."""
    if mask is None:
        return score

    def masked(sources, items=None):
        scores = score(sources, items).clone()
        scores[:, ~mask] = float("-inf")
        return scores

    return masked


def _random_recall(test: torch.Tensor, train: torch.Tensor, num_items: int, mask: torch.Tensor | None) -> float:
    """Expected Recall@20 of a random ranking: per source, min(1, 20 / its candidates) (each held-out item is in
    the top 20 with that probability), averaged over the sources with held-out items."""
    candidates = torch.ones(num_items, dtype=torch.bool) if mask is None else mask
    values = []
    for source in torch.unique(test[0]).tolist():
        known = train[1, train[0] == source]
        allowed = candidates.clone()
        allowed[known] = False
        values.append(min(1.0, 20 / max(int(allowed.sum()), 1)))
    return float(np.mean(values))


if __name__ == "__main__":
    sys.exit(main())
