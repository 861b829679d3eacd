/*
 * kernels_avx512.c - the x86-64 AVX-512F kernel table (see kernels.h).
 *
 * The structure follows the kernels of Dukhan & Ablavatski, "The Two-Pass Softmax
 * Algorithm" (2020, arXiv:2001.04438): exp(x) = p 2^n with n = round(x log2 e) by one
 * rounding instruction (vrndscale), p from a degree-5 (float32) or degree-11 (float64)
 * polynomial of the Cody-Waite reduced argument, and 2^n applied by vscalef, which
 * handles the whole exponent range (underflow to 0 included) in one instruction.
 * Two-pass accumulators are (mantissa, exponent) vectors rescaled by vscalef.
 *
 * Beyond the paper's kernels: sums are folded into double accumulators every SV_BLOCK
 * elements (float32) or compensated (float64), so accuracy does not decay with the row
 * length, and the second pass divides by the sum through an FMA-corrected reciprocal,
 * so the quotient is correctly rounded.
 *
 * Intrinsics live only in the per-ISA files; each function is compiled for AVX-512F by
 * a target attribute, so the rest of the core keeps the baseline ISA and dispatch.c
 * decides at run time whether this table may be used.
 */
#include "kernels.h"

#if SV_HAVE_X86_KERNELS

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#include "exp_f32.h"
#include "exp_f64.h"

#define TGT __attribute__((target("avx512f,avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT
#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* ================================================================== float32 */

INL __mmask16 tail16(size_t k)
{
    return (__mmask16)((1u << k) - 1u);
}

/* p with exp(x) = p 2^n */
INL __m512 split_ps(__m512 x, __m512 *n)
{
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(SVF32_LOG2E)), RNE);
    __m512 t = _mm512_fnmadd_ps(k, _mm512_set1_ps(SVF32_LN2_HI), x);
    __m512 p = _mm512_set1_ps(SVF32_C5);
    t = _mm512_fnmadd_ps(k, _mm512_set1_ps(SVF32_LN2_LO), t);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SVF32_C4));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SVF32_C3));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(SVF32_C2));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.0f));
    *n = k;
    return p;
}

/* exp(t) for t <= 0; -inf gives 0 and NaN stays NaN (vmaxps returns its second operand
 * when either is NaN, so the data goes second) */
INL __m512 expneg_ps(__m512 t)
{
    __m512 n, p;
    t = _mm512_max_ps(_mm512_set1_ps(-104.0f), t);
    p = split_ps(t, &n);
    return _mm512_scalef_ps(p, n);
}

INL __m512d lo_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

INL __m512d hi_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

static TGT float max_f32(const float *x, size_t n)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
        m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16)
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    if (i < n)
        m1 = _mm512_max_ps(m1, _mm512_mask_loadu_ps(ninf, tail16(n - i), x + i));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

static TGT double sum_exp_f32(const float *x, float *y, size_t n, float shift)
{
    const __m512 s = _mm512_set1_ps(shift);
    __m512d d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 64 <= end; i += 64) {
            const __m512 e0 = expneg_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
            const __m512 e1 = expneg_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), s));
            const __m512 e2 = expneg_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), s));
            const __m512 e3 = expneg_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), s));
            if (y) {
                _mm512_storeu_ps(y + i, e0);
                _mm512_storeu_ps(y + i + 16, e1);
                _mm512_storeu_ps(y + i + 32, e2);
                _mm512_storeu_ps(y + i + 48, e3);
            }
            a0 = _mm512_add_ps(a0, e0);
            a1 = _mm512_add_ps(a1, e1);
            a2 = _mm512_add_ps(a2, e2);
            a3 = _mm512_add_ps(a3, e3);
        }
        for (; i < end; i += 16) {
            const __mmask16 k = end - i >= 16 ? (__mmask16)0xFFFF : tail16(end - i);
            const __m512 e = _mm512_maskz_mov_ps(k, expneg_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), s)));
            if (y)
                _mm512_mask_storeu_ps(y + i, k, e);
            a0 = _mm512_add_ps(a0, e);
        }
        a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
        d0 = _mm512_add_pd(d0, lo_pd(a0));
        d1 = _mm512_add_pd(d1, hi_pd(a0));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(d0, d1));
}

static TGT void scale_f32(const float *x, float *y, size_t n, float factor)
{
    const __m512 f = _mm512_set1_ps(factor);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 v0 = _mm512_mul_ps(_mm512_loadu_ps(x + i), f);
        const __m512 v1 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), f);
        const __m512 v2 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 32), f);
        const __m512 v3 = _mm512_mul_ps(_mm512_loadu_ps(x + i + 48), f);
        _mm512_storeu_ps(y + i, v0);
        _mm512_storeu_ps(y + i + 16, v1);
        _mm512_storeu_ps(y + i + 32, v2);
        _mm512_storeu_ps(y + i + 48, v3);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), f));
    }
}

INL __m512 exp_scale_ps(__m512 x, __m512 s, __m512 f)
{
    __m512 n, p;
    const __m512 t = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_sub_ps(x, s));
    p = split_ps(t, &n);
    return _mm512_scalef_ps(_mm512_mul_ps(p, f), n);
}

static TGT void exp_scale_f32(const float *x, float *y, size_t n, float shift, float factor)
{
    const __m512 s = _mm512_set1_ps(shift), f = _mm512_set1_ps(factor);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 v0 = exp_scale_ps(_mm512_loadu_ps(x + i), s, f);
        const __m512 v1 = exp_scale_ps(_mm512_loadu_ps(x + i + 16), s, f);
        const __m512 v2 = exp_scale_ps(_mm512_loadu_ps(x + i + 32), s, f);
        const __m512 v3 = exp_scale_ps(_mm512_loadu_ps(x + i + 48), s, f);
        _mm512_storeu_ps(y + i, v0);
        _mm512_storeu_ps(y + i + 16, v1);
        _mm512_storeu_ps(y + i + 32, v2);
        _mm512_storeu_ps(y + i + 48, v3);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        _mm512_mask_storeu_ps(y + i, k, exp_scale_ps(_mm512_maskz_loadu_ps(k, x + i), s, f));
    }
}

/* exp(t) for t <= 0 in double, 8 lanes (the folds of the float32 online kernel) */
INL __m512d expneg_pd(__m512d t);

/* Milakov & Gimelshein, 16 lanes of (m, d) in float per block, folded into double */
static TGT void online_f32(const float *x, size_t n, double *max_out, double *sum_out)
{
    const __m512 lowest = _mm512_set1_ps(-FLT_MAX);
    __m512d M0 = _mm512_set1_pd(-DBL_MAX), M1 = M0, S0 = _mm512_setzero_pd(), S1 = S0;
    double Mt = -DBL_MAX, St = 0.0, mv[16], sv[16];
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512 m = lowest, d = _mm512_setzero_ps();
        size_t i = b;
        for (; i + 64 <= end; i += 64) {
            const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
            const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
            const __m512 mn = _mm512_max_ps(_mm512_max_ps(m, _mm512_max_ps(v0, v1)), _mm512_max_ps(v2, v3));
            const __m512 e = _mm512_add_ps(
                _mm512_add_ps(expneg_ps(_mm512_sub_ps(v0, mn)), expneg_ps(_mm512_sub_ps(v1, mn))),
                _mm512_add_ps(expneg_ps(_mm512_sub_ps(v2, mn)), expneg_ps(_mm512_sub_ps(v3, mn))));
            d = _mm512_fmadd_ps(d, expneg_ps(_mm512_sub_ps(m, mn)), e);
            m = mn;
        }
        for (; i < end; i += 16) {
            const __mmask16 k = end - i >= 16 ? (__mmask16)0xFFFF : tail16(end - i);
            const __m512 v = _mm512_mask_loadu_ps(lowest, k, x + i);
            const __m512 mn = _mm512_max_ps(m, v);
            const __m512 e = _mm512_maskz_mov_ps(k, expneg_ps(_mm512_sub_ps(v, mn)));
            d = _mm512_fmadd_ps(d, expneg_ps(_mm512_sub_ps(m, mn)), e);
            m = mn;
        }
        {
            const __m512d m0 = lo_pd(m), m1 = hi_pd(m);
            const __m512d n0 = _mm512_max_pd(M0, m0), n1 = _mm512_max_pd(M1, m1);
            S0 = _mm512_fmadd_pd(S0, expneg_pd(_mm512_sub_pd(M0, n0)), _mm512_mul_pd(lo_pd(d), expneg_pd(_mm512_sub_pd(m0, n0))));
            S1 = _mm512_fmadd_pd(S1, expneg_pd(_mm512_sub_pd(M1, n1)), _mm512_mul_pd(hi_pd(d), expneg_pd(_mm512_sub_pd(m1, n1))));
            M0 = n0;
            M1 = n1;
        }
    }
    _mm512_storeu_pd(mv, M0);
    _mm512_storeu_pd(mv + 8, M1);
    _mm512_storeu_pd(sv, S0);
    _mm512_storeu_pd(sv + 8, S1);
    for (int j = 0; j < 16; j++) {
        const double mn = mv[j] > Mt ? mv[j] : Mt;
        St = St * sv_expneg_f64(Mt - mn) + sv[j] * sv_expneg_f64(mv[j] - mn);
        Mt = mn;
    }
    *max_out = Mt;
    *sum_out = St;
}

/* one term into a (mantissa, exponent) accumulator */
#define EXTEXP_ADD(m, e, p, k)                                                           \
    do {                                                                                 \
        const __m512 en_ = _mm512_max_ps(e, k);                                          \
        m = _mm512_add_ps(_mm512_scalef_ps(m, _mm512_sub_ps(e, en_)),                    \
                          _mm512_scalef_ps(p, _mm512_sub_ps(k, en_)));                   \
        e = en_;                                                                         \
    } while (0)

INL void extexp_sum_f32_body(const float *x, size_t n, double *mant, double *expo, float *max_out,
                             const int track)
{
    const __m512 xlo = _mm512_set1_ps(SV_XLO_F32), ninf = _mm512_set1_ps(-INFINITY);
    __m512d M0 = _mm512_setzero_pd(), M1 = M0;
    __m512d E0 = _mm512_set1_pd(-0x1p60), E1 = E0;
    __m512 mx = ninf;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        const __m512 e_init = _mm512_set1_ps(-0x1p24f);
        __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
        __m512 e0 = e_init, e1 = e_init, e2 = e_init, e3 = e_init;
        size_t i = b;
        for (; i + 64 <= end; i += 64) {
            __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
            __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
            __m512 k0, k1, k2, k3, p0, p1, p2, p3;
            if (track)
                mx = _mm512_max_ps(mx, _mm512_max_ps(_mm512_max_ps(v0, v1), _mm512_max_ps(v2, v3)));
            p0 = split_ps(_mm512_max_ps(xlo, v0), &k0);
            p1 = split_ps(_mm512_max_ps(xlo, v1), &k1);
            p2 = split_ps(_mm512_max_ps(xlo, v2), &k2);
            p3 = split_ps(_mm512_max_ps(xlo, v3), &k3);
            EXTEXP_ADD(m0, e0, p0, k0);
            EXTEXP_ADD(m1, e1, p1, k1);
            EXTEXP_ADD(m2, e2, p2, k2);
            EXTEXP_ADD(m3, e3, p3, k3);
        }
        for (; i < end; i += 16) {
            const __mmask16 k = end - i >= 16 ? (__mmask16)0xFFFF : tail16(end - i);
            __m512 v = _mm512_mask_loadu_ps(ninf, k, x + i), kk, p;
            if (track)
                mx = _mm512_max_ps(mx, v);
            p = _mm512_maskz_mov_ps(k, split_ps(_mm512_max_ps(xlo, v), &kk));
            EXTEXP_ADD(m0, e0, p, kk);
        }
        /* fold the four accumulators, then the block into the double lanes */
        EXTEXP_ADD(m0, e0, m1, e1);
        EXTEXP_ADD(m2, e2, m3, e3);
        EXTEXP_ADD(m0, e0, m2, e2);
        {
            const __m512d f0 = lo_pd(e0), f1 = hi_pd(e0);
            const __m512d n0 = _mm512_max_pd(E0, f0), n1 = _mm512_max_pd(E1, f1);
            M0 = _mm512_add_pd(_mm512_scalef_pd(M0, _mm512_sub_pd(E0, n0)),
                               _mm512_scalef_pd(lo_pd(m0), _mm512_sub_pd(f0, n0)));
            M1 = _mm512_add_pd(_mm512_scalef_pd(M1, _mm512_sub_pd(E1, n1)),
                               _mm512_scalef_pd(hi_pd(m0), _mm512_sub_pd(f1, n1)));
            E0 = n0;
            E1 = n1;
        }
    }
    {
        const __m512d en = _mm512_max_pd(E0, E1);
        const double e = _mm512_reduce_max_pd(en);
        const __m512d ev = _mm512_set1_pd(e);
        *mant = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_scalef_pd(M0, _mm512_sub_pd(E0, ev)),
                                                   _mm512_scalef_pd(M1, _mm512_sub_pd(E1, ev))));
        *expo = e;
    }
    if (track)
        *max_out = _mm512_reduce_max_ps(mx);
}

static TGT void extexp_sum_f32(const float *x, size_t n, double *mant, double *expo, float *max_out)
{
    /* two copies of the loop: the max costs one instruction per vector, paid only when asked */
    if (max_out)
        extexp_sum_f32_body(x, n, mant, expo, max_out, 1);
    else
        extexp_sum_f32_body(x, n, mant, expo, NULL, 0);
}

/* (p / mant) 2^(k - expo): q = p r, corrected once by the residual p - q mant (an FMA,
 * exact), which makes the quotient correctly rounded (Markstein) */
INL __m512 extexp_scale_ps(__m512 x, __m512 xlo, __m512 M, __m512 r, __m512 E)
{
    __m512 k, p, q;
    p = split_ps(_mm512_max_ps(xlo, x), &k);
    q = _mm512_mul_ps(p, r);
    q = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, M, p), r, q);
    return _mm512_scalef_ps(q, _mm512_sub_ps(k, E));
}

static TGT void extexp_scale_f32(const float *x, float *y, size_t n, float mant, float expo)
{
    const __m512 xlo = _mm512_set1_ps(SV_XLO_F32), M = _mm512_set1_ps(mant);
    const __m512 r = _mm512_set1_ps(1.0f / mant), E = _mm512_set1_ps(expo);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 v0 = extexp_scale_ps(_mm512_loadu_ps(x + i), xlo, M, r, E);
        const __m512 v1 = extexp_scale_ps(_mm512_loadu_ps(x + i + 16), xlo, M, r, E);
        const __m512 v2 = extexp_scale_ps(_mm512_loadu_ps(x + i + 32), xlo, M, r, E);
        const __m512 v3 = extexp_scale_ps(_mm512_loadu_ps(x + i + 48), xlo, M, r, E);
        _mm512_storeu_ps(y + i, v0);
        _mm512_storeu_ps(y + i + 16, v1);
        _mm512_storeu_ps(y + i + 32, v2);
        _mm512_storeu_ps(y + i + 48, v3);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        _mm512_mask_storeu_ps(y + i, k, extexp_scale_ps(_mm512_maskz_loadu_ps(k, x + i), xlo, M, r, E));
    }
}

static TGT double read_f32(const float *x, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(k, x + i));
    }
    a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo_pd(a0), hi_pd(a0)));
}

static TGT void copy_f32(const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
        const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
        _mm512_storeu_ps(y + i, v0);
        _mm512_storeu_ps(y + i + 16, v1);
        _mm512_storeu_ps(y + i + 32, v2);
        _mm512_storeu_ps(y + i + 48, v3);
    }
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : tail16(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_maskz_loadu_ps(k, x + i));
    }
}

const sv_kernels_f32 sv_avx512_f32 = {
    "avx512", max_f32, sum_exp_f32, scale_f32, exp_scale_f32, online_f32,
    extexp_sum_f32, extexp_scale_f32, read_f32, copy_f32,
};

/* ================================================================== float64 */

INL __mmask8 tail8(size_t k)
{
    return (__mmask8)((1u << k) - 1u);
}

INL __m512d split_pd(__m512d x, __m512d *n)
{
    const __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(SVF64_LOG2E)), RNE);
    __m512d t = _mm512_fnmadd_pd(k, _mm512_set1_pd(SVF64_LN2_HI), x);
    __m512d p = _mm512_set1_pd(SVF64_C11);
    t = _mm512_fnmadd_pd(k, _mm512_set1_pd(SVF64_LN2_LO), t);
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C10));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C9));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C8));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C7));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C6));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C5));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C4));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C3));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(SVF64_C2));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0));
    *n = k;
    return p;
}

INL __m512d expneg_pd(__m512d t)
{
    __m512d n, p;
    t = _mm512_max_pd(_mm512_set1_pd(-746.0), t);
    p = split_pd(t, &n);
    return _mm512_scalef_pd(p, n);
}

/* Knuth's TwoSum into a (sum, compensation) pair: the folds of long float64 rows lose
 * nothing to the running sum, so accuracy does not decay with the row length */
INL void two_sum_pd(__m512d *s, __m512d *c, __m512d b)
{
    const __m512d t = _mm512_add_pd(*s, b);
    const __m512d bp = _mm512_sub_pd(t, *s);
    *c = _mm512_add_pd(*c, _mm512_add_pd(_mm512_sub_pd(*s, _mm512_sub_pd(t, bp)), _mm512_sub_pd(b, bp)));
    *s = t;
}

static TGT double max_f64(const double *x, size_t n)
{
    const __m512d ninf = _mm512_set1_pd(-INFINITY);
    __m512d m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_pd(m0, _mm512_loadu_pd(x + i));
        m1 = _mm512_max_pd(m1, _mm512_loadu_pd(x + i + 8));
        m2 = _mm512_max_pd(m2, _mm512_loadu_pd(x + i + 16));
        m3 = _mm512_max_pd(m3, _mm512_loadu_pd(x + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        m0 = _mm512_max_pd(m0, _mm512_loadu_pd(x + i));
    if (i < n)
        m1 = _mm512_max_pd(m1, _mm512_mask_loadu_pd(ninf, tail8(n - i), x + i));
    return _mm512_reduce_max_pd(_mm512_max_pd(_mm512_max_pd(m0, m1), _mm512_max_pd(m2, m3)));
}

static TGT double sum_exp_f64(const double *x, double *y, size_t n, double shift)
{
    const __m512d s = _mm512_set1_pd(shift);
    __m512d S = _mm512_setzero_pd(), C = S;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            const __m512d e0 = expneg_pd(_mm512_sub_pd(_mm512_loadu_pd(x + i), s));
            const __m512d e1 = expneg_pd(_mm512_sub_pd(_mm512_loadu_pd(x + i + 8), s));
            const __m512d e2 = expneg_pd(_mm512_sub_pd(_mm512_loadu_pd(x + i + 16), s));
            const __m512d e3 = expneg_pd(_mm512_sub_pd(_mm512_loadu_pd(x + i + 24), s));
            if (y) {
                _mm512_storeu_pd(y + i, e0);
                _mm512_storeu_pd(y + i + 8, e1);
                _mm512_storeu_pd(y + i + 16, e2);
                _mm512_storeu_pd(y + i + 24, e3);
            }
            a0 = _mm512_add_pd(a0, e0);
            a1 = _mm512_add_pd(a1, e1);
            a2 = _mm512_add_pd(a2, e2);
            a3 = _mm512_add_pd(a3, e3);
        }
        for (; i < end; i += 8) {
            const __mmask8 k = end - i >= 8 ? (__mmask8)0xFF : tail8(end - i);
            const __m512d e = _mm512_maskz_mov_pd(k, expneg_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(k, x + i), s)));
            if (y)
                _mm512_mask_storeu_pd(y + i, k, e);
            a0 = _mm512_add_pd(a0, e);
        }
        two_sum_pd(&S, &C, _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
    }
    return _mm512_reduce_add_pd(S) + _mm512_reduce_add_pd(C);
}

static TGT void scale_f64(const double *x, double *y, size_t n, double factor)
{
    const __m512d f = _mm512_set1_pd(factor);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d v0 = _mm512_mul_pd(_mm512_loadu_pd(x + i), f);
        const __m512d v1 = _mm512_mul_pd(_mm512_loadu_pd(x + i + 8), f);
        const __m512d v2 = _mm512_mul_pd(_mm512_loadu_pd(x + i + 16), f);
        const __m512d v3 = _mm512_mul_pd(_mm512_loadu_pd(x + i + 24), f);
        _mm512_storeu_pd(y + i, v0);
        _mm512_storeu_pd(y + i + 8, v1);
        _mm512_storeu_pd(y + i + 16, v2);
        _mm512_storeu_pd(y + i + 24, v3);
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        _mm512_mask_storeu_pd(y + i, k, _mm512_mul_pd(_mm512_maskz_loadu_pd(k, x + i), f));
    }
}

INL __m512d exp_scale_pd(__m512d x, __m512d s, __m512d f)
{
    __m512d n, p;
    const __m512d t = _mm512_max_pd(_mm512_set1_pd(-746.0), _mm512_sub_pd(x, s));
    p = split_pd(t, &n);
    return _mm512_scalef_pd(_mm512_mul_pd(p, f), n);
}

static TGT void exp_scale_f64(const double *x, double *y, size_t n, double shift, double factor)
{
    const __m512d s = _mm512_set1_pd(shift), f = _mm512_set1_pd(factor);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d v0 = exp_scale_pd(_mm512_loadu_pd(x + i), s, f);
        const __m512d v1 = exp_scale_pd(_mm512_loadu_pd(x + i + 8), s, f);
        const __m512d v2 = exp_scale_pd(_mm512_loadu_pd(x + i + 16), s, f);
        const __m512d v3 = exp_scale_pd(_mm512_loadu_pd(x + i + 24), s, f);
        _mm512_storeu_pd(y + i, v0);
        _mm512_storeu_pd(y + i + 8, v1);
        _mm512_storeu_pd(y + i + 16, v2);
        _mm512_storeu_pd(y + i + 24, v3);
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        _mm512_mask_storeu_pd(y + i, k, exp_scale_pd(_mm512_maskz_loadu_pd(k, x + i), s, f));
    }
}

static TGT void online_f64(const double *x, size_t n, double *max_out, double *sum_out)
{
    const __m512d lowest = _mm512_set1_pd(-DBL_MAX);
    __m512d m = lowest, d = _mm512_setzero_pd();
    double Mt = -DBL_MAX, St = 0.0, mv[8], sv[8];
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d v0 = _mm512_loadu_pd(x + i), v1 = _mm512_loadu_pd(x + i + 8);
        const __m512d v2 = _mm512_loadu_pd(x + i + 16), v3 = _mm512_loadu_pd(x + i + 24);
        const __m512d mn = _mm512_max_pd(_mm512_max_pd(m, _mm512_max_pd(v0, v1)), _mm512_max_pd(v2, v3));
        const __m512d e = _mm512_add_pd(
            _mm512_add_pd(expneg_pd(_mm512_sub_pd(v0, mn)), expneg_pd(_mm512_sub_pd(v1, mn))),
            _mm512_add_pd(expneg_pd(_mm512_sub_pd(v2, mn)), expneg_pd(_mm512_sub_pd(v3, mn))));
        d = _mm512_fmadd_pd(d, expneg_pd(_mm512_sub_pd(m, mn)), e);
        m = mn;
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        const __m512d v = _mm512_mask_loadu_pd(lowest, k, x + i);
        const __m512d mn = _mm512_max_pd(m, v);
        const __m512d e = _mm512_maskz_mov_pd(k, expneg_pd(_mm512_sub_pd(v, mn)));
        d = _mm512_fmadd_pd(d, expneg_pd(_mm512_sub_pd(m, mn)), e);
        m = mn;
    }
    _mm512_storeu_pd(mv, m);
    _mm512_storeu_pd(sv, d);
    for (int j = 0; j < 8; j++) {
        const double mn = mv[j] > Mt ? mv[j] : Mt;
        St = St * sv_expneg_f64(Mt - mn) + sv[j] * sv_expneg_f64(mv[j] - mn);
        Mt = mn;
    }
    *max_out = Mt;
    *sum_out = St;
}

#define EXTEXP_ADD_PD(m, e, p, k)                                                        \
    do {                                                                                 \
        const __m512d en_ = _mm512_max_pd(e, k);                                         \
        m = _mm512_add_pd(_mm512_scalef_pd(m, _mm512_sub_pd(e, en_)),                    \
                          _mm512_scalef_pd(p, _mm512_sub_pd(k, en_)));                   \
        e = en_;                                                                         \
    } while (0)

INL void extexp_sum_f64_body(const double *x, size_t n, double *mant, double *expo, double *max_out,
                             const int track)
{
    const __m512d xlo = _mm512_set1_pd(SV_XLO_F64), ninf = _mm512_set1_pd(-INFINITY);
    __m512d S = _mm512_setzero_pd(), C = S, E = _mm512_set1_pd(-0x1p60), mx = ninf;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512d m0 = _mm512_setzero_pd(), m1 = m0, m2 = m0, m3 = m0;
        __m512d e0 = _mm512_set1_pd(-0x1p60), e1 = e0, e2 = e0, e3 = e0;
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            const __m512d v0 = _mm512_loadu_pd(x + i), v1 = _mm512_loadu_pd(x + i + 8);
            const __m512d v2 = _mm512_loadu_pd(x + i + 16), v3 = _mm512_loadu_pd(x + i + 24);
            __m512d k0, k1, k2, k3, p0, p1, p2, p3;
            if (track)
                mx = _mm512_max_pd(mx, _mm512_max_pd(_mm512_max_pd(v0, v1), _mm512_max_pd(v2, v3)));
            p0 = split_pd(_mm512_max_pd(xlo, v0), &k0);
            p1 = split_pd(_mm512_max_pd(xlo, v1), &k1);
            p2 = split_pd(_mm512_max_pd(xlo, v2), &k2);
            p3 = split_pd(_mm512_max_pd(xlo, v3), &k3);
            EXTEXP_ADD_PD(m0, e0, p0, k0);
            EXTEXP_ADD_PD(m1, e1, p1, k1);
            EXTEXP_ADD_PD(m2, e2, p2, k2);
            EXTEXP_ADD_PD(m3, e3, p3, k3);
        }
        for (; i < end; i += 8) {
            const __mmask8 k = end - i >= 8 ? (__mmask8)0xFF : tail8(end - i);
            __m512d v = _mm512_mask_loadu_pd(ninf, k, x + i), kk, p;
            if (track)
                mx = _mm512_max_pd(mx, v);
            p = _mm512_maskz_mov_pd(k, split_pd(_mm512_max_pd(xlo, v), &kk));
            EXTEXP_ADD_PD(m0, e0, p, kk);
        }
        EXTEXP_ADD_PD(m0, e0, m1, e1);
        EXTEXP_ADD_PD(m2, e2, m3, e3);
        EXTEXP_ADD_PD(m0, e0, m2, e2);
        {
            /* rescale (sum, compensation) to the new exponent, exactly, then TwoSum */
            const __m512d en = _mm512_max_pd(E, e0);
            S = _mm512_scalef_pd(S, _mm512_sub_pd(E, en));
            C = _mm512_scalef_pd(C, _mm512_sub_pd(E, en));
            two_sum_pd(&S, &C, _mm512_scalef_pd(m0, _mm512_sub_pd(e0, en)));
            E = en;
        }
    }
    {
        const double e = _mm512_reduce_max_pd(E);
        const __m512d d = _mm512_sub_pd(E, _mm512_set1_pd(e));
        *mant = _mm512_reduce_add_pd(_mm512_scalef_pd(S, d)) + _mm512_reduce_add_pd(_mm512_scalef_pd(C, d));
        *expo = e;
    }
    if (track)
        *max_out = _mm512_reduce_max_pd(mx);
}

static TGT void extexp_sum_f64(const double *x, size_t n, double *mant, double *expo, double *max_out)
{
    if (max_out)
        extexp_sum_f64_body(x, n, mant, expo, max_out, 1);
    else
        extexp_sum_f64_body(x, n, mant, expo, NULL, 0);
}

INL __m512d extexp_scale_pd(__m512d x, __m512d xlo, __m512d M, __m512d r, __m512d E)
{
    __m512d k, p, q;
    p = split_pd(_mm512_max_pd(xlo, x), &k);
    q = _mm512_mul_pd(p, r);
    q = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, M, p), r, q);
    return _mm512_scalef_pd(q, _mm512_sub_pd(k, E));
}

static TGT void extexp_scale_f64(const double *x, double *y, size_t n, double mant, double expo)
{
    const __m512d xlo = _mm512_set1_pd(SV_XLO_F64), M = _mm512_set1_pd(mant);
    const __m512d r = _mm512_set1_pd(1.0 / mant), E = _mm512_set1_pd(expo);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d v0 = extexp_scale_pd(_mm512_loadu_pd(x + i), xlo, M, r, E);
        const __m512d v1 = extexp_scale_pd(_mm512_loadu_pd(x + i + 8), xlo, M, r, E);
        const __m512d v2 = extexp_scale_pd(_mm512_loadu_pd(x + i + 16), xlo, M, r, E);
        const __m512d v3 = extexp_scale_pd(_mm512_loadu_pd(x + i + 24), xlo, M, r, E);
        _mm512_storeu_pd(y + i, v0);
        _mm512_storeu_pd(y + i + 8, v1);
        _mm512_storeu_pd(y + i + 16, v2);
        _mm512_storeu_pd(y + i + 24, v3);
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        _mm512_mask_storeu_pd(y + i, k, extexp_scale_pd(_mm512_maskz_loadu_pd(k, x + i), xlo, M, r, E));
    }
}

static TGT double read_f64(const double *x, size_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_pd(a0, _mm512_loadu_pd(x + i));
        a1 = _mm512_add_pd(a1, _mm512_loadu_pd(x + i + 8));
        a2 = _mm512_add_pd(a2, _mm512_loadu_pd(x + i + 16));
        a3 = _mm512_add_pd(a3, _mm512_loadu_pd(x + i + 24));
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        a0 = _mm512_add_pd(a0, _mm512_maskz_loadu_pd(k, x + i));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

static TGT void copy_f64(const double *x, double *y, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d v0 = _mm512_loadu_pd(x + i), v1 = _mm512_loadu_pd(x + i + 8);
        const __m512d v2 = _mm512_loadu_pd(x + i + 16), v3 = _mm512_loadu_pd(x + i + 24);
        _mm512_storeu_pd(y + i, v0);
        _mm512_storeu_pd(y + i + 8, v1);
        _mm512_storeu_pd(y + i + 16, v2);
        _mm512_storeu_pd(y + i + 24, v3);
    }
    for (; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? (__mmask8)0xFF : tail8(n - i);
        _mm512_mask_storeu_pd(y + i, k, _mm512_maskz_loadu_pd(k, x + i));
    }
}

const sv_kernels_f64 sv_avx512_f64 = {
    "avx512", max_f64, sum_exp_f64, scale_f64, exp_scale_f64, online_f64,
    extexp_sum_f64, extexp_scale_f64, read_f64, copy_f64,
};

#endif
