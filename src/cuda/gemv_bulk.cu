// gemv_bulk.cu — one token's linear layer (M = 1) with its weights bulk-copied into shared memory
// before the kernel waits for the one before it: y = x . W (T out), y += x . W (fp32 out, the
// residual add), or act = silu(x . Wg) * (x . Wu) (the gate/up layer with the SwiGLU epilogue).
//
// Why: in the decode chain each kernel waits (PDL, kernel_launch.h) for its predecessor before it
// may read the activation; its weights depend on nothing, but the register GEMVs can only hold one
// round of them (~64 KiB per block) before the wait, and only once the blocks before them have
// left the SM. Here one block per SM (grid = SM count) claims units of rows in turn; its producer
// thread starts copying them into a ring of shared-memory slots (bulk_ring.h) the moment the block
// is resident, before the wait, and its 8 consumer warps dot the rows after it. The block asks
// for at most half of an SM (__launch_bounds__(.., 2), a ring of LF_CUDA_BULK_RING_KB), so the
// next kernel's block fits beside this one and its ring fills while this one finishes, while the
// attention runs, while a norm runs.
//
// Each row is summed whole by one warp (bulk_row_dot): the same bits every run, whichever block
// takes it. With SwiGLU a slot holds R features' gate rows then their up rows, and one warp sums
// both of a feature.
//
// Status (session 27, docs/perf-notes.md): correct (tests/cuda/test_cuda_kernels.c, against the
// CPU and the chain) but slower than the register kernels in every decode step measured, so it is
// opt-in (LF_CUDA_BULK=1 makes it a tuning candidate; LF_CUDA_IMPL forces it per layer).
// llama-2-7b bs 1 in 128 on an H200, every linear layer on it: 4.14 ms against the chain's 3.47.
// A ring small enough for two blocks per SM (96 KiB) keeps too few bytes in flight per SM for its
// share of HBM, and a deeper one (160 KiB: 3.93 ms) leaves nothing beside the running kernel;
// the copies before the wait bought 0.05-0.13 ms of that. Timing switches: LF_CUDA_BULK_RING_KB,
// LF_CUDA_BULK_SLOT_KB, LF_CUDA_BULK_UNIT (slots per claim), LF_CUDA_BULK_EARLY=0 (no copies
// before the wait), LF_CUDA_BULK_PAD_KB (extra shared memory: fewer blocks per SM).
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"
#include "kernel_math.h"
#include "bulk_ring.h"

#define GB_CW 8                  // consumer warps
#define GB_CT (GB_CW * 32)       // consumer threads
#define GB_THREADS (GB_CT + 32)  // + the producer warp
#define GB_SLOTS_MAX 16
#define GB_HEAD ((2 * GB_SLOTS_MAX * 8 + 2 * GB_SLOTS_MAX * 4 + 127) / 128 * 128) // barriers, slot rows
#define GB_RING_KB 96            // default ring per block (two blocks per SM)
#define GB_SLOT_KB 16            // default slot size (whole rows, at least one)
#define GB_UNIT_SLOTS 2          // default slots of rows per claim of the shared counter

enum { GB_OUT_T, GB_OUT_F32, GB_SWIGLU };

// y, for EPI GB_OUT_T: T [N]; GB_OUT_F32: fp32 [N], y = acc + beta * y; GB_SWIGLU: act T [N]
// from W = [gate rows; up rows] (2N x K). R rows per slot (SwiGLU: R features, their gate rows
// then their up rows), U slots per unit of work; ctr: [0] units claimed, [1] producers done (zero
// at the start, left zero by the last producer).
//
// Blocks do not own fixed rows: when the next kernel's blocks become resident beside this one's
// (or beside a short kernel), the block scheduler may place two of them on one SM, and fixed
// rows would then leave that SM with twice the bytes (session 27a: the step 1.4x slower). Each
// producer claims units of U slots of rows from a counter in global memory (the next claim
// issued while the current unit's copies go out) and writes each slot's first row in shared
// memory before its copy; an end mark (row -1, a plain arrive) stops the consumers.
template <typename T, int EPI>
__global__ void __launch_bounds__(GB_THREADS, 2)
gemv_bulk_kernel(const T *__restrict__ x, const T *__restrict__ W, void *__restrict__ y, float beta, int N, int K, int R, int U,
                 int n_slots, int slot_bytes, unsigned *__restrict__ ctr, int early) {
#if !BR_ARCH_OK
    __trap(); // never launched there (lf_cuda_gemv_bulk_supported)
#else
    extern __shared__ __align__(128) unsigned char gb_smem[];
    uint64_t *full = reinterpret_cast<uint64_t *>(gb_smem), *empty = full + GB_SLOTS_MAX;
    int *slot_row = reinterpret_cast<int *>(empty + GB_SLOTS_MAX), *slot_nr = slot_row + GB_SLOTS_MAX;
    char *slots = reinterpret_cast<char *>(gb_smem + GB_HEAD);
    const size_t row_bytes = (size_t)K * sizeof(T);
    if (threadIdx.x == 0) {
        for (int i = 0; i < n_slots; i++) { mbar_init(&full[i], 1); mbar_init(&empty[i], GB_CW); }
        mbar_init_fence();
    }
    __syncthreads();
    if (threadIdx.x >= GB_CT) {   // the producer: weights and its own counter, nothing a neighbouring kernel writes: no PDL wait
        if (threadIdx.x != GB_CT) return;
        if (!early) pdl_wait();   // LF_CUDA_BULK_EARLY=0: no copy before the kernel before it has finished (to compare)
        const unsigned rows_per_unit = (unsigned)R * (unsigned)U, units = ((unsigned)N + rows_per_unit - 1) / rows_per_unit;
        uint32_t it = 0;
        auto take_slot = [&](int row0, int nr) -> int {
            const int slot = (int)(it % (uint32_t)n_slots);
            if (it >= (uint32_t)n_slots) mbar_wait(&empty[slot], ((it / (uint32_t)n_slots) - 1u) & 1u);
            slot_row[slot] = row0;
            slot_nr[slot] = nr;
            it++;
            return slot;
        };
        unsigned unit = atomicAdd(&ctr[0], 1u);
        while (unit < units) {
            const unsigned next = atomicAdd(&ctr[0], 1u);
            for (int u = 0; u < U; u++) {
                const int row0 = (int)(unit * rows_per_unit) + u * R;
                if (row0 >= N) break;
                const int nr = min(R, N - row0);
                const int slot = take_slot(row0, nr);
                char *dst = slots + (size_t)slot * slot_bytes;
                const uint32_t bytes = (uint32_t)(nr * row_bytes);
                mbar_expect_tx(&full[slot], EPI == GB_SWIGLU ? 2 * bytes : bytes);
                bulk_copy(dst, W + (size_t)row0 * K, bytes, &full[slot]);
                if (EPI == GB_SWIGLU) bulk_copy(dst + bytes, W + ((size_t)N + row0) * K, bytes, &full[slot]);
            }
            unit = next;
        }
        mbar_arrive(&full[take_slot(-1, 0)]);   // the end mark
        __threadfence();
        if (atomicAdd(&ctr[1], 1u) == gridDim.x - 1) { ctr[0] = 0u; ctr[1] = 0u; } // every claim is made: reset for the next launch
        return;
    }
    pdl_enter();
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31, kv = K / 8;
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
    uint32_t it = 0, seq = 0;   // slots and rows consumed
    for (;; it++) {
        const int slot = (int)(it % (uint32_t)n_slots);
        mbar_wait(&full[slot], (it / (uint32_t)n_slots) & 1u);
        const int row0 = slot_row[slot], nr = slot_nr[slot];
        if (row0 < 0) break;
        const uint4 *ws = reinterpret_cast<const uint4 *>(slots + (size_t)slot * slot_bytes);
        // row i of the slot is warp (seq + i) % 8's: the rows spread over the warps whatever the
        // slot size
        for (int i = (int)((w - seq % GB_CW + GB_CW) % GB_CW); i < nr; i += GB_CW) {
            const float v = bulk_row_dot<T>(ws + (size_t)i * kv, x4, kv, lane);
            if (EPI == GB_SWIGLU) {   // gate and up rounded to T as the unfused path stores them
                const float u = bulk_row_dot<T>(ws + (size_t)(nr + i) * kv, x4, kv, lane);
                const float gf = TT<T>::f(TT<T>::mk(v)), uf = TT<T>::f(TT<T>::mk(u));
                if (lane == 0) reinterpret_cast<T *>(y)[row0 + i] = TT<T>::mk(gf / (1.0f + expf(-gf)) * uf);
            } else if (EPI == GB_OUT_F32) {
                float *yf = reinterpret_cast<float *>(y);
                if (lane == 0) yf[row0 + i] = beta != 0.f ? v + beta * yf[row0 + i] : v;
            } else {
                if (lane == 0) reinterpret_cast<T *>(y)[row0 + i] = TT<T>::mk(v);
            }
        }
        seq += (uint32_t)nr;
        __syncwarp();
        if (lane == 0) mbar_arrive(&empty[slot]);
    }
#endif
}

// ---------------------------------------------------------------------------------------------
// launcher

// the timing knobs, read from the environment once (a positive integer, else the default)
typedef struct { int ring_kb, slot_kb, unit, pad_kb; } gb_knobs;
static int gb_env_int(const char *name, int def) {
    const char *e = getenv(name);
    const int v = e && *e ? atoi(e) : 0;
    return v > 0 ? v : def;
}
static gb_knobs g_knobs;
static pthread_once_t g_knobs_once = PTHREAD_ONCE_INIT;   // rank threads of one process (test_tp)
static void gb_knobs_read(void) {
    g_knobs.ring_kb = gb_env_int("LF_CUDA_BULK_RING_KB", GB_RING_KB);
    g_knobs.slot_kb = gb_env_int("LF_CUDA_BULK_SLOT_KB", GB_SLOT_KB);
    g_knobs.unit = gb_env_int("LF_CUDA_BULK_UNIT", GB_UNIT_SLOTS);
    g_knobs.pad_kb = gb_env_int("LF_CUDA_BULK_PAD_KB", 0);
}
static const gb_knobs *gb_knobs_get(void) {
    pthread_once(&g_knobs_once, gb_knobs_read);
    return &g_knobs;
}

typedef struct { int blocks, R, U, n_slots, slot_bytes, smem; } gb_plan;
// the grid and the ring for N rows (SwiGLU: features, a gate and an up row each) of K elements
// of es bytes; 0 with *why when the kernel does not apply
static int gb_make_plan(const bulk_device *d, int N, int K, int es, int swiglu, gb_plan *p, const char **why) {
    if (K <= 0 || K % 8) { *why = "K is not a multiple of 8"; return 0; }
    const long long row = (long long)K * es * (swiglu ? 2 : 1);   // bytes per row (SwiGLU: per feature)
    const gb_knobs *kn = gb_knobs_get();
    const int ring = kn->ring_kb * 1024, target = kn->slot_kb * 1024;
    int R = (int)(target / row);
    if (R < 1) R = 1;
    const long long slot = (R * row + 127) / 128 * 128;
    int ns = (int)(ring / slot);
    if (ns > GB_SLOTS_MAX) ns = GB_SLOTS_MAX;
    if (ns < 2) { *why = "a row is longer than half the ring"; return 0; }
    p->R = R;
    p->U = kn->unit;
    const long long units = ((long long)N + (long long)R * p->U - 1) / ((long long)R * p->U);
    p->blocks = units < d->sms ? (int)units : d->sms;
    p->n_slots = ns;
    p->slot_bytes = (int)slot;
    p->smem = GB_HEAD + ns * (int)slot + kn->pad_kb * 1024;   // the pad: to compare fewer blocks per SM
    if (p->smem > d->smem_optin) { *why = "the ring does not fit in shared memory"; return 0; }
    return 1;
}

extern "C" int lf_cuda_gemv_bulk_supported(int M, int K) {
    bulk_device d;
    gb_plan p;
    const char *why;
    return M == 1 && bulk_device_info(&d) && gb_make_plan(&d, 1, K, 2, 0, &p, &why);
}

// copies before the PDL wait (LF_CUDA_BULK_EARLY=0 off, to compare)
static int g_bulk_early = -1;
static int bulk_early(void) { return env_switch(&g_bulk_early, "LF_CUDA_BULK_EARLY"); }

template <typename T, int EPI>
static cudaError_t gb_launch(const void *x, const void *W, void *y, float beta, int N, int K, const gb_plan *p, unsigned *ctr,
                             cudaStream_t st) {
    // per device and cheap: set at every launch (no stream work, so also while a graph is captured)
    const cudaError_t e = cudaFuncSetAttribute(gemv_bulk_kernel<T, EPI>, cudaFuncAttributeMaxDynamicSharedMemorySize, p->smem);
    if (e != cudaSuccess) return e;
    LF_LAUNCH((gemv_bulk_kernel<T, EPI>), p->blocks, GB_THREADS, p->smem, st, (const T *)x, (const T *)W, y, beta, N, K, p->R, p->U,
              p->n_slots, p->slot_bytes, ctr, bulk_early());
    return cudaGetLastError();
}

static lf_status gemv_bulk_run(lf_dtype dt, const void *x, const void *W, void *y, int epi, float beta, int N, int K, unsigned *ctr,
                               cudaStream_t st) {
    const char *what = epi == GB_SWIGLU ? "CUDA gemv_bulk (swiglu)" : "CUDA gemv_bulk";
    if (N <= 0) return LINFER_OK;
    if (!ctr) return lf_fail(LINFER_ERR_INVALID_ARG, "%s: no work counter", what);
    if (((uintptr_t)x | (uintptr_t)W) & 15) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: x and W must be 16-byte aligned", what);
    bulk_device d;
    if (!bulk_device_info(&d)) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: needs a GPU of compute capability 9.0 or later", what);
    gb_plan p;
    const char *why = "";
    if (!gb_make_plan(&d, N, K, 2, epi == GB_SWIGLU, &p, &why)) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: N %d, K %d: %s", what, N, K, why);
    cudaError_t e;
#define GB_GO(E) (dt == LF_DT_F16 ? gb_launch<__half, E>(x, W, y, beta, N, K, &p, ctr, st) : gb_launch<__nv_bfloat16, E>(x, W, y, beta, N, K, &p, ctr, st))
    if (dt != LF_DT_F16 && dt != LF_DT_BF16) return lf_fail(LINFER_ERR_UNSUPPORTED, "%s: dtype %s (want F16 or BF16)", what, lf_dtype_name(dt));
    if (epi == GB_SWIGLU) e = GB_GO(GB_SWIGLU);
    else if (epi == GB_OUT_F32) e = GB_GO(GB_OUT_F32);
    else e = GB_GO(GB_OUT_T);
#undef GB_GO
    if (e != cudaSuccess) return lf_fail(LINFER_ERR_DEVICE, "%s: launch of gemv_bulk_kernel (N %d, K %d): %s", what, N, K, cudaGetErrorString(e));
    return LINFER_OK;
}

extern "C" lf_status lf_cuda_gemv_bulk(lf_dtype dt, const void *x, const void *W, void *y, int y_f32, float beta, int N, int K,
                                       unsigned *ctr, cudaStream_t st) {
    if (!y_f32 && beta != 0.f) return lf_fail(LINFER_ERR_INVALID_ARG, "CUDA gemv_bulk: beta != 0 needs an fp32 output");
    return gemv_bulk_run(dt, x, W, y, y_f32 ? GB_OUT_F32 : GB_OUT_T, beta, N, K, ctr, st);
}

extern "C" lf_status lf_cuda_gemv_bulk_swiglu(lf_dtype dt, const void *x, const void *Wgu, void *act, int ffn, int K, unsigned *ctr,
                                              cudaStream_t st) {
    return gemv_bulk_run(dt, x, Wgu, act, GB_SWIGLU, 0.f, ffn, K, ctr, st);
}
