/*
 * rows_impl.h - three-pass reload over a batch of short rows, written once and compiled
 * into every kernel table (kernels_portable_impl.h, kernels_avx2.c, kernels_avx512.c
 * include it with T, SFX, RW_ATTR and their own RW_MAX, RW_SUM_EXP and RW_SCALE).
 *
 * Why it exists: a row of 128 floats is eight AVX-512 vectors, and its arithmetic takes
 * about as long as what the row plan wraps around it (three indirect calls, the state,
 * the checks) and as the two horizontal reductions each row waits for.  Here the
 * kernels are inlined, nothing but the regular-row checks surrounds them, and short rows
 * go in pairs so that one row's reductions overlap the other's vector work.  Every row gets
 * exactly the kernel calls and the arithmetic the row plan makes for it (softmax,
 * log_softmax, logsumexp, and a row one entry dominates), so the bits are the plan's.
 */
#include <math.h>

#include "softviz.h"

/* Rows up to this many bytes go in pairs.  Measured (AVX-512, float32, rows in L1):
 * pairs take 18 % off rows of 64 and 9 % off rows of 128 but add 8-20 % from rows of 192
 * on, where one row alone already fills the out-of-order window. */
#ifndef RW_PAIR_BYTES
#define RW_PAIR_BYTES 512
#endif

#define RW_CAT_(a, b) a##_##b
#define RW_CAT(a, b) RW_CAT_(a, b)
#define RW(name) RW_CAT(rw_##name, SFX)

#define RW_FINITE(m) ((m) > -(T)INFINITY && (m) < (T)INFINITY)
/* the row plan's condition for a regular row: a finite positive sum (a row that one entry
 * dominates is regular too: its logsumexp and log_softmax take log1p of the rest here,
 * as the plan's finalize does) */
#define RW_REGULAR(S) ((S) > 0.0 && (S) < HUGE_VAL)

/* pass 2: the sum of exp(x - m), storing what the last pass needs: the exps (softmax),
 * x - m a block at a time (log_softmax, as the plan's store_shifted), nothing (logsumexp) */
SV_ALWAYS_INLINE RW_ATTR double RW(sums)(int op, const T *x, T *y, size_t n, T m)
{
    double total = 0.0;
    if (op == SV_SOFTMAX)
        return RW_SUM_EXP(x, y, n, m);
    if (op == SV_LOGSUMEXP)
        return RW_SUM_EXP(x, NULL, n, m);
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t len = n - b < SV_BLOCK ? n - b : SV_BLOCK;
#pragma omp simd
        for (size_t i = b; i < b + len; i++)
            y[i] = x[i] - m;
        total += RW_SUM_EXP(y + b, NULL, len, (T)0);
    }
    return total;
}

/* the sum without the row's first entry equal to m (the plan's sum_rest) */
SV_ALWAYS_INLINE RW_ATTR double RW(rest)(const T *x, size_t n, T m)
{
    size_t i = 0;
    while (i < n && x[i] != m)
        i++;
    if (i == n)
        return RW_SUM_EXP(x, NULL, n, m);
    return RW_SUM_EXP(x, NULL, i, m) + RW_SUM_EXP(x + i + 1, NULL, n - i - 1, m);
}

/* the last pass: y scaled by 1 / S (softmax), y = min((x - m) - log S, 0) (log_softmax),
 * or the log-sum-exp; where S <= SV_DOMINATED (one entry dominates) the log of the sum is
 * log1p of the rest, which keeps every digit of a small rest */
SV_ALWAYS_INLINE RW_ATTR void RW(store)(int op, const T *x, T *y, T *lse, size_t n, T m, double S)
{
    double logS;
    if (op == SV_SOFTMAX) {
        RW_SCALE(y, y, n, (T)(1.0 / (double)(T)S));
        return;
    }
    if (S > SV_DOMINATED)
        logS = log(S);
    else {
        const double rest = RW(rest)(x, n, m);
        logS = op == SV_LOGSUMEXP || (T)(1.0 + rest) != (T)1 ? log1p(rest) : 0.0;
    }
    if (op == SV_LOGSUMEXP) {
        *lse = (T)((double)m + logS);
        return;
    }
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const double t = ((double)y[i] - 0.0) - logS;
        y[i] = (T)(t > 0.0 ? 0.0 : t);
    }
}

/* softmax or log_softmax into y (lse NULL), or logsumexp into lse (y NULL), of rows of n;
 * returns the number of rows done, stopping before the first that is not regular */
static RW_ATTR size_t RW(reload_rows)(int op, const T *x, T *y, T *lse, size_t rows, size_t n)
{
    size_t r = 0;
    while (r < rows) {
        const T *x0 = x + r * n;
        T *y0 = y ? y + r * n : NULL, *l0 = lse ? lse + r : NULL;
        const T m0 = RW_MAX(x0, n);
        double S0;
        if (r + 1 < rows && n * sizeof(T) <= RW_PAIR_BYTES) {
            T *y1 = y ? y0 + n : NULL, *l1 = lse ? l0 + 1 : NULL;
            const T m1 = RW_MAX(x0 + n, n);
            if (RW_FINITE(m0) && RW_FINITE(m1)) {
                double S1;
                S0 = RW(sums)(op, x0, y0, n, m0);
                S1 = RW(sums)(op, x0 + n, y1, n, m1);
                if (RW_REGULAR(S0) && RW_REGULAR(S1)) {
                    RW(store)(op, x0, y0, l0, n, m0, S0);
                    RW(store)(op, x0 + n, y1, l1, n, m1, S1);
                    r += 2;
                    continue;
                }
            }
            /* a pair with an irregular row is redone row by row from x */
        }
        if (!RW_FINITE(m0))
            return r;
        S0 = RW(sums)(op, x0, y0, n, m0);
        if (!RW_REGULAR(S0))
            return r;
        RW(store)(op, x0, y0, l0, n, m0, S0);
        r++;
    }
    return rows;
}

#undef RW_FINITE
#undef RW_REGULAR
#undef RW_CAT_
#undef RW_CAT
#undef RW
