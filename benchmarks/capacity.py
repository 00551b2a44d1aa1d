"""The capacity plan's projections (docs/scale.md): each stage of a `bench_scale.py` run carried to 100x and
1,000x Gowalla along its own measured slope.

    .venv/bin/python benchmarks/capacity.py DIR [--factors 100,1000] [--target 1000] [--member-cores 16]

DIR holds `scale.json` and `settings.json` of `benchmarks/bench_scale.py`. For each stage, with s its
least-squares slope of log seconds on log interactions over the measured factors (`bench_scale.slopes`) and
(F0, t0) the largest factor it was measured at, the projection is t(F) = t0 (F / F0)^s; peak memory likewise, with its
own slope, and the store size from `settings.json`. A fractal expansion grows users and items by about sqrt F
(density stays), so the projected sizes are those of the same shape. Serving: with c clients each waiting
a p50 of L seconds, one machine of the measurement's cores answers about c / L queries a second; the read
members needed for `--target` queries a second follow for members of `--member-cores` cores, scaled by cores
(the measurement's server and client shared its cores, so this over-counts members). Prints one table per
part; every number is measured (the largest factor's) or projected with the slope printed beside it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

from bench_scale import slopes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--factors", default="100,1000")
    parser.add_argument("--target", type=float, default=1000.0, help="recommendations a second to serve")
    parser.add_argument("--member-cores", type=int, default=16)
    parser.add_argument("--measured-cores", type=int, default=os.cpu_count())
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    rows = json.loads((args.dir / "scale.json").read_text())
    settings = json.loads((args.dir / "settings.json").read_text())
    targets = [float(f) for f in args.factors.split(",")]
    top = max(row["factor"] for row in rows)
    last: dict[str, dict] = {}  # each stage at the largest factor it was measured at
    for row in sorted(rows, key=lambda row: row["factor"]):
        last[row["stage"]] = row
    time_slope, memory_slope = slopes(rows), slopes(rows, "peak_rss_bytes")
    base = next(row for row in rows if row["factor"] == top)
    print(f"measured up to x{top:g}: {base['users']:,} users, {base['items']:,} items, "
          f"{base['interactions']:,} interactions; factors {sorted({row['factor'] for row in rows})}")
    for factor in targets:
        grow = factor / top
        print(f"x{factor:g}: about {base['users'] * math.sqrt(grow):,.0f} users, {base['items'] * math.sqrt(grow):,.0f} "
              f"items, {base['interactions'] * grow:,.0f} interactions")
    print(f"\n{'stage':<44}{'from':>6}{'slope':>7}{'s':>10}" + "".join(f"{f'x{f:g} s':>12}" for f in targets)
          + f"{'mem slope':>10}{'GiB':>8}" + "".join(f"{f'x{f:g} GiB':>11}" for f in targets))
    for stage, row in last.items():
        if stage.endswith(("p50", "p99")) or stage not in time_slope:
            continue
        grown = row["factor"]
        line = f"{stage:<44}{f'x{grown:g}':>6}{time_slope[stage]:>7.2f}{row['seconds']:>10.1f}"
        line += "".join(f"{row['seconds'] * (f / grown) ** time_slope[stage]:>12,.0f}" for f in targets)
        if row["peak_rss_bytes"] and stage in memory_slope:
            gib = row["peak_rss_bytes"] / 2**30
            line += f"{memory_slope[stage]:>10.2f}{gib:>8.2f}"
            line += "".join(f"{gib * (f / grown) ** memory_slope[stage]:>11.1f}" for f in targets)
        print(line)
    store = [(settings[f"x{row_factor:g}"]["store_bytes"], row_factor) for row_factor in sorted({r["factor"] for r in rows})
             if f"x{row_factor:g}" in settings]
    if len(store) >= 2:
        (b0, f0), (b1, f1) = store[0], store[-1]
        slope = math.log(b1 / b0) / math.log(f1 / f0)
        print(f"\nstore: x{f0:g} {b0 / 2**30:.2f} GiB, x{f1:g} {b1 / 2**30:.2f} GiB (slope {slope:.2f}); "
              + ", ".join(f"x{f:g} {b1 / 2**30 * (f / f1) ** slope:,.0f} GiB" for f in targets))
    print(f"\nserving ({args.clients} clients on {args.measured_cores} cores; members of {args.member_cores} cores "
          f"for {args.target:,.0f} queries/s)")
    for stage, row in last.items():
        if not stage.endswith(f"{args.clients} clients p50"):
            continue  # measured at one size only: its members there, no projection
        for factor in [row["factor"], *(targets if stage in time_slope else [])]:
            latency = row["seconds"] * (factor / row["factor"]) ** time_slope.get(stage, 0.0)
            per_core = args.clients / latency / args.measured_cores
            members = math.ceil(args.target / (per_core * args.member_cores))
            slope = f"slope {time_slope[stage]:.2f}" if stage in time_slope else "measured"
            print(f"  {stage:<40} x{factor:<6g} p50 {latency * 1000:>9,.0f} ms ({slope}), "
                  f"{per_core:>8.1f} queries/s per core, {members:>5} members")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
