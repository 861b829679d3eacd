"""cffi build script for the softviz C core (used by setup.py's cffi_modules).

Builds ``softviz._softviz_cffi`` from the C sources in ``SOURCES``.  The declarations
come from the block between the cdef markers in native/softviz.h, so the header stays
the one description of the C API.  The build is for the baseline ISA; the AVX2 and
AVX-512 kernels are compiled per function (target attributes) and picked at run time by
dispatch.c.  Extra flags for a local build go in SOFTVIZ_CFLAGS (e.g. ``-march=native``).
"""
import os
import shlex
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
# The row plan, the dispatcher and one kernel table per instruction set (kernels.h).
SOURCES = ["softmax.c", "workers.c", "dispatch.c", "kernels_portable.c", "kernels_avx2.c", "kernels_avx512.c"]

# -fno-math-errno/-fno-trapping-math let the compiler vectorize the portable kernels
# without changing IEEE results; -ffp-contract=fast allows FMA where the target has it
# (ISO C mode would forbid it).
# Never -ffast-math: the kernels' NaN/inf handling depends on IEEE semantics.
CFLAGS = [
    "-O3",
    "-std=c99",
    "-fopenmp-simd",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=fast",
]


def _cdef():
    with open(os.path.join(HERE, "softviz.h"), encoding="utf-8") as fh:
        text = fh.read()
    return text.split("/* cdef-begin */", 1)[1].split("/* cdef-end */", 1)[0]


def _relative(path):
    # setuptools wants source paths relative to the project root it runs from
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def _compile_args():
    if sys.platform == "win32":
        return ["/O2"]
    return CFLAGS + shlex.split(os.environ.get("SOFTVIZ_CFLAGS", ""))


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "softviz._softviz_cffi",
    '#include "softviz.h"',
    sources=[_relative(os.path.join(HERE, name)) for name in SOURCES],
    depends=[_relative(os.path.join(HERE, name)) for name in
             ("softviz.h", "kernels.h", "exp_f32.h", "exp_f64.h", "plan_impl.h", "kernels_portable_impl.h",
              "rows_impl.h")],
    include_dirs=[_relative(HERE)],
    extra_compile_args=_compile_args(),
    libraries=[] if sys.platform == "win32" else ["m"],
)

if __name__ == "__main__":
    # `python native/build_ffi.py` from the project root: an in-place build for development
    ffibuilder.compile(tmpdir=".", verbose=True)
