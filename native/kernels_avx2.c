/*
 * kernels_avx2.c - the x86-64 AVX2 + FMA kernel table (see kernels.h).
 *
 * The same kernels as kernels_avx512.c at half the width.  AVX2 has no vscalef, so 2^n
 * is built in the exponent field: (n + 1.5*2^23 + 127) holds n + 127 in its low bits,
 * and a shift by 23 moves them into place.  Exponent differences are clamped at -127
 * (float32) / -1023 (float64), which gives exactly 0: a term that far below the row
 * maximum cannot reach a normal output, so results that would be subnormal are flushed
 * to 0 (the C API allows that).  Row tails shorter than one vector run through the
 * scalar helpers of exp_*.h.
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

#define TGT __attribute__((target("avx2,fma")))
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

/* y = F(v) for every vector v of x (FS(xs) for the scalar head and tail).  Outputs of at
 * least SV_STREAM_BYTES are written with non-temporal stores after a scalar head that
 * aligns y to 32 bytes (see kernels_avx512.c). */
#define MAP_AVX2(T, VT, W, x, y, n, LOADU, STOREU, STREAM, F, FS)                       \
    do {                                                                                \
        size_t i_ = 0;                                                                  \
        if ((n) * sizeof(T) >= SV_STREAM_BYTES && ((uintptr_t)(y) & (sizeof(T) - 1)) == 0) { \
            for (; i_ < (n) && ((uintptr_t)((y) + i_) & 31); i_++) {                    \
                const T xs = (x)[i_];                                                   \
                (y)[i_] = (FS);                                                         \
            }                                                                           \
            for (; i_ + (W) <= (n); i_ += (W)) {                                        \
                const VT v = LOADU((x) + i_);                                           \
                PREFETCH((x) + i_);                                                     \
                STREAM((y) + i_, (F));                                                  \
            }                                                                           \
            _mm_sfence();                                                               \
        }                                                                               \
        for (; i_ + 4 * (W) <= (n); i_ += 4 * (W)) {                                    \
            VT r_[4];                                                                   \
            PREFETCH((x) + i_);                                                         \
            PREFETCH((x) + i_ + 2 * (W));                                               \
            for (int j_ = 0; j_ < 4; j_++) {                                            \
                const VT v = LOADU((x) + i_ + (W) * j_);                                \
                r_[j_] = (F);                                                           \
            }                                                                           \
            for (int j_ = 0; j_ < 4; j_++)                                              \
                STOREU((y) + i_ + (W) * j_, r_[j_]);                                    \
        }                                                                               \
        for (; i_ + (W) <= (n); i_ += (W)) {                                            \
            const VT v = LOADU((x) + i_);                                               \
            STOREU((y) + i_, (F));                                                      \
        }                                                                               \
        for (; i_ < (n); i_++) {                                                        \
            const T xs = (x)[i_];                                                       \
            (y)[i_] = (FS);                                                             \
        }                                                                               \
    } while (0)
#define MAP_PS(x, y, n, F, FS) \
    MAP_AVX2(float, __m256, 8, x, y, n, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_stream_ps, F, FS)
#define MAP_PD(x, y, n, F, FS) \
    MAP_AVX2(double, __m256d, 4, x, y, n, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_stream_pd, F, FS)

INL __m256 pow2_ps(__m256 k)
{
    k = _mm256_max_ps(_mm256_set1_ps(-127.0f), k);
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(k, _mm256_set1_ps(SVF32_MAGIC + 127.0f))), 23));
}

INL __m256 split_ps(__m256 x, __m256 *n)
{
    /* (v + MAGIC) - MAGIC: one FMA and a subtraction instead of a multiplication and
     * vroundps (two uops); valid for |x log2 e| < 2^22, see kernels_avx512.c split_ps */
    const __m256 magic = _mm256_set1_ps(SVF32_MAGIC);
    const __m256 k = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(SVF32_LOG2E), magic), magic);
    __m256 t = _mm256_fnmadd_ps(k, _mm256_set1_ps(SVF32_LN2_HI), x);
    __m256 p = _mm256_set1_ps(SVF32_C5);
    t = _mm256_fnmadd_ps(k, _mm256_set1_ps(SVF32_LN2_LO), t);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SVF32_C4));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SVF32_C3));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SVF32_C2));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.0f));
    *n = k;
    return p;
}

/* exp(t) for t <= 0; -inf gives 0, NaN stays NaN (the data is vmaxps' second operand) */
INL __m256 expneg_ps(__m256 t)
{
    __m256 n, p;
    t = _mm256_max_ps(_mm256_set1_ps(-104.0f), t);
    p = split_ps(t, &n);
    return _mm256_mul_ps(p, pow2_ps(n));
}

INL float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

INL double hadd_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

INL __m256d lo_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_castps256_ps128(v));
}

INL __m256d hi_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

INL float max_f32_pf(const float *x, size_t n, const int pf)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    float m = -INFINITY;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH_IF(pf, x + i + 0);
        PREFETCH_IF(pf, x + i + 16);
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
        m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
        m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    m0 = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
    {
        const float v = hmax_ps(m0);
        return v > m ? v : m;
    }
}

INL float max_f32(const float *x, size_t n)
{
    return SV_LONG_ROW(n * sizeof(float)) ? max_f32_pf(x, n, 1) : max_f32_pf(x, n, 0);
}

INL double sum_exp_f32_pf(const float *x, float *y, size_t n, float shift, const int pf)
{
    const __m256 s = _mm256_set1_ps(shift);
    __m256d d0 = _mm256_setzero_pd(), d1 = d0;
    double tail = 0.0;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            PREFETCH_IF(pf, x + i + 0);
            PREFETCH_IF(pf, x + i + 16);
            const __m256 e0 = expneg_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
            const __m256 e1 = expneg_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s));
            const __m256 e2 = expneg_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), s));
            const __m256 e3 = expneg_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), s));
            if (y) {
                _mm256_storeu_ps(y + i, e0);
                _mm256_storeu_ps(y + i + 8, e1);
                _mm256_storeu_ps(y + i + 16, e2);
                _mm256_storeu_ps(y + i + 24, e3);
            }
            a0 = _mm256_add_ps(a0, e0);
            a1 = _mm256_add_ps(a1, e1);
            a2 = _mm256_add_ps(a2, e2);
            a3 = _mm256_add_ps(a3, e3);
        }
        for (; i + 8 <= end; i += 8) {
            const __m256 e = expneg_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
            if (y)
                _mm256_storeu_ps(y + i, e);
            a0 = _mm256_add_ps(a0, e);
        }
        for (; i < end; i++) {
            const float e = sv_expneg_f32(x[i] - shift);
            if (y)
                y[i] = e;
            tail += (double)e;
        }
        a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        d0 = _mm256_add_pd(d0, lo_pd(a0));
        d1 = _mm256_add_pd(d1, hi_pd(a0));
    }
    return hadd_pd(_mm256_add_pd(d0, d1)) + tail;
}

INL double sum_exp_f32(const float *x, float *y, size_t n, float shift)
{
    return SV_LONG_ROW(n * sizeof(float)) ? sum_exp_f32_pf(x, y, n, shift, 1) : sum_exp_f32_pf(x, y, n, shift, 0);
}

INL void scale_f32(const float *x, float *y, size_t n, float factor)
{
    const __m256 f = _mm256_set1_ps(factor);
    MAP_PS(x, y, n, _mm256_mul_ps(v, f), xs * factor);
}

INL __m256 exp_scale_ps(__m256 x, __m256 s, __m256 f)
{
    return _mm256_mul_ps(expneg_ps(_mm256_sub_ps(x, s)), f);
}

static TGT void exp_scale_f32(const float *x, float *y, size_t n, float shift, float factor)
{
    const __m256 s = _mm256_set1_ps(shift), f = _mm256_set1_ps(factor);
    MAP_PS(x, y, n, exp_scale_ps(v, s, f), sv_expneg_f32(xs - shift) * factor);
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

INL __m256d expneg_pd(__m256d t);

/* Milakov & Gimelshein, 8 lanes of (m, d) in float per block, folded into double */
static TGT void online_f32(const float *x, size_t n, double *max_out, double *sum_out)
{
    const __m256 lowest = _mm256_set1_ps(-FLT_MAX);
    __m256d M0 = _mm256_set1_pd(-DBL_MAX), M1 = M0, S0 = _mm256_setzero_pd(), S1 = S0;
    double Mt = -DBL_MAX, St = 0.0, mv[8], sv[8];
    float tm = -FLT_MAX, td = 0.0f;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m256 m = lowest, d = _mm256_setzero_ps();
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            PREFETCH(x + i + 0);
            PREFETCH(x + i + 16);
            const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
            const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
            const __m256 mn = _mm256_max_ps(_mm256_max_ps(m, _mm256_max_ps(v0, v1)), _mm256_max_ps(v2, v3));
            const __m256 e = _mm256_add_ps(
                _mm256_add_ps(expneg_ps(_mm256_sub_ps(v0, mn)), expneg_ps(_mm256_sub_ps(v1, mn))),
                _mm256_add_ps(expneg_ps(_mm256_sub_ps(v2, mn)), expneg_ps(_mm256_sub_ps(v3, mn))));
            d = _mm256_fmadd_ps(d, expneg_ps(_mm256_sub_ps(m, mn)), e);
            m = mn;
        }
        for (; i + 8 <= end; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            const __m256 mn = _mm256_max_ps(m, v);
            d = _mm256_fmadd_ps(d, expneg_ps(_mm256_sub_ps(m, mn)), expneg_ps(_mm256_sub_ps(v, mn)));
            m = mn;
        }
        for (; i < end; i++) {
            const float v = x[i], mn = v > tm ? v : tm;
            td = td * sv_expneg_f32(tm - mn) + sv_expneg_f32(v - mn);
            tm = mn;
        }
        {
            const __m256d m0 = lo_pd(m), m1 = hi_pd(m);
            const __m256d n0 = _mm256_max_pd(M0, m0), n1 = _mm256_max_pd(M1, m1);
            S0 = _mm256_fmadd_pd(S0, expneg_pd(_mm256_sub_pd(M0, n0)), _mm256_mul_pd(lo_pd(d), expneg_pd(_mm256_sub_pd(m0, n0))));
            S1 = _mm256_fmadd_pd(S1, expneg_pd(_mm256_sub_pd(M1, n1)), _mm256_mul_pd(hi_pd(d), expneg_pd(_mm256_sub_pd(m1, n1))));
            M0 = n0;
            M1 = n1;
        }
    }
    _mm256_storeu_pd(mv, M0);
    _mm256_storeu_pd(mv + 4, M1);
    _mm256_storeu_pd(sv, S0);
    _mm256_storeu_pd(sv + 4, S1);
    for (int j = 0; j <= 8; j++) {
        const double mj = j < 8 ? mv[j] : (double)tm, sj = j < 8 ? sv[j] : (double)td;
        const double mn = mj > Mt ? mj : Mt;
        St = St * sv_expneg_f64(Mt - mn) + sj * sv_expneg_f64(mj - mn);
        Mt = mn;
    }
    *max_out = Mt;
    *sum_out = St;
}

#define EXTEXP_ADD(m, e, p, k)                                                           \
    do {                                                                                 \
        const __m256 en_ = _mm256_max_ps(e, k);                                          \
        m = _mm256_fmadd_ps(m, pow2_ps(_mm256_sub_ps(e, en_)),                           \
                            _mm256_mul_ps(p, pow2_ps(_mm256_sub_ps(k, en_))));           \
        e = en_;                                                                         \
    } while (0)

/* four terms at once: one rescale of the accumulator per four vectors (the new exponent
 * is the max over all of them) */
#define EXTEXP_ADD4(m, e, p0, k0, p1, k1, p2, k2, p3, k3)                                   \
    do {                                                                                 \
        const __m256 en_ = _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(k0, k1), _mm256_max_ps(k2, k3)), e); \
        const __m256 t_ = _mm256_fmadd_ps(p1, pow2_ps(_mm256_sub_ps(k1, en_)), _mm256_mul_ps(p0, pow2_ps(_mm256_sub_ps(k0, en_)))); \
        const __m256 u_ = _mm256_fmadd_ps(p3, pow2_ps(_mm256_sub_ps(k3, en_)), _mm256_mul_ps(p2, pow2_ps(_mm256_sub_ps(k2, en_)))); \
        m = _mm256_fmadd_ps(m, pow2_ps(_mm256_sub_ps(e, en_)), _mm256_add_ps(t_, u_));   \
        e = en_;                                                                         \
    } while (0)

INL __m256d pow2_pd(__m256d k)
{
    k = _mm256_max_pd(_mm256_set1_pd(-1023.0), k);
    return _mm256_castsi256_pd(
        _mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(SVF64_MAGIC + 1023.0))), 52));
}

INL void extexp_sum_f32_body(const float *x, size_t n, double *mant, double *expo, float *max_out,
                             const int track)
{
    const __m256 xlo = _mm256_set1_ps(SV_XLO_F32), ninf = _mm256_set1_ps(-INFINITY);
    __m256d M0 = _mm256_setzero_pd(), M1 = M0, E0 = _mm256_set1_pd(-0x1p60), E1 = E0;
    __m256 mx = ninf;
    double Mt = 0.0, Et = -0x1p60, mv[8], ev[8];
    float tmx = -INFINITY;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        const __m256 e_init = _mm256_set1_ps(-0x1p24f);
        __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
        __m256 e0 = e_init, e1 = e_init, e2 = e_init, e3 = e_init;
        size_t i = b;
        for (; i + 64 <= end; i += 64) {
            __m256 v[8], k[8], p[8];
            for (int j = 0; j < 8; j++) {
                if (j % 2 == 0)
                    PREFETCH(x + i + 8 * j);
                v[j] = _mm256_loadu_ps(x + i + 8 * j);
            }
            if (track)
                for (int j = 0; j < 8; j++)
                    mx = _mm256_max_ps(mx, v[j]);
            for (int j = 0; j < 8; j++)
                p[j] = split_ps(_mm256_max_ps(xlo, v[j]), &k[j]);
            EXTEXP_ADD4(m0, e0, p[0], k[0], p[1], k[1], p[2], k[2], p[3], k[3]);
            EXTEXP_ADD4(m1, e1, p[4], k[4], p[5], k[5], p[6], k[6], p[7], k[7]);
        }
        for (; i + 8 <= end; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            __m256 k, p;
            if (track)
                mx = _mm256_max_ps(mx, v);
            p = split_ps(_mm256_max_ps(xlo, v), &k);
            EXTEXP_ADD(m2, e2, p, k);
        }
        for (; i < end; i++) {
            /* the scalar tail folds straight into the double total */
            const float v = x[i] < SV_XLO_F32 ? SV_XLO_F32 : x[i];
            float k;
            const float p = sv_split_f32(v, &k);
            const double en = (double)k > Et ? (double)k : Et;
            tmx = x[i] > tmx ? x[i] : tmx;
            Mt = Mt * sv_pow2i_f64(Et - en) + (double)p * sv_pow2i_f64((double)k - en);
            Et = en;
        }
        EXTEXP_ADD(m0, e0, m1, e1);
        EXTEXP_ADD(m2, e2, m3, e3);
        EXTEXP_ADD(m0, e0, m2, e2);
        {
            const __m256d f0 = lo_pd(e0), f1 = hi_pd(e0);
            const __m256d n0 = _mm256_max_pd(E0, f0), n1 = _mm256_max_pd(E1, f1);
            M0 = _mm256_fmadd_pd(M0, pow2_pd(_mm256_sub_pd(E0, n0)), _mm256_mul_pd(lo_pd(m0), pow2_pd(_mm256_sub_pd(f0, n0))));
            M1 = _mm256_fmadd_pd(M1, pow2_pd(_mm256_sub_pd(E1, n1)), _mm256_mul_pd(hi_pd(m0), pow2_pd(_mm256_sub_pd(f1, n1))));
            E0 = n0;
            E1 = n1;
        }
    }
    _mm256_storeu_pd(mv, M0);
    _mm256_storeu_pd(mv + 4, M1);
    _mm256_storeu_pd(ev, E0);
    _mm256_storeu_pd(ev + 4, E1);
    for (int j = 0; j < 8; j++) {
        const double en = ev[j] > Et ? ev[j] : Et;
        Mt = Mt * sv_pow2i_f64(Et - en) + mv[j] * sv_pow2i_f64(ev[j] - en);
        Et = en;
    }
    *mant = Mt;
    *expo = Et;
    if (track) {
        const float v = hmax_ps(mx);
        *max_out = v > tmx ? v : tmx;
    }
}

static TGT void extexp_sum_f32(const float *x, size_t n, double *mant, double *expo, float *max_out)
{
    if (max_out)
        extexp_sum_f32_body(x, n, mant, expo, max_out, 1);
    else
        extexp_sum_f32_body(x, n, mant, expo, NULL, 0);
}

/* (p / mant) 2^(k - expo), with 1/mant as hi + lo (see recip_f32) */
INL __m256 extexp_scale_ps(__m256 x, __m256 xlo, __m256 rhi, __m256 rlo, __m256 E)
{
    __m256 k, p, q;
    p = split_ps(_mm256_max_ps(xlo, x), &k);
    q = _mm256_fmadd_ps(p, rhi, _mm256_mul_ps(p, rlo));
    return _mm256_mul_ps(q, pow2_ps(_mm256_sub_ps(k, E)));
}

static TGT float extexp_scale_1f(float x, float mant, float expo)
{
    float k;
    const float p = sv_split_f32(x < SV_XLO_F32 ? SV_XLO_F32 : x, &k);
    return (p / mant) * sv_pow2i_f32(k - expo);
}

static TGT void extexp_scale_f32(const float *x, float *y, size_t n, float mant, float expo)
{
    const __m256 xlo = _mm256_set1_ps(SV_XLO_F32);
    float hi, lo;
    recip_f32(mant, &hi, &lo);
    const __m256 rhi = _mm256_set1_ps(hi), rlo = _mm256_set1_ps(lo), E = _mm256_set1_ps(expo);
    MAP_PS(x, y, n, extexp_scale_ps(v, xlo, rhi, rlo, E), extexp_scale_1f(xs, mant, expo));
}

static TGT double read_f32(const float *x, size_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    double s = 0.0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH(x + i + 0);
        PREFETCH(x + i + 16);
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i < n; i++)
        s += (double)x[i];
    a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    return s + hadd_pd(_mm256_add_pd(lo_pd(a0), hi_pd(a0)));
}

static TGT void copy_f32(const float *x, float *y, size_t n)
{
    MAP_PS(x, y, n, v, xs);
}

const sv_kernels_f32 sv_avx2_f32 = {
    "avx2", max_f32, sum_exp_f32, scale_f32, exp_scale_f32, rw_reload_rows_f32, online_f32,
    extexp_sum_f32, extexp_scale_f32, read_f32, copy_f32,
};

/* ================================================================== float64 */

INL __m256d split_pd(__m256d x, __m256d *n)
{
    const __m256d magic = _mm256_set1_pd(SVF64_MAGIC);
    const __m256d k = _mm256_sub_pd(_mm256_fmadd_pd(x, _mm256_set1_pd(SVF64_LOG2E), magic), magic);
    __m256d t = _mm256_fnmadd_pd(k, _mm256_set1_pd(SVF64_LN2_HI), x);
    __m256d p = _mm256_set1_pd(SVF64_C11);
    t = _mm256_fnmadd_pd(k, _mm256_set1_pd(SVF64_LN2_LO), t);
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C10));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C9));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C8));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C7));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C6));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C5));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C4));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C3));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(SVF64_C2));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, t, _mm256_set1_pd(1.0));
    *n = k;
    return p;
}

INL __m256d expneg_pd(__m256d t)
{
    __m256d n, p;
    t = _mm256_max_pd(_mm256_set1_pd(-746.0), t);
    p = split_pd(t, &n);
    return _mm256_mul_pd(p, pow2_pd(n));
}

INL double hmax_pd(__m256d v)
{
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
}

/* Knuth's TwoSum into a (sum, compensation) pair (see kernels_avx512.c) */
INL void two_sum_pd(__m256d *s, __m256d *c, __m256d b)
{
    const __m256d t = _mm256_add_pd(*s, b);
    const __m256d bp = _mm256_sub_pd(t, *s);
    *c = _mm256_add_pd(*c, _mm256_add_pd(_mm256_sub_pd(*s, _mm256_sub_pd(t, bp)), _mm256_sub_pd(b, bp)));
    *s = t;
}

INL double max_f64_pf(const double *x, size_t n, const int pf)
{
    const __m256d ninf = _mm256_set1_pd(-INFINITY);
    __m256d m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    double m = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        PREFETCH_IF(pf, x + i + 0);
        PREFETCH_IF(pf, x + i + 8);
        m0 = _mm256_max_pd(m0, _mm256_loadu_pd(x + i));
        m1 = _mm256_max_pd(m1, _mm256_loadu_pd(x + i + 4));
        m2 = _mm256_max_pd(m2, _mm256_loadu_pd(x + i + 8));
        m3 = _mm256_max_pd(m3, _mm256_loadu_pd(x + i + 12));
    }
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    {
        const double v = hmax_pd(_mm256_max_pd(_mm256_max_pd(m0, m1), _mm256_max_pd(m2, m3)));
        return v > m ? v : m;
    }
}

INL double max_f64(const double *x, size_t n)
{
    return SV_LONG_ROW(n * sizeof(double)) ? max_f64_pf(x, n, 1) : max_f64_pf(x, n, 0);
}

INL double sum_exp_f64_pf(const double *x, double *y, size_t n, double shift, const int pf)
{
    const __m256d s = _mm256_set1_pd(shift);
    __m256d S = _mm256_setzero_pd(), C = S;
    double tail = 0.0;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 16 <= end; i += 16) {
            PREFETCH_IF(pf, x + i + 0);
            PREFETCH_IF(pf, x + i + 8);
            const __m256d e0 = expneg_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i), s));
            const __m256d e1 = expneg_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i + 4), s));
            const __m256d e2 = expneg_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i + 8), s));
            const __m256d e3 = expneg_pd(_mm256_sub_pd(_mm256_loadu_pd(x + i + 12), s));
            if (y) {
                _mm256_storeu_pd(y + i, e0);
                _mm256_storeu_pd(y + i + 4, e1);
                _mm256_storeu_pd(y + i + 8, e2);
                _mm256_storeu_pd(y + i + 12, e3);
            }
            a0 = _mm256_add_pd(a0, e0);
            a1 = _mm256_add_pd(a1, e1);
            a2 = _mm256_add_pd(a2, e2);
            a3 = _mm256_add_pd(a3, e3);
        }
        for (; i < end; i++) {
            const double e = sv_expneg_f64(x[i] - shift);
            if (y)
                y[i] = e;
            tail += e;
        }
        two_sum_pd(&S, &C, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
    }
    return hadd_pd(S) + (hadd_pd(C) + tail);
}

INL double sum_exp_f64(const double *x, double *y, size_t n, double shift)
{
    return SV_LONG_ROW(n * sizeof(double)) ? sum_exp_f64_pf(x, y, n, shift, 1) : sum_exp_f64_pf(x, y, n, shift, 0);
}

INL void scale_f64(const double *x, double *y, size_t n, double factor)
{
    const __m256d f = _mm256_set1_pd(factor);
    MAP_PD(x, y, n, _mm256_mul_pd(v, f), xs * factor);
}

static TGT void exp_scale_f64(const double *x, double *y, size_t n, double shift, double factor)
{
    const __m256d s = _mm256_set1_pd(shift), f = _mm256_set1_pd(factor);
    MAP_PD(x, y, n, _mm256_mul_pd(expneg_pd(_mm256_sub_pd(v, s)), f), sv_expneg_f64(xs - shift) * factor);
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

/* online softmax, 4 double lanes, a block at a time folded with a TwoSum (see
 * kernels_avx512.c) */
static TGT void online_f64(const double *x, size_t n, double *max_out, double *sum_out)
{
    const __m256d lowest = _mm256_set1_pd(-DBL_MAX);
    __m256d M = lowest, S = _mm256_setzero_pd(), C = S;
    double Mt = -DBL_MAX, St = 0.0, Ct = 0.0, mv[4], sv[4];
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m256d m = lowest, d = _mm256_setzero_pd();
        size_t i = b;
        for (; i + 16 <= end; i += 16) {
            PREFETCH(x + i + 0);
            PREFETCH(x + i + 8);
            const __m256d v0 = _mm256_loadu_pd(x + i), v1 = _mm256_loadu_pd(x + i + 4);
            const __m256d v2 = _mm256_loadu_pd(x + i + 8), v3 = _mm256_loadu_pd(x + i + 12);
            const __m256d mn = _mm256_max_pd(_mm256_max_pd(m, _mm256_max_pd(v0, v1)), _mm256_max_pd(v2, v3));
            const __m256d e = _mm256_add_pd(
                _mm256_add_pd(expneg_pd(_mm256_sub_pd(v0, mn)), expneg_pd(_mm256_sub_pd(v1, mn))),
                _mm256_add_pd(expneg_pd(_mm256_sub_pd(v2, mn)), expneg_pd(_mm256_sub_pd(v3, mn))));
            d = _mm256_fmadd_pd(d, expneg_pd(_mm256_sub_pd(m, mn)), e);
            m = mn;
        }
        for (; i < end; i++) {
            /* the scalar tail: one more term for the double total, at the running max */
            const double mn = x[i] > Mt ? x[i] : Mt, f = sv_expneg_f64(Mt - mn);
            St *= f;
            Ct *= f;
            {
                const double e = sv_expneg_f64(x[i] - mn), t = St + e, bp = t - St;
                Ct += (St - (t - bp)) + (e - bp);
                St = t;
            }
            Mt = mn;
        }
        {
            const __m256d mn = _mm256_max_pd(M, m), f = expneg_pd(_mm256_sub_pd(M, mn));
            S = _mm256_mul_pd(S, f);
            C = _mm256_mul_pd(C, f);
            two_sum_pd(&S, &C, _mm256_mul_pd(d, expneg_pd(_mm256_sub_pd(m, mn))));
            M = mn;
        }
    }
    _mm256_storeu_pd(mv, M);
    _mm256_storeu_pd(sv, _mm256_add_pd(S, C));
    St += Ct;
    for (int j = 0; j < 4; j++) {
        const double mn = mv[j] > Mt ? mv[j] : Mt;
        St = St * sv_expneg_f64(Mt - mn) + sv[j] * sv_expneg_f64(mv[j] - mn);
        Mt = mn;
    }
    *max_out = Mt;
    *sum_out = St;
}

#define EXTEXP_ADD_PD(m, e, p, k)                                                        \
    do {                                                                                 \
        const __m256d en_ = _mm256_max_pd(e, k);                                         \
        m = _mm256_fmadd_pd(m, pow2_pd(_mm256_sub_pd(e, en_)),                           \
                            _mm256_mul_pd(p, pow2_pd(_mm256_sub_pd(k, en_))));           \
        e = en_;                                                                         \
    } while (0)

#define EXTEXP_ADD4_PD(m, e, p0, k0, p1, k1, p2, k2, p3, k3)                                \
    do {                                                                                 \
        const __m256d en_ = _mm256_max_pd(_mm256_max_pd(_mm256_max_pd(k0, k1), _mm256_max_pd(k2, k3)), e); \
        const __m256d t_ = _mm256_fmadd_pd(p1, pow2_pd(_mm256_sub_pd(k1, en_)), _mm256_mul_pd(p0, pow2_pd(_mm256_sub_pd(k0, en_)))); \
        const __m256d u_ = _mm256_fmadd_pd(p3, pow2_pd(_mm256_sub_pd(k3, en_)), _mm256_mul_pd(p2, pow2_pd(_mm256_sub_pd(k2, en_)))); \
        m = _mm256_fmadd_pd(m, pow2_pd(_mm256_sub_pd(e, en_)), _mm256_add_pd(t_, u_));   \
        e = en_;                                                                         \
    } while (0)

INL void extexp_sum_f64_body(const double *x, size_t n, double *mant, double *expo, double *max_out,
                             const int track)
{
    const __m256d xlo = _mm256_set1_pd(SV_XLO_F64), ninf = _mm256_set1_pd(-INFINITY);
    __m256d S = _mm256_setzero_pd(), C = S, E = _mm256_set1_pd(-0x1p60), mx = ninf;
    double Mt = 0.0, Et = -0x1p60, sv[4], cv[4], ev[4], tmx = -INFINITY;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        __m256d m0 = _mm256_setzero_pd(), m1 = m0, m2 = m0, m3 = m0;
        __m256d e0 = _mm256_set1_pd(-0x1p60), e1 = e0, e2 = e0, e3 = e0;
        size_t i = b;
        for (; i + 32 <= end; i += 32) {
            __m256d v[8], k[8], p[8];
            for (int j = 0; j < 8; j++) {
                if (j % 2 == 0)
                    PREFETCH(x + i + 4 * j);
                v[j] = _mm256_loadu_pd(x + i + 4 * j);
            }
            if (track)
                for (int j = 0; j < 8; j++)
                    mx = _mm256_max_pd(mx, v[j]);
            for (int j = 0; j < 8; j++)
                p[j] = split_pd(_mm256_max_pd(xlo, v[j]), &k[j]);
            EXTEXP_ADD4_PD(m0, e0, p[0], k[0], p[1], k[1], p[2], k[2], p[3], k[3]);
            EXTEXP_ADD4_PD(m1, e1, p[4], k[4], p[5], k[5], p[6], k[6], p[7], k[7]);
        }
        for (; i < end; i++) {
            const double v = x[i] < SV_XLO_F64 ? SV_XLO_F64 : x[i];
            double k;
            const double p = sv_split_f64(v, &k);
            const double en = k > Et ? k : Et;
            tmx = x[i] > tmx ? x[i] : tmx;
            Mt = Mt * sv_pow2i_f64(Et - en) + p * sv_pow2i_f64(k - en);
            Et = en;
        }
        EXTEXP_ADD_PD(m0, e0, m1, e1);
        EXTEXP_ADD_PD(m2, e2, m3, e3);
        EXTEXP_ADD_PD(m0, e0, m2, e2);
        {
            const __m256d en = _mm256_max_pd(E, e0);
            const __m256d f = pow2_pd(_mm256_sub_pd(E, en));
            S = _mm256_mul_pd(S, f);
            C = _mm256_mul_pd(C, f);
            two_sum_pd(&S, &C, _mm256_mul_pd(m0, pow2_pd(_mm256_sub_pd(e0, en))));
            E = en;
        }
    }
    _mm256_storeu_pd(sv, S);
    _mm256_storeu_pd(cv, C);
    _mm256_storeu_pd(ev, E);
    for (int j = 0; j < 4; j++) {
        const double en = ev[j] > Et ? ev[j] : Et;
        Mt = Mt * sv_pow2i_f64(Et - en) + (sv[j] + cv[j]) * sv_pow2i_f64(ev[j] - en);
        Et = en;
    }
    *mant = Mt;
    *expo = Et;
    if (track) {
        const double v = hmax_pd(mx);
        *max_out = v > tmx ? v : tmx;
    }
}

static TGT void extexp_sum_f64(const double *x, size_t n, double *mant, double *expo, double *max_out)
{
    if (max_out)
        extexp_sum_f64_body(x, n, mant, expo, max_out, 1);
    else
        extexp_sum_f64_body(x, n, mant, expo, NULL, 0);
}

INL __m256d extexp_scale_pd(__m256d x, __m256d xlo, __m256d rhi, __m256d rlo, __m256d E)
{
    __m256d k, p, q;
    p = split_pd(_mm256_max_pd(xlo, x), &k);
    q = _mm256_fmadd_pd(p, rhi, _mm256_mul_pd(p, rlo));
    return _mm256_mul_pd(q, pow2_pd(_mm256_sub_pd(k, E)));
}

static TGT double extexp_scale_1d(double x, double mant, double expo)
{
    double k;
    const double p = sv_split_f64(x < SV_XLO_F64 ? SV_XLO_F64 : x, &k);
    return (p / mant) * sv_pow2i_f64(k - expo);
}

static TGT void extexp_scale_f64(const double *x, double *y, size_t n, double mant, double expo)
{
    const __m256d xlo = _mm256_set1_pd(SV_XLO_F64);
    double hi, lo;
    recip_f64(mant, &hi, &lo);
    const __m256d rhi = _mm256_set1_pd(hi), rlo = _mm256_set1_pd(lo), E = _mm256_set1_pd(expo);
    MAP_PD(x, y, n, extexp_scale_pd(v, xlo, rhi, rlo, E), extexp_scale_1d(xs, mant, expo));
}

static TGT double read_f64(const double *x, size_t n)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    double s = 0.0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        PREFETCH(x + i + 0);
        PREFETCH(x + i + 8);
        a0 = _mm256_add_pd(a0, _mm256_loadu_pd(x + i));
        a1 = _mm256_add_pd(a1, _mm256_loadu_pd(x + i + 4));
        a2 = _mm256_add_pd(a2, _mm256_loadu_pd(x + i + 8));
        a3 = _mm256_add_pd(a3, _mm256_loadu_pd(x + i + 12));
    }
    for (; i < n; i++)
        s += x[i];
    return s + hadd_pd(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
}

static TGT void copy_f64(const double *x, double *y, size_t n)
{
    MAP_PD(x, y, n, v, xs);
}

const sv_kernels_f64 sv_avx2_f64 = {
    "avx2", max_f64, sum_exp_f64, scale_f64, exp_scale_f64, rw_reload_rows_f64, online_f64,
    extexp_sum_f64, extexp_scale_f64, read_f64, copy_f64,
};

#endif
