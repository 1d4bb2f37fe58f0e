"""Chart rendering: median time per chart for each kind and the process's memory after many renders.

    .venv/bin/python bench/charts.py [--renders 1000] [--warmup 30]

Kinds: the radar of a person's report with the previous result (the shipped bank's five
dimensions), a team's trend over 8 periods with two targets, and the heat map of 200 teams × the
five dimensions, drawn as the pages ``heatmap_pages`` makes of it (20 teams each: one page is one
chart; the 10 pages are timed together too). The renders cycle through the kinds; RSS is read from
/proc after the warm-up and after the renders. Exit 1 if any kind's median is over 150 ms or the
RSS grew by more than 10 %.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.charts import render
from bot.charts.data import (
    Chart,
    HeatmapData,
    HeatmapRow,
    RadarAxis,
    RadarData,
    TargetMarker,
    TrendData,
    TrendLine,
    heatmap_pages,
)

TARGET_MS = 150.0
MAX_GROWTH = 0.10
DIMENSIONS = (
    ("data", "Data & Experimentation Management"),
    ("deployment", "Model Deployment & Integration"),
    ("monitoring", "Monitoring & Governance"),
    ("team", "Team Collaboration & Culture"),
    ("responsible", "Responsible AI & Risk"),
)


def rss_mb() -> float:
    """Resident memory once freed memory is given back: without the collection and glibc's
    malloc_trim, the allocator's free lists move the reading by up to ~10 % from one run to the
    next (112 -> 115 -> 122 -> 119 MB over 3,000 renders in one run), which is not what is held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: read it as it is
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def radar_data(rnd: random.Random) -> RadarData:
    axes = tuple(RadarAxis(i, name, round(rnd.uniform(1, 4), 2), round(rnd.uniform(1, 4), 2)) for i, name in DIMENSIONS)
    return RadarData("Your MLOps maturity", axes, overall=2.5, level=3, label="This result", previous_label="Previous")


def trend_data(rnd: random.Random) -> TrendData:
    periods = tuple(f"2026-{m:02d}" for m in range(1, 9))
    lines = tuple(TrendLine(i, name, tuple(round(rnd.uniform(1, 4), 2) for _ in periods)) for i, name in DIMENSIONS)
    targets = (TargetMarker("monitoring", 3, "2027-Q2"), TargetMarker("data", 4, None))
    return TrendData("Team #ml-platform", periods, lines, targets)


def teams_data(rnd: random.Random, count: int = 200) -> HeatmapData:
    rows = tuple(
        HeatmapRow(
            f"#team-{n:03d}",
            None if rnd.random() < 0.15 else tuple(rnd.choice((1, 2, 3, 4, None)) for _ in DIMENSIONS),
        )
        for n in range(count)
    )
    return HeatmapData("Every team", tuple(name for _, name in DIMENSIONS), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    rnd = random.Random(11)
    pages = heatmap_pages(teams_data(rnd))
    kinds: dict[str, Callable[[int], Chart]] = {
        "radar": lambda n: render.radar(radar_data(rnd)),
        "trend": lambda n: render.trend(trend_data(rnd)),
        "heatmap page (20 of 200 teams)": lambda n: render.heatmap(pages[n % len(pages)]),
    }
    names = list(kinds)
    for n in range(args.warmup):
        kinds[names[n % len(names)]](n)
    warm = rss_mb()
    times: dict[str, list[float]] = {name: [] for name in names}
    sizes: dict[str, list[int]] = {name: [] for name in names}
    started = time.perf_counter()
    for n in range(args.renders):
        name = names[n % len(names)]
        t0 = time.perf_counter()
        chart = kinds[name](n // len(names))
        times[name].append((time.perf_counter() - t0) * 1000)
        sizes[name].append(len(chart.png))
    total = time.perf_counter() - started
    after = rss_mb()
    whole = []
    for _ in range(3):
        t0 = time.perf_counter()
        for page in pages:
            render.heatmap(page)
        whole.append((time.perf_counter() - t0) * 1000)
    load = os.getloadavg()[0]
    print(f"{args.renders} renders after {args.warmup} warm-up renders in {total:.1f} s; load average {load:.2f}")
    print("| chart | renders | median | min | max | PNG size (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for name in names:
        ts = times[name]
        median = statistics.median(ts)
        failed |= median > TARGET_MS
        size = statistics.median(sizes[name]) / 1024
        print(f"| {name} | {len(ts)} | {median:.0f} ms | {min(ts):.0f} ms | {max(ts):.0f} ms | {size:.0f} KB |")
    print(f"heat map of all 200 teams ({len(pages)} pages): median {statistics.median(whole):.0f} ms of 3")
    growth = after / warm - 1
    print(f"RSS after warm-up {warm:.1f} MB, after {args.renders} renders {after:.1f} MB: ratio {after / warm:.3f}")
    failed |= growth > MAX_GROWTH
    print("FAIL" if failed else "PASS", f"(median per chart under {TARGET_MS:.0f} ms, RSS growth under 10 %)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
