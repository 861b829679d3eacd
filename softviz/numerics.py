"""Per-dtype floating-point facts for the overflow lesson and the accuracy tables.

A binary floating-point format is fixed by two numbers: its precision p
(significand bits, the implicit leading one included) and its exponent width.
Everything here -- where exp overflows or underflows, when softmax collapses,
how big an ulp is -- is derived from those two numbers, read from
``numpy.finfo`` for float16/float32/float64 and from the format definition for
bfloat16 (8 exponent bits like float32, p = 8), never typed in by hand. The
exact boundaries are computed with mpmath and then rounded to the format.

Also here: ``round_bfloat16``, a bit-level emulation of rounding to bfloat16
(numpy has no bfloat16 dtype), ``round_to`` (arithmetic "in" a format), and
relative/ulp error helpers used to compare kernels with the mpmath references of
``softviz.reference``. Lesson 01's own pieces built on these (softmax step by step,
the naive formula's outcomes, absorption, the collapse profile) are in
``softviz.overflow``.

Used in: notebooks/01_overflow.ipynb, notebooks/07_training.ipynb, softviz.bench
(accuracy tables), the exercise checks of lessons 00-01.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import mpmath
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _validate as V

__all__ = [
    "DTYPES",
    "dtype_name",
    "ExpThresholds",
    "exp_thresholds",
    "threshold_table",
    "round_bfloat16",
    "rel_error",
    "max_rel_error",
    "ulp_error",
    "max_ulp_error",
    "collapse_threshold",
    "round_to",
]

DTYPES = ("float16", "bfloat16", "float32", "float64")

_BFLOAT16_PRECISION = 8  # 7 stored fraction bits + the implicit one


class _Format(NamedTuple):
    name: str
    precision: int  # p: significand bits including the implicit one
    emin: int  # exponent of the smallest normal number, tiny = 2**emin
    emax: int  # exponent of the largest binade, max = (2 - 2**(1-p)) * 2**emax

    @property
    def subnormal_exp(self) -> int:
        return self.emin - self.precision + 1


def _format(dtype: DTypeLike, label: str = "dtype") -> _Format:
    """The format of one of DTYPES, given by name or numpy dtype."""
    if isinstance(dtype, str) and dtype == "bfloat16":
        name = "bfloat16"
    elif dtype is None:  # np.dtype(None) would quietly mean float64
        name = None
    else:
        try:
            name = np.dtype(dtype).name
        except Exception:  # np.dtype raises TypeError, ValueError or worse on junk
            name = None
    if name not in DTYPES:
        raise ValueError(f"{label} must be one of {DTYPES}, got {V.short(dtype)}")
    if name == "bfloat16":
        # bfloat16 is float32 with its significand cut to 8 bits: same exponent field.
        p, nexp = _BFLOAT16_PRECISION, np.finfo(np.float32).nexp
    else:
        fi = np.finfo(name)
        p, nexp = fi.nmant + 1, fi.nexp
    emax = 2 ** (nexp - 1) - 1
    return _Format(name, p, 1 - emax, emax)


def dtype_name(dtype: DTypeLike, label: str = "dtype") -> str:
    """The name in ``DTYPES`` of ``dtype`` (a name or a numpy dtype); ValueError naming ``label`` otherwise.

    Used in: softviz.overflow (notebooks/01_overflow.ipynb), to check a list of formats.
    """
    return _format(dtype, label).name


def _round_to_format(v: Any, fmt: _Format, up: bool) -> float:
    """Round the mpf ``v`` up or down to a value of ``fmt`` (no overflow handling)."""
    if v == 0:
        return 0.0
    _, e = mpmath.frexp(v)  # |v| = m * 2**e with 0.5 <= m < 1
    e = int(e) - 1
    q = max(e, fmt.emin) - fmt.precision + 1  # spacing of the format around v is 2**q
    scaled = mpmath.ldexp(v, -q)
    k = mpmath.ceil(scaled) if up else mpmath.floor(scaled)
    return math.ldexp(int(k), q)


# --------------------------------------------------------------------------
# exp thresholds
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ExpThresholds:
    """Where exp leaves the normal range of one format.

    The three ``*_arg`` fields are values OF THE FORMAT (exactly representable
    in it, stored here as Python floats) and refer to exp(x) correctly rounded
    to the format (round to nearest, ties to even):

    - ``max_finite_arg``: the largest x whose exp is finite; the next value of
      the format up has exp == inf.
    - ``min_normal_arg``: the smallest x whose exp is >= ``tiny`` (a normal
      number); the next value down gives a subnormal.
    - ``min_nonzero_arg``: the smallest x whose exp is non-zero (subnormals
      count); the next value down gives exp == 0.

    The real-valued fields are rounded to float64. ``ln_max`` = ln(max) is
    the textbook overflow point, past which the exact exp exceeds the largest
    finite value: 11.0898665 for float16, 88.7228391 for float32,
    709.782712893384 for float64. Rounding lets exp(x) stay finite a little
    longer, up to ``overflow_boundary`` = ln(max + ulp(max)/2) (11.0901107 for
    float16; the two agree to float64 precision for float64). At the low end,
    ``ln_tiny`` is where the exact exp drops below the smallest normal and
    ``normal_boundary`` = ln(tiny - subnormal/2) where the rounded one does;
    ``ln_smallest_subnormal`` is where the exact exp drops below the smallest
    subnormal, but it only rounds to 0 past ``underflow_boundary`` =
    ln(subnormal/2), a full ln 2 lower.
    """

    dtype: str
    precision: int
    max_finite_arg: float
    min_normal_arg: float
    min_nonzero_arg: float
    ln_max: float
    ln_tiny: float
    ln_smallest_subnormal: float
    overflow_boundary: float
    normal_boundary: float
    underflow_boundary: float
    eps: float
    tiny: float
    max: float
    smallest_subnormal: float


@functools.cache
def _exp_thresholds(name: str) -> ExpThresholds:
    fmt = _format(name)
    p = fmt.precision
    with mpmath.mp.workdps(60):
        ln2 = mpmath.log(2)
        # Rounding to nearest sends exp(x) to inf from the midpoint between max
        # and 2**(emax+1) on (the tie goes to the even neighbour, 2**(emax+1)).
        overflow = mpmath.log(2 - mpmath.ldexp(1, -p)) + fmt.emax * ln2
        # ...and to tiny from the midpoint between tiny and the largest subnormal.
        normal = mpmath.log(1 - mpmath.ldexp(1, -p)) + fmt.emin * ln2
        # ...and to 0 up to half the smallest subnormal (the tie goes to 0).
        underflow = (fmt.subnormal_exp - 1) * ln2
        # exp(x) is irrational for every non-zero format value x, so no value
        # sits exactly on a boundary and "strictly" versus "or equal" is moot.
        return ExpThresholds(
            dtype=name,
            precision=p,
            max_finite_arg=_round_to_format(overflow, fmt, up=False),
            min_normal_arg=_round_to_format(normal, fmt, up=True),
            min_nonzero_arg=_round_to_format(underflow, fmt, up=True),
            ln_max=float(mpmath.log(2 - mpmath.ldexp(1, 1 - p)) + fmt.emax * ln2),
            ln_tiny=float(fmt.emin * ln2),
            ln_smallest_subnormal=float(fmt.subnormal_exp * ln2),
            overflow_boundary=float(overflow),
            normal_boundary=float(normal),
            underflow_boundary=float(underflow),
            eps=math.ldexp(1.0, 1 - p),
            tiny=math.ldexp(1.0, fmt.emin),
            max=math.ldexp(2.0 - math.ldexp(1.0, 1 - p), fmt.emax),
            smallest_subnormal=math.ldexp(1.0, fmt.subnormal_exp),
        )


def exp_thresholds(dtype: DTypeLike) -> ExpThresholds:
    """exp's overflow / normal / underflow thresholds for one of ``DTYPES``.

    ``dtype`` is a name from ``DTYPES`` or a numpy float dtype. See
    ``ExpThresholds`` for the exact meaning of each field; in short,
    ``exp_thresholds("float32").max_finite_arg`` is the largest float32 whose
    exp, correctly rounded to float32, is finite (88.72283), and ``ln_max``
    the real number past which exp exceeds the largest float32 (88.7228391).

    Used in: notebooks/01_overflow.ipynb.
    """
    return _exp_thresholds(_format(dtype).name)


def threshold_table() -> list[dict]:
    """One dict per dtype in ``DTYPES`` with every ``ExpThresholds`` field.

    Ready for the overflow lesson's table (e.g. ``pandas.DataFrame(rows)`` or a
    plain loop).

    Used in: notebooks/01_overflow.ipynb.
    """
    return [dataclasses.asdict(exp_thresholds(name)) for name in DTYPES]


def collapse_threshold(dtype: DTypeLike) -> float:
    """The logit gap D past which log_softmax([D, 0])[0] is exactly 0 in ``dtype``.

    The max-shifted log_softmax computes 0 - log(1 + exp(-D)). With p bits of
    precision, 1 + 2**-p lies exactly half-way between 1 and the next number
    up, 1 + 2**(1-p), and ties go to the even neighbour 1: in float32,
    1 + 2**-24 == 1. So once exp(-D) <= 2**-p, i.e. D >= p ln 2, the sum is
    absorbed into 1, its log is 0 and the correct class's output is exactly 0
    (probability exactly 1, gradient exactly 0): the "Softmax Collapse" of
    Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
    Stability" (2025, arXiv:2501.04697).

    Returns p ln 2 with p from ``numpy.finfo`` (bfloat16: p = 8), rounded UP
    to a float64: 16.6355 for float32 (p = 24), 36.7368 for float64 (p = 53),
    7.6246 for float16, 5.5452 for bfloat16. Rounding up matters for float64,
    whose nearest value to 53 ln 2 lies just below it and does not collapse.
    Because exp(-D) is itself rounded, collapse really starts at
    p ln 2 - ln(1 + 2**-p); no value of these four formats lies in that
    sliver, so the first collapsing value of each format is exactly
    ``collapse_threshold(dtype)`` rounded up to the format, and the value
    below it does not collapse. (``softviz.reference.stable_log_softmax``
    computes float16 in float32, so it collapses at the float32 threshold.)

    Used in: notebooks/01_overflow.ipynb.
    """
    fmt = _format(dtype)
    with mpmath.mp.workdps(40):
        exact = fmt.precision * mpmath.log(2)
        return _round_to_format(exact, _format("float64"), up=True)


# --------------------------------------------------------------------------
# bfloat16 emulation
# --------------------------------------------------------------------------

def _float32_round_to_odd(x64: np.ndarray) -> np.ndarray:
    """float64 -> float32 with rounding to odd (truncate, then set the last bit if inexact).

    Rounding to odd keeps a sticky record of the discarded bits, so a second
    rounding to a format at least two bits narrower (bfloat16 is 16 bits
    narrower) gives the same answer as rounding float64 to it directly: no
    double-rounding error.
    """
    with np.errstate(over="ignore"):
        f = x64.astype(np.float32)
    back = f.astype(np.float64)
    inexact = (back != x64) & ~np.isnan(x64)
    # Where round-to-nearest went away from zero (overflow to inf included),
    # step back one float32 towards zero: that is the truncated value.
    away = inexact & (np.abs(back) > np.abs(x64))
    f = np.where(away, np.nextafter(f, np.float32(0)), f)
    bits = f.view(np.uint32)
    return np.where(inexact, bits | np.uint32(1), bits)


def round_bfloat16(x: ArrayLike) -> np.ndarray:
    """Round to bfloat16 (nearest, ties to even) and return the values as float32.

    bfloat16 is the top half of a float32, so rounding is integer arithmetic on
    the float32 bit pattern: add 0x7FFF plus the lowest kept bit (that makes
    exact ties go to the even neighbour) and clear the low 16 bits. A carry
    out of the significand increments the exponent, which is exactly right,
    and turns values past the largest bfloat16 (3.3895e38) into inf. NaN stays
    NaN (made quiet so the cleared bits cannot turn it into inf); subnormals
    round like everything else. float64 input is first narrowed to float32
    with rounding to odd, so it is rounded once, directly, not twice.
    Integers and bools go through float64.

    Used in: notebooks/01_overflow.ipynb, notebooks/06_two_pass.ipynb.
    """
    arr = V.numeric_array("x", x)
    if arr.dtype.kind == "f" and arr.dtype.itemsize <= 4:
        bits = arr.astype(np.float32).view(np.uint32)
    else:
        bits = _float32_round_to_odd(arr.astype(np.float64))
    bits = np.asarray(bits, dtype=np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    rounded = (bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)
    nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    rounded = np.where(nan, (bits | np.uint32(0x00400000)) & np.uint32(0xFFFF0000), rounded)
    return np.asarray(rounded.astype(np.uint32).view(np.float32))


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def _pair(got: ArrayLike, ref: ArrayLike) -> tuple[np.ndarray, ...]:
    got, ref = V.numeric_array("got", got), V.numeric_array("ref", ref)
    dt = np.result_type(got.dtype, ref.dtype, np.float64)  # float64, or longdouble if given
    try:
        return np.broadcast_arrays(got.astype(dt), ref.astype(dt))
    except ValueError:
        raise ValueError(f"got and ref must have the same shape (or broadcast), got shapes "
                         f"{got.shape} and {ref.shape}") from None


def _special_cases(err: np.ndarray, got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Equal values (equal infinities and NaN vs NaN included) -> 0; other non-finite pairs -> inf."""
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))
    nonfinite = ~(np.isfinite(got) & np.isfinite(ref))
    return np.where(same, 0.0, np.where(nonfinite, np.inf, err))


def rel_error(got: ArrayLike, ref: ArrayLike) -> np.ndarray:
    """Elementwise relative error |got - ref| / |ref|, computed in float64 (or wider).

    Conventions: 0 where got == ref (both 0 included); inf where ref is 0 and
    got is not. Special values: a NaN matched by a NaN, or an infinity matched
    by the same infinity, counts as agreement (0); any other pair involving a
    NaN or an infinity counts as infinitely wrong (inf), so ``max_rel_error``
    never hides a special-value disagreement. Arguments broadcast.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    got, ref = _pair(got, ref)
    with np.errstate(all="ignore"):
        err = np.abs(got - ref) / np.abs(ref)
        return np.asarray(_special_cases(err, got, ref))


def max_rel_error(got: ArrayLike, ref: ArrayLike) -> float:
    """The largest ``rel_error(got, ref)``; 0.0 for empty input.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    err = rel_error(got, ref)
    return float(err.max()) if err.size else 0.0


def ulp_error(got: ArrayLike, ref: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """Elementwise |got - ref| in units of the last place of ``dtype`` at ``ref``.

    ``ref`` is the accurate value (float64 or wider, e.g. from
    ``softviz.reference.exact_softmax``); ``got`` a value of ``dtype``. The
    ulp at ref is the spacing of ``dtype`` in the binade holding |ref|:
    2**(max(e, emin) - p + 1) for 2**e <= |ref| < 2**(e+1), which is constant
    through the subnormal range and also applies to ref = 0. So a float32 one
    step above a non-power-of-two ref is exactly 1 ulp off; one step BELOW a
    power of two is 0.5 ulp (the spacing halves there). A correctly rounded
    result is at most 0.5 ulp off. Special values as in ``rel_error``.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    fmt = _format(dtype)
    got, ref = _pair(got, ref)
    with np.errstate(all="ignore"):
        _, exp2 = np.frexp(np.abs(ref))  # |ref| = m * 2**exp2, 0.5 <= m < 1
        e = np.where(ref == 0, fmt.emin, exp2.astype(np.int64) - 1)
        ulp = np.ldexp(np.ones_like(ref), np.maximum(e, fmt.emin) - fmt.precision + 1)
        err = np.abs(got - ref) / ulp
        return np.asarray(_special_cases(err, got, ref))


def max_ulp_error(got: ArrayLike, ref: ArrayLike, dtype: DTypeLike) -> float:
    """The largest ``ulp_error(got, ref, dtype)``; 0.0 for empty input.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    err = ulp_error(got, ref, dtype)
    return float(err.max()) if err.size else 0.0


# --------------------------------------------------------------------------
# Arithmetic in a format (lesson 01's step-by-step softmax lives in softviz/overflow.py)
# --------------------------------------------------------------------------

def round_to(x: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """Round real numbers to the format ``dtype`` (one of ``DTYPES``); return them as float64.

    Round to nearest, ties to even; values past the format's range become
    +-inf, values below half its smallest subnormal become 0. For float64 this
    is the identity. Working in float64 and rounding after every operation is
    how the functions below compute "in" a format: for +, -, * and / the
    result equals the format's own correctly rounded operation (float64 has
    more than 2p + 2 bits, so the double rounding is innocuous), for exp and
    log it is correctly rounded except in rare near-ties.

    Used in: notebooks/01_overflow.ipynb.
    """
    fmt = _format(dtype)
    x64 = V.numeric_array("x", x).astype(np.float64)
    if fmt.name == "float64":
        return x64
    if fmt.name == "bfloat16":
        return round_bfloat16(x64).astype(np.float64)
    with np.errstate(over="ignore"):
        return x64.astype(fmt.name).astype(np.float64)
