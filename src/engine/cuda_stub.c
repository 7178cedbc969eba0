/* cuda_stub.c — lf_cuda_backend_create for builds without CUDA (nvcc not found at build time).
 * With LINFER_HAVE_CUDA the real one lives in src/cuda/backend.cu and this file is empty. */
#include "backend.h"

#ifndef LINFER_HAVE_CUDA
lf_status lf_cuda_backend_create(const lf_model *m, const lf_backend_params *p, lf_backend **out) {
    (void)m;
    (void)p;
    if (out) *out = NULL;
    return lf_fail(LINFER_ERR_UNSUPPORTED, "this linfer was built without CUDA (nvcc not found at build time)");
}
#else
typedef int lf_cuda_stub_unused; /* ISO C forbids an empty translation unit */
#endif
