#!/usr/bin/env python3
"""ncu_step_summary.py NCU_CSV — per-kernel GPU time of the last decode step in an Nsight Compute
CSV (`ncu --metrics gpu__time_duration.sum --csv ...` of `linfer generate ... -n 2` with
LF_CUDA_GRAPH=0): the step starts at the last embed_kernel launch. Prints kernel, calls, total us,
share; then the sum. Kernel time only: the gaps between kernels are not in ncu's numbers."""
import csv, re, sys, collections

rows = []
with open(sys.argv[1], newline="") as f:
    lines = [l for l in f if l.startswith('"')]
for r in csv.DictReader(lines):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    v = float(r["Metric Value"].replace(",", ""))
    unit = r.get("Metric Unit", "ns")
    us = v / 1000.0 if unit in ("nsecond", "ns") else v if unit in ("usecond", "us") else v * 1000.0
    name = re.sub(r"\(.*", "", r["Kernel Name"]).strip()
    name = re.sub(r"^void ", "", name)
    rows.append((name, us))
last = max(i for i, (n, _) in enumerate(rows) if n.startswith("embed_kernel"))
step = rows[last:]
agg = collections.OrderedDict()
for n, us in step:
    key = n.split("<")[0] + ("<" + n.split("<")[1].split(",")[1].strip() + ",...>" if "gemv_mma" in n else "")
    c, t = agg.get(key, (0, 0.0))
    agg[key] = (c + 1, t + us)
tot = sum(t for _, t in agg.values())
print(f"{'kernel':<44} {'calls':>5} {'total_us':>9} {'us/call':>8} {'share':>6}")
for k, (c, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"{k[:44]:<44} {c:>5} {t:>9.1f} {t / c:>8.2f} {100 * t / tot:>5.1f}%")
print(f"{'sum of kernel times (one decode step)':<44} {len(step):>5} {tot:>9.1f}")
