/*
 * kernels.h - the per-ISA kernel tables of the softviz core (internal, not part of the C API).
 *
 * In the manner of XNNPACK, each pass of each algorithm is a small kernel over one
 * contiguous chunk, and every instruction set gets its own implementation of it:
 *   kernels_portable.c  C99, auto-vectorized (#pragma omp simd); the fallback everywhere
 *   kernels_avx2.c      x86-64 AVX2 + FMA intrinsics
 *   kernels_avx512.c    x86-64 AVX-512F intrinsics
 * dispatch.c picks one table per precision at load time; softmax.c (the row plan)
 * only ever calls through the chosen table.
 *
 * Accumulating kernels sum in the input precision inside blocks of SV_BLOCK elements
 * per lane and fold every block into double accumulators, so the error of a sum does
 * not grow with the row length.  They return double partial results that merge
 * associatively (see softmax.c).  The kernels never allocate and never see NaN/inf
 * handling beyond producing a non-finite partial result: the row plan sends such rows
 * to the scalar special-value path.
 */
#ifndef SOFTVIZ_KERNELS_H
#define SOFTVIZ_KERNELS_H

#include <stddef.h>

/* Elements summed in the input precision per lane before a fold into double. */
#define SV_BLOCK 1024

/* Outputs of at least this many bytes are written with non-temporal (streaming) stores
 * by the x86 kernels' last pass and by the copy probe alike (SOFTVIZ_STREAM_BYTES at
 * build time overrides it; 0 streams every full vector, a huge value never streams). */
#ifndef SV_STREAM_BYTES
#define SV_STREAM_BYTES ((size_t)8 << 20)
#endif

/* How far ahead of the loads the x86 kernels prefetch the input.  The hardware
 * prefetchers alone leave a streaming kernel at about half the read bandwidth on the
 * machines we measured (a pass that computes while it reads); an explicit prefetch
 * 8 KiB ahead lets the loads and the arithmetic overlap.  Prefetches never fault, so
 * running past the end of a row is harmless. */
#ifndef SV_PREFETCH_BYTES
#define SV_PREFETCH_BYTES 8192
#endif

/* Rows of at least this many bytes stream from memory; below it the three-pass passes
 * (max, sum_exp, scale) prefetch nothing.  A row in cache gains nothing from a prefetch
 * and pays for it in load slots: on AMD Zen 4, rows of 50,257 floats (unaligned) ran 8 %
 * faster without, rows of 4,096 6 %, rows of 65,536 in a 64 MiB batch 15 %, and long rows
 * the same.  The two-pass and online passes, which the default runs on long rows only,
 * keep theirs. */
#define SV_LONG_ROW(bytes) ((bytes) >= SV_STREAM_BYTES)

/* Below this sum of exp(x - max), one entry holds at least two thirds of the row: then
 * log-softmax and logsumexp redo the rest of the sum exactly (log1p), as scipy does. */
#define SV_DOMINATED 1.5

/* For the small kernels that rows_impl.h composes: the batched rows stay one function. */
#if defined(__GNUC__) || defined(__clang__)
#define SV_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SV_ALWAYS_INLINE static __forceinline
#else
#define SV_ALWAYS_INLINE static inline
#endif

/* float32 inputs below this are clamped in two-pass: exp(-2^21) is 0 next to any row
 * maximum the regular path accepts, and the clamp keeps -inf out of the arithmetic. */
#define SV_XLO_F32 (-0x1p21f)
#define SV_XLO_F64 (-0x1p49)

typedef struct sv_kernels_f32 {
    const char *isa;
    /* max of x[0..n), -inf for n == 0 (NaN may or may not propagate) */
    float (*max)(const float *x, size_t n);
    /* sum of exp(x - shift); with y != NULL also stores y = exp(x - shift) */
    double (*sum_exp)(const float *x, float *y, size_t n, float shift);
    /* y = x * factor (in place allowed) */
    void (*scale)(const float *x, float *y, size_t n, float factor);
    /* y = exp(x - shift) * factor */
    void (*exp_scale)(const float *x, float *y, size_t n, float shift, float factor);
    /* three-pass reload of rows of n (rows_impl.h): op SV_SOFTMAX or SV_LOG_SOFTMAX into
     * y (lse NULL), SV_LOGSUMEXP into lse (y NULL), the bits of the row plan row by row;
     * returns the rows done, stopping before the first one the plan must take (specials) */
    size_t (*reload_rows)(int op, const float *x, float *y, float *lse, size_t rows, size_t n);
    /* Milakov & Gimelshein: running (max, sum of exp(x - max)) of the chunk */
    void (*online)(const float *x, size_t n, double *max, double *sum);
    /* Dukhan & Ablavatski pass 1: sum of exp(x) = mant * 2^expo, and the chunk max (when
     * max is not NULL: the max costs an instruction per vector, softmax does not need it) */
    void (*extexp_sum)(const float *x, size_t n, double *mant, double *expo, float *max);
    /* Dukhan & Ablavatski pass 2: y = (p / mant) * 2^(k - expo) for exp(x) = p 2^k,
     * the quotient rounded correctly where it is representable (a dominating entry
     * gives exactly 1) */
    void (*extexp_scale)(const float *x, float *y, size_t n, float mant, float expo);
    /* bandwidth probes: sum of x (so the loads cannot be dropped); y = x */
    double (*read)(const float *x, size_t n);
    void (*copy)(const float *x, float *y, size_t n);
} sv_kernels_f32;

typedef struct sv_kernels_f64 {
    const char *isa;
    double (*max)(const double *x, size_t n);
    double (*sum_exp)(const double *x, double *y, size_t n, double shift);
    void (*scale)(const double *x, double *y, size_t n, double factor);
    void (*exp_scale)(const double *x, double *y, size_t n, double shift, double factor);
    size_t (*reload_rows)(int op, const double *x, double *y, double *lse, size_t rows, size_t n);
    void (*online)(const double *x, size_t n, double *max, double *sum);
    void (*extexp_sum)(const double *x, size_t n, double *mant, double *expo, double *max);
    void (*extexp_scale)(const double *x, double *y, size_t n, double mant, double expo);
    /* bandwidth probes: sum of x (so the loads cannot be dropped); y = x */
    double (*read)(const double *x, size_t n);
    void (*copy)(const double *x, double *y, size_t n);
} sv_kernels_f64;

extern const sv_kernels_f32 sv_portable_f32;
extern const sv_kernels_f64 sv_portable_f64;

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(SV_PORTABLE_ONLY)
#define SV_HAVE_X86_KERNELS 1
extern const sv_kernels_f32 sv_avx2_f32;
extern const sv_kernels_f64 sv_avx2_f64;
extern const sv_kernels_f32 sv_avx512_f32;
extern const sv_kernels_f64 sv_avx512_f64;
#else
#define SV_HAVE_X86_KERNELS 0
#endif

/* The tables in use (dispatch.c). */
const sv_kernels_f32 *sv_active_f32(void);
const sv_kernels_f64 *sv_active_f64(void);

#endif
