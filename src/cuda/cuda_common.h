/* cuda_common.h — error checking for CUDA runtime and cuBLAS calls in library code.
 *
 * CUDA_CHECK(call) / CUBLAS_CHECK(call) turn a failure into
 *     lf_fail(LINFER_ERR_DEVICE, "<file>:<line> <call>: <error string>")
 * and return that status from the enclosing function (which must return lf_status).
 * Library code never exits the process. Usable from C and from .cu files. */
#ifndef LF_CUDA_COMMON_H
#define LF_CUDA_COMMON_H
#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#ifdef __cplusplus
extern "C" {
#endif
#include "core/error.h"
#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(call) do {                                                                      \
        cudaError_t lf_cu_e_ = (call);                                                             \
        if (lf_cu_e_ != cudaSuccess)                                                               \
            return lf_fail(LINFER_ERR_DEVICE, "%s:%d %s: %s", __FILE__, __LINE__, #call,           \
                           cudaGetErrorString(lf_cu_e_));                                          \
    } while (0)

#define CUBLAS_CHECK(call) do {                                                                    \
        cublasStatus_t lf_cb_e_ = (call);                                                          \
        if (lf_cb_e_ != CUBLAS_STATUS_SUCCESS)                                                     \
            return lf_fail(LINFER_ERR_DEVICE, "%s:%d %s: %s", __FILE__, __LINE__, #call,           \
                           cublasGetStatusString(lf_cb_e_));                                       \
    } while (0)

/* after a kernel launch: launch-configuration errors, and (asynchronous) earlier faults */
#define CUDA_CHECK_LAUNCH(name) do {                                                               \
        cudaError_t lf_cu_e_ = cudaGetLastError();                                                 \
        if (lf_cu_e_ != cudaSuccess)                                                               \
            return lf_fail(LINFER_ERR_DEVICE, "%s:%d launch of %s: %s", __FILE__, __LINE__, name,  \
                           cudaGetErrorString(lf_cu_e_));                                          \
    } while (0)

#endif
