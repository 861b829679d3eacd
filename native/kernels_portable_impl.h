/*
 * kernels_portable_impl.h - the portable C99 kernels, written once for both precisions.
 *
 * kernels_portable.c includes this file twice (T = float and T = double).  The loops
 * are written for the auto-vectorizer (#pragma omp simd, branch-free selects, no libm
 * calls, no float-to-int conversions), so the same source is the fallback on every
 * compiler and CPU and still runs in SIMD lanes where the compiler can.
 */

#define PK_CAT_(a, b) a##_##b
#define PK_CAT(a, b) PK_CAT_(a, b)
#define PK(name) PK_CAT(pk_##name, SFX)
#define SPLIT PK_CAT(sv_split, SFX)
#define EXPNEG PK_CAT(sv_expneg, SFX)
#define POW2I PK_CAT(sv_pow2i, SFX)

/* one running max per lane: a plain `reduction(max:)` over a select does not vectorize
 * with every compiler (clang refuses it), independent lanes do */
SV_ALWAYS_INLINE T PK(max)(const T *x, size_t n)
{
    T m[PK_LANES], r = -(T)INFINITY;
    size_t i = 0;
    for (size_t j = 0; j < PK_LANES; j++)
        m[j] = -(T)INFINITY;
    for (; i + PK_LANES <= n; i += PK_LANES) {
#pragma omp simd
        for (size_t j = 0; j < PK_LANES; j++)
            m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    }
    for (; i < n; i++)
        r = x[i] > r ? x[i] : r;
    for (size_t j = 0; j < PK_LANES; j++)
        r = m[j] > r ? m[j] : r;
    return r;
}

/* Knuth's TwoSum: s + c holds the running total exactly up to one rounding, so folding
 * many block sums does not lose accuracy as the row grows */
static void PK(two_sum)(double *s, double *c, double b)
{
    const double t = *s + b, bp = t - *s;
    *c += (*s - (t - bp)) + (b - bp);
    *s = t;
}

SV_ALWAYS_INLINE double PK(sum_exp)(const T *x, T *y, size_t n, T s)
{
    double total = 0.0, comp = 0.0;
    for (size_t b = 0; b < n; b += PK_BLOCK) {
        const size_t e = n - b < PK_BLOCK ? n : b + PK_BLOCK;
        T acc = 0;
        if (y) {
#pragma omp simd reduction(+ : acc)
            for (size_t i = b; i < e; i++) {
                const T v = EXPNEG(x[i] - s);
                y[i] = v;
                acc += v;
            }
        } else {
#pragma omp simd reduction(+ : acc)
            for (size_t i = b; i < e; i++)
                acc += EXPNEG(x[i] - s);
        }
        PK(two_sum)(&total, &comp, (double)acc);
    }
    return total + comp;
}

SV_ALWAYS_INLINE void PK(scale)(const T *x, T *y, size_t n, T f)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * f;
}

static void PK(exp_scale)(const T *x, T *y, size_t n, T s, T f)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = EXPNEG(x[i] - s) * f;
}

#define RW_ATTR
#define RW_MAX PK(max)
#define RW_SUM_EXP PK(sum_exp)
#define RW_SCALE PK(scale)
#include "rows_impl.h"
#undef RW_ATTR
#undef RW_MAX
#undef RW_SUM_EXP
#undef RW_SCALE

/* Milakov & Gimelshein: m_i = max(m_{i-1}, x_i), d_i = d_{i-1} e^{m_{i-1} - m_i} + e^{x_i - m_i}.
 * Each lane keeps its own (m, d) in T for one block, then folds it into a double (M, S)
 * per lane with the same rule; lanes merge at the end.  The running max starts at the
 * lowest finite value, not -inf, so that a -inf input never forms -inf - (-inf). */
static void PK(online)(const T *x, size_t n, double *max_out, double *sum_out)
{
    double M[PK_LANES], S[PK_LANES], C[PK_LANES];
    double Mt = -DBL_MAX, St = 0.0;
    for (size_t j = 0; j < PK_LANES; j++) {
        M[j] = -DBL_MAX;
        S[j] = 0.0;
        C[j] = 0.0;
    }
    for (size_t b = 0; b < n; b += PK_BLOCK) {
        const size_t e = n - b < PK_BLOCK ? n : b + PK_BLOCK;
        T m[PK_LANES], d[PK_LANES];
        size_t i = b;
        for (size_t j = 0; j < PK_LANES; j++) {
            m[j] = PK_LOWEST;
            d[j] = 0;
        }
        /* four elements per lane and step: one rescale per four terms */
        for (; i + 4 * PK_LANES <= e; i += 4 * PK_LANES) {
#pragma omp simd
            for (size_t j = 0; j < PK_LANES; j++) {
                const T v0 = x[i + j], v1 = x[i + PK_LANES + j];
                const T v2 = x[i + 2 * PK_LANES + j], v3 = x[i + 3 * PK_LANES + j];
                const T a = v0 > v1 ? v0 : v1, c = v2 > v3 ? v2 : v3;
                const T t = a > c ? a : c;
                const T mn = t > m[j] ? t : m[j];
                d[j] = d[j] * EXPNEG(m[j] - mn) + ((EXPNEG(v0 - mn) + EXPNEG(v1 - mn)) +
                                                   (EXPNEG(v2 - mn) + EXPNEG(v3 - mn)));
                m[j] = mn;
            }
        }
        for (; i < e; i++) {
            const size_t j = i % PK_LANES;
            const T v = x[i];
            const T mn = v > m[j] ? v : m[j];
            d[j] = d[j] * EXPNEG(m[j] - mn) + EXPNEG(v - mn);
            m[j] = mn;
        }
        for (size_t j = 0; j < PK_LANES; j++) {
            /* the rescale is exactly 1 while the max stays, so a compensated sum keeps the
             * folds of a long row exact to one rounding */
            const double mj = (double)m[j];
            const double mn = mj > M[j] ? mj : M[j], f = sv_expneg_f64(M[j] - mn);
            S[j] *= f;
            C[j] *= f;
            PK(two_sum)(&S[j], &C[j], (double)d[j] * sv_expneg_f64(mj - mn));
            M[j] = mn;
        }
    }
    for (size_t j = 0; j < PK_LANES; j++) {
        const double mn = M[j] > Mt ? M[j] : Mt;
        St = St * sv_expneg_f64(Mt - mn) + (S[j] + C[j]) * sv_expneg_f64(M[j] - mn);
        Mt = mn;
    }
    *max_out = Mt;
    *sum_out = St;
}

/* Dukhan & Ablavatski (2020), first pass: every exp(x) as (p, k) with exp(x) = p 2^k, the
 * running sum as (m, e) with sum = m 2^e.  A new term rescales the accumulator by the exact
 * power of two 2^(e - max(e, k)), so nothing overflows and no max pass is needed.  The
 * chunk's max is tracked too (one compare per element): log-softmax needs it to be exact. */
static void PK(extexp_sum)(const T *x, size_t n, double *mant, double *expo, T *max_out)
{
    double Md[PK_LANES], Cd[PK_LANES], Ed[PK_LANES];
    double Mt = 0.0, Ct = 0.0, Et = -0x1p60;
    T mx = -(T)INFINITY, ml[PK_LANES];
    for (size_t j = 0; j < PK_LANES; j++) {
        Md[j] = 0.0;
        Cd[j] = 0.0;
        Ed[j] = -0x1p60;
        ml[j] = -(T)INFINITY;
    }
    for (size_t b = 0; b < n; b += PK_BLOCK) {
        const size_t end = n - b < PK_BLOCK ? n : b + PK_BLOCK;
        T m[PK_LANES], e[PK_LANES];
        size_t i = b;
        for (size_t j = 0; j < PK_LANES; j++) {
            m[j] = 0;
            e[j] = PK_ESENTINEL;
        }
        for (; i + 4 * PK_LANES <= end; i += 4 * PK_LANES) {
#pragma omp simd
            for (size_t j = 0; j < PK_LANES; j++) {
                T v0 = x[i + j], v1 = x[i + PK_LANES + j];
                T v2 = x[i + 2 * PK_LANES + j], v3 = x[i + 3 * PK_LANES + j];
                T k0, k1, k2, k3, p0, p1, p2, p3, a, c, en;
                a = v0 > v1 ? v0 : v1;
                c = v2 > v3 ? v2 : v3;
                a = a > c ? a : c;
                ml[j] = a > ml[j] ? a : ml[j];
                v0 = v0 < PK_XLO ? PK_XLO : v0;
                v1 = v1 < PK_XLO ? PK_XLO : v1;
                v2 = v2 < PK_XLO ? PK_XLO : v2;
                v3 = v3 < PK_XLO ? PK_XLO : v3;
                p0 = SPLIT(v0, &k0);
                p1 = SPLIT(v1, &k1);
                p2 = SPLIT(v2, &k2);
                p3 = SPLIT(v3, &k3);
                a = k0 > k1 ? k0 : k1;
                c = k2 > k3 ? k2 : k3;
                a = a > c ? a : c;
                en = a > e[j] ? a : e[j];
                m[j] = m[j] * POW2I(e[j] - en) + ((p0 * POW2I(k0 - en) + p1 * POW2I(k1 - en)) +
                                                  (p2 * POW2I(k2 - en) + p3 * POW2I(k3 - en)));
                e[j] = en;
            }
        }
        for (; i < end; i++) {
            const size_t j = i % PK_LANES;
            T v = x[i], k, p, en;
            ml[j] = v > ml[j] ? v : ml[j];
            v = v < PK_XLO ? PK_XLO : v;
            p = SPLIT(v, &k);
            en = k > e[j] ? k : e[j];
            m[j] = m[j] * POW2I(e[j] - en) + p * POW2I(k - en);
            e[j] = en;
        }
        for (size_t j = 0; j < PK_LANES; j++) {
            /* rescaling by a power of two is exact, so the compensation scales along */
            const double ej = (double)e[j];
            const double en = ej > Ed[j] ? ej : Ed[j];
            const double f = sv_pow2i_f64(Ed[j] - en);
            Md[j] *= f;
            Cd[j] *= f;
            PK(two_sum)(&Md[j], &Cd[j], (double)m[j] * sv_pow2i_f64(ej - en));
            Ed[j] = en;
        }
    }
    for (size_t j = 0; j < PK_LANES; j++) {
        const double en = Ed[j] > Et ? Ed[j] : Et;
        const double f = sv_pow2i_f64(Et - en), g = sv_pow2i_f64(Ed[j] - en);
        mx = ml[j] > mx ? ml[j] : mx;
        Mt *= f;
        Ct *= f;
        PK(two_sum)(&Mt, &Ct, Md[j] * g);
        Ct += Cd[j] * g;
        Et = en;
    }
    *mant = Mt + Ct;
    *expo = Et;
    if (max_out)
        *max_out = mx;
}

/* Dukhan & Ablavatski, second pass: y = (p / mant) 2^(k - expo).  A division, not a
 * multiplication by 1/mant: it is correctly rounded, so an entry that holds the whole sum
 * gives exactly 1 (the ISA kernels get the same from an FMA-corrected reciprocal). */
static void PK(extexp_scale)(const T *x, T *y, size_t n, T mant, T expo)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        T v = x[i], k, p;
        v = v < PK_XLO ? PK_XLO : v;
        p = SPLIT(v, &k);
        y[i] = (p / mant) * POW2I(k - expo);
    }
}

/* Independent lane sums keep several loads in flight, so the probe measures memory,
 * not the latency of one add chain. */
static double PK(read)(const T *x, size_t n)
{
    T acc[PK_LANES];
    double s = 0.0;
    size_t i = 0;
    for (size_t j = 0; j < PK_LANES; j++)
        acc[j] = 0;
    for (; i + PK_LANES <= n; i += PK_LANES) {
#pragma omp simd
        for (size_t j = 0; j < PK_LANES; j++)
            acc[j] += x[i + j];
    }
    for (; i < n; i++)
        s += (double)x[i];
    for (size_t j = 0; j < PK_LANES; j++)
        s += (double)acc[j];
    return s;
}

static void PK(copy)(const T *x, T *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
}

const PK_TABLE PK_CAT(sv_portable, SFX) = {
    "portable",
    PK(max),
    PK(sum_exp),
    PK(scale),
    PK(exp_scale),
    PK_CAT(rw_reload_rows, SFX),
    PK(online),
    PK(extexp_sum),
    PK(extexp_scale),
    PK(read),
    PK(copy),
};

#undef PK
#undef SPLIT
#undef EXPNEG
#undef POW2I
