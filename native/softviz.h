/*
 * softviz.h - the C API of the softviz core.
 *
 * Softmax, log-softmax and logsumexp over a batch of contiguous rows, float32 and
 * float64, each with four algorithms:
 *   SV_THREE_PASS_RELOAD     max; exp(x - max) stored and summed; scale       (3 reads, 2 writes)
 *   SV_THREE_PASS_RECOMPUTE  max; sum of exp(x - max); recompute exp, scale   (3 reads, 1 write)
 *   SV_TWO_PASS              Dukhan & Ablavatski 2020 (arXiv:2001.04438):
 *                            sum of exp kept as (mantissa, exponent); scale    (2 reads, 1 write)
 *   SV_ONLINE                Milakov & Gimelshein 2018 (arXiv:1805.02867):
 *                            running max and running sum; scale                (2 reads, 1 write)
 *
 * Rules: plain C99 + libm, no allocation, no global state, no calls into Python,
 * safe to call from several threads at once.  Every function returns SV_OK or an
 * error code; on error nothing has been written.
 *
 * Special values follow scipy.special: a row with a NaN gives NaN; a row with +inf
 * gives NaN (softmax), NaN at the +inf entries and -inf elsewhere (log-softmax), +inf
 * (logsumexp); an all -inf row gives NaN, NaN, -inf; an empty row gives -inf
 * (logsumexp).  Outputs that would be subnormal may be flushed to 0.
 *
 * The block between the cdef markers is read by native/build_ffi.py as the cffi
 * declarations, so it holds plain declarations only.
 */
#ifndef SOFTVIZ_H
#define SOFTVIZ_H

#include <stddef.h>

/* cdef-begin */
enum sv_status {
    SV_OK = 0,
    SV_EALGORITHM = 1,   /* unknown algorithm code */
    SV_ENULL = 2,        /* NULL pointer with a non-zero size */
    SV_EOPTION = 3       /* unknown option (e.g. store mode) */
};

enum sv_algorithm {
    SV_THREE_PASS_RELOAD = 0,
    SV_THREE_PASS_RECOMPUTE = 1,
    SV_TWO_PASS = 2,
    SV_ONLINE = 3
};

/* What the three-pass reload kernel stores in its second pass. */
enum sv_store {
    SV_STORE_NONE = 0,
    SV_STORE_EXP = 1,      /* y = exp(x - shift)   (softmax) */
    SV_STORE_SHIFTED = 2   /* y = x - shift        (log-softmax, as scipy does) */
};

/* Whole rows: x and y are rows * n contiguous elements; out has one per row. */
int sv_softmax_f32(int algorithm, const float *x, float *y, size_t rows, size_t n);
int sv_log_softmax_f32(int algorithm, const float *x, float *y, size_t rows, size_t n);
int sv_logsumexp_f32(int algorithm, const float *x, float *out, size_t rows, size_t n);
int sv_softmax_f64(int algorithm, const double *x, double *y, size_t rows, size_t n);
int sv_log_softmax_f64(int algorithm, const double *x, double *y, size_t rows, size_t n);
int sv_logsumexp_f64(int algorithm, const double *x, double *out, size_t rows, size_t n);

/* The passes themselves, on one contiguous chunk.  The row functions above are built
 * from them; Python uses them to split one long row across threads (workers=) and
 * to show each pass in lesson 06.  Partial results are doubles so they can be merged:
 *   max pass          -> max
 *   sum pass          -> sum of exp(x - shift)            (optionally storing, see sv_store)
 *   online pass       -> (max, sum of exp(x - max))
 *   two-pass sum      -> (mantissa, exponent): sum of exp(x) = mantissa * 2^exponent
 * The log-softmax pass computes y = min((x - shift) - shift2, 0): two shifts, so that
 * log(sum) is never absorbed into a much larger max, and the clamp because rounding
 * must not produce a log-probability above 0.
 */
int sv_max_f32(const float *x, size_t n, double *max_out);
int sv_sum_exp_f32(const float *x, float *y, size_t n, double shift, int store, double *sum_out);
int sv_online_f32(const float *x, size_t n, double *max_out, double *sum_out);
int sv_sum_extexp_f32(const float *x, size_t n, double *mantissa_out, double *exponent_out);
int sv_scale_f32(const float *y, float *out, size_t n, double factor);
int sv_exp_scale_f32(const float *x, float *y, size_t n, double shift, double factor);
int sv_extexp_scale_f32(const float *x, float *y, size_t n, double mantissa, double exponent);
int sv_shift_f32(const float *x, float *y, size_t n, double shift, double shift2);
int sv_max_f64(const double *x, size_t n, double *max_out);
int sv_sum_exp_f64(const double *x, double *y, size_t n, double shift, int store, double *sum_out);
int sv_online_f64(const double *x, size_t n, double *max_out, double *sum_out);
int sv_sum_extexp_f64(const double *x, size_t n, double *mantissa_out, double *exponent_out);
int sv_scale_f64(const double *y, double *out, size_t n, double factor);
int sv_exp_scale_f64(const double *x, double *y, size_t n, double shift, double factor);
int sv_extexp_scale_f64(const double *x, double *y, size_t n, double mantissa, double exponent);
int sv_shift_f64(const double *x, double *y, size_t n, double shift, double shift2);

/* Whether a row's partial results are ordinary ones (1) or the row needs the scalar
 * special-value path (0): NaN or inf inputs, or magnitudes outside the range where the
 * kernels' range reduction is exact. */
int sv_regular_max_sum(double max, double sum);
int sv_regular_extexp(double mantissa, double exponent, int is_f64);

/* One row through the scalar special-value path (double precision, scipy semantics).
 * op: 0 softmax, 1 log-softmax, 2 logsumexp (y unused, result in *lse_out). */
int sv_special_row_f32(int op, const float *x, float *y, size_t n, double *lse_out);
int sv_special_row_f64(int op, const double *x, double *y, size_t n, double *lse_out);

/* exp(x) = mantissa * 2^exponent elementwise, with mantissa in [sqrt(1/2), sqrt(2)]. */
int sv_extexp_f32(const float *x, float *mantissa, float *exponent, size_t n);
int sv_extexp_f64(const double *x, double *mantissa, double *exponent, size_t n);
double sv_extexp_exact_range(int is_f64);

/* Bandwidth probes for the benchmark: read every element once; copy x to y. */
int sv_read_f32(const float *x, size_t n, double *sum_out);
int sv_read_f64(const double *x, size_t n, double *sum_out);
int sv_copy_f32(const float *x, float *y, size_t n);
int sv_copy_f64(const double *x, double *y, size_t n);

/* Which compiled code path runs on this CPU, and how the core was compiled. */
const char *sv_simd_path(void);
const char *sv_compiler(void);
/* cdef-end */

#endif
