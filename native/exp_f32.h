/*
 * exp_f32.h - the float32 exponential that every softviz kernel shares.
 *
 * exp(x) = p * 2^n with n = round(x * log2 e) and p = exp(r), r = x - n ln 2 in
 * [-ln2/2, ln2/2], so p lies in [sqrt(1/2), sqrt(2)].  This is the split of
 * Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020, arXiv:2001.04438):
 * the two-pass kernel keeps (p, n) apart; the other kernels multiply them back.
 *
 * Everything here is branch-free and written so that gcc vectorizes it inside
 * `#pragma omp simd` loops (no libm calls, no integer conversions that AVX2 lacks).
 */
#ifndef SOFTVIZ_EXP_F32_H
#define SOFTVIZ_EXP_F32_H

#include <stdint.h>

#define SVF32_LOG2E 0x1.715476p+0f
/* ln 2 split Cody-Waite style.  LN2_HI has 11 significant bits, so n * LN2_HI is
 * exact for |n| < 2^13 (|x| < ~5677): the reduction x - n*LN2_HI is then exact too. */
#define SVF32_LN2_HI 0x1.63p-1f
#define SVF32_LN2_LO -0x1.bd0106p-13f
/* (v + MAGIC) - MAGIC rounds v to an integer (ties to even) for |v| < 2^22. */
#define SVF32_MAGIC 0x1.8p23f
/* Largest |n| for which the reduction above is exact. */
#define SVF32_NEXACT 8191.0f

typedef union { float f; uint32_t u; } sv_f32bits;

static inline float sv_round_f32(float v)
{
    return (v + SVF32_MAGIC) - SVF32_MAGIC;
}

/* p(r) ~ exp(r) on [-ln2/2, ln2/2] as 1 + r (1 + r q(r)), q of degree 3: a minimax fit of
 * the relative error (1.05e-7, below one float ulp); about 2 ulp after rounding.  Degree 5
 * is the lowest that keeps softmax within the 1e-6 accuracy target, and every kernel
 * (portable, AVX2, AVX-512) uses these same coefficients. */
#define SVF32_C5 0x1.106294p-7f
#define SVF32_C4 0x1.5729fap-5f
#define SVF32_C3 0x1.5557aep-3f
#define SVF32_C2 0x1.fffdfcp-2f

static inline float sv_poly_f32(float r)
{
    float p = SVF32_C5;
    p = p * r + SVF32_C4;
    p = p * r + SVF32_C3;
    p = p * r + SVF32_C2;
    p = p * r + 1.0f;
    return p * r + 1.0f;
}

/* 2^k for an integer-valued k <= 0 (every caller passes an exponent difference that
 * is <= 0 by construction, so only the lower clamp is paid for).  Below -126 it
 * comes out as 0, which flushes results that would be subnormal.  NaN gives some
 * finite value: callers always multiply it by a NaN mantissa, which keeps the NaN. */
static inline float sv_pow2i_f32(float k)
{
    sv_f32bits v;
    k = k < -127.0f ? -127.0f : k;
    /* the low mantissa bits of (k + 1.5*2^23 + 127) hold k + 127; shifting them into
     * the exponent field builds 2^k without a float-to-int conversion */
    v.f = k + (SVF32_MAGIC + 127.0f);
    v.u <<= 23;
    return v.f;
}

/* The (mantissa, exponent) split: *n = round(x log2 e), returns p = exp(x - n ln 2). */
static inline float sv_split_f32(float x, float *n)
{
    float k = sv_round_f32(x * SVF32_LOG2E);
    float r = x - k * SVF32_LN2_HI;
    r = r - k * SVF32_LN2_LO;
    *n = k;
    return sv_poly_f32(r);
}

/* exp(t) for t <= 0 (the shifted logits of the three-pass and online kernels; the
 * shift is the row maximum, so t > 0 does not occur).  -inf gives 0, NaN stays NaN,
 * results below the normal range flush to 0. */
static inline float sv_expneg_f32(float t)
{
    float n, p;
    t = t < -104.0f ? -104.0f : t;
    p = sv_split_f32(t, &n);
    return p * sv_pow2i_f32(n);
}

#endif
