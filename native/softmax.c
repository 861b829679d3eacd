/*
 * softmax.c - the softviz C core: softmax, log-softmax and logsumexp kernels for
 * float32 and float64 (see softviz.h for the API and the algorithms).
 *
 * The kernels are written once in softmax_impl.h and instantiated here for both
 * precisions.  On x86-64 with gcc >= 12 every hot function is compiled three times
 * by target_clones, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline,
 * and the loader picks the best clone the running CPU supports, so the default build
 * uses AVX2 or AVX-512 where the CPU has it without -march=native.  Never build this with -ffast-math: the special-value checks rely on
 * NaN and inf behaving as IEEE 754 says, and the rounding trick in exp_*.h on
 * additions not being reassociated.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "softviz.h"
#include "exp_f32.h"
#include "exp_f64.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
    !defined(__clang__) && __GNUC__ >= 12 && !defined(__AVX2__) && !defined(SV_NO_DISPATCH)
#define SV_DISPATCH 1
#define SV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SV_DISPATCH 0
#define SV_CLONES
#endif

enum { SV_OP_SOFTMAX = 0, SV_OP_LOG_SOFTMAX = 1, SV_OP_LSE = 2 };

/* ln 2 = HI + LO with e * HI exact for the exponents a regular row can have */
#define SV_LN2_HI_D SVF64_LN2_HI
#define SV_LN2_LO_D SVF64_LN2_LO

/* 2^k for k <= 0 in double; far below the range it is simply 0.  A NaN k (from
 * inf - inf when a row holds +inf) stays NaN instead of reaching an int conversion. */
static double sv_pow2_nonpos(double k)
{
    if (k != k)
        return k;
    return k < -1100.0 ? 0.0 : ldexp(1.0, (int)k);
}

/* The online merge rule of Milakov & Gimelshein: (M, S) + (m, d). */
static void sv_merge_online(double *M, double *S, double m, double d)
{
    const double mn = m > *M ? m : *M;
    *S = *S * exp(*M - mn) + d * exp(m - mn);
    *M = mn;
}

/* The two-pass merge: M 2^E + m 2^e, rescaled to the larger exponent. */
static void sv_merge_extexp(double *M, double *E, double m, double e)
{
    const double en = e > *E ? e : *E;
    *M = *M * sv_pow2_nonpos(*E - en) + m * sv_pow2_nonpos(e - en);
    *E = en;
}

int sv_regular_max_sum(double max, double sum)
{
    return isfinite(max) && sum > 0.0 && sum < HUGE_VAL;
}

/* A two-pass row is ordinary when its largest exponent lies where the range
 * reduction of exp_*.h is exact, with room below for every term that can still
 * reach a normal output (127 / 1023 binades). */
int sv_regular_extexp(double mantissa, double exponent, int is_f64)
{
    const double hi = is_f64 ? SVF64_NEXACT : SVF32_NEXACT;
    const double lo = is_f64 ? -(SVF64_NEXACT - 1100.0) : -(SVF32_NEXACT - 160.0);
    return mantissa > 0.0 && mantissa < HUGE_VAL && exponent <= hi && exponent >= lo;
}

double sv_extexp_exact_range(int is_f64)
{
    return is_f64 ? SVF64_NEXACT / SVF64_LOG2E : SVF32_NEXACT / SVF32_LOG2E;
}

/* float32 */
#define T float
#define SFX f32
#define SV_IS_F64 0
#define SV_LANES 16
#define SV_BLOCK 1024
#define SV_LOWEST (-FLT_MAX)
#define SV_XLO (-0x1p21f)
#define SV_ESENTINEL (-0x1p24f)
#include "softmax_impl.h"
#undef T
#undef SFX
#undef SV_IS_F64
#undef SV_LANES
#undef SV_BLOCK
#undef SV_LOWEST
#undef SV_XLO
#undef SV_ESENTINEL

/* float64 */
#define T double
#define SFX f64
#define SV_IS_F64 1
#define SV_LANES 8
#define SV_BLOCK 1024
#define SV_LOWEST (-DBL_MAX)
#define SV_XLO (-0x1p49)
#define SV_ESENTINEL (-0x1p60)
#include "softmax_impl.h"

const char *sv_simd_path(void)
{
#if SV_DISPATCH
    __builtin_cpu_init();
    /* the same tests, in the same order, as the resolver target_clones generates */
    if (__builtin_cpu_supports("x86-64-v4"))
        return "x86-64-v4 clone (AVX-512, with AVX2+FMA), picked at load time by target_clones";
    if (__builtin_cpu_supports("x86-64-v3"))
        return "x86-64-v3 clone (AVX2+FMA), picked at load time by target_clones";
    return "x86-64 baseline clone (SSE2), picked at load time by target_clones";
#elif defined(__AVX512F__)
    return "compiled for AVX-512 (no run-time dispatch: the build flags fix the ISA)";
#elif defined(__AVX2__)
    return "compiled for AVX2 (no run-time dispatch: the build flags fix the ISA)";
#elif defined(__aarch64__) || defined(__ARM_NEON)
    return "compiled for ARM NEON (no run-time dispatch)";
#else
    return "portable C, the compiler's default vector ISA (no run-time dispatch)";
#endif
}

const char *sv_compiler(void)
{
#if defined(__VERSION__)
    return __VERSION__;
#else
    return "unknown compiler";
#endif
}
