#!/usr/bin/env bash
# gpu_session22m.sh — one nvidia-h200 call: sampled generation (temperature > 0: logits to the host,
# sampled there) with the previous binary (linfer_prev: d0f2382, full sort, one sequence after another)
# against this tree's (quickselect, sequences in parallel), alternating, two rounds, and greedy as the
# reference: `linfer generate -m llama-2-7b --batch B --in 128 -n 64 --temperature 0.8 --top-k 40
# --ignore-eos --quiet --warmup 1 --reps 3` at B 1 and 32, and llama-3-8b (vocabulary 128256) at B 8.
# Same tokens either way (--print-ids compared for llama-2-7b B 32).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
P=/tmp/bins/linfer_prev
g() { # TAG BIN MODEL BATCH ARGS...
  local tag=$1 bin=$2 m=$3 bs=$4; shift 4
  timeout 200 $R $bin generate -m "$m" --batch "$bs" --in 128 -n 64 --ignore-eos --quiet --warmup 1 --reps 3 "$@" > "$OUT/gen_$tag.log" 2>&1
  echo "$tag rc=$? $(grep -E 'TPOT' "$OUT/gen_$tag.log" | tail -1 | grep -oE 'TTFT [0-9.]+ ms|TPOT [0-9.]+ ms' | tr '\n' ' ')"
}
S="--temperature 0.8 --top-k 40"
for r in 1 2; do
  for v in prev now; do b=$L; [ $v = prev ] && b=$P
    g 7b_b32_${v}_r$r $b llama-2-7b 32 $S
    g 7b_b1_${v}_r$r $b llama-2-7b 1 $S
    g 8b_b8_${v}_r$r $b llama-3-8b 8 $S
  done
done
g 7b_b32_greedy $L llama-2-7b 32
g 7b_b32_topp_now $L llama-2-7b 32 --temperature 0.8 --top-p 0.9
g 7b_b32_topp_prev $P llama-2-7b 32 --temperature 0.8 --top-p 0.9
for v in prev now; do b=$L; [ $v = prev ] && b=$P
  timeout 200 $R $b generate -m llama-2-7b --batch 32 --in 128 -n 16 --ignore-eos --quiet --print-ids $S > "$OUT/ids_$v.log" 2>&1
done
echo "ids identical: $(cmp -s <(grep 'ids\[' "$OUT/ids_prev.log") <(grep 'ids\[' "$OUT/ids_now.log") && echo yes || echo NO) ($(grep -c 'ids\[' "$OUT/ids_now.log") rows)"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
