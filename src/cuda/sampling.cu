// sampling.cu — temperature / top-k / top-p sampling on the GPU, one block per logits row, so
// that only the token ids cross to the host (issue 4: "lm_head with on-GPU argmax/top-k sampling").
//
// The rule is the host sampler's (src/engine/sampling.c, lf_sample_u): with s = (logit - max) /
// temperature, candidates are ordered by s descending, ties by id ascending; the kept set is the
// first top_k of that order, then its shortest prefix whose mass reaches top_p (of the kept mass
// with top_k, of the whole mass without); the draw u in [0, 1) picks the first kept candidate, in
// that order, whose cumulative mass exceeds u times the kept mass. With neither filter the walk is
// in index order, as the host's.
//
// How, without sorting the vocabulary (the row is overwritten with s on the way):
//  1. the maximum; then s, the total mass, and (with a filter) a histogram of the candidates'
//     count over the top 8 bits of their order key (the float's bits made monotone), which says
//     which leading digits hold the first top_k candidates, or the first SAMP_CAP;
//  2. short path — those candidates, when at most SAMP_CAP: gathered into shared memory, sorted
//     (bitonic, 64-bit keys that carry the id, so the order is total), and the host's arithmetic
//     done on them (float expf, double prefix sums); top_p alone must end inside them;
//  3. long path — otherwise (near-flat distributions, where top_p keeps most of the vocabulary;
//     top_k above SAMP_CAP): masses as integers q = floor(expf(s) * 2^40) (s <= 0, so q <= 2^40;
//     sums are exact in any order), and each "first candidate in order whose cumulative weight
//     reaches t" by a radix descent over the order key (8 bits per pass, a weight histogram per
//     digit among the candidates sharing the digits found so far), the rank among equal keys then
//     found in id order by a tiled scan; with neither filter, the index-order walk is that tiled
//     scan of the masses.
// One block per row, so a row's sweeps run on one SM: H200, 23c, near-flat logits: 32000 entries
// top_k 40 29 us, temperature alone 25 us, top_p 0.9 alone (long path) 147 us; 128256 entries 84,
// 87 and 485 us (the argmax: 5 and 7 us). docs/performance.md has the end-to-end figures.
// Against the host sampler with the same u: the same token, except within ~1e-7 of a boundary (the
// device's expf is within 2 ulp of glibc's; the long path drops masses below 2^-40 of the
// largest) — tests/cuda/test_cuda_kernels.c checks exactly that, on both paths.
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "kernel_launch.h"
#include "kernel_math.h"

#define SAMP_THREADS 512
#define SAMP_WARPS (SAMP_THREADS / 32)
#define SAMP_BINS 256
#define SAMP_COPIES 8   // private histogram copies (two warps share one: fewer same-address atomics)
#define SAMP_CAP 2048   // candidates the short path sorts (= 4 per thread)
#define SAMP_TILE 2048  // the long path's index-order scan: elements per tile (4 per thread)
#define SAMP_UNROLL 4   // float4 loads in flight per thread in a sweep of the row
// Histogram masses are summed as three 14-bit parts in 32-bit counters (64-bit shared-memory
// atomics are compare-and-swap loops: measured 5 ns per element under contention, 23b); a part's
// sum stays below 2^32 while a copy sees fewer than 2^18 elements, so the vocabulary is capped.
#define SAMP_MAX_VOCAB (SAMP_COPIES << 18)
typedef unsigned long long u64;

// A prefix of the candidate order: every candidate with key > key, or key == key and id <= id.
typedef struct { unsigned key; int id; } samp_cut;

typedef struct {
    union {
        unsigned h[3][SAMP_COPIES][SAMP_BINS];                                               // histograms
        struct { u64 key[SAMP_CAP]; double cum[SAMP_CAP]; } l;                               // short path
        u64 tile[SAMP_CAP];                                                                  // tile sums
    } u;
    u64 tot[SAMP_BINS];      // merged histograms: mass (integer) and count per digit
    unsigned tcnt[SAMP_BINS];
    u64 part[33];            // block reductions (block_sum: [33]) and scans
    double dpart[33];
    float fpart[SAMP_WARPS];
    int ipart[SAMP_WARPS];
    unsigned bucket;         // digit chosen by the last pass, and the weight before it
    u64 before;
    int found, count;
} samp_smem;

// Order key of s: larger s, larger key; NaN below everything.
__device__ __forceinline__ unsigned samp_key(float s) {
    if (s != s) return 0u;
    const unsigned b = __float_as_uint(s);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float samp_key_value(unsigned k) { return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k); }
// The host's mass of s: expf(s) (0 for -inf and NaN), and the long path's integer one
__device__ __forceinline__ float samp_p(float s) { const float p = expf(s); return p > 0.0f ? p : 0.0f; }
__device__ __forceinline__ u64 samp_q(float p) { return __float2ull_rz(p * 1099511627776.0f); }
__device__ __forceinline__ int samp_kept(unsigned k, int i, samp_cut c) { return k > c.key || (k == c.key && i <= c.id); }

// Runs the statements after (row, n) for every element of row[0, n), with `const float x` (the
// value) and `const int i` (its index) in scope. Each thread takes float4s SAMP_THREADS apart,
// SAMP_UNROLL of them loaded before any is used (the row comes from L2: latency, not bandwidth).
#define SAMP_EACH4(v, b, ...)                                                                      \
    { const float x = (v).x; const int i = (b); __VA_ARGS__; }                                     \
    { const float x = (v).y; const int i = (b) + 1; __VA_ARGS__; }                                 \
    { const float x = (v).z; const int i = (b) + 2; __VA_ARGS__; }                                 \
    { const float x = (v).w; const int i = (b) + 3; __VA_ARGS__; }
#define SAMP_SWEEP(row, n, ...)                                                                    \
    do {                                                                                           \
        const float *r_ = (row);                                                                   \
        const int n_ = (n);                                                                        \
        int t_ = 0;                                                                                \
        if (!((uintptr_t)r_ & 15)) {                                                               \
            const float4 *r4_ = (const float4 *)r_;                                                \
            const int n4_ = n_ >> 2;                                                               \
            int j_ = threadIdx.x;                                                                  \
            for (; j_ + (SAMP_UNROLL - 1) * SAMP_THREADS < n4_; j_ += SAMP_UNROLL * SAMP_THREADS) { \
                float4 v_[SAMP_UNROLL];                                                            \
                _Pragma("unroll") for (int u_ = 0; u_ < SAMP_UNROLL; u_++) v_[u_] = r4_[j_ + u_ * SAMP_THREADS]; \
                _Pragma("unroll") for (int u_ = 0; u_ < SAMP_UNROLL; u_++) {                       \
                    SAMP_EACH4(v_[u_], 4 * (j_ + u_ * SAMP_THREADS), __VA_ARGS__)                  \
                }                                                                                  \
            }                                                                                      \
            for (; j_ < n4_; j_ += SAMP_THREADS) {                                                 \
                const float4 w_ = r4_[j_];                                                         \
                SAMP_EACH4(w_, 4 * j_, __VA_ARGS__)                                                \
            }                                                                                      \
            t_ = n4_ << 2;                                                                         \
        }                                                                                          \
        for (int k_ = t_ + (int)threadIdx.x; k_ < n_; k_ += SAMP_THREADS) {                        \
            const float x = r_[k_];                                                                \
            const int i = k_;                                                                      \
            __VA_ARGS__;                                                                           \
        }                                                                                          \
    } while (0)

template <typename W> __device__ __forceinline__ W warp_incl_scan(W v) {
    const int lane = threadIdx.x & 31;
    for (int o = 1; o < 32; o <<= 1) {
        const W x = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += x;
    }
    return v;
}
// exclusive prefix sum over the threads of the block (in thread order)
template <typename W> __device__ W block_excl_scan(W v, W *part) {
    const W incl = warp_incl_scan(v);
    const int w = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 31) part[w] = incl;
    __syncthreads();
    W off = 0;
    for (int j = 0; j < w; j++) off += part[j];
    __syncthreads();
    return off + incl - v;
}

// Warp 0: the first of n weights w[n-1], w[n-2], ... (descending index: digits in key order) or
// w[0], w[1], ... (ascending: tiles in index order) whose running sum reaches t (1 <= t <= the
// sum); its index to sh->bucket, the sum before it to sh->before. Lane L takes a run of
// ceil(n / 32) entries.
__device__ void warp0_reach(const u64 *w, int n, int descending, u64 t, samp_smem *sh) {
    const int lane = threadIdx.x & 31, per = (n + 31) / 32;
    u64 ls = 0;
    for (int j = 0; j < per; j++) {
        const int k = lane * per + j;
        if (k < n) ls += w[descending ? n - 1 - k : k];
    }
    const u64 incl = warp_incl_scan(ls);
    const unsigned hit = __ballot_sync(0xffffffffu, incl >= t);
    const int L = hit ? __ffs(hit) - 1 : 31; // t within the sum: some lane reaches it
    if (lane == L) {
        u64 a = incl - ls;
        int k = lane * per, last = k + per - 1 < n - 1 ? k + per - 1 : n - 1;
        for (; k < last && a + w[descending ? n - 1 - k : k] < t; k++) a += w[descending ? n - 1 - k : k];
        sh->bucket = (unsigned)(descending ? n - 1 - k : k);
        sh->before = a;
    }
}

// Weight of element (x, i) in an index-order scan: its integer mass (mode 0), or 1 when it is a
// kept candidate with key key_eq (mode 1: the tie group of a radix descent).
__device__ __forceinline__ u64 scan_weight(float x, int i, int mode, unsigned key_eq, samp_cut kc) {
    if (mode == 0) return samp_q(samp_p(x));
    const unsigned k = samp_key(x);
    return k == key_eq && samp_kept(k, i, kc);
}

// The first index i whose inclusive cumulative weight, in index order, reaches t (1 <= t <= the
// total): per-tile sums of SAMP_TILE elements (warp sums, one atomic per warp and float4 slot),
// the tile reaching t, then a block scan inside it.
__device__ int index_order_select(const float *s, int V, int mode, unsigned key_eq, samp_cut kc, u64 t, samp_smem *sh) {
    const int tid = threadIdx.x, lane = tid & 31, nt = (V + SAMP_TILE - 1) / SAMP_TILE;
    for (int j = tid; j < nt; j += SAMP_THREADS) sh->u.tile[j] = 0;
    __syncthreads();
    // each warp's 32 lanes read 32 consecutive float4s (or floats): always inside one tile
    if (!((uintptr_t)s & 15)) {
        const int n4 = V >> 2, full = (n4 + 31) & ~31;
        for (int j = tid; j < full; j += SAMP_THREADS) {
            u64 w = 0;
            if (j < n4) {
                const float4 v = reinterpret_cast<const float4 *>(s)[j];
                w = scan_weight(v.x, 4 * j, mode, key_eq, kc) + scan_weight(v.y, 4 * j + 1, mode, key_eq, kc) +
                    scan_weight(v.z, 4 * j + 2, mode, key_eq, kc) + scan_weight(v.w, 4 * j + 3, mode, key_eq, kc);
            }
            w = warp_sum(w);
            if (lane == 0 && w) atomicAdd(&sh->u.tile[(4 * (j - lane)) / SAMP_TILE], w);
        }
        for (int i = 4 * n4 + tid; i < V; i += SAMP_THREADS) {
            const u64 w = scan_weight(s[i], i, mode, key_eq, kc);
            if (w) atomicAdd(&sh->u.tile[i / SAMP_TILE], w);
        }
    } else {
        const int full = (V + 31) & ~31;
        for (int i = tid; i < full; i += SAMP_THREADS) {
            u64 w = i < V ? scan_weight(s[i], i, mode, key_eq, kc) : 0;
            w = warp_sum(w);
            if (lane == 0 && w) atomicAdd(&sh->u.tile[(i - lane) / SAMP_TILE], w);
        }
    }
    __syncthreads();
    if (tid < 32) warp0_reach(sh->u.tile, nt, 0, t, sh);
    if (tid == 0) sh->found = V - 1;
    __syncthreads();
    const int t0 = (int)sh->bucket * SAMP_TILE;
    const u64 rem = t - sh->before;
    u64 w[4], mine = 0;
    for (int e = 0; e < 4; e++) {
        const int i = t0 + 4 * tid + e;
        w[e] = i < V ? scan_weight(s[i], i, mode, key_eq, kc) : 0;
        mine += w[e];
    }
    u64 a = block_excl_scan<u64>(mine, sh->part);
    if (a < rem && a + mine >= rem)
        for (int e = 0; e < 4; e++) {
            a += w[e];
            if (a >= rem) { sh->found = t0 + 4 * tid + e; break; }
        }
    __syncthreads();
    const int id = sh->found;
    __syncthreads();
    return id;
}

// Long path: the first kept candidate (kept: the prefix kc of the order), in order, whose
// inclusive cumulative weight reaches t (1 <= t <= the kept weight); weight: integer mass
// (by_mass) or 1. The descent starts at digit shift `shift` with the digits above it known (pre);
// acc: the weight before them. Returns the prefix ending at the candidate; *before: the kept
// weight before it, *w: its own.
__device__ samp_cut order_select(const float *s, int V, samp_cut kc, int by_mass, u64 t, int shift, unsigned pre, u64 acc, u64 *before,
                                 u64 *w, samp_smem *sh) {
    const int tid = threadIdx.x;
    unsigned msk = shift >= 24 ? 0u : ~0u << (shift + 8);
    for (; shift >= 0; shift -= 8) {
        unsigned *flat = &sh->u.h[0][0][0];
        for (int j = tid; j < 3 * SAMP_COPIES * SAMP_BINS; j += SAMP_THREADS) flat[j] = 0;
        __syncthreads();
        unsigned *h0 = sh->u.h[0][tid >> 6], *h1 = sh->u.h[1][tid >> 6], *h2 = sh->u.h[2][tid >> 6];
        SAMP_SWEEP(s, V, {
            const unsigned k = samp_key(x);
            if ((k & msk) == pre && samp_kept(k, i, kc)) {
                const unsigned b = (k >> shift) & 255u;
                if (!by_mass) {
                    atomicAdd(&h0[b], 1u);
                } else {
                    const u64 q = samp_q(samp_p(x));
                    if (q & 0x3fffu) atomicAdd(&h0[b], (unsigned)(q & 0x3fffu));
                    if ((q >> 14) & 0x3fffu) atomicAdd(&h1[b], (unsigned)((q >> 14) & 0x3fffu));
                    if (q >> 28) atomicAdd(&h2[b], (unsigned)(q >> 28));
                }
            }
        });
        __syncthreads();
        for (int b = tid; b < SAMP_BINS; b += SAMP_THREADS) {
            u64 a = 0;
            for (int c = 0; c < SAMP_COPIES; c++)
                a += (u64)sh->u.h[0][c][b] + ((u64)sh->u.h[1][c][b] << 14) + ((u64)sh->u.h[2][c][b] << 28);
            sh->tot[b] = a;
        }
        __syncthreads();
        if (tid < 32) warp0_reach(sh->tot, SAMP_BINS, 1, t, sh);
        __syncthreads();
        const unsigned b = sh->bucket;
        t -= sh->before;
        acc += sh->before;
        pre |= b << shift;
        msk |= 255u << shift;
        __syncthreads();
    }
    // the candidates with key pre have the same weight wk; the one reached is the j-th by id
    const u64 wk = by_mass ? samp_q(samp_p(samp_key_value(pre))) : 1ull;
    const u64 j = wk ? (t + wk - 1) / wk : 1;
    samp_cut c;
    c.key = pre;
    c.id = index_order_select(s, V, 1, pre, kc, j, sh);
    *before = acc + (j - 1) * wk;
    *w = wk;
    return c;
}

// Short path: the m candidates of key digit >= b0 (a prefix of the order, m <= SAMP_CAP) sorted
// in shared memory, then the host's arithmetic. Returns the id, or -1 when top_p alone is not
// reached inside them (a sum at the boundary of the first pass's digit: the long path decides).
__device__ int short_path(const float *s, int V, unsigned b0, const lf_cuda_sampling *cfg, int use_k, int use_p, double total, double u,
                          samp_smem *sh) {
    const int tid = threadIdx.x;
    if (tid == 0) sh->count = 0;
    __syncthreads();
    SAMP_SWEEP(s, V, {
        const unsigned k = samp_key(x);
        if ((k >> 24) >= b0) {
            const int at = atomicAdd(&sh->count, 1);
            if (at < SAMP_CAP) sh->u.l.key[at] = ((u64)k << 32) | (u64)(0xffffffffu - (unsigned)i);
        }
    });
    __syncthreads();
    const int m = sh->count < SAMP_CAP ? sh->count : SAMP_CAP;
    int np = 1;
    while (np < m) np <<= 1;
    for (int j = m + tid; j < np; j += SAMP_THREADS) sh->u.l.key[j] = 0; // below every candidate
    __syncthreads();
    for (int k = 2; k <= np; k <<= 1) // bitonic sort, descending
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = tid; i < np; i += SAMP_THREADS) {
                const int p = i ^ j;
                if (p > i) {
                    const u64 a = sh->u.l.key[i], b = sh->u.l.key[p];
                    if ((i & k) == 0 ? a < b : a > b) { sh->u.l.key[i] = b; sh->u.l.key[p] = a; }
                }
            }
            __syncthreads();
        }
    // inclusive prefix sums (double) of the first mk masses, 4 consecutive per thread
    const int mk = use_k && cfg->top_k < m ? cfg->top_k : m;
    double p4[4], mine = 0;
    for (int e = 0; e < 4; e++) {
        const int j = 4 * tid + e;
        p4[e] = j < mk ? (double)samp_p(samp_key_value((unsigned)(sh->u.l.key[j] >> 32))) : 0.0;
        mine += p4[e];
    }
    double a = block_excl_scan<double>(mine, sh->dpart);
    for (int e = 0; e < 4; e++) {
        a += p4[e];
        if (4 * tid + e < mk) sh->u.l.cum[4 * tid + e] = a;
    }
    if (tid == 0) sh->found = 0x7fffffff;
    __syncthreads();
    int keep = mk;
    if (use_p) { // the shortest prefix whose mass reaches top_p
        const double sum = use_k ? sh->u.l.cum[mk - 1] : total;
        for (int j = tid; j < mk; j += SAMP_THREADS)
            if (sh->u.l.cum[j] / sum >= (double)cfg->top_p) atomicMin(&sh->found, j);
        __syncthreads();
        if (sh->found == 0x7fffffff) {
            if (!use_k) return -1;
        } else {
            keep = sh->found + 1;
        }
        __syncthreads();
        if (tid == 0) sh->found = 0x7fffffff;
        __syncthreads();
    }
    const double r = u * sh->u.l.cum[keep - 1];
    for (int j = tid; j < keep; j += SAMP_THREADS)
        if (sh->u.l.cum[j] > r) atomicMin(&sh->found, j);
    __syncthreads();
    const int j = sh->found == 0x7fffffff ? keep - 1 : sh->found;
    return (int)(0xffffffffu - (unsigned)sh->u.l.key[j]);
}

__global__ void __launch_bounds__(SAMP_THREADS)
sample_rows_kernel(float *__restrict__ logits, int V, const lf_cuda_sampling *__restrict__ cfgp, const double *__restrict__ u,
                   int32_t *__restrict__ out) {
    __shared__ samp_smem sh;
    pdl_enter();
    const int tid = threadIdx.x;
    float *s = logits + (size_t)blockIdx.x * V;
    const lf_cuda_sampling cfg = *cfgp;
    // the maximum, lowest index on ties (NaN never wins)
    float mx = -INFINITY;
    int mi = 0x7fffffff;
    SAMP_SWEEP(s, V, argmax_take(x, i, &mx, &mi));
    argmax_warp(&mx, &mi);
    if ((tid & 31) == 0) { sh.fpart[tid >> 5] = mx; sh.ipart[tid >> 5] = mi; }
    __syncthreads();
    mx = -INFINITY; mi = 0x7fffffff;
    for (int w = 0; w < SAMP_WARPS; w++) argmax_take(sh.fpart[w], sh.ipart[w], &mx, &mi);
    if (mi == 0x7fffffff) mi = 0;
    if (!(cfg.temperature > 0.0f) || !(mx > -INFINITY) || isinf(mx)) { // greedy; or no finite maximum to scale by
        if (tid == 0) out[blockIdx.x] = mi;
        return;
    }
    // s = (logit - max) / temperature in place (IEEE division, as the host), the total mass (the
    // host's in double, the integer one), and with a filter the candidates' count per leading 8
    // bits of the order key (lanes with the same digit add once: warp-aggregated)
    const int use_k = cfg.top_k > 0 && cfg.top_k < V, use_p = cfg.top_p < 1.0f, filtered = use_k || use_p;
    for (int j = tid; j < SAMP_COPIES * SAMP_BINS; j += SAMP_THREADS) sh.u.h[0][0][j] = 0;
    __syncthreads();
    unsigned *hc = sh.u.h[0][tid >> 6];
    double dsum = 0;
    u64 qsum = 0;
    SAMP_SWEEP(s, V, {
        const float y = __fdiv_rn(x - mx, cfg.temperature);
        s[i] = y;
        if (!use_k) { // (with top_k the masses are summed over the kept candidates only)
            const float p = samp_p(y);
            dsum += (double)p;
            qsum += samp_q(p);
        }
        if (filtered) {
            const unsigned b = samp_key(y) >> 24, grp = __match_any_sync(__activemask(), b);
            if ((tid & 31) == __ffs(grp) - 1) atomicAdd(&hc[b], (unsigned)__popc(grp));
        }
    });
    __syncthreads();
    for (int b = tid; b < SAMP_BINS; b += SAMP_THREADS) {
        unsigned c = 0;
        for (int k = 0; k < SAMP_COPIES; k++) c += sh.u.h[0][k][b];
        sh.tcnt[b] = c;
    }
    const double total = block_sum<double>(dsum, sh.dpart); // (its barriers also order the merge above)
    const u64 q_total = block_sum<u64>(qsum, sh.part);
    const double ud = u[blockIdx.x];
    if (!use_k && !use_p) { // index order: the first index whose cumulative mass exceeds floor(u * total)
        u64 r = (u64)(ud * (double)q_total);
        if (r >= q_total) r = q_total - 1;
        const samp_cut all = {0u, 0x7fffffff};
        const int id = index_order_select(s, V, 0, 0u, all, r + 1, &sh);
        if (tid == 0) out[blockIdx.x] = id;
        return;
    }
    // the window of leading digits for the short path: down to the digit of the top_k-th candidate
    // (top_k), or as far down as SAMP_CAP candidates reach (top_p alone: its prefix is then looked
    // for inside them)
    if (tid < 32)
        for (int b = tid; b < SAMP_BINS; b += 32) sh.u.tile[b] = sh.tcnt[b]; // as 64-bit weights
    __syncwarp();
    const u64 t0 = use_k ? (u64)cfg.top_k : SAMP_CAP + 1;
    if (tid < 32 && (use_k || V > SAMP_CAP)) warp0_reach(sh.u.tile, SAMP_BINS, 1, t0, &sh);
    __syncthreads();
    const unsigned bx = V > SAMP_CAP || use_k ? sh.bucket : 0u;
    const u64 before0 = sh.before;
    unsigned b0 = bx, n_in = 0;
    if (!use_k) b0 = V <= SAMP_CAP ? 0u : bx + 1; // bx: where SAMP_CAP + 1 are reached
    for (int b = (int)b0; b < SAMP_BINS; b++) n_in += sh.tcnt[b];
    __syncthreads();
    if (b0 < SAMP_BINS && n_in <= SAMP_CAP) {
        const int id = short_path(s, V, b0, &cfg, use_k, use_p, total, ud, &sh);
        if (id >= 0) {
            if (tid == 0) out[blockIdx.x] = id;
            return;
        }
        __syncthreads();
    }
    // long path: the first top_k (resuming the descent below the first digit) and their mass,
    // then the top_p prefix, then the draw, all in integer masses
    samp_cut kc = {0u, 0x7fffffff};
    u64 kept = q_total, before, w;
    if (use_k) {
        kc = order_select(s, V, kc, 0, t0 - before0, 16, bx << 24, before0, &before, &w, &sh);
        u64 q = 0;
        SAMP_SWEEP(s, V, if (samp_kept(samp_key(x), i, kc)) q += samp_q(samp_p(x)));
        kept = block_sum<u64>(q, sh.part);
    }
    if (use_p) {
        const double tp = ceil((double)cfg.top_p * (double)kept);
        u64 t = tp < 1.0 ? 1ull : (u64)tp;
        if (t > kept) t = kept;
        kc = order_select(s, V, kc, 1, t, 24, 0u, 0ull, &before, &w, &sh);
        kept = before + w;
    }
    u64 r = (u64)(ud * (double)kept);
    if (r >= kept) r = kept - 1;
    const int id = order_select(s, V, kc, 1, r + 1, 24, 0u, 0ull, &before, &w, &sh).id;
    if (tid == 0) out[blockIdx.x] = id;
}

extern "C" lf_status lf_cuda_sample_rows(float *logits, int rows, int vocab, const lf_cuda_sampling *cfg, const double *u, int32_t *out,
                                         cudaStream_t st) {
    if (rows <= 0 || vocab <= 0) return LINFER_OK;
    if (vocab > SAMP_MAX_VOCAB)
        return lf_fail(LINFER_ERR_UNSUPPORTED, "GPU sampling: vocabulary of %d entries (at most %d)", vocab, SAMP_MAX_VOCAB);
    LF_LAUNCH(sample_rows_kernel, rows, SAMP_THREADS, 0, st, logits, vocab, cfg, u, out);
    CUDA_CHECK_LAUNCH("sample_rows_kernel");
    return LINFER_OK;
}
