"""A teaching view of the C core: the extended-exponent split, memory traffic, probes.

Lesson 06 looks inside the kernels of native/: the (mantissa, exponent) form of
Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020, arXiv:2001.04438),
how many bytes each algorithm moves, and how fast this machine can read memory,
and step-by-step traces of the four algorithms (``trace_softmax``): a Python mirror
of the C passes, element by element, with the running max / running sum /
(mantissa, exponent) accumulators, the array cells read and written, and a bytes
counter.  The online algorithm is the one of Milakov & Gimelshein, "Online
normalizer calculation for softmax" (2018, arXiv:1805.02867).

This is lesson 06's topic module; ``softviz.kernels`` (its documented older name)
re-exports the same objects.

Used in: notebooks/06_two_pass.ipynb (and TwoPassPanel, softviz/panels/two_pass.py; softviz.bench).
"""
import dataclasses
import math
import platform
import sys
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _native, _validate

__all__ = [
    "extexp",
    "memory_traffic",
    "read_probe",
    "copy_probe",
    "simd_path",
    "build_info",
    "TRAFFIC",
    "TRACE_MAX_LENGTH",
    "TraceStep",
    "SoftmaxTrace",
    "trace_softmax",
    "c_accumulators",
]

# Elements read and written per input element, for one softmax row (the paper's
# accounting): reload reads x twice and its stored exps once, writes exps and y;
# recompute reads x three times and writes y; two-pass and online read x twice.
TRAFFIC = {
    "three_pass_reload": (3, 2),
    "three_pass_recompute": (3, 1),
    "two_pass": (2, 1),
    "online": (2, 1),
}


def extexp(x: ArrayLike) -> tuple[Any, Any]:
    """Split exp(x) into (mantissa, exponent) with exp(x) == mantissa * 2**exponent.

    The exponent is round(x * log2(e)), an integer-valued float, and the mantissa lies
    in [sqrt(1/2), sqrt(2)] -- up to a relative slack of about |x| * eps, because
    x * log2(e) is itself rounded before it is rounded to an integer -- so the pair
    represents exp(x) even where exp(x) itself overflows or underflows: extexp(1000.0)
    is about (0.8095, 1443.0).  Computed by the same C code the two-pass kernel uses;
    float32 input runs in float32, everything else in float64.  Scalars give scalars.

    Raises ValueError for NaN, inf, or |x| beyond the range where the kernels' range
    reduction x - n ln 2 is exact (about 5677 in float32, 1.45e6 in float64).

    Used in: notebooks/06_two_pass.ipynb.
    """
    arr = _validate.numeric_array("x", x)
    # np.asarray keeps 0-d inputs 0-d (ascontiguousarray would make them 1-d)
    work = np.asarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    if not np.all(np.isfinite(work)):
        raise ValueError("x must be finite: exp(+-inf) and NaN have no (mantissa, exponent) form")
    if _native.AVAILABLE:
        limit = _native.extexp_exact_range(work.dtype)
    else:
        limit = (8191.0 if work.dtype == np.float32 else 2097151.0) / np.log2(np.e)
    if work.size and np.max(np.abs(work)) > limit:
        raise ValueError(f"x must satisfy |x| <= {limit:.6g} for {work.dtype} (largest |x| here: {np.max(np.abs(work)):.6g})")
    if _native.AVAILABLE:
        mant, expo = _native.extexp(np.ascontiguousarray(work.reshape(-1)))
    else:
        flat = work.reshape(-1).astype(np.float64)
        expo = np.rint(flat * np.log2(np.e))
        mant = np.exp(flat - expo * np.log(2.0))
        mant, expo = mant.astype(work.dtype), expo.astype(work.dtype)
    mant, expo = mant.reshape(work.shape), expo.reshape(work.shape)
    if arr.ndim == 0:
        return mant[()], expo[()]
    return mant, expo


def memory_traffic(algorithm: str, n: int, dtype: DTypeLike = np.float32) -> dict[str, int]:
    """Elements read and written, and total bytes, for one softmax row of n elements.

    reads/writes count elements (reload 3n + 2n, recompute 3n + n, two-pass and
    online 2n + n); bytes = (reads + writes) * itemsize.

    Used in: notebooks/06_two_pass.ipynb, softviz.bench.
    """
    _validate.choice("algorithm", algorithm, tuple(TRAFFIC))
    n = _validate.integer("n", n, lo=0)
    # np.dtype's own errors ("Cannot interpret ...", "Field elements ...") do not say which
    # argument was wrong
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.kind not in "biuf":
        raise TypeError(f"dtype must be a real numeric numpy dtype (e.g. np.float32 or 'float64'), "
                        f"got {_validate.short(dtype, 40)}")
    itemsize = dt.itemsize
    reads, writes = (k * int(n) for k in TRAFFIC[algorithm])
    return {"reads": reads, "writes": writes, "bytes": (reads + writes) * itemsize}


def _probe_array(x: object, name: str, func: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64) or not x.flags.c_contiguous:
        got = (f"an array of dtype {x.dtype}" + ("" if x.flags.c_contiguous else ", not C-contiguous")
               if isinstance(x, np.ndarray) else type(x).__name__)
        raise TypeError(f"{func} needs {name} as a C-contiguous float32 or float64 numpy array, got {got}")
    return x


def read_probe(x: np.ndarray) -> float:
    """Read every element of x once in C and return their sum: the pure-read probe.

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    return _native.read_probe(_probe_array(x, "x", "read_probe"))


def copy_probe(x: np.ndarray, out: np.ndarray) -> None:
    """Copy x into out in C (one read and one write per element): the copy probe.

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    _probe_array(x, "x", "copy_probe")
    _probe_array(out, "out", "copy_probe")
    if out.dtype != x.dtype or out.size != x.size:
        raise ValueError("copy_probe needs out with the same dtype and size as x")
    if not out.flags.writeable:
        raise ValueError("copy_probe needs a writable out (this one is read-only)")
    _native.copy_probe(x, out)


_ISA_TEXT = {
    "avx512": "AVX-512F kernels (16 float32 / 8 float64 lanes)",
    "avx2": "AVX2+FMA kernels (8 float32 / 4 float64 lanes)",
    "portable": "portable C99 kernels (the compiler's auto-vectorization)",
}


def simd_path() -> str:
    """Which kernels run on this CPU, in words (from ``softviz.kernel_info()``).

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    info = _native.kernel_info()
    if not _native.AVAILABLE:
        return info["isa"]
    how = ("forced (SOFTVIZ_ISA or softviz._native.select_isa)" if info["requested"]
           else "picked at load by CPU detection")
    return f"{_ISA_TEXT.get(info['isa'], info['isa'])}, {how}"


def build_info() -> dict[str, Any]:
    """How the core was built and what it runs on: compiler, code path, platform."""
    info = _native.kernel_info()
    return {
        "native": _native.AVAILABLE,
        "load_error": _native.LOAD_ERROR,
        "simd_path": simd_path(),
        "isa": info["isa"],
        "isas_compiled": ",".join(info["compiled"]),
        "isas_supported": ",".join(info["supported"]),
        "compiler": info["compiler"],
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }


# --------------------------------------------------------------------------
# Step-by-step traces: a Python mirror of the C passes (lesson 06's step-through)
# --------------------------------------------------------------------------

#: Longest row ``trace_softmax`` accepts: a trace is for reading, step by step.
TRACE_MAX_LENGTH = 64

# Constants of native/softmax.c, per precision: the clamp below which a two-pass
# input is treated as SV_XLO, and the clamp of exp's argument in sv_expneg_*
# (below it exp(t) is 0 in the format anyway).
_XLO = {np.dtype(np.float32): -(2.0 ** 21), np.dtype(np.float64): -(2.0 ** 49)}
_EXPNEG_LO = {np.dtype(np.float32): -104.0, np.dtype(np.float64): -746.0}

_PASS_NAMES = {
    "three_pass_reload": ("max: m = max(m, x_i)",
                          "sum: y_i = exp(x_i - m), s += y_i",
                          "scale: y_i = y_i / s"),
    "three_pass_recompute": ("max: m = max(m, x_i)",
                             "sum: s += exp(x_i - m)",
                             "scale: y_i = exp(x_i - m) / s"),
    "online": ("online: m and d together",
               "scale: y_i = exp(x_i - m) / d"),
    "two_pass": ("sum of exps as M * 2^E",
                 "scale: y_i = (p_i / M) * 2^(n_i - E)"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class TraceStep:
    """One step of a ``SoftmaxTrace``: the state right after element ``element`` of a pass.

    ``pass_number`` is 0 for the state before the first pass, then 1, 2 (, 3).
    ``reads`` / ``writes`` list the array cells touched in this step as
    ``("x", i)`` or ``("y", i)``; ``bytes_read`` / ``bytes_written`` count every
    element moved so far.  ``accumulators`` are the running values after the step
    (``max``, ``sum``, ``mantissa``, ``exponent``, ``scale``, as the algorithm has
    them); ``values`` the per-element quantities computed in this step (e.g.
    ``exp(x_i - m)`` or the split ``p_i``, ``n_i``).  ``y`` is the output array
    after the step, NaN where nothing has been written yet.

    Used in: notebooks/06_two_pass.ipynb (softviz.panels.TwoPassPanel).
    """

    step: int
    pass_number: int
    pass_name: str
    element: object
    reads: tuple
    writes: tuple
    accumulators: dict
    values: dict
    bytes_read: int
    bytes_written: int
    y: np.ndarray
    note: str

    @property
    def bytes_moved(self) -> int:
        """Bytes read plus bytes written so far."""
        return self.bytes_read + self.bytes_written


@dataclasses.dataclass(frozen=True, eq=False)
class SoftmaxTrace:
    """Every step of one algorithm on one short row (see ``trace_softmax``).

    ``steps[0]`` is the state before the first pass; each later step handles one
    element of one pass.  ``passes`` names the passes; ``y`` is the result.

    Used in: notebooks/06_two_pass.ipynb (softviz.panels.TwoPassPanel).
    """

    algorithm: str
    x: np.ndarray
    passes: tuple
    steps: tuple

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def dtype(self) -> np.dtype:
        return self.x.dtype

    @property
    def y(self) -> np.ndarray:
        """The softmax the trace computed (a copy)."""
        return self.steps[-1].y.copy()

    def after(self, pass_number: int, count: int) -> TraceStep:
        """The step right after ``count`` elements of pass ``pass_number`` (1-based).

        ``count = 0`` gives the state the pass starts from.
        """
        n = self.x.shape[0]
        if not 1 <= pass_number <= len(self.passes):
            raise ValueError(f"pass_number must be 1..{len(self.passes)}, got {pass_number!r}")
        if not 0 <= count <= n:
            raise ValueError(f"count must be 0..{n}, got {count!r}")
        return self.steps[(pass_number - 1) * n + count]


def _as_row(x: ArrayLike) -> np.ndarray:
    arr = _validate.numeric_array("x", x)
    if arr.ndim != 1:
        raise ValueError(f"trace_softmax traces one row: x must be 1-D, got shape {arr.shape}")
    if not 1 <= arr.shape[0] <= TRACE_MAX_LENGTH:
        raise ValueError(f"trace_softmax needs x with 1..{TRACE_MAX_LENGTH} elements, got {arr.shape[0]}")
    row = np.array(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    if np.isnan(row).any() or np.isposinf(row).any():
        raise ValueError("trace_softmax: NaN and +inf rows take the C core's scalar special path, "
                         "not the passes traced here")
    if np.isneginf(row).all():
        raise ValueError("trace_softmax: every element is -inf (softmax is NaN there: the special path)")
    finite = row[np.isfinite(row)]
    limit = (_native.extexp_exact_range(row.dtype) if _native.AVAILABLE
             else (8191.0 if row.dtype == np.float32 else 2097151.0) / np.log2(np.e))
    if np.max(np.abs(finite)) > limit:
        raise ValueError(f"trace_softmax: |x| must be <= {limit:.6g} for {row.dtype} "
                         "(beyond it the C core takes the scalar special path)")
    return row


class _Arith:
    """The C core's elementary steps in one precision, on numpy scalars of that precision.

    The (mantissa, exponent) split itself is the C core's (sv_extexp_*), so a
    trace differs from the C passes only in how the running sums are rounded.
    """

    def __init__(self, dtype: DTypeLike) -> None:
        # the dtype of a validated float32/float64 row
        self.T = cast("type[np.floating[Any]]", np.dtype(dtype).type)
        self.min_exp = -126 if self.T is np.float32 else -1022
        self.xlo = self.T(_XLO[np.dtype(dtype)])
        self.tlo = self.T(_EXPNEG_LO[np.dtype(dtype)])

    def split(self, v: Any) -> tuple[Any, Any]:
        """(p, n) with exp(v) = p * 2^n, as the kernels compute it."""
        v = self.T(v)
        if _native.AVAILABLE:
            mant, expo = _native.extexp(np.array([v]))
            return mant[0], expo[0]
        n = np.rint(v * self.T(np.log2(np.e)))
        return self.T(np.exp(float(v) - float(n) * math.log(2.0))), n

    def pow2(self, k: Any) -> Any:
        """2^k for an integer-valued k <= 0; 0 below the normal range (as sv_pow2i_*)."""
        if not k >= self.min_exp:  # also catches -inf
            return self.T(0.0)
        return self.T(math.ldexp(1.0, int(k)))

    def expneg(self, t: Any) -> Any:
        """exp(t) for t <= 0, as sv_expneg_*: clamp, split, multiply by 2^n."""
        t = self.T(t)
        p, n = self.split(t if t > self.tlo else self.tlo)
        return self.T(p * self.pow2(n))


def _g(v: Any) -> str:
    v = float(v)
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.6g}"


class _Recorder:
    def __init__(self, algorithm: str, x: np.ndarray) -> None:
        self.algorithm, self.x = algorithm, x
        self.itemsize = x.dtype.itemsize
        self.y = np.full(x.shape, np.nan, dtype=x.dtype)
        self.read = self.written = 0
        self.steps: list[TraceStep] = []

    def add(self, pass_number: int, element: object, reads: Sequence[tuple[str, int]],
            writes: Sequence[tuple[str, int]],
            acc: dict[str, Any], values: dict[str, Any], note: str) -> None:
        self.read += len(reads) * self.itemsize
        self.written += len(writes) * self.itemsize
        name = "start" if pass_number == 0 else _PASS_NAMES[self.algorithm][pass_number - 1]
        self.steps.append(TraceStep(
            step=len(self.steps), pass_number=pass_number, pass_name=name, element=element,
            reads=tuple(reads), writes=tuple(writes),
            accumulators={k: float(v) for k, v in acc.items()},
            values={k: float(v) for k, v in values.items()},
            bytes_read=self.read, bytes_written=self.written, y=self.y.copy(), note=note))


def _trace_three_pass(rec: _Recorder, a: _Arith, reload: bool) -> None:
    x, T = rec.x, a.T
    m = T(-np.inf)  # sv_max_* starts at -inf
    rec.add(0, None, (), (), {"max": m}, {}, "start: m = -inf")
    for i, v in enumerate(x):
        old, m = m, (v if v > m else m)
        rec.add(1, i, [("x", i)], [], {"max": m}, {},
                f"read x[{i}] = {_g(v)}: m = max({_g(old)}, {_g(v)}) = {_g(m)}")
    shift, acc = T(m), T(0.0)
    for i, v in enumerate(x):
        e = a.expneg(v - shift)
        acc = T(acc + e)
        writes = []
        if reload:
            rec.y[i] = e
            writes = [("y", i)]
        where = f"; store y[{i}] = {_g(e)}" if reload else ""
        rec.add(2, i, [("x", i)], writes, {"max": m, "sum": acc}, {"exp(x_i - m)": e},
                f"read x[{i}] = {_g(v)}: exp(x_i - m) = {_g(e)}{where}; s = {_g(acc)}")
    total = float(acc)  # the C core adds the float blocks up in double
    scale = T(1.0 / total)
    acc3 = {"max": m, "sum": total, "scale": scale}
    for i, v in enumerate(x):
        if reload:
            old = rec.y[i]
            rec.y[i] = T(old * scale)
            rec.add(3, i, [("y", i)], [("y", i)], acc3, {},
                    f"read y[{i}] = {_g(old)}: y[{i}] = y_i * (1/s) = {_g(rec.y[i])}")
        else:
            e = a.expneg(v - shift)
            rec.y[i] = T(e * scale)
            rec.add(3, i, [("x", i)], [("y", i)], acc3, {"exp(x_i - m)": e},
                    f"read x[{i}] = {_g(v)}: exp again = {_g(e)}; y[{i}] = {_g(rec.y[i])}")


def _trace_online(rec: _Recorder, a: _Arith) -> None:
    x, T = rec.x, a.T
    # sv_online_* starts the running max at the lowest finite value, not -inf, so a
    # -inf input never forms -inf - (-inf)
    m, d = T(np.finfo(x.dtype).min), T(0.0)
    rec.add(0, None, (), (), {"max": m, "sum": d}, {},
            "start: m = lowest finite float (not -inf), d = 0")
    for i, v in enumerate(x):
        mn = v if v > m else m
        r, e = a.expneg(m - mn), a.expneg(v - mn)
        d = T(d * r + e)
        rec.add(1, i, [("x", i)], [], {"max": mn, "sum": d},
                {"rescale exp(m_old - m)": r, "exp(x_i - m)": e},
                f"read x[{i}] = {_g(v)}: m = {_g(mn)}; d = d * {_g(r)} + {_g(e)} = {_g(d)}")
        m = mn
    total = float(d)
    shift, scale = T(m), T(1.0 / total)
    acc = {"max": m, "sum": total, "scale": scale}
    for i, v in enumerate(x):
        e = a.expneg(v - shift)
        rec.y[i] = T(e * scale)
        rec.add(2, i, [("x", i)], [("y", i)], acc, {"exp(x_i - m)": e},
                f"read x[{i}] = {_g(v)}: y[{i}] = exp(x_i - m) / d = {_g(rec.y[i])}")


def _trace_two_pass(rec: _Recorder, a: _Arith) -> None:
    x, T = rec.x, a.T
    # the empty sum: 0 * 2^-inf (the C core uses a very negative sentinel exponent)
    mant, expo = T(0.0), T(-np.inf)
    rec.add(0, None, (), (), {"mantissa": mant, "exponent": expo}, {},
            "start: sum = 0 (M = 0, E = -inf)")
    splits = []
    for i, v in enumerate(x):
        p, n = a.split(v if v > a.xlo else a.xlo)
        splits.append((p, n))
        en = n if n > expo else expo
        mant = T(mant * a.pow2(expo - en) + p * a.pow2(n - en))
        rescale = "" if en == expo else f" (E grows {_g(expo)} -> {_g(en)})"
        expo = en
        rec.add(1, i, [("x", i)], [], {"mantissa": mant, "exponent": expo}, {"p_i": p, "n_i": n},
                f"read x[{i}] = {_g(v)}: exp(x_i) = {_g(p)} * 2^{_g(n)}; "
                f"sum = {_g(mant)} * 2^{_g(expo)}{rescale}")
    big_m, big_e = float(mant), float(expo)
    f, ee = T(1.0 / big_m), T(big_e)
    acc = {"mantissa": big_m, "exponent": big_e, "scale": f}
    for i, v in enumerate(x):
        p, n = splits[i]
        q = T(T(p * f) * a.pow2(n - ee))
        rec.y[i] = q if q <= 1 else T(1.0)
        rec.add(2, i, [("x", i)], [("y", i)], acc, {"p_i": p, "n_i": n},
                f"read x[{i}] = {_g(v)}: y[{i}] = ({_g(p)} / {_g(big_m)}) * 2^({_g(n)} - {_g(big_e)})"
                f" = {_g(rec.y[i])}")


def trace_softmax(x: ArrayLike, algorithm: str = "two_pass") -> SoftmaxTrace:
    """Run one softmax algorithm on a short row, element by element, pass by pass.

    A Python mirror of the C core's passes (native/kernels_portable_impl.h) in the row's
    precision (float32 stays float32, everything else float64), recording after
    every element the running max / running sum / (mantissa, exponent)
    accumulators, the cells of ``x`` and ``y`` read and written, and the bytes
    moved.  The elementary exp split is the C core's own, so where the C code runs
    one element after another (prefixes shorter than its SIMD width) the two-pass
    accumulators agree bit for bit; the running sums of the other algorithms may
    differ in the last bits (the compiled code fuses d * r + e into one FMA and
    adds lanes in another order) -- tests/test_two_pass_trace.py checks both.
    The byte counters end at ``memory_traffic(algorithm, len(x), dtype)["bytes"]``.

    Rows with NaN or +inf, all -inf, or |x| beyond ``extexp``'s range raise
    ValueError: the C core sends them to a scalar special path instead.

    Three-pass (max; sum of exp(x - max); scale) is the textbook form; Two-Pass
    is Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020,
    arXiv:2001.04438); online is Milakov & Gimelshein, "Online normalizer
    calculation for softmax" (2018, arXiv:1805.02867).

    Used in: notebooks/06_two_pass.ipynb (softviz.panels.TwoPassPanel).
    """
    _validate.choice("algorithm", algorithm, tuple(TRAFFIC))
    row = _as_row(x)
    rec, arith = _Recorder(algorithm, row), _Arith(row.dtype)
    with np.errstate(over="ignore", under="ignore"):
        if algorithm == "two_pass":
            _trace_two_pass(rec, arith)
        elif algorithm == "online":
            _trace_online(rec, arith)
        else:
            _trace_three_pass(rec, arith, reload=algorithm == "three_pass_reload")
    row.setflags(write=False)
    return SoftmaxTrace(algorithm=algorithm, x=row, passes=_PASS_NAMES[algorithm], steps=tuple(rec.steps))


def c_accumulators(x: ArrayLike, algorithm: str, shift: float | None = None) -> dict[str, float]:
    """What the C core's first pass(es) return for the 1-D row ``x`` (a prefix, say).

    three-pass: ``{"max": ..., "sum": ...}`` with sum = sum of exp(x - shift)
    (``shift`` defaults to max(x)); online: ``{"max", "sum"}`` of the running
    pass; two-pass: ``{"mantissa", "exponent"}`` with sum(exp(x)) = mantissa *
    2**exponent.  Plain floats, computed by the compiled passes themselves, so a
    trace's accumulators can be compared with them.

    Used in: notebooks/06_two_pass.ipynb, tests/test_two_pass_trace.py.
    """
    _validate.choice("algorithm", algorithm, tuple(TRAFFIC))
    if not _native.AVAILABLE:
        raise RuntimeError(f"c_accumulators needs the compiled C core ({_native.LOAD_ERROR})")
    arr = _validate.numeric_array("x", x)
    if arr.ndim != 1:
        raise ValueError(f"c_accumulators needs x as a 1-D array, got shape {arr.shape}")
    row = np.ascontiguousarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    if shift is not None:
        if not algorithm.startswith("three_pass"):
            raise ValueError("shift applies to the three-pass algorithms only")
        shift = _validate.real_scalar("shift", shift)
    if row.size == 0:
        # nothing accumulated yet: the start values the trace shows
        if algorithm == "two_pass":
            return {"mantissa": 0.0, "exponent": -math.inf}
        return {"max": float(np.finfo(row.dtype).min) if algorithm == "online" else -math.inf, "sum": 0.0}
    state = _native.plan_state(algorithm, row, shift=None if shift is None else float(shift))
    if algorithm == "two_pass":
        return {"mantissa": state["mantissa"], "exponent": state["exponent"]}
    return {"max": state["max"], "sum": state["sum"]}
