# device_prep.sh — sourced by the bench/gpu_session12*.sh device scripts (from the repository
# root on the device machine): $OUT, NCCL without NVLink multicast, the test and fuzz binaries of
# build-dev/pack/bins.tar.xz unpacked to /tmp/bins (the test binaries also to build-dev/tests/cuda),
# the bundled libraries unpacked once (scripts/device_run.sh), and R = the command prefix that runs
# a program with them, L = the linfer binary.
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
R="bash scripts/device_run.sh cmd"
L=build-dev/linfer
mkdir -p /tmp/bins && xz -dc build-dev/pack/bins.tar.xz | tar -C /tmp/bins -xf -
mkdir -p build-dev/tests/cuda && cp /tmp/bins/test_* build-dev/tests/cuda/ 2>/dev/null
$R true > /dev/null 2>&1
