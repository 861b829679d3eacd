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
 * Layers: kernels_*.c hold one kernel per pass and instruction set (portable C99, AVX2+FMA,
 * AVX-512F); dispatch.c picks one kernel table at load time and records the choice;
 * softmax.c holds the one row plan, below, that every caller goes through.
 *
 * The row plan, per algorithm, is a small state API:
 *   sv_state_init     a fresh state for (algorithm, op)
 *   sv_accumulate_*   fold a chunk of the row into a state, for each of sv_plan_stages()
 *                     stages (three-pass: stage 0 the max, stage 1 the sum; others: one)
 *   sv_merge          merge the states of two chunks of the same stage (associative)
 *   sv_finalize_*     turn the merged state into what the last pass applies, and the
 *                     logsumexp; SV_ESPECIAL means "run sv_special_row_* on the whole row"
 *   sv_finish_*       the last pass on one chunk (softmax or log-softmax)
 * The whole-row functions, workers= (chunks on threads) and lesson 06's step-through all
 * use it, so the merge rules exist once.
 *
 * Rules: C99 + libm, no allocation, no calls into Python, safe to call from several threads
 * at once (after sv_select_isa, which runs once at load).  Every function returns SV_OK or
 * an error code; on error nothing has been written.  Output buffers are written, input
 * buffers only read.
 *
 * Special values follow scipy.special: a row with a NaN gives NaN; a row with +inf gives
 * NaN (softmax), NaN at the +inf entries and -inf elsewhere (log-softmax), +inf (logsumexp);
 * an all -inf row gives NaN, NaN, -inf; an empty row gives -inf (logsumexp).  Outputs that
 * would be subnormal may be flushed to 0.
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
    SV_EOPTION = 3,      /* unknown option (op, stage) */
    SV_ESPECIAL = 4,     /* sv_finalize_*: the row needs sv_special_row_* */
    SV_EISA = 5,         /* sv_select_isa: unknown name, or not supported by this build/CPU */
    SV_EOVERLAP = 6      /* whole rows: y overlaps x without being x, or y == x for three-pass
                            reload (its stored exps would overwrite x before a special row
                            is re-read); nothing was written */
};

enum sv_algorithm {
    SV_THREE_PASS_RELOAD = 0,
    SV_THREE_PASS_RECOMPUTE = 1,
    SV_TWO_PASS = 2,
    SV_ONLINE = 3
};

enum sv_op {
    SV_SOFTMAX = 0,
    SV_LOG_SOFTMAX = 1,
    SV_LOGSUMEXP = 2
};

/* Whole rows: x and y are rows * n contiguous elements; out has one per row. */
int sv_softmax_f32(int algorithm, const float *x, float *y, size_t rows, size_t n);
int sv_log_softmax_f32(int algorithm, const float *x, float *y, size_t rows, size_t n);
int sv_logsumexp_f32(int algorithm, const float *x, float *out, size_t rows, size_t n);
int sv_softmax_f64(int algorithm, const double *x, double *y, size_t rows, size_t n);
int sv_log_softmax_f64(int algorithm, const double *x, double *y, size_t rows, size_t n);
int sv_logsumexp_f64(int algorithm, const double *x, double *out, size_t rows, size_t n);

/* The row plan (see above).  Fields:
 *   max        running max (three-pass stage 0, online, two-pass)
 *   sum        sum of exp(x - max) (three-pass stage 1, online)
 *   mant, expo two-pass: sum of exp(x) = mant * 2^expo
 *   lse        set by sv_finalize_*: log(sum(exp(x)))
 *   shift, scale  set by sv_finalize_*: what the last pass applies */
typedef struct sv_state {
    int algorithm;
    int op;
    double max;
    double sum;
    double mant;
    double expo;
    double lse;
    double shift;
    double scale;
} sv_state;

int sv_plan_stages(int algorithm);
int sv_state_init(sv_state *st, int algorithm, int op);
int sv_merge(sv_state *into, const sv_state *from, int stage);
/* y: where three-pass reload stores its stage-1 values (NULL otherwise) */
int sv_accumulate_f32(sv_state *st, int stage, const float *x, float *y, size_t n);
int sv_accumulate_f64(sv_state *st, int stage, const double *x, double *y, size_t n);
/* row: the whole row (a row dominated by one entry gets one exact pass over it) */
int sv_finalize_f32(sv_state *st, const float *row, size_t n);
int sv_finalize_f64(sv_state *st, const double *row, size_t n);
int sv_finish_f32(const sv_state *st, const float *x, float *y, size_t n);
int sv_finish_f64(const sv_state *st, const double *x, double *y, size_t n);

/* Many states at once, one per row of a 2-D tile: row r of x starts at x + r * ldx (and
 * of y at y + r * ldy).  Lesson 08's tiled attention folds a whole tile of scores in one
 * call.  finalize_rows sets special[r] = 1 where row r needs sv_special_row_*. */
int sv_state_init_rows(sv_state *st, size_t rows, int algorithm, int op);
int sv_merge_rows(sv_state *into, const sv_state *from, size_t rows, int stage);
int sv_accumulate_rows_f32(sv_state *st, size_t rows, int stage, const float *x, size_t ldx,
                           float *y, size_t ldy, size_t n);
int sv_accumulate_rows_f64(sv_state *st, size_t rows, int stage, const double *x, size_t ldx,
                           double *y, size_t ldy, size_t n);
int sv_finalize_rows_f32(sv_state *st, size_t rows, const float *x, size_t ldx, size_t n, int *special);
int sv_finalize_rows_f64(sv_state *st, size_t rows, const double *x, size_t ldx, size_t n, int *special);
int sv_finish_rows_f32(const sv_state *st, size_t rows, const float *x, size_t ldx, float *y, size_t ldy,
                       size_t n);
int sv_finish_rows_f64(const sv_state *st, size_t rows, const double *x, size_t ldx, double *y, size_t ldy,
                       size_t n);

/* One row through the scalar special-value path (double precision, scipy semantics). */
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

/* A job mailbox (native/workers.c): whole rows handed to a helper thread that polls for
 * them with the GIL released.  state: 0 idle, 1 posted, 2 done.  sv_job_serve runs every
 * job posted until `polls` polls pass without one, and returns 1 if it ran any (0: none
 * came); sv_job_wait polls
 * (forever when polls < 0) until the job is done and returns its status (-1: not yet).
 * Without atomics in the compiler each returns SV_EOPTION (or -SV_EOPTION). */
typedef struct sv_job {
    int state;
    int op;
    int algorithm;
    int is_f64;
    const void *x;
    void *y;
    size_t rows;
    size_t n;
    int status;
} sv_job;

int sv_job_init(sv_job *job);
int sv_job_post(sv_job *job, int op, int algorithm, int is_f64, const void *x, void *y, size_t rows, size_t n);
int sv_job_serve(sv_job *job, long polls);
int sv_job_wait(sv_job *job, long polls);
int sv_job_state(const sv_job *job);

/* Kernel dispatch: chosen once at load (the best ISA this build and CPU have, or the
 * SOFTVIZ_ISA environment variable), recorded in one place.  sv_select_isa(NULL or "")
 * picks the best; a name ("portable", "avx2", "avx512") forces that path. */
typedef struct sv_kernel_record {
    const char *isa;         /* in use */
    const char *compiled;    /* the ISAs this build has, best last, comma-separated */
    const char *supported;   /* of those, the ones this CPU can run */
    const char *requested;   /* the name asked for, "" for the default choice */
    const char *compiler;
} sv_kernel_record;

int sv_select_isa(const char *name);
const sv_kernel_record *sv_kernel_info(void);
/* cdef-end */

#endif
