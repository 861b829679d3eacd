/*
 * plan_impl.h - the row plan, written once for both precisions (softmax.c includes it
 * with T = float and T = double).  See softviz.h for the state API.
 */

#define PL_CAT_(a, b) a##_##b
#define PL_CAT(a, b) PL_CAT_(a, b)
#define FN(name) PL_CAT(sv_##name, SFX)
#define LOCAL(name) PL_CAT(pl_##name, SFX)
#define SPLIT PL_CAT(sv_split, SFX)

/* Log-softmax's last pass: y = min((x - shift) - shift2, 0), in double, rounded once.
 * The clamp because rounding must not produce a log-probability above 0. */
static void LOCAL(shift)(const T *x, T *y, size_t n, double shift, double shift2)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const double t = ((double)x[i] - shift) - shift2;
        y[i] = (T)(t > 0.0 ? 0.0 : t);
    }
}

/* Three-pass reload for log-softmax stores x - max (as scipy does), a block at a time,
 * and sums the exps of the block while it is still in L1. */
static double LOCAL(store_shifted)(const T *x, T *y, size_t n, T m)
{
    const PL_CAT(sv_kernels, SFX) *k = ACTIVE();
    double total = 0.0;
    for (size_t b = 0; b < n; b += SV_BLOCK) {
        const size_t len = n - b < SV_BLOCK ? n - b : SV_BLOCK;
#pragma omp simd
        for (size_t i = b; i < b + len; i++)
            y[i] = x[i] - m;
        total += k->sum_exp(y + b, NULL, len, (T)0);
    }
    return total;
}

int FN(accumulate)(sv_state *st, int stage, const T *x, T *y, size_t n)
{
    const PL_CAT(sv_kernels, SFX) *k = ACTIVE();
    double a, b;
    T mx;
    if (!st || (n && !x))
        return SV_ENULL;
    if (!valid_algorithm(st->algorithm))
        return SV_EALGORITHM;
    if (stage < 0 || stage >= sv_plan_stages(st->algorithm))
        return SV_EOPTION;
    if (n == 0)
        return SV_OK;
    switch (st->algorithm) {
    case SV_ONLINE:
        k->online(x, n, &a, &b);
        merge_online(&st->max, &st->sum, a, b);
        return SV_OK;
    case SV_TWO_PASS:
        /* softmax needs no max; log-softmax and logsumexp do (an exact 0 / log1p when one
         * entry dominates), and tracking it costs one instruction per vector */
        k->extexp_sum(x, n, &a, &b, st->op == SV_SOFTMAX ? NULL : &mx);
        merge_extexp(&st->mant, &st->expo, a, b);
        if (st->op != SV_SOFTMAX)
            st->max = max_of(st->max, (double)mx);
        return SV_OK;
    default:
        if (stage == 0) {
            st->max = max_of(st->max, (double)k->max(x, n));
            return SV_OK;
        }
        if (st->algorithm == SV_THREE_PASS_RELOAD && st->op != SV_LOGSUMEXP) {
            if (!y)
                return SV_ENULL;
            st->sum += st->op == SV_SOFTMAX ? k->sum_exp(x, y, n, (T)st->max)
                                            : LOCAL(store_shifted)(x, y, n, (T)st->max);
        } else {
            st->sum += k->sum_exp(x, NULL, n, (T)st->max);
        }
        return SV_OK;
    }
}

/* Sum of exp(x - m) over the row without its first entry equal to m: the part of the
 * normaliser that log1p needs when one entry dominates. */
static double LOCAL(sum_rest)(const T *x, size_t n, T m)
{
    const PL_CAT(sv_kernels, SFX) *k = ACTIVE();
    size_t i = 0;
    while (i < n && x[i] != m)
        i++;
    if (i == n)
        return k->sum_exp(x, NULL, n, m);
    return k->sum_exp(x, NULL, i, m) + k->sum_exp(x + i + 1, NULL, n - i - 1, m);
}

int FN(finalize)(sv_state *st, const T *row, size_t n)
{
    double m, lse0, srel;
    int regular;
    if (!st || (n && !row))
        return SV_ENULL;
    if (!valid_algorithm(st->algorithm))
        return SV_EALGORITHM;
    if (n == 0) {
        st->lse = -HUGE_VAL;
        return SV_OK;
    }
    m = st->max;
    if (st->algorithm == SV_TWO_PASS) {
        const double M = st->mant, E = st->expo;
        regular = regular_extexp(M, E, SV_IS_F64) && (st->op == SV_SOFTMAX || isfinite(m));
        if (!regular)
            return SV_ESPECIAL;
        /* log(sum) = E ln2 + log(M); E * LN2_HI is exact, so it is split off first */
        lse0 = E * SV_LN2_HI + (E * SV_LN2_LO + log(M));
        srel = st->op == SV_SOFTMAX ? HUGE_VAL : exp(lse0 - m);
        st->shift = E * SV_LN2_HI;
        st->scale = E * SV_LN2_LO + log(M);
    } else {
        const double S = st->sum;
        regular = isfinite(m) && S > 0.0 && S < HUGE_VAL;
        if (!regular)
            return SV_ESPECIAL;
        lse0 = m + log(S);
        srel = S;
        st->shift = st->algorithm == SV_THREE_PASS_RELOAD ? 0.0 : m;
        st->scale = log(S);
    }
    st->lse = lse0;
    if (st->op == SV_SOFTMAX) {
        if (st->algorithm != SV_TWO_PASS) {
            /* the sum rounded to T first: where the other entries are absorbed in T (as in
             * a sum done in T, scipy's), the largest entry gets exactly 1 */
            st->shift = m;
            st->scale = 1.0 / (double)(T)st->sum;
        }
        return SV_OK;
    }
    if (srel <= SV_DOMINATED) {
        /* one entry dominates: log(sum) = log1p(rest) keeps every digit of the small rest,
         * and an entry that absorbs the rest in T gets a log-probability of exactly 0 */
        const double rest = LOCAL(sum_rest)(row, n, (T)m);
        st->lse = m + log1p(rest);
        st->shift = st->algorithm == SV_THREE_PASS_RELOAD ? 0.0 : m;
        st->scale = (T)(1.0 + rest) == (T)1 ? 0.0 : log1p(rest);
    }
    return SV_OK;
}

int FN(finish)(const sv_state *st, const T *x, T *y, size_t n)
{
    const PL_CAT(sv_kernels, SFX) *k = ACTIVE();
    if (!st || (n && (!x || !y)))
        return SV_ENULL;
    if (!valid_algorithm(st->algorithm))
        return SV_EALGORITHM;
    if (n == 0)
        return SV_OK;
    if (st->op == SV_LOG_SOFTMAX) {
        /* three-pass reload stored x - max in y; the others shift x */
        LOCAL(shift)(st->algorithm == SV_THREE_PASS_RELOAD ? y : x, y, n, st->shift, st->scale);
        return SV_OK;
    }
    if (st->op != SV_SOFTMAX)
        return SV_EOPTION;
    switch (st->algorithm) {
    case SV_THREE_PASS_RELOAD:
        k->scale(y, y, n, (T)st->scale);
        break;
    case SV_TWO_PASS:
        k->extexp_scale(x, y, n, (T)st->mant, (T)st->expo);
        break;
    default:
        k->exp_scale(x, y, n, (T)st->shift, (T)st->scale);
    }
    return SV_OK;
}

/* ------------------------------------------------------- scalar special path */

int FN(special_row)(int op, const T *x, T *y, size_t n, double *lse_out)
{
    int has_nan = 0, has_pinf = 0;
    double M = -HUGE_VAL, S = 0.0, rest = 0.0, log_s;
    size_t imax = 0;
    if (op < SV_SOFTMAX || op > SV_LOGSUMEXP)
        return SV_EOPTION;
    if (!lse_out || (n && !x) || (n && op != SV_LOGSUMEXP && !y))
        return SV_ENULL;
    for (size_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        if (v != v)
            has_nan = 1;
        else {
            has_pinf |= v == HUGE_VAL;
            if (v > M) {
                M = v;
                imax = i;
            }
        }
    }
    if (n == 0) {
        *lse_out = -HUGE_VAL;
        return SV_OK;
    }
    if (has_nan || has_pinf || M == -HUGE_VAL) {
        *lse_out = has_nan ? (double)NAN : has_pinf ? HUGE_VAL : -HUGE_VAL;
        for (size_t i = 0; i < n && op != SV_LOGSUMEXP; i++) {
            /* scipy: log_softmax of a row holding +inf is NaN there and -inf elsewhere */
            const int minus_inf = op == SV_LOG_SOFTMAX && !has_nan && has_pinf &&
                                  (double)x[i] != HUGE_VAL;
            y[i] = minus_inf ? -(T)INFINITY : (T)NAN;
        }
        return SV_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (i != imax)
            rest += exp((double)x[i] - M);
    S = 1.0 + rest;
    log_s = log1p(rest);
    *lse_out = M + log_s;
    if (op == SV_LOG_SOFTMAX && (T)S == (T)1)
        log_s = 0.0;
    for (size_t i = 0; i < n && op == SV_SOFTMAX; i++)
        y[i] = (T)(exp((double)x[i] - M) / S);
    for (size_t i = 0; i < n && op == SV_LOG_SOFTMAX; i++)
        y[i] = (T)(((double)x[i] - M) - log_s);
    return SV_OK;
}

/* ----------------------------------------------------------------- rows */

static int LOCAL(row)(int algorithm, int op, const T *x, T *y, size_t n, double *lse)
{
    sv_state st;
    const int stages = sv_plan_stages(algorithm);
    int status = sv_state_init(&st, algorithm, op);
    if (status != SV_OK)
        return status;
    for (int s = 0; s < stages; s++)
        FN(accumulate)(&st, s, x, y, n);
    status = FN(finalize)(&st, x, n);
    if (status == SV_ESPECIAL)
        return FN(special_row)(op, x, y, n, lse);
    *lse = st.lse;
    return op == SV_LOGSUMEXP ? SV_OK : FN(finish)(&st, x, y, n);
}

/* Rows of n one after another; three-pass reload runs the batched kernel (rows_impl.h)
 * and hands only the rows it stops at (special values) to the full plan. */
static int LOCAL(batch)(int algorithm, int op, const T *x, T *y, T *out, size_t rows, size_t n)
{
    const PL_CAT(sv_kernels, SFX) *k = ACTIVE();
    const int batched = algorithm == SV_THREE_PASS_RELOAD && n;
    size_t r = 0;
    while (r < rows) {
        double lse;
        int status;
        if (batched) {
            r += k->reload_rows(op, x + r * n, y ? y + r * n : NULL, out ? out + r : NULL, rows - r, n);
            if (r == rows)
                break;
        }
        status = LOCAL(row)(algorithm, op, x + r * n, y ? y + r * n : NULL, n, &lse);
        if (status != SV_OK)
            return status;
        if (out)
            out[r] = (T)lse;
        r++;
    }
    return SV_OK;
}

static int LOCAL(rows)(int algorithm, int op, const T *x, T *y, size_t rows, size_t n)
{
    if (!valid_algorithm(algorithm))
        return SV_EALGORITHM;
    if (rows && n && (!x || !y))
        return SV_ENULL;
    if (rows && n) {
        /* compared as integers: pointers into different objects may not be ordered in C */
        const uintptr_t xa = (uintptr_t)x, ya = (uintptr_t)y, bytes = rows * n * sizeof(T);
        if (ya == xa ? algorithm == SV_THREE_PASS_RELOAD : (ya < xa + bytes && xa < ya + bytes))
            return SV_EOVERLAP;
    }
    return LOCAL(batch)(algorithm, op, x, y, NULL, rows, n);
}

int FN(softmax)(int algorithm, const T *x, T *y, size_t rows, size_t n)
{
    return LOCAL(rows)(algorithm, SV_SOFTMAX, x, y, rows, n);
}

int FN(log_softmax)(int algorithm, const T *x, T *y, size_t rows, size_t n)
{
    return LOCAL(rows)(algorithm, SV_LOG_SOFTMAX, x, y, rows, n);
}

int FN(logsumexp)(int algorithm, const T *x, T *out, size_t rows, size_t n)
{
    if (!valid_algorithm(algorithm))
        return SV_EALGORITHM;
    if (rows && (!out || (n && !x)))
        return SV_ENULL;
    return LOCAL(batch)(algorithm, SV_LOGSUMEXP, x, NULL, out, rows, n);
}

/* ------------------------------------------------------------ many states */

/* One state per row of a 2-D tile (row r of x at x + r * ldx): lesson 08's tiled
 * attention folds a tile of scores into the states of its query rows in one call. */
int FN(accumulate_rows)(sv_state *st, size_t rows, int stage, const T *x, size_t ldx, T *y, size_t ldy,
                        size_t n)
{
    if (rows && !st)
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++) {
        /* checked for every row first, so that on error nothing has changed */
        if (!valid_algorithm(st[r].algorithm))
            return SV_EALGORITHM;
        if (stage < 0 || stage >= sv_plan_stages(st[r].algorithm))
            return SV_EOPTION;
        if (n && (!x || (!y && st[r].algorithm == SV_THREE_PASS_RELOAD && stage == 1 &&
                          st[r].op != SV_LOGSUMEXP)))
            return SV_ENULL;
    }
    for (size_t r = 0; r < rows; r++)
        FN(accumulate)(st + r, stage, x + r * ldx, y ? y + r * ldy : NULL, n);
    return SV_OK;
}

/* special[r] = 1 where row r needs sv_special_row_* (its state is then left as it was) */
int FN(finalize_rows)(sv_state *st, size_t rows, const T *x, size_t ldx, size_t n, int *special)
{
    if (rows && (!st || !special || (n && !x)))
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++)
        if (!valid_algorithm(st[r].algorithm))
            return SV_EALGORITHM;
    for (size_t r = 0; r < rows; r++)
        special[r] = FN(finalize)(st + r, x + r * ldx, n) == SV_ESPECIAL;
    return SV_OK;
}

int FN(finish_rows)(const sv_state *st, size_t rows, const T *x, size_t ldx, T *y, size_t ldy, size_t n)
{
    if (rows && (!st || (n && (!x || !y))))
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++) {
        if (!valid_algorithm(st[r].algorithm))
            return SV_EALGORITHM;
        if (st[r].op == SV_LOGSUMEXP)
            return SV_EOPTION;
    }
    for (size_t r = 0; r < rows; r++)
        FN(finish)(st + r, x + r * ldx, y + r * ldy, n);
    return SV_OK;
}

/* ------------------------------------------------------- teaching, probes */

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

int FN(read)(const T *x, size_t n, double *sum_out)
{
    if (!sum_out || (n && !x))
        return SV_ENULL;
    *sum_out = n ? ACTIVE()->read(x, n) : 0.0;
    return SV_OK;
}

int FN(copy)(const T *x, T *y, size_t n)
{
    if (n && (!x || !y))
        return SV_ENULL;
    if (n)
        ACTIVE()->copy(x, y, n);
    return SV_OK;
}

#undef FN
#undef LOCAL
#undef SPLIT
