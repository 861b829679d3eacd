"""Loads the compiled C core and calls it: the only module that touches ``ffi``/``lib``.

Everything handed to the C functions here is already checked by the callers: a
C-contiguous 2-D float32 or float64 array of rows.  This module adds the one piece of
logic that lives on the Python side of the core: splitting long rows across threads
(``workers=``).  cffi releases the GIL for the duration of each C call, so the
threads run the kernels truly in parallel; the partial results of the passes are
merged here with the same rules as in native/softmax.c.
"""
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    from ._softviz_cffi import ffi, lib
except ImportError as _exc:  # not compiled: softviz falls back to numpy
    ffi = lib = None
    LOAD_ERROR = f"{type(_exc).__name__}: {_exc}"
else:
    LOAD_ERROR = None

__all__ = [
    "AVAILABLE",
    "LOAD_ERROR",
    "ALGORITHM_CODES",
    "rows",
    "extexp",
    "extexp_exact_range",
    "read_probe",
    "copy_probe",
    "simd_path",
    "compiler",
    "pass_max",
    "pass_sum_exp",
    "pass_online",
    "pass_sum_extexp",
]

AVAILABLE = lib is not None

ALGORITHM_CODES = {
    "three_pass_reload": 0,
    "three_pass_recompute": 1,
    "two_pass": 2,
    "online": 3,
}
_OP_CODES = {"softmax": 0, "log_softmax": 1, "logsumexp": 2}
_STORE_NONE, _STORE_EXP, _STORE_SHIFTED = 0, 1, 2
# ln 2 split as in native/exp_f64.h: exponent * _LN2_HI is exact for regular rows
_LN2_HI = float.fromhex("0x1.62e42feep-1")
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_STATUS = {1: "unknown algorithm code", 2: "NULL pointer with a non-zero size", 3: "unknown option"}

# A chunk smaller than this is not worth a thread hand-off.
_MIN_CHUNK = 1 << 15
_CPUS = os.cpu_count() or 1
_pools = {}
_pools_lock = threading.Lock()


def _require():
    if lib is None:
        raise RuntimeError(f"the softviz C core is not compiled ({LOAD_ERROR}); reinstall softviz")


def _check(status, name):
    if status != 0:
        raise RuntimeError(f"softviz C core: {name} returned {status} ({_STATUS.get(status, 'unknown error')})")


def _suffix(dtype):
    return "f32" if dtype == np.float32 else "f64"


def _buf(a):
    return ffi.from_buffer("float[]" if a.dtype == np.float32 else "double[]", a)


def _call(name, *args):
    _check(getattr(lib, name)(*args), name)


def rows(op, algorithm, x, workers=1):
    """Apply ``op`` (softmax, log_softmax, logsumexp) to every row of the 2-D array x."""
    _require()
    nrows, n = x.shape
    out = np.empty(nrows if op == "logsumexp" else x.shape, dtype=x.dtype)
    if x.size == 0:
        if op == "logsumexp":
            out.fill(-np.inf)
        return out
    code, sfx = ALGORITHM_CODES[algorithm], _suffix(x.dtype)
    workers = min(workers, _CPUS, max(1, n // _MIN_CHUNK) if nrows == 1 else nrows)
    if workers <= 1:
        _call(f"sv_{op}_{sfx}", code, _buf(x), _buf(out), nrows, n)
    elif nrows >= workers:
        # many rows: whole rows per thread, bit-identical to one thread
        bounds = np.linspace(0, nrows, workers + 1).astype(int)
        jobs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

        def run(span):
            a, b = span
            _call(f"sv_{op}_{sfx}", code, _buf(x[a:b]), _buf(out[a:b]), b - a, n)

        list(_pool(workers).map(run, jobs))
    else:
        for r in range(nrows):
            _split_row(op, algorithm, x[r], None if op == "logsumexp" else out[r], out, r, workers)
    return out


def _pool(workers):
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="softviz")
        return _pools[workers]


def _chunks(n, workers):
    # chunk edges on multiples of 64 elements keep each thread on its own cache lines
    step = -(-n // workers)
    step = -(-step // 64) * 64
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _split_row(op, algorithm, x, y, out, r, workers):
    """One long row across threads: accumulate per chunk, merge, then scale per chunk."""
    sfx, pool, chunks = _suffix(x.dtype), _pool(workers), _chunks(x.shape[0], workers)
    lib_fn = lambda name: getattr(lib, f"sv_{name}_{sfx}")  # noqa: E731
    xb = _buf(x)
    yb = _buf(y) if y is not None else None

    def each(fn):
        return list(pool.map(fn, chunks))

    def two_doubles(name, *extra):
        def fn(span):
            a, b = span
            pa, pb = ffi.new("double *"), ffi.new("double *")
            _check(lib_fn(name)(xb + a, *extra, b - a, pa, pb), name)
            return pa[0], pb[0]
        return fn

    if algorithm == "two_pass":
        mant, expo = _merge_extexp(each(two_doubles("sum_extexp")))
        regular = bool(lib.sv_regular_extexp(mant, expo, int(sfx == "f64")))
        lse = expo * _LN2_HI + (expo * _LN2_LO + math.log(mant)) if regular else None
    elif algorithm == "online":
        mx, s = _merge_online(each(two_doubles("online")))
        regular = bool(lib.sv_regular_max_sum(mx, s))
        lse = mx + math.log(s) if regular else None
    else:
        def max_fn(span):
            a, b = span
            p = ffi.new("double *")
            _check(lib_fn("max")(xb + a, b - a, p), "max")
            return p[0]

        mx = max(each(max_fn))
        regular = math.isfinite(mx)
        store = _STORE_NONE
        if algorithm == "three_pass_reload" and op != "logsumexp":
            store = _STORE_EXP if op == "softmax" else _STORE_SHIFTED
        if regular:
            def sum_fn(span):
                a, b = span
                p = ffi.new("double *")
                _check(lib_fn("sum_exp")(xb + a, yb + a if store else ffi.NULL, b - a, mx, store, p), "sum_exp")
                return p[0]

            s = math.fsum(each(sum_fn))
            regular = bool(lib.sv_regular_max_sum(mx, s))
        lse = mx + math.log(s) if regular else None

    if not regular:
        # NaN/inf or out-of-range rows are rare: the scalar special path, one thread
        p = ffi.new("double *")
        _check(lib_fn("special_row")(_OP_CODES[op], xb, yb if yb is not None else ffi.NULL, x.shape[0], p),
               "special_row")
        if op == "logsumexp":
            out[r] = p[0]
        return
    if op == "logsumexp":
        out[r] = lse
        return

    if op == "log_softmax":
        if algorithm == "three_pass_reload":
            shifts, src = (0.0, math.log(s)), yb
        elif algorithm == "two_pass":
            shifts, src = (expo * _LN2_HI, expo * _LN2_LO + math.log(mant)), xb
        else:
            shifts, src = (mx, math.log(s)), xb
        job = lambda a, b: lib_fn("shift")(src + a, yb + a, b - a, *shifts)  # noqa: E731
    elif algorithm == "two_pass":
        job = lambda a, b: lib_fn("extexp_scale")(xb + a, yb + a, b - a, mant, expo)  # noqa: E731
    elif algorithm == "three_pass_reload":
        job = lambda a, b: lib_fn("scale")(yb + a, yb + a, b - a, 1.0 / s)  # noqa: E731
    else:
        job = lambda a, b: lib_fn("exp_scale")(xb + a, yb + a, b - a, mx, 1.0 / s)  # noqa: E731
    for status in each(lambda span: job(*span)):
        _check(status, "final pass")


def _merge_online(parts):
    """Milakov & Gimelshein's merge of (max, sum) states, as sv_merge_online in C."""
    m_acc, s_acc = parts[0]
    for m, s in parts[1:]:
        mn = m if m > m_acc else m_acc
        s_acc = s_acc * math.exp(m_acc - mn) + s * math.exp(m - mn)
        m_acc = mn
    return m_acc, s_acc


def _merge_extexp(parts):
    """Two-pass merge of (mantissa, exponent) states, as sv_merge_extexp in C."""
    def pow2(k):
        if math.isnan(k):
            return k
        return 0.0 if k < -1100.0 else math.ldexp(1.0, int(k))

    m_acc, e_acc = parts[0]
    for m, e in parts[1:]:
        en = e if e > e_acc else e_acc
        m_acc = m_acc * pow2(e_acc - en) + m * pow2(e - en)
        e_acc = en
    return m_acc, e_acc


def extexp(x):
    """(mantissa, exponent) arrays with exp(x) = mantissa * 2**exponent, from the C core."""
    _require()
    mant, expo = np.empty_like(x), np.empty_like(x)
    if x.size:
        _call(f"sv_extexp_{_suffix(x.dtype)}", _buf(x), _buf(mant), _buf(expo), x.size)
    return mant, expo


def extexp_exact_range(dtype):
    """Largest |x| for which the kernels' range reduction x - n ln 2 is exact."""
    _require()
    return float(lib.sv_extexp_exact_range(int(dtype == np.float64)))


def _doubles_out(name, x, *, y=None, extra=(), outs=1):
    """Call ``sv_<name>_<f32|f64>(x, [y,] n, *extra, double *out...)``; return the outputs."""
    _require()
    ps = [ffi.new("double *") for _ in range(outs)]
    head = (_buf(x),) if y is None else (_buf(x), y)
    _call(f"sv_{name}_{_suffix(x.dtype)}", *head, x.size, *extra, *ps)
    return ps[0][0] if outs == 1 else tuple(p[0] for p in ps)


def read_probe(x):
    return _doubles_out("read", x)


def copy_probe(x, out):
    _require()
    _call(f"sv_copy_{_suffix(x.dtype)}", _buf(x), _buf(out), x.size)


def simd_path():
    return ffi.string(lib.sv_simd_path()).decode() if lib is not None else "numpy fallback (no C core)"


def compiler():
    return ffi.string(lib.sv_compiler()).decode() if lib is not None else None


# -- single passes on one chunk, for lesson 06's step-through and its tests --------------
# Each returns the pass's partial result as the C core hands it to the row functions
# (doubles), for a 1-D C-contiguous float32/float64 array (a prefix of a row, say).

def pass_max(x):
    """The max pass (sv_max_*): the largest element, -inf for an empty chunk."""
    return _doubles_out("max", x)


def pass_sum_exp(x, shift):
    """The sum pass of three-pass (sv_sum_exp_*, storing nothing): sum of exp(x - shift)."""
    return _doubles_out("sum_exp", x, y=ffi.NULL, extra=(float(shift), _STORE_NONE))


def pass_online(x):
    """The online pass (sv_online_*): (running max, running sum of exp(x - max))."""
    return _doubles_out("online", x, outs=2)


def pass_sum_extexp(x):
    """The two-pass first pass (sv_sum_extexp_*): (mantissa, exponent) of sum(exp(x))."""
    return _doubles_out("sum_extexp", x, outs=2)
