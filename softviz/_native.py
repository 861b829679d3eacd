"""Loads the compiled C core and calls it: the only module that touches ``ffi``/``lib``.

Everything handed to the C functions here is already checked by the callers: a
C-contiguous 2-D float32 or float64 array of rows, and an output array of the right
shape and dtype.  Output buffers are taken with ``require_writable=True``, so a
read-only buffer is refused before C could write to it.

Long rows split across threads (``workers=``) go through the C core's row plan
(``sv_state_init`` / ``sv_accumulate_*`` / ``sv_merge`` / ``sv_finalize_*`` /
``sv_finish_*``, see native/softviz.h): this module only hands chunks to threads and
never merges anything itself.  cffi releases the GIL for the duration of each C call,
so the threads run the kernels truly in parallel.
"""
from __future__ import annotations

import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._outputs import empty

try:
    from ._softviz_cffi import ffi, lib
except ImportError as _exc:  # not compiled: softviz falls back to numpy
    ffi = lib = None
    LOAD_ERROR: str | None = f"{type(_exc).__name__}: {_exc}"
else:
    LOAD_ERROR = None

__all__ = [
    "AVAILABLE",
    "LOAD_ERROR",
    "ALGORITHM_CODES",
    "ISAS",
    "rows",
    "one_row",
    "kernel_info",
    "select_isa",
    "extexp",
    "extexp_exact_range",
    "read_probe",
    "copy_probe",
    "plan_state",
    "AUTO_WORKERS_MIN_ELEMENTS",
    "auto_workers",
    "StateRows",
    "new_states",
    "accumulate_rows",
    "merge_rows",
    "finalize_rows",
    "finish_rows",
]

AVAILABLE = lib is not None

ALGORITHM_CODES = {
    "three_pass_reload": 0,
    "three_pass_recompute": 1,
    "two_pass": 2,
    "online": 3,
}
ISAS = ("portable", "avx2", "avx512")
_OP_CODES = {"softmax": 0, "log_softmax": 1, "logsumexp": 2}
_SV_ESPECIAL = 4
_SV_EOVERLAP = 6
_STATUS = {1: "unknown algorithm code", 2: "NULL pointer with a non-zero size", 3: "unknown option",
           4: "row needs the special-value path", 5: "instruction set not available",
           6: "output overlaps the input"}

# A chunk smaller than this is not worth a thread hand-off.
_MIN_CHUNK = 1 << 15
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _cpus() -> int:
    # the CPUs this process may run on (affinity, cgroups via sched_getaffinity), not the machine's
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: ``workers="auto"`` uses every usable CPU from this many elements on: below it, the
#: hand-off to the pool (tens of microseconds) costs more than the second core saves.
AUTO_WORKERS_MIN_ELEMENTS = 1 << 18


def auto_workers(size: int) -> int:
    """The threads ``workers="auto"`` runs a call of ``size`` elements on."""
    return _cpus() if size >= AUTO_WORKERS_MIN_ELEMENTS else 1


def _require() -> None:
    if lib is None:
        raise RuntimeError(f"the softviz C core is not compiled ({LOAD_ERROR}); reinstall softviz")


def _check(status: int, name: str) -> None:
    if status != 0:
        raise RuntimeError(f"softviz C core: {name} returned {status} ({_STATUS.get(status, 'unknown error')})")


def _sfx(dtype: np.dtype) -> str:
    return "f32" if dtype.char == "f" else "f64"


def _in(a: np.ndarray) -> Any:
    return ffi.from_buffer("float[]" if a.dtype.char == "f" else "double[]", a)


def _out(a: np.ndarray) -> Any:
    # refuses read-only buffers (np.memmap mode 'r', bytes, arrays with writeable=False)
    return ffi.from_buffer("float[]" if a.dtype.char == "f" else "double[]", a, require_writable=True)


def _call(name: str, *args: Any) -> None:
    _check(getattr(lib, name)(*args), name)


# --------------------------------------------------------------------------- dispatch

def select_isa(name: str | None = None) -> None:
    """Run the kernels of instruction set ``name`` (None: the best this CPU has).

    Raises ValueError when the name is unknown or this build/CPU cannot run it.  Chosen
    once at import from ``SOFTVIZ_ISA``; tests call this to cover every path.
    """
    _require()
    if name is not None and name not in ISAS:
        raise ValueError(f"unknown instruction set {name!r}; choose one of {ISAS}")
    if lib.sv_select_isa(ffi.NULL if name is None else name.encode()) != 0:
        info = kernel_info()
        raise ValueError(f"instruction set {name!r} is not available here (this build and CPU run: "
                         f"{', '.join(info['supported'])})")


def kernel_info() -> dict:
    """The one record the C dispatcher wrote: the ISA in use, what the build has, compiler."""
    if lib is None:
        return {"isa": "numpy fallback (no C core)", "compiled": [], "supported": [], "requested": "",
                "compiler": None, "load_error": LOAD_ERROR}
    rec = lib.sv_kernel_info()

    def text(p: Any) -> str:
        return ffi.string(p).decode() if p != ffi.NULL else ""

    def items(p: Any) -> list[str]:
        return [s for s in text(p).split(",") if s]

    return {"isa": text(rec.isa), "compiled": items(rec.compiled), "supported": items(rec.supported),
            "requested": text(rec.requested), "compiler": text(rec.compiler), "load_error": None}


def _select_from_environment() -> None:
    wanted = os.environ.get("SOFTVIZ_ISA", "").strip().lower()
    try:
        select_isa(wanted or None)
    except ValueError as exc:
        select_isa(None)
        warnings.warn(f"softviz: SOFTVIZ_ISA={wanted!r} ignored: {exc}", RuntimeWarning, stacklevel=3)


if AVAILABLE:
    _select_from_environment()
    _ROW_FUNCTIONS = {(op, sfx): getattr(lib, f"sv_{op}_{sfx}")
                      for op in _OP_CODES for sfx in ("f32", "f64")}
    # one_row's lookups, prepared once: it runs in a few microseconds, so each one counts
    _from_buffer = ffi.from_buffer
    _ROW_F32 = {op: (_ROW_FUNCTIONS[op, "f32"], ffi.typeof("float[]")) for op in _OP_CODES}
    _ROW_F64 = {op: (_ROW_FUNCTIONS[op, "f64"], ffi.typeof("double[]")) for op in _OP_CODES}


# --------------------------------------------------------------------------- rows

def rows(op: str, algorithm: str, x: np.ndarray, out: np.ndarray | None = None, workers: int = 1) -> np.ndarray:
    """Apply ``op`` (softmax, log_softmax, logsumexp) to every row of the 2-D array x.

    ``out``, when given, is a C-contiguous array of the result's shape and dtype (it may
    be x itself); otherwise a new one is made.
    """
    _require()
    nrows, n = x.shape
    if out is None:
        out = empty((nrows,) if op == "logsumexp" else x.shape, x.dtype)
    if x.size == 0:
        if op == "logsumexp":
            out.fill(-np.inf)
        return out
    code, sfx = ALGORITHM_CODES[algorithm], _sfx(x.dtype)
    if workers > 1:
        workers = min(workers, _cpus(), max(1, n // _MIN_CHUNK) if nrows == 1 else nrows)
    xb, ob = _in(x), _out(out)
    if workers <= 1:
        # the common case, kept short: the panels call this many times a second on tiny rows
        status = _ROW_FUNCTIONS[op, sfx](code, xb, ob, nrows, n)
        if status:
            _check(status, f"sv_{op}_{sfx}")
    elif nrows >= workers:
        _split_rows(op, code, sfx, xb, ob, nrows, n, workers)
    else:
        for r in range(nrows):
            _split_row(op, code, sfx, x[r], out, r, workers)
    return out


def one_row(op: str, algorithm: str, x: np.ndarray, out: np.ndarray) -> bool:
    """``op`` of one C-contiguous row x into out (same shape and dtype): the shortest path.

    False, with nothing written, when out overlaps x in a way the kernels refuse (partly,
    or exactly for three-pass reload): the caller then takes its general path.  The C core
    checks the overlap itself, which is cheaper than numpy.may_share_memory here.
    """
    table = _ROW_F32 if x.dtype.char == "f" else _ROW_F64
    fn, ctype = table[op]
    status = fn(ALGORITHM_CODES[algorithm], _from_buffer(ctype, x), _from_buffer(ctype, out, require_writable=True),
                1, x.size)
    if status:
        if status == _SV_EOVERLAP:
            return False
        _check(status, fn.__name__)
    return True


# ------------------------------------------------------------------ helpers polling in C

#: How long (in polls, ~0.1 us each) a helper keeps polling its mailbox after a job
#: before it sleeps: calls in a burst then reach it without an OS wake-up.
_POLLS = 20000


class _Helper:
    """A daemon thread that runs whole-row jobs posted to its C mailbox (native/workers.c)."""

    def __init__(self) -> None:
        self.job = ffi.new("sv_job *")
        _check(lib.sv_job_init(self.job), "sv_job_init")
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name="softviz-rows", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        job, cond = self.job, self.cond
        while True:
            if lib.sv_job_serve(job, _POLLS) == 1:   # the GIL is released while it polls
                continue
            with cond:
                while lib.sv_job_state(job) != 1:
                    cond.wait()

    def post(self, *args: Any) -> None:
        _check(lib.sv_job_post(self.job, *args), "sv_job_post")
        with self.cond:
            self.cond.notify()

    def wait(self) -> int:
        return int(lib.sv_job_wait(self.job, -1))


_helpers: list[_Helper] = []
_helpers_lock = threading.Lock()     # one batch at a time uses the helpers; others take the pool
_JOBS = AVAILABLE and lib.sv_job_init(ffi.new("sv_job *")) == 0


def _reset_after_fork() -> None:
    # the child has none of the parent's threads
    global _helpers_lock
    _helpers.clear()
    _pools.clear()
    _helpers_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _split_rows(op: str, code: int, sfx: str, xb: Any, ob: Any, nrows: int, n: int, workers: int) -> None:
    """Whole rows per thread, bit-identical to one thread: the caller takes the first span,
    helpers polling in C the others (a thread pool where the helpers are busy)."""
    bounds = np.linspace(0, nrows, workers + 1).astype(int)
    spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    per_row = 1 if op == "logsumexp" else n
    fn = _ROW_FUNCTIONS[op, sfx]
    if _JOBS and _helpers_lock.acquire(blocking=False):
        try:
            while len(_helpers) < len(spans) - 1:
                _helpers.append(_Helper())
            args = (_OP_CODES[op], code, int(sfx == "f64"))
            for h, (a, b) in zip(_helpers, spans[1:]):
                h.post(*args, xb + a * n, ob + a * per_row, b - a, n)
            a, b = spans[0]
            statuses = [int(fn(code, xb + a * n, ob + a * per_row, b - a, n))]
            statuses += [h.wait() for h in _helpers[: len(spans) - 1]]
        finally:
            _helpers_lock.release()
    else:
        def run(span: tuple[int, int]) -> int:
            a, b = span
            return int(fn(code, xb + a * n, ob + a * per_row, b - a, n))

        futures = [_pool(workers - 1).submit(run, span) for span in spans[1:]]
        statuses = [run(spans[0])] + [f.result() for f in futures]
    for status in statuses:
        if status:
            _check(status, f"sv_{op}_{sfx}")


def _pool(workers: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="softviz")
        return _pools[workers]


def chunks(n: int, workers: int) -> list[tuple[int, int]]:
    """Chunk edges for ``workers`` threads, on multiples of 64 elements (own cache lines)."""
    step = -(-n // workers)
    step = -(-step // 64) * 64
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _split_row(op: str, code: int, sfx: str, x: np.ndarray, out: np.ndarray, r: int, workers: int) -> None:
    """One long row across threads, through the C row plan: accumulate chunks, merge, finish."""
    n = x.shape[0]
    pool, spans = _pool(workers), chunks(n, workers)
    xb = _in(x)
    yb = _out(out[r]) if op != "logsumexp" else ffi.NULL
    state = ffi.new("sv_state *")
    _call("sv_state_init", state, code, _OP_CODES[op])
    accumulate, finalize, finish = (getattr(lib, f"sv_{f}_{sfx}") for f in ("accumulate", "finalize", "finish"))
    for stage in range(lib.sv_plan_stages(code)):
        def part(span: tuple[int, int], stage: int = stage, state: Any = state) -> Any:
            a, b = span
            st = ffi.new("sv_state *", state[0])   # the merged state so far: fixed max for stage 1
            _check(accumulate(st, stage, xb + a, yb + a if yb != ffi.NULL else ffi.NULL, b - a), "accumulate")
            return st

        parts = list(pool.map(part, spans))
        merged = parts[0]
        for p in parts[1:]:
            _call("sv_merge", merged, p, stage)
        state = merged
    status = finalize(state, xb, n)
    if status == _SV_ESPECIAL:
        # NaN/inf or out-of-range rows are rare: the scalar special path, one thread
        lse = ffi.new("double *")
        _call(f"sv_special_row_{sfx}", _OP_CODES[op], xb, yb, n, lse)
        if op == "logsumexp":
            out[r] = lse[0]
        return
    _check(status, "finalize")
    if op == "logsumexp":
        out[r] = state.lse
        return
    for status in pool.map(lambda span: finish(state, xb + span[0], yb + span[0], span[1] - span[0]), spans):
        _check(status, "finish")


def plan_state(algorithm: str, x: np.ndarray, op: str = "softmax", shift: float | None = None) -> dict:
    """The C row plan's state after accumulating the 1-D row x through every stage.

    Keys: ``max``, ``sum`` (three-pass, online), ``mantissa``, ``exponent`` (two-pass),
    plus ``lse`` and ``special`` (True when the row takes the scalar special path).
    ``shift`` replaces the max the three-pass sum stage subtracts (a prefix of a row
    is summed against the whole row's max).  exp(x - shift) must stay finite (the kernels
    build 2^n for n up to the dtype's largest exponent), so shift >= max(x) - (ln of the
    dtype's largest number - 1).
    """
    _require()
    if shift is not None and x.size:
        lowest = float(np.max(x)) - (math.log(float(np.finfo(x.dtype).max)) - 1.0)
        if shift < lowest:
            raise ValueError(f"shift must be at least {lowest!r} (max(x) minus {np.max(x) - lowest:.2f}) "
                             f"for exp(x - shift) to stay finite in {x.dtype}; got {shift!r}")
    code, sfx = ALGORITHM_CODES[algorithm], _sfx(x.dtype)
    st = ffi.new("sv_state *")
    _call("sv_state_init", st, code, _OP_CODES[op])
    scratch = np.empty_like(x) if algorithm == "three_pass_reload" else None
    xb = _in(x)
    for stage in range(lib.sv_plan_stages(code)):
        if stage == 1 and shift is not None:
            st.max = shift
        _call(f"sv_accumulate_{sfx}", st, stage, xb, _out(scratch) if scratch is not None else ffi.NULL, x.size)
    status = getattr(lib, f"sv_finalize_{sfx}")(st, xb, x.size)
    return {"max": st.max, "sum": st.sum, "mantissa": st.mant, "exponent": st.expo,
            "lse": st.lse if status == 0 else None, "special": status == _SV_ESPECIAL}


# --------------------------------------------------------------------------- many states

# numpy's view of one sv_state (native/softviz.h); checked against cffi's layout at first use
_STATE_FIELDS = ("max", "sum", "mant", "expo", "lse", "shift", "scale")
_STATE_DTYPE = np.dtype([("algorithm", "<i4"), ("op", "<i4")] + [(f, "<f8") for f in _STATE_FIELDS])


class StateRows:
    """One C row-plan state per row of a tile (lesson 08's tiled attention).

    ``cdata`` is the cffi ``sv_state[rows]`` the C functions take; ``view`` is a numpy
    structured array over the same memory (fields ``algorithm``, ``op``, ``max``, ``sum``,
    ``mant``, ``expo``, ``lse``, ``shift``, ``scale``), so the running max of every row can
    be read, vectorised, between two C calls.
    """

    def __init__(self, rows: int, algorithm: str, op: str = "softmax") -> None:
        _require()
        fields: Any = _STATE_DTYPE.fields or {}
        if ffi.sizeof("sv_state") != _STATE_DTYPE.itemsize or any(
                ffi.offsetof("sv_state", f) != fields[f][1] for f in fields):
            raise RuntimeError("softviz C core: sv_state's layout differs from softviz._native's view of it")
        self.rows, self.algorithm, self.op = int(rows), algorithm, op
        self.cdata = ffi.new("sv_state[]", max(self.rows, 1))
        self.view = np.frombuffer(ffi.buffer(self.cdata), dtype=_STATE_DTYPE)[: self.rows]
        _call("sv_state_init_rows", self.cdata, self.rows, ALGORITHM_CODES[algorithm], _OP_CODES[op])

    @property
    def stages(self) -> int:
        return int(lib.sv_plan_stages(ALGORITHM_CODES[self.algorithm]))


def new_states(rows: int, algorithm: str, op: str = "softmax") -> StateRows:
    """Fresh states for ``rows`` rows (init of the C row plan, one call)."""
    return StateRows(rows, algorithm, op)


def _tile(x: np.ndarray, states: StateRows, name: str) -> None:
    if x.ndim != 2 or x.shape[0] != states.rows or x.dtype.char not in "fd" or not x.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous float32/float64 array of shape ({states.rows}, n); "
                         f"got {x.dtype} {x.shape}")


def accumulate_rows(states: StateRows, stage: int, x: np.ndarray, y: np.ndarray | None = None) -> None:
    """Fold row r of the 2-D tile x into states[r] (stage ``stage`` of the plan), one C call.

    Three-pass reload's stage 1 stores its exponentials in y (same shape as x).
    """
    _tile(x, states, "x")
    if y is not None:
        _tile(y, states, "y")
    n = x.shape[1]
    _call(f"sv_accumulate_rows_{_sfx(x.dtype)}", states.cdata, states.rows, stage, _in(x), n,
          _out(y) if y is not None else ffi.NULL, n, n)


def merge_rows(into: StateRows, from_: StateRows, stage: int) -> None:
    """into[r] = merge(into[r], from_[r]) for every row: the associative rule of the plan."""
    if into.rows != from_.rows:
        raise ValueError(f"from_ has {from_.rows} states, into has {into.rows}")
    _call("sv_merge_rows", into.cdata, from_.cdata, into.rows, stage)


def finalize_rows(states: StateRows, x: np.ndarray) -> np.ndarray:
    """Finalize every state against its whole row (x: rows x n); True where a row needs the
    scalar special-value path (NaN, inf, all -inf or out of range), whose state is unchanged."""
    _tile(x, states, "x")
    special = np.zeros(states.rows, dtype=np.intc)
    _call(f"sv_finalize_rows_{_sfx(x.dtype)}", states.cdata, states.rows, _in(x), x.shape[1], x.shape[1],
          ffi.from_buffer("int[]", special, require_writable=True))
    return special.astype(bool)


def finish_rows(states: StateRows, x: np.ndarray, y: np.ndarray) -> None:
    """The last pass of the plan on every row of the tile x into y (softmax or log-softmax):
    for three-pass recompute and online, y = exp(x - shift) * scale with each state's own
    shift and scale, which lesson 08 sets to a running max and 1."""
    _tile(x, states, "x")
    _tile(y, states, "y")
    n = x.shape[1]
    _call(f"sv_finish_rows_{_sfx(x.dtype)}", states.cdata, states.rows, _in(x), n, _out(y), n, n)


# --------------------------------------------------------------------------- teaching, probes

def extexp(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mantissa, exponent) arrays with exp(x) = mantissa * 2**exponent, from the C core."""
    _require()
    mant, expo = np.empty_like(x), np.empty_like(x)
    if x.size:
        _call(f"sv_extexp_{_sfx(x.dtype)}", _in(x), _out(mant), _out(expo), x.size)
    return mant, expo


def extexp_exact_range(dtype: np.dtype) -> float:
    """Largest |x| for which the kernels' range reduction x - n ln 2 is exact."""
    _require()
    return float(lib.sv_extexp_exact_range(int(dtype == np.float64)))


def read_probe(x: np.ndarray) -> float:
    _require()
    p = ffi.new("double *")
    _call(f"sv_read_{_sfx(x.dtype)}", _in(x), x.size, p)
    return p[0]


def copy_probe(x: np.ndarray, out: np.ndarray) -> None:
    _require()
    _call(f"sv_copy_{_sfx(x.dtype)}", _in(x), _out(out), x.size)
