/*
 * exp_f64.h - the float64 exponential that every softviz kernel shares.
 *
 * Same scheme as exp_f32.h (see there): exp(x) = p * 2^n, n = round(x log2 e),
 * p = exp(r) on [-ln2/2, ln2/2] from a polynomial; after Dukhan & Ablavatski,
 * "The Two-Pass Softmax Algorithm" (2020, arXiv:2001.04438).
 */
#ifndef SOFTVIZ_EXP_F64_H
#define SOFTVIZ_EXP_F64_H

#include <stdint.h>

#define SVF64_LOG2E 0x1.71547652b82fep+0
/* fdlibm's split: LN2_HI has 32 significant bits, so n * LN2_HI is exact for
 * |n| < 2^21 (|x| < ~1.45e6). */
#define SVF64_LN2_HI 0x1.62e42feep-1
#define SVF64_LN2_LO 0x1.a39ef35793c76p-33
#define SVF64_MAGIC 0x1.8p52
#define SVF64_NEXACT 2097151.0

typedef union { double f; uint64_t u; } sv_f64bits;

static inline double sv_round_f64(double v)
{
    return (v + SVF64_MAGIC) - SVF64_MAGIC;
}

/* Chebyshev fit of degree 11 (mpmath.chebyfit), about 1 ulp with Horner's rule.  The
 * coefficients are macros because the AVX2 and AVX-512 kernels use the same ones. */
#define SVF64_C11 0x1.af632a0f7e2cep-26
#define SVF64_C10 0x1.28b4101c77212p-22
#define SVF64_C9 0x1.71ddf56d8deb5p-19
#define SVF64_C8 0x1.a01991a10d9aep-16
#define SVF64_C7 0x1.a01a01b1461c5p-13
#define SVF64_C6 0x1.6c16c1880029fp-10
#define SVF64_C5 0x1.111111110f21ep-7
#define SVF64_C4 0x1.555555554f0bap-5
#define SVF64_C3 0x1.555555555555ap-3
#define SVF64_C2 0x1.0000000000011p-1

static inline double sv_poly_f64(double r)
{
    double p = SVF64_C11;
    p = p * r + SVF64_C10;
    p = p * r + SVF64_C9;
    p = p * r + SVF64_C8;
    p = p * r + SVF64_C7;
    p = p * r + SVF64_C6;
    p = p * r + SVF64_C5;
    p = p * r + SVF64_C4;
    p = p * r + SVF64_C3;
    p = p * r + SVF64_C2;
    p = p * r + 1.0;
    return p * r + 1.0;
}

/* 2^k for integer-valued k <= 0 (see sv_pow2i_f32); below -1022 it comes out as 0. */
static inline double sv_pow2i_f64(double k)
{
    sv_f64bits v;
    k = k < -1023.0 ? -1023.0 : k;
    v.f = k + (SVF64_MAGIC + 1023.0);
    v.u <<= 52;
    return v.f;
}

static inline double sv_split_f64(double x, double *n)
{
    double k = sv_round_f64(x * SVF64_LOG2E);
    double r = x - k * SVF64_LN2_HI;
    r = r - k * SVF64_LN2_LO;
    *n = k;
    return sv_poly_f64(r);
}

static inline double sv_expneg_f64(double t)
{
    double n, p;
    t = t < -746.0 ? -746.0 : t;
    p = sv_split_f64(t, &n);
    return p * sv_pow2i_f64(n);
}

#endif
