#!/usr/bin/env bash
# device_run.sh — the one script a device call runs (from the repository root on the device
# machine, with build-dev/ carried: `make device-bundle` builds it here).
#
#   bash scripts/device_run.sh kernels     CUDA kernel tests (fp16, bf16) + whole-forward checks
#   bash scripts/device_run.sh sanitize    compute-sanitizer memcheck and racecheck over --quick
#   bash scripts/device_run.sh bench       LLaMA-2-7B-shape TTFT/TPOT of the CUDA backend
#   bash scripts/device_run.sh ncu         Nsight Compute on the tensor-core attention kernel
#   bash scripts/device_run.sh bisect      hand-made model feature bisection (CUDA vs CPU backend)
#   bash scripts/device_run.sh all         kernels, bench, sanitize
#   bash scripts/device_run.sh cmd ARGS..  run ARGS with the bundle's environment
#
# Logs go to $OUT/<step>.log (the device tool brings $OUT back). Sets LD_LIBRARY_PATH to the
# bundled libraries (OpenBLAS, cJSON, PCRE2, utf8proc, cmocka, libgomp: build-dev/lib, stored
# xz-compressed) and the CUDA toolkit's. If the prebuilt test binary cannot start there, rebuilds
# the .cu files with the device's nvcc and relinks against the bundle (fallback).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}
mkdir -p "$OUT"
BUNDLE=build-dev
LIBDIR=/tmp/lf-bundle-lib
rc_all=0

setup_env() {
    mkdir -p "$LIBDIR"
    for f in "$BUNDLE"/lib/*; do
        [ -e "$f" ] || continue
        case "$f" in
        *.xz)
            dst="$LIBDIR/$(basename "${f%.xz}")"
            [ -e "$dst" ] && continue
            if command -v xz >/dev/null 2>&1; then xz -dc "$f" >"$dst"
            else python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' "$f" "$dst"; fi ;;
        *) cp -f "$f" "$LIBDIR/" ;;
        esac
    done
    local cuda_lib=""
    if command -v nvcc >/dev/null 2>&1; then cuda_lib="$(dirname "$(command -v nvcc)")/../lib64"; fi
    export LD_LIBRARY_PATH="$LIBDIR:${cuda_lib:+$cuda_lib:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
    export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
}

TEST_BIN="$BUNDLE/tests/cuda/test_cuda_kernels"

rebuild_on_device() {
    echo "== prebuilt binary does not start here: rebuilding the .cu files with this machine's nvcc"
    local b=/tmp/lf-rebuild
    mkdir -p "$b"
    cp "$BUNDLE/liblinfer.a" "$b/liblinfer.a" || return 1
    for cu in src/cuda/*.cu; do
        nvcc -O3 -std=c++17 -Iinclude -Isrc -DLINFER_HAVE_CUDA=1 -gencode=arch=compute_90,code=sm_90 \
            -gencode=arch=compute_80,code=sm_80 -Xcompiler -fPIC -lineinfo -c "$cu" -o "$b/$(basename "${cu%.cu}").o" || return 1
    done
    (cd "$b" && ar rcs liblinfer.a ./*.o) || return 1   # every .cu file's object replaces its member
    local cudah; cudah="$(dirname "$(command -v nvcc)")/.."
    gcc -Iinclude -Isrc -D_GNU_SOURCE -DLINFER_HAVE_CUDA=1 -I"$cudah/include" -O2 -std=c11 -fopenmp -mavx2 -mfma -mf16c \
        -o "$b/test_cuda_kernels" tests/cuda/test_cuda_kernels.c "$b/liblinfer.a" "$LIBDIR"/libopenblas.so* "$LIBDIR"/libcjson.so* \
        "$LIBDIR"/libpcre2-8.so* "$LIBDIR"/libutf8proc.so* -lgomp -lm -lpthread -ldl -L"$cudah/lib64" \
        -lcublasLt -lcublas -lcudart -lstdc++ || return 1
    TEST_BIN="$b/test_cuda_kernels"
}

header() {
    echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | sed 's/^/   /'
    command -v nvcc >/dev/null && nvcc --version | tail -2 | sed 's/^/   /'
    command -v compute-sanitizer >/dev/null && compute-sanitizer --version | head -2 | sed 's/^/   /'
}

check_binary() {
    if ! "$TEST_BIN" --help >/dev/null 2>&1; then
        # --help exits 2 when the binary runs; 127 / loader errors mean it cannot start
        "$TEST_BIN" --help >/dev/null 2>"$OUT/loader.err"
        local rc=$?
        if [ $rc -ne 2 ]; then
            cat "$OUT/loader.err"
            ldd "$TEST_BIN" | grep -i "not found"
            rebuild_on_device 2>&1 | tee "$OUT/rebuild.log" || { echo "rebuild failed"; return 1; }
        fi
    fi
    return 0
}

step_kernels() {
    echo "== kernels"
    set -o pipefail
    "$TEST_BIN" 2>&1 | tee "$OUT/kernels.log"
    local rc=$?
    set +o pipefail
    echo "== kernels rc=$rc"
    [ $rc -eq 0 ] || rc_all=1
}

step_sanitize() {
    if ! command -v compute-sanitizer >/dev/null 2>&1; then echo "compute-sanitizer not found"; rc_all=1; return; fi
    for tool in memcheck racecheck; do
        echo "== compute-sanitizer --tool $tool (quick test)"
        local extra=""
        [ $tool = memcheck ] && extra="--leak-check no"
        compute-sanitizer --tool $tool $extra --error-exitcode 99 "$TEST_BIN" --quick >"$OUT/sanitize_$tool.log" 2>&1
        local rc=$?
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|checks, .* failed|Error|error" "$OUT/sanitize_$tool.log" | tail -8
        # racecheck reports hazards inside cuBLAS's own sm90 kernels (nvjet_*: the cuBLASLt
        # algorithms the tests time; session 22: 46 of them, none in linfer's kernels). Not ours to
        # fix, and excluding them (--kernel-name-exclude kns=nvjet) made the tool fail with an
        # internal error: so the run counts as clean when every hazard it reports is in nvjet_*.
        if [ $tool = racecheck ] && [ $rc -eq 99 ] && grep -q "Race reported" "$OUT/sanitize_$tool.log" &&
           ! grep "Race reported" "$OUT/sanitize_$tool.log" | grep -qv "nvjet_" &&
           grep -qE "checks, 0 failed" "$OUT/sanitize_$tool.log"; then
            echo "   (every hazard is inside cuBLAS's nvjet_* kernels: none in linfer's)"
            rc=0
        fi
        echo "== $tool rc=$rc"
        [ $rc -eq 0 ] || rc_all=1
    done
}

step_bench() {
    echo "== bench"
    "$TEST_BIN" --attn-bench 2>&1 | tee "$OUT/bench.log"
    [ ${PIPESTATUS[0]} -eq 0 ] || rc_all=1
    "$TEST_BIN" --bench 2>&1 | tee -a "$OUT/bench.log"
    [ ${PIPESTATUS[0]} -eq 0 ] || rc_all=1
}

# which feature of the hand-made model separates the CUDA and CPU backends (diagnostic)
step_bisect() {
    echo "== bisect"
    "$TEST_BIN" --bisect >"$OUT/bisect.log" 2>&1
    grep -E "^forward" "$OUT/bisect.log" | sed 's/  */ /g'
}

# Nsight Compute on one launch of the tensor-core attention kernel (v2) at the 7B shape
step_ncu() {
    if ! command -v ncu >/dev/null 2>&1; then echo "ncu not found"; return; fi
    echo "== ncu attn_mma2_kernel"
    ncu --clock-control none -k regex:attn_mma2_kernel -c 1 --section SpeedOfLight --section Occupancy \
        --section WarpStateStats --section MemoryWorkloadAnalysis "$TEST_BIN" --attn-bench >"$OUT/ncu_attn.log" 2>&1
    grep -E "Duration|Throughput|Achieved Occupancy|Registers|Stall|Warp Cycles|smsp__pcsamp|L1/TEX Hit|L2 Hit|Bank" "$OUT/ncu_attn.log" | head -40
}

setup_env
header | tee "$OUT/device.txt"
what=${1:-kernels}
shift || true
check_binary || exit 1
case "$what" in
kernels) step_kernels ;;
sanitize) step_sanitize ;;
bench) step_bench ;;
ncu) step_ncu ;;
bisect) step_bisect ;;
all) step_kernels; step_bench; step_sanitize ;;
all+ncu) step_kernels; step_bench; step_ncu; step_sanitize ;;
all+bisect) step_kernels; step_bisect; step_bench; step_sanitize ;;
cmd) "$@"; rc_all=$? ;;
*) echo "unknown step '$what' (kernels | sanitize | bench | all | cmd ...)"; exit 2 ;;
esac
exit $rc_all
