/* rope_angle.h — the RoPE angle of pair i at position pos, exactly as the CPU reference
 * (lf_cpu_rope in src/cpu/kernels.c) forms it, for host and device code:
 *   LF_ROPE_NEOX (HF checkpoints): one fp32 product pos * inv_freq[i], as HF does;
 *   LF_ROPE_INTERLEAVED (GGUF):    llama.cpp's pos * r^i by i repeated fp32 multiplications of
 *                                  theta0 = pos * inv_freq[0] by r = inv_freq[1] / inv_freq[0]
 *                                  (so per-pair rope scaling is not applied to GGUF-style models).
 * Every operation is a single IEEE fp32 multiply or divide (no FMA contraction possible), so
 * host and device give bit-identical angles. */
#ifndef LF_ROPE_ANGLE_H
#define LF_ROPE_ANGLE_H
#if defined(__CUDACC__)
#define LF_RA_HD __host__ __device__
#else
#define LF_RA_HD
#endif

static inline LF_RA_HD float lf_rope_angle(int pos, int i, int half, const float *inv_freq, int interleaved) {
    if (!interleaved) return (float)pos * inv_freq[i];
    float theta = (float)pos * inv_freq[0];
    const float r = half > 1 ? inv_freq[1] / inv_freq[0] : 0.0f;
    for (int k = 0; k < i; k++) theta *= r;
    return theta;
}

#undef LF_RA_HD
#endif
