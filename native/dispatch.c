/*
 * dispatch.c - picks one kernel table per precision, once, and records the choice.
 *
 * At load (a constructor on gcc/clang; otherwise the first sv_select_isa call) the best
 * instruction set that both this build and this CPU have is chosen, unless the
 * environment variable SOFTVIZ_ISA names another one: "portable", "avx2" or "avx512".
 * Tests use that to run every path the machine has.  The record below is the one place
 * that says which kernels run: softviz.kernel_info() and the benchmark header read it.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "softviz.h"

enum { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_COUNT = 3 };

static const char *const isa_names[ISA_COUNT] = {"portable", "avx2", "avx512"};

static const sv_kernels_f32 *active32 = &sv_portable_f32;
static const sv_kernels_f64 *active64 = &sv_portable_f64;
static char requested[16];
static char supported[64];
static sv_kernel_record record = {"portable", "", "", "", ""};

#if SV_HAVE_X86_KERNELS
#define COMPILED "portable,avx2,avx512"
#else
#define COMPILED "portable"
#endif

static int cpu_has(int isa)
{
#if SV_HAVE_X86_KERNELS
    __builtin_cpu_init();
    if (isa == ISA_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
#endif
    return isa == ISA_PORTABLE;
}

static void use(int isa)
{
    switch (isa) {
#if SV_HAVE_X86_KERNELS
    case ISA_AVX512:
        active32 = &sv_avx512_f32;
        active64 = &sv_avx512_f64;
        break;
    case ISA_AVX2:
        active32 = &sv_avx2_f32;
        active64 = &sv_avx2_f64;
        break;
#endif
    default:
        active32 = &sv_portable_f32;
        active64 = &sv_portable_f64;
        isa = ISA_PORTABLE;
    }
    record.isa = isa_names[isa];
}

static const char *compiler_name(void)
{
#if defined(__clang__) && defined(__VERSION__)
    return "clang " __clang_version__;
#elif defined(__GNUC__) && defined(__VERSION__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "MSVC";
#else
    return "unknown compiler";
#endif
}

int sv_select_isa(const char *name)
{
    int best = ISA_PORTABLE, want = -1;
    size_t len = 0;
    supported[0] = '\0';
    for (int i = 0; i < ISA_COUNT; i++) {
        if (strstr(COMPILED, isa_names[i]) && cpu_has(i)) {
            if (supported[0])
                strcat(supported, ",");
            strcat(supported, isa_names[i]);
            best = i;
        }
    }
    record.compiled = COMPILED;
    record.supported = supported;
    record.compiler = compiler_name();
    if (name && name[0]) {
        for (int i = 0; i < ISA_COUNT; i++)
            if (strcmp(name, isa_names[i]) == 0)
                want = i;
        if (want < 0 || want > best)
            return SV_EISA;
        len = strlen(name);
        memcpy(requested, name, len + 1);
    } else {
        requested[0] = '\0';
        want = best;
    }
    record.requested = requested;
    use(want);
    return SV_OK;
}

const sv_kernel_record *sv_kernel_info(void)
{
    return &record;
}

const sv_kernels_f32 *sv_active_f32(void)
{
    return active32;
}

const sv_kernels_f64 *sv_active_f64(void)
{
    return active64;
}

#if defined(__GNUC__) || defined(__clang__)
/* Choose at load, before any thread can call a kernel.  An unusable SOFTVIZ_ISA leaves
 * the best path in place; the Python layer calls sv_select_isa again and reports it. */
__attribute__((constructor)) static void sv_dispatch_at_load(void)
{
    const char *env = getenv("SOFTVIZ_ISA");
    if (sv_select_isa(env) != SV_OK)
        sv_select_isa(NULL);
}
#endif
