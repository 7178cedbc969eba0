/* gpu_query.h — what GPUs are present (name, memory, driver) without creating a backend. */
#ifndef LF_GPU_QUERY_H
#define LF_GPU_QUERY_H
#include <stddef.h>
#include "../core/error.h"
typedef struct {
    char name[128];
    size_t free_bytes, total_bytes;
    int cc_major, cc_minor, sm_count;
    int driver_version, runtime_version;
} lf_gpu_info;
/* Number of CUDA devices (0 when built without CUDA or none present; never fails). */
int lf_gpu_count(void);
lf_status lf_gpu_info_get(int index, lf_gpu_info *out);
#endif
