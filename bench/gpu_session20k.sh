#!/usr/bin/env bash
# gpu_session20k.sh — one nvidia-h200 call on the session's last tree (6e93a83): kernel tests,
# CUDA-vs-CPU greedy, greedy ids of 20 and 32 prompts with cuBLASLt chosen (LF_CUDA_LT=1) against
# cublasGemmEx (=0) — the same model, the same prompts; then llama-2-7b bench at bs 1 and 32.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
for bs in 20 32; do
  for lt in 1 0; do
    LF_CUDA_LT=$lt timeout 120 $R $L generate -m llama-2-7b --batch $bs --in 64 -n 24 --print-ids > "$OUT/ids_b${bs}_lt$lt.txt" 2>&1; echo "ids bs$bs lt$lt rc=$?"
  done
  python3 - "$OUT/ids_b${bs}_lt1.txt" "$OUT/ids_b${bs}_lt0.txt" <<'PY'
import sys, re
def ids(fn): return [l.split(":",1)[1].split() for l in open(fn) if re.match(r"ids\[\d+\]:", l)]
a, b = ids(sys.argv[1]), ids(sys.argv[2])
same = [len([1 for x, y in zip(p, q) if x == y]) if p[:1] == q[:1] else 0 for p, q in zip(a, b)]
pref = [next((i for i, (x, y) in enumerate(zip(p, q)) if x != y), len(p)) for p, q in zip(a, b)]
print(f"  {len(a)} prompts; identical sequences {sum(p == q for p, q in zip(a, b))}; common prefix lengths {pref}")
PY
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for bs in 1 32; do
  timeout 150 $R $L bench -m llama-2-7b --batch $bs --in 128 --out 128 --json "$OUT/bench_b$bs.json" > "$OUT/bench_b$bs.log" 2>&1
  echo "bench bs$bs rc=$? $(grep -E '^fp16' "$OUT/bench_b$bs.log" | head -1 | awk '{print "tpot", $8, "p50", $9}')"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
