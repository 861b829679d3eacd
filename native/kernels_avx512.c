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
 * length, and the second pass multiplies by the reciprocal of the sum held as two
 * floats (hi + lo), so a representable quotient (1 for a dominating entry) comes out
 * exactly.
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
#include <stdint.h>

#include "exp_f32.h"
#include "exp_f64.h"

#define TGT __attribute__((target("avx512f,avx2,fma")))
#define INL static inline __attribute__((always_inline)) TGT
#define PREFETCH(p) _mm_prefetch((const char *)(p) + SV_PREFETCH_BYTES, _MM_HINT_T0)
#define PREFETCH_IF(c, p) do { if (c) PREFETCH(p); } while (0)

/* 1/m as an unevaluated sum hi + lo (lo from the exact residual 1 - m hi): p (hi + lo),
 * one FMA, is p / m with an error far below half an ulp, so the quotient rounds
 * correctly wherever it is representable (a dominating entry gives exactly 1) at the
 * cost of one multiplication more than p * (1/m) */
static TGT void recip_f32(float m, float *hi, float *lo)
{
    const float h = 1.0f / m;
    *hi = h;
    *lo = (float)((1.0 - (double)m * (double)h) / (double)m);
}

static TGT void recip_f64(double m, double *hi, double *lo)
{
    const double h = 1.0 / m;
    *hi = h;
    *lo = __builtin_fma(-m, h, 1.0) / m;
}

/* ================================================================== float32 */

INL __mmask16 tail16(size_t k)
{
    return (__mmask16)((1u << k) - 1u);
}

/* y = F(v) for every v of x, F an expression of the vector v.  Outputs of at least
 * SV_STREAM_BYTES go to memory with non-temporal stores (after a masked head that
 * aligns y to 64 bytes): they would not stay in cache anyway, and a streamed line is not
 * read from memory first, which makes the write pass about a third cheaper. */
#define MAP_PS(x, y, n, F)                                                              \
    do {                                                                                \
        size_t i_ = 0;                                                                  \
        if ((n) * sizeof(float) >= SV_STREAM_BYTES && ((uintptr_t)(y) & 3) == 0) {      \
            const size_t head_ = (64 - ((uintptr_t)(y) & 63)) / sizeof(float) & 15;    \
            if (head_) {                                                                \
                const __mmask16 k_ = tail16(head_);                                    \
                const __m512 v = _mm512_maskz_loadu_ps(k_, (x));                        \
                _mm512_mask_storeu_ps((y), k_, (F));                                    \
                i_ = head_;                                                             \
            }                                                                           \
            for (; i_ + 16 <= (n); i_ += 16) {                                          \
                const __m512 v = _mm512_loadu_ps((x) + i_);                             \
                PREFETCH((x) + i_);                                                     \
                _mm512_stream_ps((y) + i_, (F));                                        \
            }                                                                           \
            _mm_sfence();                                                               \
        }                                                                               \
        for (; i_ + 64 <= (n); i_ += 64) {                                              \
            __m512 r_[4];                                                               \
            for (int j_ = 0; j_ < 4; j_++) {                                            \
                const __m512 v = _mm512_loadu_ps((x) + i_ + 16 * j_);                   \
                r_[j_] = (F);                                                           \
            }                                                                           \
            for (int j_ = 0; j_ < 4; j_++)                                              \
                _mm512_storeu_ps((y) + i_ + 16 * j_, r_[j_]);                           \
        }                                                                               \
        for (; i_ < (n); i_ += 16) {                                                    \
            const __mmask16 k_ = (n) - i_ >= 16 ? (__mmask16)0xFFFF : tail16((n) - i_);  \
            const __m512 v = _mm512_maskz_loadu_ps(k_, (x) + i_);                       \
            _mm512_mask_storeu_ps((y) + i_, k_, (F));                                   \
        }                                                                               \
    } while (0)

/* p with exp(x) = p 2^n, for |x log2 e| < 2^22 (where (v + MAGIC) - MAGIC rounds v to
 * an integer): the three-pass and online callers pass t = x - max in [-104, 0]; the
 * two-pass ones clamp below and the row plan rejects a row whose exponent leaves the
 * exact-reduction range (|n| <= 8191), which every input this rounding fails on does.  One
 * FMA and one subtraction instead of a multiplication and vrndscaleps (two uops on the
 * one port that also runs vscalef): 8 % off a two-pass row in cache. */
INL __m512 split_ps(__m512 x, __m512 *n)
{
    const __m512 magic = _mm512_set1_ps(SVF32_MAGIC);
    const __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(SVF32_LOG2E), magic), magic);
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

INL float max_f32_pf(const float *x, size_t n, const int pf)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        PREFETCH_IF(pf, x + i + 0);
        PREFETCH_IF(pf, x + i + 16);
        PREFETCH_IF(pf, x + i + 32);
        PREFETCH_IF(pf, x + i + 48);
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

INL float max_f32(const float *x, size_t n)
{
    return SV_LONG_ROW(n * sizeof(float)) ? max_f32_pf(x, n, 1) : max_f32_pf(x, n, 0);
}

INL double sum_exp_f32_pf(const float *x, float *y, size_t n, float shift, const int pf)
{
    const __m512 s = _mm512_set1_ps(shift);
    __m512d d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 64 <= end; i += 64) {
            PREFETCH_IF(pf, x + i + 0);
            PREFETCH_IF(pf, x + i + 16);
            PREFETCH_IF(pf, x + i + 32);
            PREFETCH_IF(pf, x + i + 48);
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

INL double sum_exp_f32(const float *x, float *y, size_t n, float shift)
{
    return SV_LONG_ROW(n * sizeof(float)) ? sum_exp_f32_pf(x, y, n, shift, 1) : sum_exp_f32_pf(x, y, n, shift, 0);
}

INL void scale_f32(const float *x, float *y, size_t n, float factor)
{
    const __m512 f = _mm512_set1_ps(factor);
    MAP_PS(x, y, n, _mm512_mul_ps(v, f));
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
    MAP_PS(x, y, n, exp_scale_ps(v, s, f));
}

#define T float
#define SFX f32
#define RW_ATTR TGT
#define RW_MAX max_f32
#define RW_SUM_EXP sum_exp_f32
#define RW_SCALE scale_f32
#include "rows_impl.h"
#undef T
#undef SFX
#undef RW_ATTR
#undef RW_MAX
#undef RW_SUM_EXP
#undef RW_SCALE

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
            PREFETCH(x + i + 0);
            PREFETCH(x + i + 16);
            PREFETCH(x + i + 32);
            PREFETCH(x + i + 48);
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

/* four terms at once: one rescale of the accumulator per four vectors instead of one per
 * vector (the new exponent is the max over all of them) */
#define EXTEXP_ADD4(m, e, p0, k0, p1, k1, p2, k2, p3, k3)                                   \
    do {                                                                                 \
        const __m512 en_ = _mm512_max_ps(_mm512_max_ps(_mm512_max_ps(k0, k1), _mm512_max_ps(k2, k3)), e); \
        m = _mm512_add_ps(                                                               \
            _mm512_add_ps(_mm512_scalef_ps(m, _mm512_sub_ps(e, en_)),                    \
                          _mm512_scalef_ps(p0, _mm512_sub_ps(k0, en_))),                 \
            _mm512_add_ps(_mm512_add_ps(_mm512_scalef_ps(p1, _mm512_sub_ps(k1, en_)),    \
                                        _mm512_scalef_ps(p2, _mm512_sub_ps(k2, en_))),   \
                          _mm512_scalef_ps(p3, _mm512_sub_ps(k3, en_))));                \
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
        for (; i + 128 <= end; i += 128) {
            __m512 v[8], k[8], p[8];
            for (int j = 0; j < 8; j++)
                PREFETCH(x + i + 16 * j);
            for (int j = 0; j < 8; j++)
                v[j] = _mm512_loadu_ps(x + i + 16 * j);
            if (track)
                for (int j = 0; j < 8; j++)
                    mx = _mm512_max_ps(mx, v[j]);
            for (int j = 0; j < 8; j++)
                p[j] = split_ps(_mm512_max_ps(xlo, v[j]), &k[j]);
            EXTEXP_ADD4(m0, e0, p[0], k[0], p[1], k[1], p[2], k[2], p[3], k[3]);
            EXTEXP_ADD4(m1, e1, p[4], k[4], p[5], k[5], p[6], k[6], p[7], k[7]);
        }
        for (; i < end; i += 16) {
            const __mmask16 k = end - i >= 16 ? (__mmask16)0xFFFF : tail16(end - i);
            __m512 v = _mm512_mask_loadu_ps(ninf, k, x + i), kk, p;
            if (track)
                mx = _mm512_max_ps(mx, v);
            p = _mm512_maskz_mov_ps(k, split_ps(_mm512_max_ps(xlo, v), &kk));
            EXTEXP_ADD(m2, e2, p, kk);
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

/* (p / mant) 2^(k - expo), with 1/mant as hi + lo (see recip_f32) */
INL __m512 extexp_scale_ps(__m512 x, __m512 xlo, __m512 rhi, __m512 rlo, __m512 E)
{
    __m512 k, p, q;
    p = split_ps(_mm512_max_ps(xlo, x), &k);
    q = _mm512_fmadd_ps(p, rhi, _mm512_mul_ps(p, rlo));
    return _mm512_scalef_ps(q, _mm512_sub_ps(k, E));
}

/* the same with 2^-E folded into the reciprocal: one subtraction fewer per vector */
INL __m512 extexp_scale_folded_ps(__m512 x, __m512 xlo, __m512 rhi, __m512 rlo)
{
    __m512 k, p, q;
    p = split_ps(_mm512_max_ps(xlo, x), &k);
    q = _mm512_fmadd_ps(p, rhi, _mm512_mul_ps(p, rlo));
    return _mm512_scalef_ps(q, k);
}

static TGT void extexp_scale_f32(const float *x, float *y, size_t n, float mant, float expo)
{
    const __m512 xlo = _mm512_set1_ps(SV_XLO_F32);
    float hi, lo;
    recip_f32(mant, &hi, &lo);
    if (expo >= -100.0f && expo <= 100.0f) {
        /* scaling hi and lo by 2^-E is exact while both stay normal floats (then the
         * quotient keeps its rounding, exact ones included) */
        const float fh = ldexpf(hi, -(int)expo), fl = ldexpf(lo, -(int)expo);
        if (fl == 0.0f || fabsf(fl) >= FLT_MIN) {
            const __m512 rhi = _mm512_set1_ps(fh), rlo = _mm512_set1_ps(fl);
            MAP_PS(x, y, n, extexp_scale_folded_ps(v, xlo, rhi, rlo));
            return;
        }
    }
    {
        const __m512 rhi = _mm512_set1_ps(hi), rlo = _mm512_set1_ps(lo), E = _mm512_set1_ps(expo);
        MAP_PS(x, y, n, extexp_scale_ps(v, xlo, rhi, rlo, E));
    }
}

static TGT double read_f32(const float *x, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        PREFETCH(x + i + 0);
        PREFETCH(x + i + 16);
        PREFETCH(x + i + 32);
        PREFETCH(x + i + 48);
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
    MAP_PS(x, y, n, v);
}

const sv_kernels_f32 sv_avx512_f32 = {
    "avx512", max_f32, sum_exp_f32, scale_f32, exp_scale_f32, rw_reload_rows_f32, online_f32,
    extexp_sum_f32, extexp_scale_f32, read_f32, copy_f32,
};

/* ================================================================== float64 */

INL __mmask8 tail8(size_t k)
{
    return (__mmask8)((1u << k) - 1u);
}

/* MAP_PS for float64 (8 lanes) */
#define MAP_PD(x, y, n, F)                                                              \
    do {                                                                                \
        size_t i_ = 0;                                                                  \
        if ((n) * sizeof(double) >= SV_STREAM_BYTES && ((uintptr_t)(y) & 7) == 0) {    \
            const size_t head_ = (64 - ((uintptr_t)(y) & 63)) / sizeof(double) & 7;    \
            if (head_) {                                                                \
                const __mmask8 k_ = tail8(head_);                                      \
                const __m512d v = _mm512_maskz_loadu_pd(k_, (x));                       \
                _mm512_mask_storeu_pd((y), k_, (F));                                    \
                i_ = head_;                                                             \
            }                                                                           \
            for (; i_ + 8 <= (n); i_ += 8) {                                            \
                const __m512d v = _mm512_loadu_pd((x) + i_);                            \
                PREFETCH((x) + i_);                                                     \
                _mm512_stream_pd((y) + i_, (F));                                        \
            }                                                                           \
            _mm_sfence();                                                               \
        }                                                                               \
        for (; i_ + 32 <= (n); i_ += 32) {                                              \
            __m512d r_[4];                                                              \
            for (int j_ = 0; j_ < 4; j_++) {                                            \
                const __m512d v = _mm512_loadu_pd((x) + i_ + 8 * j_);                   \
                r_[j_] = (F);                                                           \
            }                                                                           \
            for (int j_ = 0; j_ < 4; j_++)                                              \
                _mm512_storeu_pd((y) + i_ + 8 * j_, r_[j_]);                            \
        }                                                                               \
        for (; i_ < (n); i_ += 8) {                                                     \
            const __mmask8 k_ = (n) - i_ >= 8 ? (__mmask8)0xFF : tail8((n) - i_);       \
            const __m512d v = _mm512_maskz_loadu_pd(k_, (x) + i_);                      \
            _mm512_mask_storeu_pd((y) + i_, k_, (F));                                   \
        }                                                                               \
    } while (0)

/* as split_ps, for |x log2 e| < 2^51 */
INL __m512d split_pd(__m512d x, __m512d *n)
{
    const __m512d magic = _mm512_set1_pd(SVF64_MAGIC);
    const __m512d k = _mm512_sub_pd(_mm512_fmadd_pd(x, _mm512_set1_pd(SVF64_LOG2E), magic), magic);
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

INL double max_f64_pf(const double *x, size_t n, const int pf)
{
    const __m512d ninf = _mm512_set1_pd(-INFINITY);
    __m512d m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH_IF(pf, x + i + 0);
        PREFETCH_IF(pf, x + i + 8);
        PREFETCH_IF(pf, x + i + 16);
        PREFETCH_IF(pf, x + i + 24);
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

INL double max_f64(const double *x, size_t n)
{
    return SV_LONG_ROW(n * sizeof(double)) ? max_f64_pf(x, n, 1) : max_f64_pf(x, n, 0);
}

INL double sum_exp_f64_pf(const double *x, double *y, size_t n, double shift, const int pf)
{
    const __m512d s = _mm512_set1_pd(shift);
    __m512d S = _mm512_setzero_pd(), C = S;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            PREFETCH_IF(pf, x + i + 0);
            PREFETCH_IF(pf, x + i + 8);
            PREFETCH_IF(pf, x + i + 16);
            PREFETCH_IF(pf, x + i + 24);
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

INL double sum_exp_f64(const double *x, double *y, size_t n, double shift)
{
    return SV_LONG_ROW(n * sizeof(double)) ? sum_exp_f64_pf(x, y, n, shift, 1) : sum_exp_f64_pf(x, y, n, shift, 0);
}

INL void scale_f64(const double *x, double *y, size_t n, double factor)
{
    const __m512d f = _mm512_set1_pd(factor);
    MAP_PD(x, y, n, _mm512_mul_pd(v, f));
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
    MAP_PD(x, y, n, exp_scale_pd(v, s, f));
}

#define T double
#define SFX f64
#define RW_ATTR TGT
#define RW_MAX max_f64
#define RW_SUM_EXP sum_exp_f64
#define RW_SCALE scale_f64
#include "rows_impl.h"
#undef T
#undef SFX
#undef RW_ATTR
#undef RW_MAX
#undef RW_SUM_EXP
#undef RW_SCALE

/* Online softmax in 8 double lanes, a block at a time; each block's (m, d) is folded into
 * per-lane (M, S, C) with a TwoSum, so the sum keeps its accuracy on long rows (the rescale
 * factor is exactly 1 while the max does not move) */
static TGT void online_f64(const double *x, size_t n, double *max_out, double *sum_out)
{
    const __m512d lowest = _mm512_set1_pd(-DBL_MAX);
    __m512d M = lowest, S = _mm512_setzero_pd(), C = S;
    double Mt = -DBL_MAX, St = 0.0, mv[8], sv[8];
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m512d m = lowest, d = _mm512_setzero_pd();
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            PREFETCH(x + i + 0);
            PREFETCH(x + i + 8);
            PREFETCH(x + i + 16);
            PREFETCH(x + i + 24);
            const __m512d v0 = _mm512_loadu_pd(x + i), v1 = _mm512_loadu_pd(x + i + 8);
            const __m512d v2 = _mm512_loadu_pd(x + i + 16), v3 = _mm512_loadu_pd(x + i + 24);
            const __m512d mn = _mm512_max_pd(_mm512_max_pd(m, _mm512_max_pd(v0, v1)), _mm512_max_pd(v2, v3));
            const __m512d e = _mm512_add_pd(
                _mm512_add_pd(expneg_pd(_mm512_sub_pd(v0, mn)), expneg_pd(_mm512_sub_pd(v1, mn))),
                _mm512_add_pd(expneg_pd(_mm512_sub_pd(v2, mn)), expneg_pd(_mm512_sub_pd(v3, mn))));
            d = _mm512_fmadd_pd(d, expneg_pd(_mm512_sub_pd(m, mn)), e);
            m = mn;
        }
        for (; i < end; i += 8) {
            const __mmask8 k = end - i >= 8 ? (__mmask8)0xFF : tail8(end - i);
            const __m512d v = _mm512_mask_loadu_pd(lowest, k, x + i);
            const __m512d mn = _mm512_max_pd(m, v);
            const __m512d e = _mm512_maskz_mov_pd(k, expneg_pd(_mm512_sub_pd(v, mn)));
            d = _mm512_fmadd_pd(d, expneg_pd(_mm512_sub_pd(m, mn)), e);
            m = mn;
        }
        {
            const __m512d mn = _mm512_max_pd(M, m), f = expneg_pd(_mm512_sub_pd(M, mn));
            S = _mm512_mul_pd(S, f);
            C = _mm512_mul_pd(C, f);
            two_sum_pd(&S, &C, _mm512_mul_pd(d, expneg_pd(_mm512_sub_pd(m, mn))));
            M = mn;
        }
    }
    _mm512_storeu_pd(mv, M);
    _mm512_storeu_pd(sv, _mm512_add_pd(S, C));
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

#define EXTEXP_ADD4_PD(m, e, p0, k0, p1, k1, p2, k2, p3, k3)                                \
    do {                                                                                 \
        const __m512d en_ = _mm512_max_pd(_mm512_max_pd(_mm512_max_pd(k0, k1), _mm512_max_pd(k2, k3)), e); \
        m = _mm512_add_pd(                                                               \
            _mm512_add_pd(_mm512_scalef_pd(m, _mm512_sub_pd(e, en_)),                    \
                          _mm512_scalef_pd(p0, _mm512_sub_pd(k0, en_))),                 \
            _mm512_add_pd(_mm512_add_pd(_mm512_scalef_pd(p1, _mm512_sub_pd(k1, en_)),    \
                                        _mm512_scalef_pd(p2, _mm512_sub_pd(k2, en_))),   \
                          _mm512_scalef_pd(p3, _mm512_sub_pd(k3, en_))));                \
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
        for (; i + 64 <= end; i += 64) {
            __m512d v[8], k[8], p[8];
            for (int j = 0; j < 8; j++) {
                PREFETCH(x + i + 8 * j);
                v[j] = _mm512_loadu_pd(x + i + 8 * j);
            }
            if (track)
                for (int j = 0; j < 8; j++)
                    mx = _mm512_max_pd(mx, v[j]);
            for (int j = 0; j < 8; j++)
                p[j] = split_pd(_mm512_max_pd(xlo, v[j]), &k[j]);
            EXTEXP_ADD4_PD(m0, e0, p[0], k[0], p[1], k[1], p[2], k[2], p[3], k[3]);
            EXTEXP_ADD4_PD(m1, e1, p[4], k[4], p[5], k[5], p[6], k[6], p[7], k[7]);
        }
        for (; i < end; i += 8) {
            const __mmask8 k = end - i >= 8 ? (__mmask8)0xFF : tail8(end - i);
            __m512d v = _mm512_mask_loadu_pd(ninf, k, x + i), kk, p;
            if (track)
                mx = _mm512_max_pd(mx, v);
            p = _mm512_maskz_mov_pd(k, split_pd(_mm512_max_pd(xlo, v), &kk));
            EXTEXP_ADD_PD(m2, e2, p, kk);
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

INL __m512d extexp_scale_pd(__m512d x, __m512d xlo, __m512d rhi, __m512d rlo, __m512d E)
{
    __m512d k, p, q;
    p = split_pd(_mm512_max_pd(xlo, x), &k);
    q = _mm512_fmadd_pd(p, rhi, _mm512_mul_pd(p, rlo));
    return _mm512_scalef_pd(q, _mm512_sub_pd(k, E));
}

static TGT void extexp_scale_f64(const double *x, double *y, size_t n, double mant, double expo)
{
    const __m512d xlo = _mm512_set1_pd(SV_XLO_F64);
    double hi, lo;
    recip_f64(mant, &hi, &lo);
    const __m512d rhi = _mm512_set1_pd(hi), rlo = _mm512_set1_pd(lo), E = _mm512_set1_pd(expo);
    MAP_PD(x, y, n, extexp_scale_pd(v, xlo, rhi, rlo, E));
}

static TGT double read_f64(const double *x, size_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH(x + i + 0);
        PREFETCH(x + i + 8);
        PREFETCH(x + i + 16);
        PREFETCH(x + i + 24);
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
    MAP_PD(x, y, n, v);
}

const sv_kernels_f64 sv_avx512_f64 = {
    "avx512", max_f64, sum_exp_f64, scale_f64, exp_scale_f64, rw_reload_rows_f64, online_f64,
    extexp_sum_f64, extexp_scale_f64, read_f64, copy_f64,
};

#endif
