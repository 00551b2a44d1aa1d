"""The scale benchmark runs every stage at factor 1 on a small dataset (a functional check; timings live in the
benchmark, never in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
    # the same rankings; the means over users may add in another order (a last-bit difference)
    served, offline = settings["served_quality"]["served_sample"], settings["served_quality"]["offline_sample"]
    assert served.keys() == offline.keys() and served == {k: pytest.approx(v, rel=1e-12) for k, v in offline.items()}
    assert (out / "scale.png").stat().st_size > 0


def test_capacity_projects_each_stage_along_its_slope(tmp_path: Path) -> None:
    # export: 10 s at x1, 100 s at x10 (slope 1) -> 1,000 s at x100; its memory 1 -> 4 GiB (slope log10 4);
    # the store 1 -> 10 GiB; 8 clients at 40 ms p50 on 2 cores: 100 queries/s per core, 1 member of 16 for 1,000/s.
    rows = [{"stage": stage, "factor": f, "users": 10 * f, "items": 10 * f, "interactions": 1000 * f,
             "seconds": seconds, "peak_rss_bytes": peak}
            for f, seconds, peak in ((1, 10.0, 2**30), (10, 100.0, 4 * 2**30)) for stage in ("export",)]
    rows += [{"stage": "user top-20 8 clients p50", "factor": f, "users": 10 * f, "items": 10 * f,
              "interactions": 1000 * f, "seconds": 0.04, "peak_rss_bytes": None} for f in (1, 10)]
    (tmp_path / "scale.json").write_text(json.dumps(rows))
    (tmp_path / "settings.json").write_text(json.dumps({"x1": {"store_bytes": 2**30}, "x10": {"store_bytes": 10 * 2**30}}))
    result = subprocess.run([sys.executable, "benchmarks/capacity.py", str(tmp_path), "--measured-cores", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    export = next(line for line in result.stdout.splitlines() if line.startswith("export")).split()
    assert export[1:6] == ["x10", "1.00", "100.0", "1,000", "10,000"]
    assert export[6:] == ["0.60", "4.00", "16.0", "64.0"]
    assert "x100 100 GiB, x1000 1,000 GiB" in result.stdout
    assert "100.0 queries/s per core" in result.stdout and "1 members" in result.stdout
