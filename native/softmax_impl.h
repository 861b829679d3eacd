/*
 * softmax_impl.h - the kernels, written once for both precisions.
 *
 * softmax.c includes this file twice: with T = float, SFX = f32 and with T = double,
 * SFX = f64 (plus the per-precision constants listed at the top of softmax.c).
 * Each pass is one exported function; the row functions at the bottom chain them.
 */

#define SV_CAT_(a, b) a##_##b
#define SV_CAT(a, b) SV_CAT_(a, b)
#define FN(name) SV_CAT(sv_##name, SFX)
#define SPLIT SV_CAT(sv_split, SFX)
#define EXPNEG SV_CAT(sv_expneg, SFX)
#define POW2I SV_CAT(sv_pow2i, SFX)

/* ---------------------------------------------------------------- passes */

SV_CLONES
int FN(max)(const T *x, size_t n, double *max_out)
{
    T m = -(T)INFINITY;
    if (!max_out || (n && !x))
        return SV_ENULL;
#pragma omp simd reduction(max : m)
    for (size_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    *max_out = (double)m;
    return SV_OK;
}

/* Sum of exp(x - shift).  Partial sums run in T inside blocks of SV_BLOCK elements
 * and are added up in double, so float32 rows of millions of elements keep about
 * 1e-7 relative accuracy instead of losing digits to one long float sum. */
SV_CLONES
int FN(sum_exp)(const T *x, T *y, size_t n, double shift, int store, double *sum_out)
{
    const T s = (T)shift;
    double total = 0.0;
    if (store < SV_STORE_NONE || store > SV_STORE_SHIFTED)
        return SV_EOPTION;
    if (!sum_out || (n && !x) || (n && store != SV_STORE_NONE && !y))
        return SV_ENULL;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t e = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        T acc = 0;
        if (store == SV_STORE_EXP) {
#pragma omp simd reduction(+ : acc)
            for (size_t i = b; i < e; i++) {
                const T v = EXPNEG(x[i] - s);
                y[i] = v;
                acc += v;
            }
        } else if (store == SV_STORE_SHIFTED) {
#pragma omp simd reduction(+ : acc)
            for (size_t i = b; i < e; i++) {
                const T t = x[i] - s;
                y[i] = t;
                acc += EXPNEG(t);
            }
        } else {
#pragma omp simd reduction(+ : acc)
            for (size_t i = b; i < e; i++)
                acc += EXPNEG(x[i] - s);
        }
        total += (double)acc;
    }
    *sum_out = total;
    return SV_OK;
}

/* Milakov & Gimelshein (2018): m_i = max(m_{i-1}, x_i),
 * d_i = d_{i-1} exp(m_{i-1} - m_i) + exp(x_i - m_i).  Each of SV_LANES lanes keeps
 * its own (m, d) so the loop vectorizes; lanes and blocks merge with the same rule.
 * The running max starts at the lowest finite value, not -inf, so that a -inf input
 * never forms -inf - (-inf). */
SV_CLONES
int FN(online)(const T *x, size_t n, double *max_out, double *sum_out)
{
    double M = (double)SV_LOWEST, S = 0.0;
    if (!max_out || !sum_out || (n && !x))
        return SV_ENULL;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t e = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        T m[SV_LANES], d[SV_LANES];
        size_t i = b;
        for (size_t j = 0; j < SV_LANES; j++) {
            m[j] = SV_LOWEST;
            d[j] = 0;
        }
        /* four elements per lane and step: one rescale exp(m - mn) per four terms */
        for (; i + 4 * SV_LANES <= e; i += 4 * SV_LANES) {
#pragma omp simd
            for (size_t j = 0; j < SV_LANES; j++) {
                const T v0 = x[i + j], v1 = x[i + SV_LANES + j];
                const T v2 = x[i + 2 * SV_LANES + j], v3 = x[i + 3 * SV_LANES + j];
                const T a = v0 > v1 ? v0 : v1, b = v2 > v3 ? v2 : v3;
                const T c = a > b ? a : b;
                const T mn = c > m[j] ? c : m[j];
                d[j] = d[j] * EXPNEG(m[j] - mn) + ((EXPNEG(v0 - mn) + EXPNEG(v1 - mn)) +
                                                   (EXPNEG(v2 - mn) + EXPNEG(v3 - mn)));
                m[j] = mn;
            }
        }
        for (; i + SV_LANES <= e; i += SV_LANES) {
#pragma omp simd
            for (size_t j = 0; j < SV_LANES; j++) {
                const T v = x[i + j];
                const T mn = v > m[j] ? v : m[j];
                d[j] = d[j] * EXPNEG(m[j] - mn) + EXPNEG(v - mn);
                m[j] = mn;
            }
        }
        for (; i < e; i++) {
            const T v = x[i];
            const T mn = v > m[0] ? v : m[0];
            d[0] = d[0] * EXPNEG(m[0] - mn) + EXPNEG(v - mn);
            m[0] = mn;
        }
        for (size_t j = 0; j < SV_LANES; j++)
            sv_merge_online(&M, &S, (double)m[j], (double)d[j]);
    }
    *max_out = M;
    *sum_out = S;
    return SV_OK;
}

/* Dukhan & Ablavatski (2020), first pass: every exp(x) as (p, n), the running sum as
 * (m, e) with sum = m * 2^e.  A new term rescales the accumulator by the exact power
 * of two 2^(e - max(e, n)), so nothing overflows and no max pass is needed.  Inputs
 * below SV_XLO are clamped: their terms are 0 next to any ordinary row maximum, and
 * a row whose maximum is that low is sent to the special path by the caller. */
SV_CLONES
int FN(sum_extexp)(const T *x, size_t n, double *mantissa_out, double *exponent_out)
{
    double M = 0.0, E = -HUGE_VAL;
    if (!mantissa_out || !exponent_out || (n && !x))
        return SV_ENULL;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t end = n - b < SV_BLOCK ? n : b + SV_BLOCK;
        T m[SV_LANES], e[SV_LANES];
        size_t i = b;
        for (size_t j = 0; j < SV_LANES; j++) {
            m[j] = 0;
            e[j] = SV_ESENTINEL;
        }
        /* four elements per lane and step: the accumulator is rescaled once per four */
        for (; i + 4 * SV_LANES <= end; i += 4 * SV_LANES) {
#pragma omp simd
            for (size_t j = 0; j < SV_LANES; j++) {
                T v0 = x[i + j], v1 = x[i + SV_LANES + j];
                T v2 = x[i + 2 * SV_LANES + j], v3 = x[i + 3 * SV_LANES + j];
                T k0, k1, k2, k3, p0, p1, p2, p3, a, b, en;
                v0 = v0 < SV_XLO ? SV_XLO : v0;
                v1 = v1 < SV_XLO ? SV_XLO : v1;
                v2 = v2 < SV_XLO ? SV_XLO : v2;
                v3 = v3 < SV_XLO ? SV_XLO : v3;
                p0 = SPLIT(v0, &k0);
                p1 = SPLIT(v1, &k1);
                p2 = SPLIT(v2, &k2);
                p3 = SPLIT(v3, &k3);
                a = k0 > k1 ? k0 : k1;
                b = k2 > k3 ? k2 : k3;
                a = a > b ? a : b;
                en = a > e[j] ? a : e[j];
                m[j] = m[j] * POW2I(e[j] - en) + ((p0 * POW2I(k0 - en) + p1 * POW2I(k1 - en)) +
                                                  (p2 * POW2I(k2 - en) + p3 * POW2I(k3 - en)));
                e[j] = en;
            }
        }
        for (; i + SV_LANES <= end; i += SV_LANES) {
#pragma omp simd
            for (size_t j = 0; j < SV_LANES; j++) {
                T v = x[i + j], k, p, en;
                v = v < SV_XLO ? SV_XLO : v;
                p = SPLIT(v, &k);
                en = k > e[j] ? k : e[j];
                m[j] = m[j] * POW2I(e[j] - en) + p * POW2I(k - en);
                e[j] = en;
            }
        }
        for (; i < end; i++) {
            T v = x[i], k, p, en;
            v = v < SV_XLO ? SV_XLO : v;
            p = SPLIT(v, &k);
            en = k > e[0] ? k : e[0];
            m[0] = m[0] * POW2I(e[0] - en) + p * POW2I(k - en);
            e[0] = en;
        }
        for (size_t j = 0; j < SV_LANES; j++)
            sv_merge_extexp(&M, &E, (double)m[j], (double)e[j]);
    }
    *mantissa_out = M;
    *exponent_out = E;
    return SV_OK;
}

/* Third pass of three-pass reload: out = y * factor (in place allowed). */
SV_CLONES
int FN(scale)(const T *y, T *out, size_t n, double factor)
{
    const T f = (T)factor;
    if (n && (!y || !out))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = y[i] * f;
    return SV_OK;
}

/* Last pass of three-pass recompute and online: y = exp(x - shift) * factor. */
SV_CLONES
int FN(exp_scale)(const T *x, T *y, size_t n, double shift, double factor)
{
    const T s = (T)shift, f = (T)factor;
    if (n && (!x || !y))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = EXPNEG(x[i] - s) * f;
    return SV_OK;
}

/* Second pass of two-pass: y = p / mantissa * 2^(n - exponent), where exponent is
 * the row's largest n.  The power of two is exact, so no x - max is ever rounded.
 * The clamp at 1 keeps the rounding of p / mantissa from producing a probability
 * above 1 when one entry dominates. */
SV_CLONES
int FN(extexp_scale)(const T *x, T *y, size_t n, double mantissa, double exponent)
{
    const T f = (T)(1.0 / mantissa), ee = (T)exponent;
    if (n && (!x || !y))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        T v = x[i], k, p;
        v = v < SV_XLO ? SV_XLO : v;
        p = SPLIT(v, &k);
        p = (p * f) * POW2I(k - ee);
        y[i] = p > 1 ? 1 : p;
    }
    return SV_OK;
}

/* Log-softmax's last pass: y = min((x - shift) - shift2, 0), in double, rounded once. */
SV_CLONES
int FN(shift)(const T *x, T *y, size_t n, double shift, double shift2)
{
    if (n && (!x || !y))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const double t = ((double)x[i] - shift) - shift2;
        y[i] = (T)(t > 0.0 ? 0.0 : t);
    }
    return SV_OK;
}

/* ------------------------------------------------------- scalar special path */

int FN(special_row)(int op, const T *x, T *y, size_t n, double *lse_out)
{
    int has_nan = 0, has_pinf = 0;
    double M = -HUGE_VAL, S = 0.0, log_s;
    if (op < SV_OP_SOFTMAX || op > SV_OP_LSE)
        return SV_EOPTION;
    if (!lse_out || (n && !x) || (n && op != SV_OP_LSE && !y))
        return SV_ENULL;
    for (size_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        if (v != v)
            has_nan = 1;
        else {
            has_pinf |= v == HUGE_VAL;
            M = v > M ? v : M;
        }
    }
    if (n == 0) {
        *lse_out = -HUGE_VAL;
        return SV_OK;
    }
    if (has_nan || has_pinf || M == -HUGE_VAL) {
        *lse_out = has_nan ? (double)NAN : has_pinf ? HUGE_VAL : -HUGE_VAL;
        for (size_t i = 0; i < n && op != SV_OP_LSE; i++) {
            /* scipy: log_softmax of a row holding +inf is NaN there and -inf elsewhere */
            const int minus_inf = op == SV_OP_LOG_SOFTMAX && !has_nan && has_pinf &&
                                  (double)x[i] != HUGE_VAL;
            y[i] = minus_inf ? -(T)INFINITY : (T)NAN;
        }
        return SV_OK;
    }
    for (size_t i = 0; i < n; i++)
        S += exp((double)x[i] - M);
    log_s = log(S);
    *lse_out = M + log_s;
    for (size_t i = 0; i < n && op == SV_OP_SOFTMAX; i++)
        y[i] = (T)(exp((double)x[i] - M) / S);
    for (size_t i = 0; i < n && op == SV_OP_LOG_SOFTMAX; i++)
        y[i] = (T)(((double)x[i] - M) - log_s);
    return SV_OK;
}

/* ----------------------------------------------------------------- rows */

static int FN(row)(int algorithm, int op, const T *x, T *y, size_t n, double *lse)
{
    double a, b;
    if (n == 0) {
        *lse = -HUGE_VAL;
        return SV_OK;
    }
    switch (algorithm) {
    case SV_THREE_PASS_RELOAD:
    case SV_THREE_PASS_RECOMPUTE: {
        const int reload = algorithm == SV_THREE_PASS_RELOAD && op != SV_OP_LSE;
        const int store = !reload ? SV_STORE_NONE
                          : op == SV_OP_SOFTMAX ? SV_STORE_EXP : SV_STORE_SHIFTED;
        FN(max)(x, n, &a);
        if (!isfinite(a))
            return FN(special_row)(op, x, y, n, lse);
        FN(sum_exp)(x, y, n, a, store, &b);
        if (!sv_regular_max_sum(a, b))
            return FN(special_row)(op, x, y, n, lse);
        *lse = a + log(b);
        if (op == SV_OP_SOFTMAX && reload)
            return FN(scale)(y, y, n, 1.0 / b);
        if (op == SV_OP_SOFTMAX)
            return FN(exp_scale)(x, y, n, a, 1.0 / b);
        if (op == SV_OP_LOG_SOFTMAX && reload)
            return FN(shift)(y, y, n, 0.0, log(b));
        if (op == SV_OP_LOG_SOFTMAX)
            return FN(shift)(x, y, n, a, log(b));
        return SV_OK;
    }
    case SV_ONLINE:
        FN(online)(x, n, &a, &b);
        if (!sv_regular_max_sum(a, b))
            return FN(special_row)(op, x, y, n, lse);
        *lse = a + log(b);
        if (op == SV_OP_SOFTMAX)
            return FN(exp_scale)(x, y, n, a, 1.0 / b);
        if (op == SV_OP_LOG_SOFTMAX)
            return FN(shift)(x, y, n, a, log(b));
        return SV_OK;
    case SV_TWO_PASS:
        FN(sum_extexp)(x, n, &a, &b);
        if (!sv_regular_extexp(a, b, SV_IS_F64))
            return FN(special_row)(op, x, y, n, lse);
        /* log(sum) = e ln2 + log(m); e*LN2_HI is exact, so split it off first */
        *lse = b * SV_LN2_HI_D + (b * SV_LN2_LO_D + log(a));
        if (op == SV_OP_SOFTMAX)
            return FN(extexp_scale)(x, y, n, a, b);
        if (op == SV_OP_LOG_SOFTMAX)
            return FN(shift)(x, y, n, b * SV_LN2_HI_D, b * SV_LN2_LO_D + log(a));
        return SV_OK;
    default:
        return SV_EALGORITHM;
    }
}

static int FN(rows)(int algorithm, int op, const T *x, T *y, size_t rows, size_t n)
{
    if (algorithm < SV_THREE_PASS_RELOAD || algorithm > SV_ONLINE)
        return SV_EALGORITHM;
    if (rows && n && (!x || !y))
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++) {
        double lse;
        int status = FN(row)(algorithm, op, x + r * n, y + r * n, n, &lse);
        if (status != SV_OK)
            return status;
    }
    return SV_OK;
}

int FN(softmax)(int algorithm, const T *x, T *y, size_t rows, size_t n)
{
    return FN(rows)(algorithm, SV_OP_SOFTMAX, x, y, rows, n);
}

int FN(log_softmax)(int algorithm, const T *x, T *y, size_t rows, size_t n)
{
    return FN(rows)(algorithm, SV_OP_LOG_SOFTMAX, x, y, rows, n);
}

int FN(logsumexp)(int algorithm, const T *x, T *out, size_t rows, size_t n)
{
    if (algorithm < SV_THREE_PASS_RELOAD || algorithm > SV_ONLINE)
        return SV_EALGORITHM;
    if (rows && (!out || (n && !x)))
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++) {
        double lse;
        int status = FN(row)(algorithm, SV_OP_LSE, x + r * n, NULL, n, &lse);
        if (status != SV_OK)
            return status;
        out[r] = (T)lse;
    }
    return SV_OK;
}

/* ------------------------------------------------------- teaching, probes */

SV_CLONES
int FN(extexp)(const T *x, T *mantissa, T *exponent, size_t n)
{
    if (n && (!x || !mantissa || !exponent))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        T k;
        mantissa[i] = SPLIT(x[i], &k);
        exponent[i] = k;
    }
    return SV_OK;
}

/* Independent lane sums keep several loads in flight, so the probe measures memory,
 * not the latency of one add chain. */
SV_CLONES
int FN(read)(const T *x, size_t n, double *sum_out)
{
    T acc[SV_LANES];
    double s = 0.0;
    size_t i = 0;
    if (!sum_out || (n && !x))
        return SV_ENULL;
    for (size_t j = 0; j < SV_LANES; j++)
        acc[j] = 0;
    for (; i + SV_LANES <= n; i += SV_LANES) {
#pragma omp simd
        for (size_t j = 0; j < SV_LANES; j++)
            acc[j] += x[i + j];
    }
    for (; i < n; i++)
        s += (double)x[i];
    for (size_t j = 0; j < SV_LANES; j++)
        s += (double)acc[j];
    *sum_out = s;
    return SV_OK;
}

SV_CLONES
int FN(copy)(const T *x, T *y, size_t n)
{
    if (n && (!x || !y))
        return SV_ENULL;
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
    return SV_OK;
}

#undef SPLIT
#undef EXPNEG
#undef POW2I
#undef FN
