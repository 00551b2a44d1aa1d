"""Benchmark: serving without graphrec's procedures (plain Cypher, as on Aura) against serving with them.

    .venv/bin/python benchmarks/bench_plain_serving.py [--data gowalla|generated] [--users 40] [--groups 10]
        [--dim 64] [--neighbours 10] [--seed 7]

Starts a throw-away Neo4j (with graphrec's procedures), loads Gowalla's interactions (`../shared/data/gowalla`,
bulk, into a new home; `--data generated`: 40,981 items and 29,858 users with 27 random interactions each,
online), adds 100 random groups of 2-10 users, and writes one model version of Gowalla's size: seeded random
user, item and group vectors (`--dim`), `--neighbours` random item–item weights in [0, 0.1) per item, a group
weight of 0.3 — so that every part of the formula is served (weights summed, q . v_i, the group side); the
vectors are not trained, since speed and agreement do not depend on what was learned.

Then, through `graphrec.recommend.Recommender`, one query at a time (Python and driver time included):

1. **latency** of user top-20 and group top-20 per strategy (`STRATEGIES`), p50 / p99 in ms, on the same
   sampled users and groups, by the procedure path (the default: candidates from graphrec.topItems) and by the
   plain path (`procedures=False`: the statements a server without the plugin gets, `recommend_*_plain`);
2. **recall@20 of the plain answers** against the exact answers (the procedure statement as an exact scan,
   `exact_max_items=EXACT`), and how many lists are identical with scores equal to 1e-5, against both the exact
   scan and the procedure path.

Both paths run on the one server, so that they compete for the same machine; the fallback on a server without
the plugin sends exactly the plain statements (tests/test_plain_serving.py). Prints a table and writes
summary.json to runs/bench-plain-serving/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import temporary_server
from graphrec.load import load_csv, load_lightgcn
from graphrec.model.base import Stored
from graphrec.recommend import EXACT, STRATEGIES, Ranking, Recommender
from graphrec.writeback import write_model

ROOT = Path(__file__).resolve().parents[1]
GOWALLA = ROOT.parent / "shared" / "data" / "gowalla"
K = 20
GROUPS = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("gowalla", "generated"), default="gowalla")
    parser.add_argument("--users", type=int, default=40, help="sampled users timed and compared (default 40)")
    parser.add_argument("--groups", type=int, default=10, help="sampled groups per strategy (default 10)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--neighbours", type=int, default=10, help="item–item weights per item (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-plain-serving")
    args = parser.parse_args()
    if args.data == "gowalla" and not (GOWALLA / "train.txt").is_file():
        print(f"skipped: no Gowalla data at {GOWALLA}")
        return 0
    install_jars()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    with temporary_server(args.heap, args.pagecache, start=args.data != "gowalla") as server:
        if args.data == "gowalla":
            load_lightgcn(None, GOWALLA, bulk=True, server=server, progress=False)
        with QueryRunner(server.connection()) as runner:
            if args.data == "generated":
                generate(runner, rng)
            users, items = (np.array([row["id"] for row in runner.read(
                f"MATCH (n:{label}) RETURN n.id AS id ORDER BY id")]) for label in ("User", "Item"))
            groups = add_groups(runner, users, rng)
            write(runner, users, items, groups, args, rng)
            print(f"{len(users):,} users, {len(items):,} items, {len(groups)} groups, dim {args.dim}, "
                  f"{args.neighbours} weights per item; ready in {time.perf_counter() - started:.0f} s", flush=True)
            summary = compare(runner, [int(u) for u in rng.choice(users, args.users, replace=False)],
                              [int(g) for g in rng.choice(groups, args.groups, replace=False)])
    summary["setup"] = {"data": args.data, "users": len(users), "items": len(items), "dim": args.dim,
                        "neighbours": args.neighbours, "sampled_users": args.users, "sampled_groups": args.groups,
                        "seconds": time.perf_counter() - started}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print_summary(summary)
    return 0


def generate(runner: QueryRunner, rng: np.random.Generator) -> None:
    """Gowalla's counts without its data: 29,858 users with 27 random interactions each over 40,981 items."""
    users, items = np.arange(1, 29_859), np.arange(1_000_001, 1_000_001 + 40_981)
    load_csv(runner, items=pd.DataFrame({"id": items}), progress=False,
             interactions=pd.DataFrame({"user_id": np.repeat(users, 27), "item_id": rng.choice(items, 27 * len(users))}))


def add_groups(runner: QueryRunner, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`GROUPS` groups (ids from 1,000,000) of 2 to 10 distinct random users."""
    ids = np.arange(1_000_000, 1_000_000 + GROUPS)
    members = [(int(u), int(g)) for g in ids for u in rng.choice(users, rng.integers(2, 11), replace=False)]
    load_csv(runner, groups=pd.DataFrame({"id": ids}), progress=False,
             memberships=pd.DataFrame(members, columns=["user_id", "group_id"]))
    return ids


def write(runner: QueryRunner, users: np.ndarray, items: np.ndarray, groups: np.ndarray, args: argparse.Namespace,
          rng: np.random.Generator) -> None:
    """One active version: random vectors for every user, item and group, random item–item weights."""
    def drawn(n: int) -> np.ndarray:
        return (rng.standard_normal((n, args.dim)) * 0.1).astype(np.float32)

    sources = np.repeat(items, args.neighbours)
    targets = rng.choice(items, len(sources))
    keep = sources != targets
    stored = Stored({"user": (users, drawn(len(users))), "item": (items, drawn(len(items))),
                     "group": (groups, drawn(len(groups)))}, fold_in="propagate",
                    neighbours=deduplicated(sources[keep], targets[keep], rng), group_weight=0.3)
    write_model(runner, stored, {"params": {"kind": "filter"}}, progress=False)


def deduplicated(sources: np.ndarray, targets: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = np.unique(np.stack([sources, targets], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1], (rng.random(len(pairs)) * 0.1).astype(np.float32)


def compare(runner: QueryRunner, users: list[int], groups: list[int]) -> dict[str, dict[str, dict[str, float]]]:
    """Per query kind: the latencies of both paths, the plain answers' recall@20 against the exact scan, and how
    many plain lists equal the exact scan's and the procedure path's."""
    procedures, plain = Recommender(runner), Recommender(runner, procedures=False)
    exact = Recommender(runner, exact_max_items=EXACT)
    queries: dict[str, tuple[list[int], Callable[[Recommender, int], Ranking]]] = {
        "user": (users, lambda r, u: r.recommend_user(u, K))}
    for strategy in STRATEGIES:
        queries[f"group {strategy}"] = (groups, lambda r, g, s=strategy: r.recommend_group(g, K, strategy=s))
    summary: dict[str, dict[str, dict[str, float]]] = {"latency_ms": {}, "agreement": {}}
    for name, (ids, call) in queries.items():
        call(procedures, ids[0]), call(plain, ids[0])  # warm the plans and the page cache
        fast, fast_ms = timed(procedures, call, ids)
        slow, slow_ms = timed(plain, call, ids)
        truth, _ = timed(exact, call, ids)
        summary["latency_ms"][name] = {"procedures p50": statistics.median(fast_ms),
                                       "procedures p99": float(np.percentile(fast_ms, 99)),
                                       "plain p50": statistics.median(slow_ms),
                                       "plain p99": float(np.percentile(slow_ms, 99))}
        summary["agreement"][name] = {
            "recall@20 plain vs exact": recall(slow, truth),
            "recall@20 procedures vs exact": recall(fast, truth),
            "identical plain = exact": sum(same(a, b) for a, b in zip(slow, truth)) / len(ids),
            "identical plain = procedures": sum(same(a, b) for a, b in zip(slow, fast)) / len(ids)}
        print(f"  {name}: p50 {statistics.median(fast_ms):.0f} ms with procedures, "
              f"{statistics.median(slow_ms):.0f} ms plain", flush=True)
    return summary


def timed(recommender: Recommender, call: Callable[[Recommender, int], Ranking],
          ids: list[int]) -> tuple[list[Ranking], list[float]]:
    answers, ms = [], []
    for subject in ids:
        started = time.perf_counter()
        answers.append(call(recommender, subject))
        ms.append((time.perf_counter() - started) * 1000)
    return answers, ms


def recall(answers: list[Ranking], truth: list[Ranking]) -> float:
    """Mean of |answer ∩ truth| / |truth| over the non-empty truths."""
    return float(np.mean([len(set(a.ids) & set(t.ids)) / len(t.ids) for a, t in zip(answers, truth) if t.ids]))


def same(a: Ranking, b: Ranking) -> bool:
    """The same ids in order and the same scores to 1e-5."""
    return a.ids == b.ids and all(abs(x["score"] - y["score"]) <= 1e-5 for x, y in zip(a.items, b.items))


def print_summary(summary: dict) -> None:
    setup = summary["setup"]
    print(f"\n{setup['data']}: {setup['users']:,} users, {setup['items']:,} items, dim {setup['dim']}; "
          f"{setup['sampled_users']} users, {setup['sampled_groups']} groups per strategy, top-{K}, sequential")
    print(f"{'query':<22} {'procedures p50/p99 ms':>22} {'plain p50/p99 ms':>18} {'recall plain':>13} "
          f"{'= exact':>8} {'= procedures':>13}")
    for name, latency in summary["latency_ms"].items():
        agreement = summary["agreement"][name]
        print(f"{name:<22} {latency['procedures p50']:>10.1f} / {latency['procedures p99']:<9.1f} "
              f"{latency['plain p50']:>8.1f} / {latency['plain p99']:<7.1f} "
              f"{agreement['recall@20 plain vs exact']:>13.4f} {agreement['identical plain = exact']:>8.2f} "
              f"{agreement['identical plain = procedures']:>13.2f}")
    print(f"({setup['seconds']:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
