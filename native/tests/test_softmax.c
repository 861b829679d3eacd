/*
 * test_softmax.c - C unit tests for the softviz core, independent of Python.
 *
 * Build and run (tests/test_native_c.py does this, also with
 * -fsanitize=address,undefined, and for aarch64 under qemu-user):
 *   cc -std=c99 -O2 -fopenmp-simd -Inative native/softmax.c native/dispatch.c \
 *      native/kernels_portable.c native/kernels_avx2.c native/kernels_avx512.c \
 *      native/tests/test_softmax.c -lm
 * Every test runs once per instruction set this build and CPU support (portable, AVX2,
 * AVX-512), chosen with sv_select_isa.
 * Buffers are malloc'ed at their exact size so AddressSanitizer catches any read or
 * write past a row.  Prints one line per failure and a closing "N passed, N failed".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softviz.h"

static int passed, failed;
static const char *isa = "?";

#define CHECK(cond, ...)                                      \
    do {                                                      \
        if (cond)                                             \
            passed++;                                         \
        else {                                                \
            failed++;                                         \
            printf("FAIL [%s] %s:%d: ", isa, __FILE__, __LINE__); \
            printf(__VA_ARGS__);                              \
            printf("\n");                                     \
        }                                                     \
    } while (0)

static const char *ALG[] = {"three_pass_reload", "three_pass_recompute", "two_pass", "online"};

/* deterministic uniform in [0, 1): a 64-bit LCG, enough for test data */
static double rnd(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1p-53;
}

/* reference softmax in double: want[i] = exp(x[i] - m) / s; returns m + log(s) */
static double ref_softmax(const double *x, double *want, size_t n)
{
    double m = -HUGE_VAL, s = 0;
    for (size_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i] - m);
    for (size_t i = 0; want && i < n; i++)
        want[i] = exp(x[i] - m) / s;
    return m + log(s);
}

static void test_known_values(void)
{
    const double want[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
    for (int a = 0; a < 4; a++) {
        float xf[3] = {1, 2, 3}, yf[3];
        double xd[3] = {1, 2, 3}, yd[3], lse;
        CHECK(sv_softmax_f32(a, xf, yf, 1, 3) == SV_OK, "%s f32 status", ALG[a]);
        CHECK(sv_softmax_f64(a, xd, yd, 1, 3) == SV_OK, "%s f64 status", ALG[a]);
        for (int i = 0; i < 3; i++) {
            CHECK(fabs(yf[i] - want[i]) <= 2e-7 * want[i], "%s f32 softmax[%d] = %.9g", ALG[a], i, yf[i]);
            CHECK(fabs(yd[i] - want[i]) <= 4e-16 * want[i], "%s f64 softmax[%d] = %.17g", ALG[a], i, yd[i]);
        }
        CHECK(sv_logsumexp_f64(a, xd, &lse, 1, 3) == SV_OK, "status");
        CHECK(fabs(lse - 3.40760596444438) < 1e-14, "%s lse = %.17g", ALG[a], lse);
    }
}

static void test_errors(void)
{
    float x[2] = {0, 1}, y[2];
    double d;
    CHECK(sv_softmax_f32(7, x, y, 1, 2) == SV_EALGORITHM, "bad algorithm");
    CHECK(sv_softmax_f32(-1, x, y, 1, 2) == SV_EALGORITHM, "negative algorithm");
    CHECK(sv_softmax_f32(0, NULL, y, 1, 2) == SV_ENULL, "NULL x");
    CHECK(sv_log_softmax_f64(0, NULL, NULL, 1, 2) == SV_ENULL, "NULL x, y");
    CHECK(sv_logsumexp_f32(2, x, NULL, 1, 2) == SV_ENULL, "NULL out");
    CHECK(sv_softmax_f32(0, NULL, NULL, 0, 5) == SV_OK, "zero rows with NULL is fine");
    CHECK(sv_special_row_f32(5, x, y, 2, &d) == SV_EOPTION, "bad op");
    CHECK(sv_read_f32(x, 2, NULL) == SV_ENULL, "NULL output pointer");
    {
        sv_state st;
        CHECK(sv_state_init(&st, 9, SV_SOFTMAX) == SV_EALGORITHM, "state: bad algorithm");
        CHECK(sv_state_init(&st, SV_ONLINE, 7) == SV_EOPTION, "state: bad op");
        CHECK(sv_state_init(NULL, SV_ONLINE, 0) == SV_ENULL, "state: NULL");
        sv_state_init(&st, SV_ONLINE, SV_SOFTMAX);
        CHECK(sv_accumulate_f32(&st, 1, x, NULL, 2) == SV_EOPTION, "online has one stage");
        CHECK(sv_accumulate_f32(&st, 0, NULL, NULL, 2) == SV_ENULL, "accumulate NULL x");
        CHECK(sv_plan_stages(SV_THREE_PASS_RECOMPUTE) == 2 && sv_plan_stages(SV_TWO_PASS) == 1, "stages");
        sv_state_init(&st, SV_THREE_PASS_RELOAD, SV_SOFTMAX);
        CHECK(sv_accumulate_f32(&st, 1, x, NULL, 2) == SV_ENULL, "reload stores: y required");
    }
    CHECK(sv_select_isa("sse9") == SV_EISA, "unknown ISA refused");
    {
        /* overlapping rows are refused before anything is written; y == x works in place
         * except for three-pass reload */
        float buf[6] = {1, 2, 3, 4, 5, 6};
        double z[3] = {0, 0, 0};
        for (int a = 0; a < 4; a++) {
            CHECK(sv_softmax_f32(a, buf, buf + 1, 1, 4) == SV_EOVERLAP && buf[1] == 2 && buf[4] == 5,
                  "%s: y one element past x refused, untouched", ALG[a]);
            CHECK(sv_log_softmax_f32(a, buf + 2, buf, 2, 2) == SV_EOVERLAP && buf[0] == 1,
                  "%s: y before x, overlapping, refused", ALG[a]);
            CHECK(sv_softmax_f32(a, buf, buf + 3, 1, 3) == SV_OK, "%s: adjacent rows are fine", ALG[a]);
            buf[3] = 4, buf[4] = 5, buf[5] = 6;
            CHECK(sv_softmax_f64(a, z, z, 1, 3) == (a == SV_THREE_PASS_RELOAD ? SV_EOVERLAP : SV_OK),
                  "%s: in place", ALG[a]);
            CHECK(a == SV_THREE_PASS_RELOAD ? z[0] == 0 : fabs(z[0] - 1.0 / 3) < 1e-15, "%s: in place result %g",
                  ALG[a], z[0]);
            z[0] = z[1] = z[2] = 0;
        }
    }
}

static void test_empty_and_single(void)
{
    for (int a = 0; a < 4; a++) {
        float one = 42.0f, y = 0, lse;
        double lse_empty = 0;
        CHECK(sv_logsumexp_f64(a, NULL, &lse_empty, 1, 0) == SV_OK && lse_empty == -HUGE_VAL,
              "%s lse of an empty row = %g", ALG[a], lse_empty);
        CHECK(sv_softmax_f32(a, &one, &y, 1, 1) == SV_OK && y == 1.0f, "%s softmax([42]) = %g", ALG[a], y);
        /* exactly: a single entry holds the whole sum (as in scipy) */
        CHECK(sv_log_softmax_f32(a, &one, &y, 1, 1) == SV_OK && y == 0.0f, "%s log_softmax([42]) = %g", ALG[a], y);
        CHECK(sv_logsumexp_f32(a, &one, &lse, 1, 1) == SV_OK && lse == 42.0f, "%s lse([42]) = %.9g", ALG[a], lse);
    }
}

/* rows where one entry absorbs the rest: exactly one-hot / 0, and log1p keeps the rest */
static void test_dominated(void)
{
    for (int a = 0; a < 4; a++) {
        double x[2] = {1000.0, 1.0}, y[2], l;
        double z[2] = {-104.0, 0.0};
        double four[4] = {0.9, 0.9, 0.9, 0.9}, q[4];
        float f[2] = {40.0f, 0.0f}, g[2], one[1] = {0.9f}, o[1];
        sv_log_softmax_f64(a, x, y, 1, 2);
        CHECK(y[0] == 0.0 && y[1] == -999.0, "%s log_softmax([1000, 1]) = %.17g %.17g", ALG[a], y[0], y[1]);
        sv_softmax_f64(a, x, y, 1, 2);
        CHECK(y[0] == 1.0, "%s softmax([1000, 1])[0] = %.17g", ALG[a], y[0]);
        sv_logsumexp_f64(a, z, &l, 1, 2);
        CHECK(fabs(l - 6.813556821545298e-46) <= 1e-15 * 6.8e-46, "%s lse([-104, 0]) = %.17g", ALG[a], l);
        sv_softmax_f64(a, four, q, 1, 4);
        CHECK(q[0] + q[1] + q[2] + q[3] == 1.0, "%s softmax(0.9 x4) sums to %.17g", ALG[a], q[0] + q[1] + q[2] + q[3]);
        sv_log_softmax_f32(a, f, g, 1, 2);
        CHECK(g[0] == 0.0f && g[1] == -40.0f, "%s f32 log_softmax([40, 0]) = %g %g", ALG[a], g[0], g[1]);
        sv_softmax_f32(a, one, o, 1, 1);
        CHECK(o[0] == 1.0f, "%s f32 softmax([0.9]) = %.9g", ALG[a], o[0]);
    }
}

/* scipy.special semantics on special values */
static void test_special_values(void)
{
    const float inf = INFINITY, nan = NAN;
    struct { float x[3]; int sm_nan; } cases[] = {
        {{nan, 1, 2}, 1}, {{inf, 1, 2}, 1}, {{-inf, -inf, -inf}, 1}, {{inf, -inf, 0}, 1}, {{-inf, 1, 2}, 0},
    };
    for (int a = 0; a < 4; a++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            float *x = malloc(3 * sizeof *x), *y = malloc(3 * sizeof *y), lse;
            memcpy(x, cases[c].x, sizeof cases[c].x);
            CHECK(sv_softmax_f32(a, x, y, 1, 3) == SV_OK, "status");
            if (cases[c].sm_nan)
                CHECK(isnan(y[0]) && isnan(y[1]) && isnan(y[2]), "%s case %zu softmax not all NaN", ALG[a], c);
            else
                CHECK(y[0] == 0.0f && fabsf(y[1] + y[2] - 1.0f) < 1e-6f, "%s -inf entry: %g %g %g", ALG[a], y[0], y[1], y[2]);
            sv_logsumexp_f32(a, x, &lse, 1, 3);
            if (c == 0)
                CHECK(isnan(lse), "%s lse with NaN = %g", ALG[a], lse);
            if (c == 1 || c == 3)
                CHECK(lse == inf, "%s lse with +inf = %g", ALG[a], lse);
            if (c == 2)
                CHECK(lse == -inf, "%s lse all -inf = %g", ALG[a], lse);
            sv_log_softmax_f32(a, x, y, 1, 3);
            if (c == 1)
                CHECK(isnan(y[0]) && y[1] == -inf && y[2] == -inf, "%s log_softmax with +inf: %g %g %g", ALG[a], y[0], y[1], y[2]);
            if (c == 4)
                CHECK(y[0] == -inf && y[2] <= 0.0f, "%s log_softmax with -inf: %g %g", ALG[a], y[0], y[2]);
            free(x);
            free(y);
        }
    }
}

/* extreme but finite inputs: results finite, rows sum to 1 */
static void test_extremes(void)
{
    const float vals[][4] = {
        {3e38f, -3e38f, 0, 1}, {3e38f, 3e38f, 3e38f, 3e38f}, {-3e38f, -3e38f, -3e38f, -3e38f},
        {1e-45f, -1e-45f, 0, 1.4e-45f}, {1e6f, 1e6f - 1, 1e6f - 2, 0}, {-1e6f, -1e6f - 1, -1e6f - 2, -1e30f},
        {6000, 5999, 5990, 0}, {-5650, -5660, -5700, -6000},
    };
    for (int a = 0; a < 4; a++) {
        for (size_t c = 0; c < sizeof vals / sizeof vals[0]; c++) {
            float *x = malloc(4 * sizeof *x), *y = malloc(4 * sizeof *y);
            double xd[4], want[4];
            memcpy(x, vals[c], sizeof vals[c]);
            for (int i = 0; i < 4; i++)
                xd[i] = x[i];
            ref_softmax(xd, want, 4);
            CHECK(sv_softmax_f32(a, x, y, 1, 4) == SV_OK, "status");
            double s = 0;
            int ok = 1;
            for (int i = 0; i < 4; i++) {
                s += y[i];
                ok &= isfinite(y[i]) && fabs(y[i] - want[i]) <= 1e-6 * want[i] + 1e-37;
            }
            CHECK(ok && fabs(s - 1) < 1e-6, "%s extreme case %zu: %g %g %g %g", ALG[a], c, y[0], y[1], y[2], y[3]);
            free(x);
            free(y);
        }
    }
}

/* a plain call, not fmax in the loop: gcc 12 for aarch64 crashes vectorizing that */
static double rel_err_max(double worst, double got, double want)
{
    const double e = fabs(got - want) / want;
    return e > worst ? e : worst;
}

/* Rows long enough for the unrolled vector loops, with logits around and beyond the
 * range where the kernels' (v + MAGIC) - MAGIC rounding holds (|x log2 e| < 2^22 in
 * float32, 2^51 in float64): the row plan must send them to the exact path. */
static void test_large_logits(void)
{
    const double f32_bases[] = {5000.0, 5700.0, 2.9e6, 2.95e6, 4.2e6, 6e6, 1.7e7, 1e30, 3e38};
    const double f64_bases[] = {7e5, 1.5e6, 1.5e15, 1.6e15, 3e15, 1e20, 1e300};
    enum { N = 300 };
    for (int a = 0; a < 4; a++) {
        for (size_t c = 0; c < sizeof f32_bases / sizeof f32_bases[0]; c++) {
            float x[N], y[N];
            double xd[N], want[N], worst = 0;
            for (int i = 0; i < N; i++) {
                x[i] = (float)(f32_bases[c] - (i % 7) * 0.5 * (f32_bases[c] > 1e7 ? f32_bases[c] * 1e-6 : 1.0));
                xd[i] = x[i];
            }
            ref_softmax(xd, want, N);
            CHECK(sv_softmax_f32(a, x, y, 1, N) == SV_OK, "status");
            for (int i = 0; i < N; i++)
                worst = rel_err_max(worst, y[i], want[i]);
            CHECK(worst <= 2e-6, "%s f32 large logits %g: relative error %g", ALG[a], f32_bases[c], worst);
        }
        for (size_t c = 0; c < sizeof f64_bases / sizeof f64_bases[0]; c++) {
            double x[N], y[N], want[N], worst = 0;
            for (int i = 0; i < N; i++)
                x[i] = f64_bases[c] - (i % 7) * 0.5 * (f64_bases[c] > 1e15 ? f64_bases[c] * 1e-15 : 1.0);
            ref_softmax(x, want, N);
            CHECK(sv_softmax_f64(a, x, y, 1, N) == SV_OK, "status");
            for (int i = 0; i < N; i++)
                worst = rel_err_max(worst, y[i], want[i]);
            CHECK(worst <= 1e-13, "%s f64 large logits %g: relative error %g", ALG[a], f64_bases[c], worst);
        }
    }
}

/* long random rows of every length near block and lane boundaries, both precisions */
static void test_random_rows(void)
{
    const size_t lens[] = {1, 2, 7, 15, 16, 17, 31, 63, 64, 65, 1023, 1024, 1025, 3000, 70001};
    unsigned long long seed = 12345;
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        const size_t n = lens[l];
        float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf);
        double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd), *want = malloc(n * sizeof *want);
        for (size_t i = 0; i < n; i++) {
            xf[i] = (float)((rnd(&seed) - 0.5) * 60.0);
            xd[i] = xf[i];
        }
        const double lse = ref_softmax(xd, want, n);
        for (int a = 0; a < 4; a++) {
            double err32 = 0, err64 = 0, sum32 = 0, lerr = 0;
            float l32;
            double l64;
            sv_softmax_f32(a, xf, yf, 1, n);
            sv_softmax_f64(a, xd, yd, 1, n);
            for (size_t i = 0; i < n; i++) {
                if (want[i] > 1e-30) {
                    err32 = fmax(err32, fabs(yf[i] - want[i]) / want[i]);
                    err64 = fmax(err64, fabs(yd[i] - want[i]) / want[i]);
                }
                sum32 += yf[i];
            }
            CHECK(err32 < 1e-5, "%s n=%zu f32 max rel err %g", ALG[a], n, err32);
            CHECK(err64 < 1e-13, "%s n=%zu f64 max rel err %g", ALG[a], n, err64);
            CHECK(fabs(sum32 - 1) < 1e-5, "%s n=%zu f32 sum %g", ALG[a], n, sum32);
            sv_logsumexp_f32(a, xf, &l32, 1, n);
            sv_logsumexp_f64(a, xd, &l64, 1, n);
            CHECK(fabs(l32 - lse) < 1e-5 * fmax(1, fabs(lse)), "%s n=%zu f32 lse %g vs %g", ALG[a], n, l32, lse);
            CHECK(fabs(l64 - lse) < 1e-13 * fmax(1, fabs(lse)), "%s n=%zu f64 lse %.17g vs %.17g", ALG[a], n, l64, lse);
            sv_log_softmax_f64(a, xd, yd, 1, n);
            for (size_t i = 0; i < n; i++)
                lerr = fmax(lerr, fabs(yd[i] - (xd[i] - lse)));
            CHECK(lerr < 1e-13 * fmax(1, fabs(lse)), "%s n=%zu f64 log_softmax abs err %g", ALG[a], n, lerr);
        }
        free(xf);
        free(yf);
        free(xd);
        free(yd);
        free(want);
    }
}

/* several rows at once equal the rows one by one */
static void test_batch(void)
{
    const size_t rows = 5, n = 33;
    unsigned long long seed = 7;
    double *x = malloc(rows * n * sizeof *x), *y = malloc(rows * n * sizeof *y), *y1 = malloc(n * sizeof *y1);
    double *l = malloc(rows * sizeof *l), l1;
    for (size_t i = 0; i < rows * n; i++)
        x[i] = (rnd(&seed) - 0.5) * 20;
    for (int a = 0; a < 4; a++) {
        sv_softmax_f64(a, x, y, rows, n);
        sv_logsumexp_f64(a, x, l, rows, n);
        for (size_t r = 0; r < rows; r++) {
            sv_softmax_f64(a, x + r * n, y1, 1, n);
            sv_logsumexp_f64(a, x + r * n, &l1, 1, n);
            CHECK(memcmp(y1, y + r * n, n * sizeof *y1) == 0 && l1 == l[r], "%s row %zu differs in a batch", ALG[a], r);
        }
    }
    free(x);
    free(y);
    free(y1);
    free(l);
}

/* exp(x) = mantissa * 2^exponent with mantissa in [sqrt(1/2), sqrt(2)], far past overflow */
static void test_extexp(void)
{
    const double xs[] = {-1000, -700.5, -1, -0.3465, 0, 0.3466, 1, 88.7, 709.9, 1000, 1.4e6};
    const size_t n = sizeof xs / sizeof xs[0];
    double *x = malloc(n * sizeof *x), *m = malloc(n * sizeof *m), *e = malloc(n * sizeof *e);
    memcpy(x, xs, sizeof xs);
    CHECK(sv_extexp_f64(x, m, e, n) == SV_OK, "status");
    for (size_t i = 0; i < n; i++) {
        /* log(m) + e ln 2 == x, checked in log space since exp(x) itself may overflow */
        const double back = log(m[i]) + e[i] * 0.6931471805599453;
        CHECK(m[i] >= 0.70710678118654 - 1e-15 && m[i] <= 1.41421356237310 + 1e-15, "mantissa %g for x=%g", m[i], x[i]);
        CHECK(e[i] == nearbyint(x[i] * 1.4426950408889634), "exponent %g for x=%g", e[i], x[i]);
        CHECK(fabs(back - x[i]) <= 4e-16 * fmax(1, fabs(x[i])), "log(m) + e ln2 = %.17g for x=%.17g", back, x[i]);
    }
    CHECK(fabs(sv_extexp_exact_range(0) - 5677.0) < 1.0, "f32 exact range %g", sv_extexp_exact_range(0));
    free(x);
    free(m);
    free(e);
}

/* the row plan composes: accumulate a row in chunks, merge, finish chunk by chunk, and get
 * the whole-row result */
static void test_plan_chunks(void)
{
    const size_t n = 5000, cut[] = {0, 1717, 1718, 4000, 5000};
    unsigned long long seed = 99;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((rnd(&seed) - 0.5) * 200);
    for (int a = 0; a < 4; a++) {
        for (int op = SV_SOFTMAX; op <= SV_LOG_SOFTMAX; op++) {
            sv_state st;
            double err = 0;
            sv_state_init(&st, a, op);
            for (int s = 0; s < sv_plan_stages(a); s++) {
                sv_state merged = st;
                for (int c = 0; c < 4; c++) {
                    sv_state part = st;
                    if (a != SV_THREE_PASS_RELOAD && a != SV_THREE_PASS_RECOMPUTE)
                        sv_state_init(&part, a, op);
                    else if (s == 1)
                        part.sum = 0.0;
                    else
                        part.max = -HUGE_VAL;
                    CHECK(sv_accumulate_f32(&part, s, x + cut[c], y + cut[c], cut[c + 1] - cut[c]) == SV_OK, "acc");
                    if (c == 0)
                        merged = part;
                    else
                        CHECK(sv_merge(&merged, &part, s) == SV_OK, "merge");
                }
                st = merged;
            }
            CHECK(sv_finalize_f32(&st, x, n) == SV_OK, "%s finalize", ALG[a]);
            for (int c = 0; c < 4; c++)
                sv_finish_f32(&st, x + cut[c], y + cut[c], cut[c + 1] - cut[c]);
            (op == SV_SOFTMAX ? sv_softmax_f32 : sv_log_softmax_f32)(a, x, w, 1, n);
            for (size_t i = 0; i < n; i++) {
                /* written out (not fmax of a select): gcc 12 for aarch64 crashes vectorizing that */
                double d = fabs(y[i] - w[i]);
                if (op == SV_SOFTMAX)
                    d /= w[i] > 1e-30f ? w[i] : 1e-30f;
                if (d > err)
                    err = d;
            }
            CHECK(err < 2e-6, "%s op %d chunked vs whole row: %g", ALG[a], op, err);
        }
    }
    free(x);
    free(y);
    free(w);
}

/* rows big enough for the streaming (non-temporal) stores of the x86 last passes, at
 * several alignments of the output: every element written, and right */
static void test_streaming_rows(void)
{
    const size_t n = ((size_t)8 << 20) / sizeof(float) + 37;
    float *xb = malloc((n + 16) * sizeof *xb), *yb = malloc((n + 16) * sizeof *yb);
    double *xd = malloc(n * sizeof *xd), *want = malloc(n * sizeof *want);
    unsigned long long seed = 5;
    for (size_t i = 0; i < n + 16; i++)
        xb[i] = (float)((rnd(&seed) - 0.5) * 20);
    for (size_t off = 0; off < 16; off += 7) {
        float *x = xb + off, *y = yb + (15 - off);
        double err = 0;
        for (size_t i = 0; i < n; i++)
            xd[i] = x[i];
        ref_softmax(xd, want, n);
        for (int a = 0; a < 4; a++) {
            sv_softmax_f32(a, x, y, 1, n);
            for (size_t i = 0; i < n; i++) {
                const double d = fabs(y[i] - want[i]) / want[i];
                err = d > err ? d : err;
            }
            CHECK(err < 1e-5, "%s streaming row (offset %zu): max rel err %g", ALG[a], off, err);
        }
        CHECK(sv_copy_f32(x, y, n) == SV_OK && memcmp(x, y, n * sizeof *x) == 0, "streaming copy, offset %zu", off);
    }
    /* float64: the same rows, half as many elements to reach the streaming size */
    for (size_t off = 0; off < 8; off += 5) {
        const size_t nd = n / 2;
        double *x = xd + off, *y = malloc((nd + 8) * sizeof *y) , err = 0;
        for (size_t i = 0; i < nd; i++)
            x[i] = xb[i];
        ref_softmax(x, want, nd);
        for (int a = 0; a < 4; a++) {
            sv_softmax_f64(a, x, y + (7 - off), 1, nd);
            for (size_t i = 0; i < nd; i++) {
                const double d = fabs(y[7 - off + i] - want[i]) / want[i];
                err = d > err ? d : err;
            }
            CHECK(err < 1e-12, "%s f64 streaming row (offset %zu): max rel err %g", ALG[a], off, err);
        }
        CHECK(sv_copy_f64(x, y + 1, nd) == SV_OK && memcmp(x, y + 1, nd * sizeof *x) == 0, "f64 streaming copy");
        free(y);
    }
    free(xb);
    free(yb);
    free(xd);
    free(want);
}

static void test_probes(void)
{
    const size_t n = 1001;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), s;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)i;
    CHECK(sv_read_f64(x, n, &s) == SV_OK && s == 500500.0, "read probe sum %g", s);
    CHECK(sv_copy_f64(x, y, n) == SV_OK && memcmp(x, y, n * sizeof *x) == 0, "copy probe");
    CHECK(strlen(sv_kernel_info()->isa) > 0 && strlen(sv_kernel_info()->compiler) > 0, "isa and compiler strings");
    free(x);
    free(y);
}

/* The many-states API equals the one-state calls row by row, on a strided tile, and a
 * row with a NaN is flagged special without touching the others. */
static void test_state_rows(void)
{
    enum { R = 3, N = 41, LD = 50 };
    double x[R * LD], y[R * LD], w[N];
    sv_state st[R], one;
    int special[R];
    unsigned long long seed = 7;
    for (int i = 0; i < R * LD; i++)
        x[i] = (rnd(&seed) - 0.5) * 60;
    x[2 * LD + 5] = NAN;
    for (int a = 0; a < 4; a++) {
        CHECK(sv_state_init_rows(st, R, a, SV_SOFTMAX) == SV_OK, "%s init rows", ALG[a]);
        for (int s = 0; s < sv_plan_stages(a); s++)
            CHECK(sv_accumulate_rows_f64(st, R, s, x, LD, y, LD, N) == SV_OK, "%s acc rows", ALG[a]);
        CHECK(sv_finalize_rows_f64(st, R, x, LD, N, special) == SV_OK, "%s finalize rows", ALG[a]);
        CHECK(!special[0] && !special[1] && special[2], "%s special flags %d %d %d", ALG[a], special[0],
              special[1], special[2]);
        CHECK(sv_finish_rows_f64(st, 2, x, LD, y, LD, N) == SV_OK, "%s finish rows", ALG[a]);
        for (int r = 0; r < 2; r++) {
            sv_softmax_f64(a, x + r * LD, w, 1, N);
            int same = 1;
            for (int i = 0; i < N; i++)
                same &= y[r * LD + i] == w[i];
            CHECK(same, "%s row %d: state rows == whole row, bit for bit", ALG[a], r);
        }
        /* merging two halves' states equals accumulating the whole tile (online, two-pass) */
        if (sv_plan_stages(a) == 1) {
            sv_state lo[R], hi[R];
            sv_state_init_rows(lo, R, a, SV_LOG_SOFTMAX);
            sv_state_init_rows(hi, R, a, SV_LOG_SOFTMAX);
            sv_accumulate_rows_f64(lo, R, 0, x, LD, NULL, 0, 20);
            sv_accumulate_rows_f64(hi, R, 0, x + 20, LD, NULL, 0, N - 20);
            CHECK(sv_merge_rows(lo, hi, 2, 0) == SV_OK, "merge rows");
            sv_finalize_rows_f64(lo, 2, x, LD, N, special);
            sv_state_init(&one, a, SV_LOG_SOFTMAX);
            sv_accumulate_f64(&one, 0, x + LD, NULL, N);
            sv_finalize_f64(&one, x + LD, N);
            CHECK(fabs(lo[1].lse - one.lse) <= 1e-14 * fabs(one.lse), "%s merged lse %.17g vs %.17g", ALG[a],
                  lo[1].lse, one.lse);
        }
    }
    sv_state_init_rows(st, R, SV_ONLINE, SV_SOFTMAX);
    st[1].algorithm = 9;
    CHECK(sv_accumulate_rows_f64(st, R, 0, x, LD, NULL, 0, N) == SV_EALGORITHM && st[0].sum == 0.0,
          "a bad state refuses the call before any row changes");
    CHECK(sv_accumulate_rows_f64(NULL, 0, 0, NULL, 0, NULL, 0, N) == SV_OK, "zero rows");
    sv_state_init_rows(st, R, SV_THREE_PASS_RELOAD, SV_SOFTMAX);
    CHECK(sv_accumulate_rows_f64(st, R, 1, x, LD, NULL, 0, N) == SV_ENULL, "reload stores: y required");
    sv_state_init_rows(st, R, SV_ONLINE, SV_LOGSUMEXP);
    CHECK(sv_finish_rows_f64(st, R, x, LD, y, LD, N) == SV_EOPTION, "logsumexp has no last pass");
    CHECK(sv_merge_rows(st, NULL, R, 0) == SV_ENULL, "merge rows: NULL");
}

/* The job mailbox, driven from one thread: post, serve, wait; a second post before the
 * wait is refused; the job's rows equal a direct call. */
static void test_jobs(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6], w[6];
    sv_job job;
    if (sv_job_init(&job) == SV_EOPTION) {
        printf("jobs: not built (no atomics)\n");
        return;
    }
    CHECK(sv_job_state(&job) == 0, "fresh job is idle");
    CHECK(sv_job_serve(&job, 10) == 0, "nothing posted: nothing served");
    CHECK(sv_job_wait(&job, 10) == -1, "nothing posted: not done");
    CHECK(sv_job_post(&job, SV_SOFTMAX, SV_TWO_PASS, 0, x, y, 2, 3) == SV_OK, "post");
    CHECK(sv_job_post(&job, SV_SOFTMAX, SV_TWO_PASS, 0, x, y, 2, 3) == SV_EOPTION, "busy mailbox refuses");
    CHECK(sv_job_serve(&job, 10) == 1 && sv_job_state(&job) == 2, "served");
    CHECK(sv_job_wait(&job, 10) == SV_OK && sv_job_state(&job) == 0, "waited, idle again");
    sv_softmax_f32(SV_TWO_PASS, x, w, 2, 3);
    CHECK(memcmp(y, w, sizeof y) == 0, "job rows == direct rows");
    sv_job_post(&job, SV_LOGSUMEXP, 9, 0, x, y, 2, 3);
    sv_job_serve(&job, 10);
    CHECK(sv_job_wait(&job, 10) == SV_EALGORITHM, "the job's error comes back");
    CHECK(sv_job_post(NULL, 0, 0, 0, x, y, 1, 1) == SV_ENULL && sv_job_serve(NULL, 1) == -SV_ENULL, "NULL job");
}

/* The plan of one row through the one-state API (init, accumulate, finalize, finish, or
 * the special row): the path the batched three-pass reload kernel must equal bit for bit. */
#define PLAN_ROW(T, SFX)                                                                     \
    static int plan_row_##SFX(int op, const T *x, T *y, size_t n, T *lse)                    \
    {                                                                                        \
        sv_state st;                                                                         \
        double l;                                                                            \
        int status;                                                                          \
        sv_state_init(&st, SV_THREE_PASS_RELOAD, op);                                        \
        for (int s = 0; s < sv_plan_stages(SV_THREE_PASS_RELOAD); s++)                       \
            sv_accumulate_##SFX(&st, s, x, y, n);                                            \
        status = sv_finalize_##SFX(&st, x, n);                                               \
        if (status == SV_ESPECIAL) {                                                         \
            status = sv_special_row_##SFX(op, x, y, n, &l);                                  \
            *lse = (T)l;                                                                     \
            return status;                                                                   \
        }                                                                                    \
        *lse = (T)st.lse;                                                                    \
        return op == SV_LOGSUMEXP ? status : sv_finish_##SFX(&st, x, y, n);                  \
    }
PLAN_ROW(float, f32)
PLAN_ROW(double, f64)

/* same bits, NaN equal to NaN (a memcmp would do, but this names the first index) */
#define SAME_BITS(T, SFX)                                                                    \
    static long same_##SFX(const T *a, const T *b, size_t n)                                 \
    {                                                                                        \
        for (size_t i = 0; i < n; i++)                                                       \
            if (memcmp(a + i, b + i, sizeof(T)) != 0 && !(a[i] != a[i] && b[i] != b[i]))     \
                return (long)i;                                                              \
        return -1;                                                                           \
    }
SAME_BITS(float, f32)
SAME_BITS(double, f64)

/* Row kinds a batch may hold at any position: the batched kernel stops before an
 * irregular row and the full plan takes it. */
enum { K_RANDOM, K_NAN, K_PINF, K_ALL_NINF, K_SOME_NINF, K_DOMINATED, K_TINY_REST, K_EQUAL, K_KINDS };
static const char *KIND[] = {"random", "NaN", "+inf", "all -inf", "some -inf", "dominated", "tiny rest", "equal"};

#define FILL_ROW(T, SFX)                                                                     \
    static void fill_##SFX(T *x, size_t n, int kind, unsigned long long *seed)               \
    {                                                                                        \
        for (size_t i = 0; i < n; i++)                                                       \
            x[i] = (T)((rnd(seed) - 0.5) * 30);                                              \
        if (n == 0)                                                                          \
            return;                                                                          \
        const size_t at = (size_t)(rnd(seed) * (double)n);                                   \
        switch (kind) {                                                                      \
        case K_NAN: x[at] = (T)NAN; break;                                                   \
        case K_PINF: x[at] = (T)INFINITY; break;                                             \
        case K_ALL_NINF: for (size_t i = 0; i < n; i++) x[i] = -(T)INFINITY; break;          \
        case K_SOME_NINF: x[at] = -(T)INFINITY; break;                                       \
        case K_DOMINATED: for (size_t i = 0; i < n; i++) x[i] -= (T)200; x[at] = (T)5; break; \
        /* max 0, the rest near e^-23: log(1 + rest) loses it, log1p keeps it */             \
        case K_TINY_REST: for (size_t i = 0; i < n; i++) x[i] = (T)(-23 - rnd(seed)); x[at] = 0; break; \
        case K_EQUAL: for (size_t i = 0; i < n; i++) x[i] = (T)-3.25; break;                 \
        default: break;                                                                      \
        }                                                                                    \
    }
FILL_ROW(float, f32)
FILL_ROW(double, f64)

/* Batches of rows of every length 0..130 (every tail of every vector width, and rows that
 * go in pairs or alone), 1..5 rows, with a row of each special kind at every position:
 * softmax and logsumexp equal the one-row plan bit for bit, log_softmax too. */
#define TEST_BATCHED(T, SFX)                                                                 \
    static void test_batched_rows_##SFX(void)                                                \
    {                                                                                        \
        enum { MAXR = 5, MAXN = 130 };                                                       \
        unsigned long long seed = 11;                                                        \
        static const int ops[] = {SV_SOFTMAX, SV_LOG_SOFTMAX, SV_LOGSUMEXP};                 \
        for (size_t n = 0; n <= MAXN; n++)                                                   \
            for (size_t rows = 1; rows <= MAXR; rows++)                                      \
                for (int kind = 0; kind < K_KINDS; kind++)                                   \
                    for (size_t at = 0; at < (kind == K_RANDOM ? 1 : rows); at++) {          \
                        T *x = malloc((rows * n + 1) * sizeof *x);                           \
                        T *y = malloc((rows * n + 1) * sizeof *y), *w = malloc((n + 1) * sizeof *w); \
                        T lse[MAXR], wl;                                                     \
                        long bad = -1;                                                       \
                        for (size_t r = 0; r < rows; r++)                                    \
                            fill_##SFX(x + r * n, n, r == at ? kind : K_RANDOM, &seed);      \
                        for (int o = 0; o < 3 && bad < 0; o++) {                             \
                            int st = ops[o] == SV_LOGSUMEXP                                  \
                                         ? sv_logsumexp_##SFX(0, x, lse, rows, n)            \
                                         : ops[o] == SV_SOFTMAX ? sv_softmax_##SFX(0, x, y, rows, n) \
                                                                : sv_log_softmax_##SFX(0, x, y, rows, n); \
                            CHECK(st == SV_OK, #SFX " n=%zu rows=%zu status %d", n, rows, st); \
                            for (size_t r = 0; r < rows && bad < 0; r++) {                   \
                                plan_row_##SFX(ops[o], x + r * n, w, n, &wl);                \
                                if (ops[o] == SV_LOGSUMEXP)                                  \
                                    bad = same_##SFX(&wl, lse + r, 1) < 0 ? -1 : (long)r;    \
                                else                                                         \
                                    bad = same_##SFX(w, y + r * n, n) < 0 ? -1 : (long)r;    \
                                if (bad >= 0)                                                \
                                    printf("  op %d: row %zu differs\n", ops[o], r);         \
                            }                                                                \
                        }                                                                    \
                        CHECK(bad < 0, #SFX " batched rows n=%zu rows=%zu, %s row at %zu: row %ld " \
                              "differs from the one-row plan", n, rows, KIND[kind], at, bad); \
                        free(x);                                                             \
                        free(y);                                                             \
                        free(w);                                                             \
                    }                                                                        \
    }
TEST_BATCHED(float, f32)
TEST_BATCHED(double, f64)

/* Rows that alias: three-pass reload refuses y == x (its stored exps would overwrite x
 * before a special row is redone) and any partial overlap; two-pass runs in place with
 * the bits of a separate output. */
static void test_aliased_rows(void)
{
    enum { R = 4, N = 24 };
    float x[R * N + N], y[R * N], keep[R * N];
    unsigned long long seed = 3;
    for (int i = 0; i < R * N + N; i++)
        x[i] = (float)((rnd(&seed) - 0.5) * 30);
    x[2 * N + 7] = INFINITY;
    memcpy(keep, x, sizeof keep);
    CHECK(sv_softmax_f32(SV_THREE_PASS_RELOAD, x, x, R, N) == SV_EOVERLAP, "reload in place refused");
    CHECK(sv_softmax_f32(SV_THREE_PASS_RELOAD, x, x + N, R, N) == SV_EOVERLAP, "partial overlap refused");
    CHECK(sv_softmax_f32(SV_TWO_PASS, x, x + 3, R, N) == SV_EOVERLAP, "two-pass partial overlap refused");
    CHECK(memcmp(keep, x, sizeof keep) == 0, "a refused call writes nothing");
    sv_softmax_f32(SV_TWO_PASS, x, y, R, N);
    CHECK(sv_softmax_f32(SV_TWO_PASS, x, x, R, N) == SV_OK && same_f32(x, y, R * N) < 0,
          "two-pass in place == separate output");
    {
        float w[N], wl;
        plan_row_f32(SV_SOFTMAX, keep + 2 * N, w, N, &wl);
        CHECK(sv_softmax_f32(SV_THREE_PASS_RELOAD, keep, y, R, N) == SV_OK && same_f32(w, y + 2 * N, N) < 0,
              "reload batch: its +inf row as the one-row plan");
    }
}

int main(void)
{
    static const char *isas[] = {"portable", "avx2", "avx512"};
    int ran = 0;
    for (int k = 0; k < 3; k++) {
        if (sv_select_isa(isas[k]) != SV_OK) {
            printf("%s: not supported by this build or CPU\n", isas[k]);
            continue;
        }
        isa = sv_kernel_info()->isa;
        ran++;
        test_known_values();
        test_errors();
        test_empty_and_single();
        test_dominated();
        test_special_values();
        test_extremes();
        test_large_logits();
        test_random_rows();
        test_batch();
        test_extexp();
        test_plan_chunks();
        test_streaming_rows();
        test_probes();
        test_state_rows();
        test_jobs();
        test_batched_rows_f32();
        test_batched_rows_f64();
        test_aliased_rows();
        printf("%s: done (%d passed, %d failed so far)\n", isa, passed, failed);
    }
    CHECK(ran >= 1, "at least the portable kernels ran");
    printf("supported: %s; compiler: %s\n", sv_kernel_info()->supported, sv_kernel_info()->compiler);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
