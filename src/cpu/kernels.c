/* kernels.c — CPU reference kernels in fp32 (see kernels.h for the contract of each). */
#include "kernels.h"
#include <cblas.h>
#include <omp.h>
#include <float.h>
#include <math.h>
#include <string.h>

void lf_cpu_rmsnorm(float *out, const float *x, const float *w, int rows, int n, float eps) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *o = out + (size_t)r * n;
        double ss = 0.0;
        for (int i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) o[i] = xr[i] * inv * w[i];
    }
}

/* OpenBLAS runs single-threaded (see lf_cpu_blas_single_thread); the output columns are split
 * over the OpenMP threads instead, so one thread pool serves the whole backend and the two
 * pools never spin against each other. */
void lf_cpu_linear(float *y, const float *x, const float *W, const float *bias, int M, int N, int K) {
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int chunk = (N + nt - 1) / nt, n0 = t * chunk, n1 = n0 + chunk < N ? n0 + chunk : N;
        if (n1 > n0) {
            if (M == 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, n1 - n0, K, 1.0f, W + (size_t)n0 * K, K, x, 1, 0.0f, y + n0, 1);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n1 - n0, K, 1.0f, x, K, W + (size_t)n0 * K, K, 0.0f, y + n0, N);
        }
    }
    if (bias)
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) y[(size_t)m * N + n] += bias[n];
}

void lf_cpu_blas_single_thread(void) { openblas_set_num_threads(1); }

void lf_rope_inv_freq(const lf_config *cfg, float *inv_freq) {
    int half = cfg->head_dim / 2;
    for (int i = 0; i < half; i++) {
        double f = 1.0 / pow((double)cfg->rope_theta, (2.0 * i) / cfg->head_dim);
        /* HF computes base ** (arange(0, d, 2) / d) in fp32; keep fp32 rounding of the result */
        f = (float)f;
        if (cfg->rope_scaling == LF_ROPE_SCALING_LINEAR && cfg->rope_factor > 0) f /= cfg->rope_factor;
        else if (cfg->rope_scaling == LF_ROPE_SCALING_LLAMA3) {
            /* llama3: long wavelengths scaled by 1/factor, short kept, smooth blend between */
            double lo = cfg->rope_low_freq_factor, hi = cfg->rope_high_freq_factor, factor = cfg->rope_factor;
            double old_ctx = cfg->rope_orig_context;
            double low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
            double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) f = f / factor;
            else if (wavelen >= high_wavelen) {
                double smooth = (old_ctx / wavelen - lo) / (hi - lo);
                f = (1.0 - smooth) * f / factor + smooth * f;
            }
        }
        inv_freq[i] = (float)f;
    }
}

void lf_cpu_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq, lf_rope_style style) {
    int half = head_dim / 2;
    /* GGUF models: angles as llama.cpp forms them, pos · r^i by repeated fp32 multiplication with
     * r = inv_freq[1] / inv_freq[0] (= theta^(-2/d)); HF models: pos · inv_freq[i], one fp32
     * product, as HF. (GGUF files carry no llama3 scaling, so the ratio is constant there.) */
    float theta = (float)pos * inv_freq[0], r = half > 1 ? inv_freq[1] / inv_freq[0] : 0.0f;
    for (int i = 0; i < half; i++) {
        float ang = style == LF_ROPE_INTERLEAVED ? theta : (float)pos * inv_freq[i];
        theta *= r;
        float c = cosf(ang), s = sinf(ang);
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            int a = style == LF_ROPE_NEOX ? i : 2 * i;
            int b = style == LF_ROPE_NEOX ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

void lf_cpu_softmax(float *x, int n) {
    float mx = -FLT_MAX;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void lf_cpu_round_f16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = lf_f16_to_f32(lf_f32_to_f16(x[i]));
}

/* one token's attention; f16: round q and the probabilities to fp16 (see lf_cpu_attention_f16) */
static void attention(float *out, const float *q, const float *k, const float *v, int n_ctx, int kv_stride,
                      int n_heads, int n_kv_heads, int head_dim, float scale, float *att, int f16) {
    int group = n_heads / n_kv_heads;
    float qh[1024]; /* head_dim <= 1024 (lf_config_validate) */
    for (int h = 0; h < n_heads; h++) {
        memcpy(qh, q + (size_t)h * head_dim, sizeof(float) * head_dim);
        if (f16) lf_cpu_round_f16(qh, head_dim);
        int kvh = h / group;
        for (int t = 0; t < n_ctx; t++) {
            const float *kt = k + (size_t)t * kv_stride + (size_t)kvh * head_dim;
            float s = 0.0f;
            for (int d = 0; d < head_dim; d++) s += qh[d] * kt[d];
            att[t] = s * scale;
        }
        lf_cpu_softmax(att, n_ctx);
        if (f16) lf_cpu_round_f16(att, n_ctx);
        float *oh = out + (size_t)h * head_dim;
        memset(oh, 0, sizeof(float) * head_dim);
        for (int t = 0; t < n_ctx; t++) {
            const float *vt = v + (size_t)t * kv_stride + (size_t)kvh * head_dim;
            float a = att[t];
            for (int d = 0; d < head_dim; d++) oh[d] += a * vt[d];
        }
    }
}

void lf_cpu_attention(float *out, const float *q, const float *k, const float *v, int n_ctx,
                      int kv_stride, int n_heads, int n_kv_heads, int head_dim, float scale,
                      float *att) {
    attention(out, q, k, v, n_ctx, kv_stride, n_heads, n_kv_heads, head_dim, scale, att, 0);
}

void lf_cpu_attention_f16(float *out, const float *q, const float *k, const float *v, int n_ctx,
                          int kv_stride, int n_heads, int n_kv_heads, int head_dim, float scale,
                          float *att) {
    attention(out, q, k, v, n_ctx, kv_stride, n_heads, n_kv_heads, head_dim, scale, att, 1);
}

void lf_cpu_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void lf_cpu_add(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

int lf_cpu_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
