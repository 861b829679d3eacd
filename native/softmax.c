/*
 * softmax.c - the row plan of the softviz core (see softviz.h): the state API, the
 * whole-row functions built on it, the scalar special-value path, and the small
 * teaching and probe functions.  The kernels themselves live in kernels_*.c and are
 * reached only through the table dispatch.c chose.
 *
 * Never build this with -ffast-math: the special-value checks rely on NaN and inf
 * behaving as IEEE 754 says.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "exp_f32.h"
#include "exp_f64.h"
#include "kernels.h"
#include "softviz.h"

/* ln 2 = HI + LO with e * HI exact for the exponents a regular row can have */
#define SV_LN2_HI SVF64_LN2_HI
#define SV_LN2_LO SVF64_LN2_LO

static int valid_algorithm(int algorithm)
{
    return algorithm >= SV_THREE_PASS_RELOAD && algorithm <= SV_ONLINE;
}

int sv_plan_stages(int algorithm)
{
    if (!valid_algorithm(algorithm))
        return -SV_EALGORITHM;
    return algorithm == SV_THREE_PASS_RELOAD || algorithm == SV_THREE_PASS_RECOMPUTE ? 2 : 1;
}

int sv_state_init(sv_state *st, int algorithm, int op)
{
    if (!st)
        return SV_ENULL;
    if (!valid_algorithm(algorithm))
        return SV_EALGORITHM;
    if (op < SV_SOFTMAX || op > SV_LOGSUMEXP)
        return SV_EOPTION;
    st->algorithm = algorithm;
    st->op = op;
    /* online starts at the lowest finite max so that merging two empty states never
     * forms -inf - (-inf) */
    st->max = algorithm == SV_ONLINE ? -DBL_MAX : -HUGE_VAL;
    st->sum = 0.0;
    st->mant = 0.0;
    st->expo = -0x1p60;
    st->lse = -HUGE_VAL;
    st->shift = 0.0;
    st->scale = 1.0;
    return SV_OK;
}

/* Milakov & Gimelshein's merge: (M, S) + (m, s) = (max, S e^{M - max} + s e^{m - max}) */
static void merge_online(double *M, double *S, double m, double s)
{
    const double mn = m > *M ? m : *M;
    *S = *S * sv_expneg_f64(*M - mn) + s * sv_expneg_f64(m - mn);
    *M = mn;
}

/* The two-pass merge: M 2^E + m 2^e, rescaled to the larger exponent by exact powers of two */
static void merge_extexp(double *M, double *E, double m, double e)
{
    const double en = e > *E ? e : *E;
    *M = *M * sv_pow2i_f64(*E - en) + m * sv_pow2i_f64(e - en);
    *E = en;
}

static double max_of(double a, double b)
{
    return b > a ? b : a;   /* NaN in b is ignored: the sum carries it to the special path */
}

int sv_merge(sv_state *into, const sv_state *from, int stage)
{
    if (!into || !from)
        return SV_ENULL;
    if (!valid_algorithm(into->algorithm) || into->algorithm != from->algorithm)
        return SV_EALGORITHM;
    if (stage < 0 || stage >= sv_plan_stages(into->algorithm))
        return SV_EOPTION;
    switch (into->algorithm) {
    case SV_ONLINE:
        merge_online(&into->max, &into->sum, from->max, from->sum);
        break;
    case SV_TWO_PASS:
        merge_extexp(&into->mant, &into->expo, from->mant, from->expo);
        into->max = max_of(into->max, from->max);
        break;
    default:
        if (stage == 0)
            into->max = max_of(into->max, from->max);
        else
            into->sum += from->sum;
    }
    return SV_OK;
}

int sv_state_init_rows(sv_state *st, size_t rows, int algorithm, int op)
{
    int status = SV_OK;
    if (rows && !st)
        return SV_ENULL;
    for (size_t r = 0; r < rows && status == SV_OK; r++)
        status = sv_state_init(st + r, algorithm, op);
    return status;
}

int sv_merge_rows(sv_state *into, const sv_state *from, size_t rows, int stage)
{
    if (rows && (!into || !from))
        return SV_ENULL;
    for (size_t r = 0; r < rows; r++) {
        if (!valid_algorithm(into[r].algorithm) || into[r].algorithm != from[r].algorithm)
            return SV_EALGORITHM;
        if (stage < 0 || stage >= sv_plan_stages(into[r].algorithm))
            return SV_EOPTION;
    }
    for (size_t r = 0; r < rows; r++)
        sv_merge(into + r, from + r, stage);
    return SV_OK;
}

/* A two-pass row is ordinary when its largest exponent lies where the range reduction
 * of exp_*.h is exact, with room below for every term that can still reach a normal
 * output (127 / 1023 binades). */
static int regular_extexp(double mantissa, double exponent, int is_f64)
{
    const double hi = is_f64 ? SVF64_NEXACT : SVF32_NEXACT;
    const double lo = is_f64 ? -(SVF64_NEXACT - 1100.0) : -(SVF32_NEXACT - 160.0);
    return mantissa > 0.0 && mantissa < HUGE_VAL && exponent <= hi && exponent >= lo;
}

double sv_extexp_exact_range(int is_f64)
{
    return is_f64 ? SVF64_NEXACT / SVF64_LOG2E : SVF32_NEXACT / SVF32_LOG2E;
}

/* ------------------------------------------------------------------ float32 */
#define T float
#define SFX f32
#define SV_IS_F64 0
#define ACTIVE sv_active_f32
#include "plan_impl.h"
#undef T
#undef SFX
#undef SV_IS_F64
#undef ACTIVE

/* ------------------------------------------------------------------ float64 */
#define T double
#define SFX f64
#define SV_IS_F64 1
#define ACTIVE sv_active_f64
#include "plan_impl.h"
