"""The scale benchmark runs every stage at factor 1 on a small dataset (a functional check; timings live in the
benchmark, never in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def test_bench_scale_runs_every_stage_at_factor_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    source = tmp_path / "tiny"
    source.mkdir()
    popularity = 1 / np.arange(1, 121) ** 0.8
    with open(source / "train.txt", "w") as train, open(source / "test.txt", "w") as test:
        for user in range(250):
            items = np.sort(rng.choice(120, int(rng.integers(4, 20)), replace=False, p=popularity / popularity.sum()))
            test.write(f"{user} {' '.join(map(str, items[:2]))}\n")
            train.write(f"{user} {' '.join(map(str, items[2:]))}\n")
    out = tmp_path / "scale"
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_scale.py", "--factors", "1", "--out", str(out), "--source", str(source),
         "--configs", "gowalla-popularity,gowalla-mf", "--queries", "4", "--clients", "2", "--users", "20",
         "--heap", "512m", "--pagecache", "128m"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads((out / "scale.json").read_text())
    stages = {row["stage"] for row in rows}
    assert {"import", "groups", "export", "fit gowalla-mf", "evaluate gowalla-mf", "write_back gowalla-mf",
            "write_back gowalla-popularity", "user top-20 sequential p50", "user top-20 2 clients p99",
            "group top-20 borda sequential p50"} <= stages
    for row in rows:
        assert set(row) == {"stage", "factor", "users", "items", "interactions", "seconds", "peak_rss_bytes"}
        assert row["factor"] == 1 and row["users"] == 250 and row["items"] == 120
        assert row["interactions"] == sum(len(line.split()) - 1 for name in ("train.txt", "test.txt")
                                          for line in (source / name).read_text().splitlines())
        assert row["seconds"] >= 0
    assert all(row["peak_rss_bytes"] > 0 for row in rows if not row["stage"].endswith(("p50", "p99")))
    settings = json.loads((out / "settings.json").read_text())["x1"]
    assert settings["heap"] == "512m" and settings["store_bytes"] > 0
    assert settings["served_quality"]["served_sample"] == settings["served_quality"]["offline_sample"]
    assert (out / "scale.png").stat().st_size > 0
