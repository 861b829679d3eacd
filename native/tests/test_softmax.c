/*
 * test_softmax.c - C unit tests for the softviz core, independent of Python.
 *
 * Build and run (tests/test_native_c.py does this, also with
 * -fsanitize=address,undefined):
 *   cc -std=c99 -O2 -fopenmp-simd -Inative native/softmax.c native/tests/test_softmax.c -lm
 * Buffers are malloc'ed at their exact size so AddressSanitizer catches any read or
 * write past a row.  Prints one line per failure and a closing "N passed, N failed".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softviz.h"

static int passed, failed;

#define CHECK(cond, ...)                                      \
    do {                                                      \
        if (cond)                                             \
            passed++;                                         \
        else {                                                \
            failed++;                                         \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);       \
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
    CHECK(sv_sum_exp_f32(x, y, 2, 0.0, 9, &d) == SV_EOPTION, "bad store mode");
    CHECK(sv_special_row_f32(5, x, y, 2, &d) == SV_EOPTION, "bad op");
    CHECK(sv_max_f32(x, 2, NULL) == SV_ENULL, "NULL output pointer");
}

static void test_empty_and_single(void)
{
    for (int a = 0; a < 4; a++) {
        float one = 42.0f, y = 0, lse;
        double lse_empty = 0;
        CHECK(sv_logsumexp_f64(a, NULL, &lse_empty, 1, 0) == SV_OK && lse_empty == -HUGE_VAL,
              "%s lse of an empty row = %g", ALG[a], lse_empty);
        CHECK(sv_softmax_f32(a, &one, &y, 1, 1) == SV_OK && y == 1.0f, "%s softmax([42]) = %g", ALG[a], y);
        /* 0 up to float32 rounding of the logsumexp (ulp(42) ~ 4e-6), never above 0 */
        CHECK(sv_log_softmax_f32(a, &one, &y, 1, 1) == SV_OK && y <= 0.0f && y > -1e-6f,
              "%s log_softmax([42]) = %g", ALG[a], y);
        CHECK(sv_logsumexp_f32(a, &one, &lse, 1, 1) == SV_OK && fabsf(lse - 42.0f) <= 4e-6f,
              "%s lse([42]) = %.9g", ALG[a], lse);
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

/* the passes compose: split a row in two, merge, and get the whole-row statistics */
static void test_passes_merge(void)
{
    const size_t n = 5000, h = 1717;
    unsigned long long seed = 99;
    float *x = malloc(n * sizeof *x);
    double m1, e1, m2, e2, mall, eall, a1, s1, a2, s2, aall, sall;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((rnd(&seed) - 0.5) * 200);
    sv_sum_extexp_f32(x, h, &m1, &e1);
    sv_sum_extexp_f32(x + h, n - h, &m2, &e2);
    sv_sum_extexp_f32(x, n, &mall, &eall);
    {
        const double e = e1 > e2 ? e1 : e2;
        const double m = m1 * ldexp(1, (int)(e1 - e)) + m2 * ldexp(1, (int)(e2 - e));
        CHECK(e == eall && fabs(m - mall) <= 1e-6 * mall, "two-pass merge (%g, %g) vs (%g, %g)", m, e, mall, eall);
    }
    sv_online_f32(x, h, &a1, &s1);
    sv_online_f32(x + h, n - h, &a2, &s2);
    sv_online_f32(x, n, &aall, &sall);
    {
        const double a = a1 > a2 ? a1 : a2;
        const double s = s1 * exp(a1 - a) + s2 * exp(a2 - a);
        CHECK(a == aall && fabs(s - sall) <= 1e-6 * sall, "online merge (%g, %g) vs (%g, %g)", a, s, aall, sall);
    }
    free(x);
}

static void test_probes(void)
{
    const size_t n = 1001;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), s;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)i;
    CHECK(sv_read_f64(x, n, &s) == SV_OK && s == 500500.0, "read probe sum %g", s);
    CHECK(sv_copy_f64(x, y, n) == SV_OK && memcmp(x, y, n * sizeof *x) == 0, "copy probe");
    CHECK(strlen(sv_simd_path()) > 0 && strlen(sv_compiler()) > 0, "path and compiler strings");
    free(x);
    free(y);
}

int main(void)
{
    test_known_values();
    test_errors();
    test_empty_and_single();
    test_special_values();
    test_extremes();
    test_random_rows();
    test_batch();
    test_extexp();
    test_passes_merge();
    test_probes();
    printf("simd path: %s\n", sv_simd_path());
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
