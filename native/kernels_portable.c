/*
 * kernels_portable.c - the portable C99 kernel table for float32 and float64.
 *
 * The fallback on every compiler and CPU (ARM, MSVC, x86-64 without AVX2); see
 * kernels.h for what each kernel computes and kernels_portable_impl.h for the code.
 * Built with -fopenmp-simd -fno-trapping-math so that the compiler vectorizes the
 * loops for its default vector ISA.  Never -ffast-math: it would delete the NaN
 * handling and reassociate the rounding tricks of exp_*.h.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "exp_f32.h"
#include "exp_f64.h"
#include "kernels.h"

#define T float
#define SFX f32
#define PK_TABLE sv_kernels_f32
#define PK_LANES 16
#define PK_BLOCK SV_BLOCK
#define PK_LOWEST (-FLT_MAX)
#define PK_XLO SV_XLO_F32
#define PK_ESENTINEL (-0x1p24f)
#include "kernels_portable_impl.h"
#undef T
#undef SFX
#undef PK_TABLE
#undef PK_LANES
#undef PK_BLOCK
#undef PK_LOWEST
#undef PK_XLO
#undef PK_ESENTINEL

#define T double
#define SFX f64
#define PK_TABLE sv_kernels_f64
#define PK_LANES 8
/* double lanes sum in double: short blocks keep each lane's chain of additions short */
#define PK_BLOCK 256
#define PK_LOWEST (-DBL_MAX)
#define PK_XLO SV_XLO_F64
#define PK_ESENTINEL (-0x1p60)
#include "kernels_portable_impl.h"
