# device_prep.sh — sourced by the bench/gpu_session12*.sh device scripts (from the repository
# root on the device machine): $OUT, NCCL without NVLink multicast, the test and fuzz binaries of
# build-dev/pack/bins.tar.xz unpacked to /tmp/bins (the test binaries also to build-dev/tests/cuda, linfer
# to build-dev/ when the pack has it),
# the bundled libraries unpacked once (scripts/device_run.sh), and R = the command prefix that runs
# a program with them, L = the linfer binary.
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
R="bash scripts/device_run.sh cmd"
L=build-dev/linfer
mkdir -p /tmp/bins && xz -dc build-dev/pack/bins.tar.xz | tar -C /tmp/bins -xf -
mkdir -p build-dev/tests/cuda && cp /tmp/bins/test_* build-dev/tests/cuda/ 2>/dev/null
[ -f /tmp/bins/linfer ] && cp /tmp/bins/linfer build-dev/linfer   # the pack may carry linfer too (64 MiB carry limit)
$R true > /dev/null 2>&1

# The checks most session scripts start with (each prints a line or two; logs under $OUT):
# dev_kernel_tests [ARGS] (test_cuda_kernels, its summary and first failures), dev_vs_cpu (CUDA
# against CPU greedy at llama-2-7b), dev_calibrate (`linfer calibrate --no-nccl`, its HBM read
# line, the calibration file copied to $OUT, so that later bench predictions use it).
dev_kernel_tests() {
  $R build-dev/tests/cuda/test_cuda_kernels "$@" > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log")"
  grep FAIL "$OUT/kernels.log" | head -3
}
dev_vs_cpu() {
  $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_7b.log" 2>&1; echo "vs_cpu rc=$?"
  tail -1 "$OUT/vs_cpu_7b.log"
}
dev_calibrate() {
  $R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; echo "calibrate rc=$?"; grep -E "HBM read" "$OUT/calibrate.txt"
  cp ~/.cache/linfer/calibration.txt "$OUT/" 2>/dev/null
}
# dev_bench TAG MODEL [bench args]: `linfer bench -m MODEL ... --json $OUT/bench_TAG.json`, its log in
# $OUT/bench_TAG.log; prints "TAG rc=N ttft MS tpot MS p50 MS" (the first fp16 point)
dev_bench() {
  local tag=$1; shift
  timeout 150 $R $L bench -m "$@" --json "$OUT/bench_$tag.json" > "$OUT/bench_$tag.log" 2>&1
  echo "$tag rc=$? $(grep -E '^fp16' "$OUT/bench_$tag.log" | head -1 | awk '{print "ttft", $5, "tpot", $8, "p50", $9}')"
}
# dev_memcheck_rest T0: compute-sanitizer memcheck over the quick kernel tests in what is left of
# a 560 s call begun at T0 (at least 30 s), its summary line; log in $OUT/sanitize_memcheck.log
dev_memcheck_rest() {
  local rem=$(( 560 - ($(date +%s) - $1) )); [ $rem -lt 30 ] && rem=30
  timeout $rem $R compute-sanitizer --tool memcheck --leak-check no --error-exitcode 99 build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/sanitize_memcheck.log" 2>&1
  echo "memcheck rc=$? $(grep -E 'ERROR SUMMARY' "$OUT/sanitize_memcheck.log" | tail -1) | $(grep -E 'checks, .* failed' "$OUT/sanitize_memcheck.log" | tail -1)"
}
# dev_finish: print $OUT/f.log, then pack everything else under $OUT into $OUT/results.tar.xz (the
# device returns fewer, smaller files), leaving f.log beside it
dev_finish() {
  cat "$OUT/f.log"
  ( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
}
