/* nccl_loader.h — NCCL loaded at run time (dlopen), never linked.
 *
 * linfer does not link NCCL: a machine without it still runs everything but the multi-GPU
 * measurements. lf_nccl_open() dlopens (RTLD_NOW | RTLD_LOCAL) the first of, in order:
 *
 *   1. $LINFER_NCCL_LIB        a file path (skipped when unset or empty)
 *   2. "libnccl.so.2"          the dynamic linker's search (LD_LIBRARY_PATH, ld.so.cache, ...)
 *   3. "libnccl.so"
 *   4. the Python package nvidia-nccl: <dir>/lib/libnccl.so.2, <dir> printed by
 *      `python3 -c "import nvidia.nccl as m; print(list(m.__path__)[0])"` (run through popen)
 *
 * that loads and has every symbol linfer needs (ncclGetVersion, ncclGetErrorString,
 * ncclCommInitAll, ncclCommDestroy, ncclAllReduce, ncclGroupStart, ncclGroupEnd, and for one process
 * per GPU (src/dist/launcher.h) ncclGetUniqueId, ncclCommInitRank, ncclAllGather, ncclBroadcast;
 * ncclCommAbort and ncclCommGetAsyncError are optional: NULL when the library lacks them). On failure: LINFER_ERR_UNSUPPORTED with one message naming every candidate and why
 * it failed ("NCCL not found: tried $LINFER_NCCL_LIB (unset), libnccl.so.2 (<dlerror>), ...").
 * Never exits the process.
 *
 * Only CUDA builds (LINFER_HAVE_CUDA) have the loader; otherwise lf_nccl_open() fails with
 * LINFER_ERR_UNSUPPORTED "built without CUDA". The function table (struct lf_nccl) uses the types
 * of <nccl.h> (the CUDA toolkit's header) and is visible in CUDA builds only. */
#ifndef LF_DIST_NCCL_LOADER_H
#define LF_DIST_NCCL_LOADER_H
#include <stddef.h>
#include "../core/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* flags of lf_nccl_open: leave candidates out (tests use them to make failure deterministic) */
enum {
    LF_NCCL_SKIP_SYSTEM = 1,   /* "libnccl.so.2" and "libnccl.so" */
    LF_NCCL_SKIP_PYTHON = 2,   /* the Python package nvidia-nccl */
};

typedef struct lf_nccl lf_nccl;

/* Load NCCL (see above). *out is freed with lf_nccl_close. */
lf_status lf_nccl_open(unsigned flags, lf_nccl **out);
/* Frees the table. The library itself stays loaded (NCCL's proxy threads may outlive a
 * communicator; unloading under them is unsafe); a later lf_nccl_open finds it again. */
void lf_nccl_close(lf_nccl *n);
/* The file loaded (as given to dlopen, resolved by dladdr where possible) and ncclGetVersion's
 * code (e.g. 22809 for 2.28.9). */
const char *lf_nccl_lib_path(const lf_nccl *n);
int lf_nccl_version(const lf_nccl *n);
/* "2.28.9" from a version code (both the old 2.8-and-before and the newer encodings). */
const char *lf_nccl_version_str(int code, char *buf, size_t cap);

#ifdef LINFER_HAVE_CUDA
#include <nccl.h>
struct lf_nccl {
    void *handle;
    char path[512];
    int version;
    ncclResult_t (*GetVersion)(int *version);
    const char *(*GetErrorString)(ncclResult_t r);
    ncclResult_t (*CommInitAll)(ncclComm_t *comms, int ndev, const int *devlist);
    ncclResult_t (*CommDestroy)(ncclComm_t comm);
    ncclResult_t (*CommAbort)(ncclComm_t comm);   /* optional: NULL when the library lacks it */
    ncclResult_t (*AllReduce)(const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                              ncclComm_t comm, cudaStream_t stream);
    ncclResult_t (*GroupStart)(void);
    ncclResult_t (*GroupEnd)(void);
    /* one process per GPU (src/dist/launcher.c) */
    ncclResult_t (*GetUniqueId)(ncclUniqueId *id);
    ncclResult_t (*CommInitRank)(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank);
    ncclResult_t (*CommGetAsyncError)(ncclComm_t comm, ncclResult_t *async_error);   /* optional: NULL when absent */
    ncclResult_t (*AllGather)(const void *send, void *recv, size_t sendcount, ncclDataType_t type, ncclComm_t comm,
                              cudaStream_t stream);
    ncclResult_t (*Broadcast)(const void *send, void *recv, size_t count, ncclDataType_t type, int root, ncclComm_t comm,
                              cudaStream_t stream);
    /* pipeline parallelism: point to point (NCCL >= 2.7) */
    ncclResult_t (*Send)(const void *send, size_t count, ncclDataType_t type, int peer, ncclComm_t comm, cudaStream_t stream);
    ncclResult_t (*Recv)(void *recv, size_t count, ncclDataType_t type, int peer, ncclComm_t comm, cudaStream_t stream);
    /* tensor x pipeline parallelism: the TP group of a stage (NCCL >= 2.18); optional: NULL when absent */
    ncclResult_t (*CommSplit)(ncclComm_t comm, int color, int key, ncclComm_t *newcomm, void *config);
};
#endif

#ifdef __cplusplus
}
#endif
#endif
