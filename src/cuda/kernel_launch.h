// kernel_launch.h — what every .cu file of the CUDA backend's kernels shares (CUDA only, not for C
// code): programmatic dependent launch (pdl_enter, LF_LAUNCH, LF_LAUNCH_CLUSTER_Z), the dtype
// dispatch and the on/off switches read from the environment.
#ifndef LF_CUDA_KERNEL_LAUNCH_H
#define LF_CUDA_KERNEL_LAUNCH_H
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdlib.h>
#include "cuda_kernels.h"

// Programmatic dependent launch (PDL, Hopper): the kernels of the decode chain are launched with
// programmatic stream serialisation, so the next kernel's blocks start while this one's last
// blocks still run. Each such kernel calls pdl_enter() before it reads or writes anything another
// kernel produces or consumes: it waits for the preceding kernel to complete and flush
// (griddepcontrol.wait), then lets the next kernel launch (griddepcontrol.launch_dependents).
// So when a kernel starts, every kernel before its predecessor has completed: before its wait it
// may read what those wrote (the fused-RoPE decode attention loads its cache rows there) but
// nothing its predecessor writes, and write nothing. Off (plain launches, and the instructions
// are no-ops without the attribute) unless lf_cuda_set_pdl(1). The GEMVs load their first round of
// weights into registers before the wait (session 16: -1.5% per 7B step); pulling them into L2
// with prefetches instead was measured slower (session 15; docs/perf-notes.md).
__device__ __forceinline__ void pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
// the wait alone (a thread that must not read before the kernel before it has finished, but whose
// block lets the next kernel launch elsewhere)
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
// kern<<<grid, block, smem, st>>>(args) with the PDL attribute when enabled and, for cz > 0, in
// thread-block clusters of (1, 1, cz) blocks (Hopper). A kernel name with template commas goes in
// parentheses.
#define LF_LAUNCH_CLUSTER_Z(kern, grid, block, smem, st, cz, ...)                                  \
    do {                                                                                           \
        cudaLaunchConfig_t cfg_ = {};                                                              \
        cfg_.gridDim = dim3(grid);                                                                 \
        cfg_.blockDim = dim3(block);                                                               \
        cfg_.dynamicSmemBytes = (smem);                                                            \
        cfg_.stream = (st);                                                                        \
        cudaLaunchAttribute at_[2];                                                                \
        unsigned na_ = 0;                                                                          \
        if ((cz) > 0) {                                                                            \
            at_[na_].id = cudaLaunchAttributeClusterDimension;                                     \
            at_[na_].val.clusterDim.x = 1;                                                         \
            at_[na_].val.clusterDim.y = 1;                                                         \
            at_[na_++].val.clusterDim.z = (cz);                                                    \
        }                                                                                          \
        if (lf_cuda_pdl()) {                                                                       \
            at_[na_].id = cudaLaunchAttributeProgrammaticStreamSerialization;                      \
            at_[na_++].val.programmaticStreamSerializationAllowed = 1;                             \
        }                                                                                          \
        cfg_.attrs = at_;                                                                          \
        cfg_.numAttrs = na_;                                                                       \
        cudaLaunchKernelEx(&cfg_, kern, __VA_ARGS__);                                              \
    } while (0)
#define LF_LAUNCH(kern, grid, block, smem, st, ...) LF_LAUNCH_CLUSTER_Z(kern, grid, block, smem, st, 0, __VA_ARGS__)

// Runs BODY with T bound to the element type of dt (returns LINFER_ERR_UNSUPPORTED otherwise).
#define DISPATCH_T(dt, what, ...)                                                                  \
    do {                                                                                           \
        if ((dt) == LF_DT_F16) { typedef __half T; __VA_ARGS__; }                                  \
        else if ((dt) == LF_DT_BF16) { typedef __nv_bfloat16 T; __VA_ARGS__; }                     \
        else return lf_fail(LINFER_ERR_UNSUPPORTED, "CUDA %s: dtype %s (want F16 or BF16)", what,  \
                            lf_dtype_name(dt));                                                    \
    } while (0)

// An on/off kernel choice: *v < 0 until first asked, then 0 when the environment variable starts
// with '0', else 1 (a setter may fix it first).
static inline int env_switch(int *v, const char *name) {
    if (*v < 0) {
        const char *e = getenv(name);
        *v = !(e && *e == '0');
    }
    return *v;
}

#endif
