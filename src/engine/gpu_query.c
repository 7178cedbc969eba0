/* gpu_query.c — device enumeration through the CUDA runtime's C API (absent without CUDA). */
#include "gpu_query.h"
#include <stdio.h>
#include <string.h>
#ifdef LINFER_HAVE_CUDA
#include <cuda_runtime_api.h>

int lf_gpu_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
    return n;
}

lf_status lf_gpu_info_get(int index, lf_gpu_info *o) {
    memset(o, 0, sizeof *o);
    struct cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, index);
    if (e != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "GPU %d: %s", index, cudaGetErrorString(e));
    snprintf(o->name, sizeof o->name, "%s", prop.name);
    o->cc_major = prop.major; o->cc_minor = prop.minor; o->sm_count = prop.multiProcessorCount;
    cudaDriverGetVersion(&o->driver_version);
    cudaRuntimeGetVersion(&o->runtime_version);
    int prev = 0;
    cudaGetDevice(&prev);
    if ((e = cudaSetDevice(index)) != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "GPU %d: %s", index, cudaGetErrorString(e));
    e = cudaMemGetInfo(&o->free_bytes, &o->total_bytes);
    cudaSetDevice(prev);
    if (e != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "GPU %d: cudaMemGetInfo: %s", index, cudaGetErrorString(e));
    return LINFER_OK;
}
#else
int lf_gpu_count(void) { return 0; }
lf_status lf_gpu_info_get(int index, lf_gpu_info *o) {
    memset(o, 0, sizeof *o);
    return lf_fail(LINFER_ERR_UNSUPPORTED, "GPU %d: this linfer was built without CUDA", index);
}
#endif
