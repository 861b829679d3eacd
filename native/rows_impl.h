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
 * exactly the calls max, sum_exp, scale make for it on their own, so the bits are those
 * of the row plan's three-pass reload.
 */

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
/* the row plan's conditions for a regular row: softmax needs a finite positive sum,
 * logsumexp one that no single entry dominates (that row takes the exact log1p path) */
#define RW_REGULAR(S, lse) ((S) > ((lse) ? SV_DOMINATED : 0.0) && (S) < HUGE_VAL)

/* the last pass: y scaled by 1 / S (softmax), or the log-sum-exp of the row */
SV_ALWAYS_INLINE RW_ATTR void RW(store)(T *y, T *lse, size_t n, T m, double S)
{
    if (lse)
        *lse = (T)((double)m + log(S));
    else
        RW_SCALE(y, y, n, (T)(1.0 / (double)(T)S));
}

/* softmax into y (lse NULL) or logsumexp into lse (y NULL) of rows of n; returns the
 * number of rows done, stopping before the first that is not regular */
static RW_ATTR size_t RW(reload_rows)(const T *x, T *y, T *lse, size_t rows, size_t n)
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
                S0 = RW_SUM_EXP(x0, y0, n, m0);
                S1 = RW_SUM_EXP(x0 + n, y1, n, m1);
                if (RW_REGULAR(S0, lse) && RW_REGULAR(S1, lse)) {
                    RW(store)(y0, l0, n, m0, S0);
                    RW(store)(y1, l1, n, m1, S1);
                    r += 2;
                    continue;
                }
            }
            /* a pair with an irregular row is redone row by row from x */
        }
        if (!RW_FINITE(m0))
            return r;
        S0 = RW_SUM_EXP(x0, y0, n, m0);
        if (!RW_REGULAR(S0, lse))
            return r;
        RW(store)(y0, l0, n, m0, S0);
        r++;
    }
    return rows;
}

#undef RW_FINITE
#undef RW_REGULAR
#undef RW_CAT_
#undef RW_CAT
#undef RW
