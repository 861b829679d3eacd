"""Self-checks for the softmax exercises of lessons 00 and 01.

* lesson 00: the warm-up softmax (``check_softmax``) and logits that give a
  chosen probability vector (``check_logits_for_probabilities``: z = ln p + c,
  any c, because softmax only sees differences);
* lesson 01: the overflow-safe softmax and log-softmax, and StableMax
  (``check_stablemax``; Prieto, Barsbey, Mediano and Birdal, "Grokking at the
  Edge of Numerical Stability", 2025, arXiv:2501.04697).

Each check runs the student's function on named cases and compares with
``softviz.softmax`` / ``softviz.log_softmax`` / ``softviz.reference.stablemax``;
the shared machinery (``CheckResult``, printing, never raising) is in ``_check.py``.

Used in: notebooks/00_start_here.ipynb, notebooks/01_overflow.ipynb
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .. import core, numerics, reference
from ._check import _FAIL, _OK, _TODO, CheckResult, _fmt, _name, _not_callable, guarded
from .temperature import _Case as _ArgCase
from .temperature import _run as _run_arg_cases

__all__ = ["check_softmax", "check_stable_softmax", "check_stable_log_softmax",
           "check_logits_for_probabilities", "check_stablemax"]


class _Case(NamedTuple):
    name: str
    z: np.ndarray


class _Spec(NamedTuple):
    check: str  # the check's own name, for "call it like this" messages
    label: str  # how the messages call the function being checked
    reference: Callable  # the right answer, e.g. core.softmax
    log: bool  # True: log-probabilities are expected
    keep_dtype: bool  # the result must have the input's dtype
    cases: tuple
    summary: str  # what the success line lists


# (rtol, atol) by working precision: loose enough for any correct formula (the
# reference runs a different algorithm in C), tight enough that a result computed
# in a lower precision than asked for does not pass.
_TOL = {"float64": (1e-9, 1e-12), "float32": (1e-5, 1e-6)}


def _case(name, values, dtype=np.float64):
    return _Case(name, np.array(values, dtype=dtype))


_WARMUP_CASES = (
    _case("three logits [1, 2, 3]", [1.0, 2.0, 3.0]),
    _case("a row of length 1", [0.5]),
    _case("negative logits", [-3.0, -1.0, -2.0]),
)

# Overflow, total underflow, -inf masks and rows of length 1, in both precisions.
# The "wide range" rows hold a logit whose probability underflows to 0 while its
# log-probability is a finite number: that is what exposes log(softmax(z)).
_STABLE_CASES = (
    _case("overflow, float64 (logits ~ 1000)", [1000.0, 1001.0, 1002.0]),
    _case("overflow, float32 (logits ~ 100)", [100.0, 101.0, 102.0], np.float32),
    _case("total underflow, float64 (all logits ~ -1000)", [-1000.0, -1001.0, -1002.0]),
    _case("total underflow, float32 (all logits ~ -1000)", [-1000.0, -1001.0, -1002.0], np.float32),
    _case("wide range, float64 ([5, 0, -800])", [5.0, 0.0, -800.0]),
    _case("wide range, float32 ([5, 0, -120])", [5.0, 0.0, -120.0], np.float32),
    _case("-inf mask, float64", [2.0, -np.inf, 1.0, -np.inf]),
    _case("-inf mask with large logits, float32", [-np.inf, 100.0, 99.0], np.float32),
    _case("length 1, float64 ([1000])", [1000.0]),
    _case("length 1, float32 ([-200])", [-200.0], np.float32),
)
_STABLE_SUMMARY = "overflow, underflow, -inf masks, rows of length 1, float32 and float64"


# --------------------------------------------------------------------------
# Running the cases
# --------------------------------------------------------------------------

def _run(spec: _Spec, fn) -> CheckResult:
    """Run ``fn`` on every case of ``spec``; print and return the verdict. Never raises."""
    return guarded(spec.check, lambda: _verdict(spec, fn))


def _verdict(spec: _Spec, fn) -> CheckResult:
    missing = _not_callable(spec.check, fn)
    if missing is not None:
        return missing
    name = _name(fn)
    failures = []  # (case name, message)
    for case in spec.cases:
        z = case.z.copy()  # the student may modify it; the case stays intact
        try:
            with np.errstate(all="ignore"):  # the hint explains; numpy's warnings would only clutter
                got = fn(z)
        except NotImplementedError:
            return CheckResult(None, f"{_TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:  # a student bug: report it, never re-raise
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            hint = (f"{name} raised {type(exc).__name__}" + (f": {first_line}" if first_line else "")
                    + ". The check calls it with a 1-D numpy array z like the one above.")
            failures.append((case.name, _failure(name, case, hint)))
            continue
        if got is None:
            return CheckResult(None, f"{_TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run "
                                     f"this cell again.")
        try:
            hint = _diagnose(spec, case, got, z)
        except Exception as exc:  # an odd return value must not crash the check
            hint = (f"the result could not be read as an array of numbers "
                    f"({type(exc).__name__}: {str(exc)[:120]}).")
        if hint:
            failures.append((case.name, _failure(name, case, hint, spec.reference, got)))
    if not failures:
        return CheckResult(True, f"{_OK} {name} passes all {len(spec.cases)} cases ({spec.summary}).")
    case_name, text = failures[0]
    others = [f'"{n}"' for n, _ in failures[1:]]
    if len(others) > 3:  # keep the message short: the first failure is the one to fix
        others = others[:3] + [f"and {len(others) - 3} more"]
    if others:
        text += "\n  Also failing: " + ", ".join(others) + "."
    return CheckResult(False, text, case_name)


def _failure(name, case, hint, reference=None, got=None) -> str:
    """The message for one failing case: the case, expected vs got, the hint."""
    lines = [f'{_FAIL} {name} fails case "{case.name}":',
             f"    z        = {_fmt(case.z)}  ({case.z.dtype})"]
    if reference is not None:
        with np.errstate(all="ignore"):
            lines.append(f"    expected = {_fmt(reference(case.z))}")
        dtype = getattr(got, "dtype", None)
        lines.append(f"    got      = {_fmt(got)}"
                     + (f"  ({dtype})" if dtype is not None and dtype != case.z.dtype else ""))
    lines.append(f"  Hint: {hint}")
    return "\n".join(lines)


def _diagnose(spec: _Spec, case: _Case, got, z_after) -> str | None:
    """None if ``got`` is right for ``case``, else a hint naming the likely mistake."""
    z = case.z
    with np.errstate(all="ignore"):
        want = spec.reference(z)
    got = np.asarray(got)
    if got.shape != want.shape:
        hint = f"expected an array of shape {want.shape} (the shape of z), got shape {got.shape}."
        return hint + (" Return the whole vector, not one number." if got.ndim == 0 else "")
    if got.dtype.kind != "f":
        return f"expected floating-point numbers, got dtype {got.dtype}."
    special = _special_values_hint(spec, z, got)
    if special:
        return special
    if spec.keep_dtype and got.dtype != z.dtype:
        return _dtype_hint(z.dtype, got.dtype)
    width = "float64" if got.dtype == z.dtype == np.float64 else "float32"
    rtol, atol = _TOL[width]
    finite = np.isfinite(want)
    with np.errstate(all="ignore"):
        err = np.abs(got[finite].astype(np.float64) - want[finite])
        bad = err > atol + rtol * np.abs(want[finite].astype(np.float64))
    if bad.any():
        return _value_hint(spec, z, got) or (
            f"values differ from the expected ones by up to {err.max():.3g} "
            f"(allowed about {atol + rtol * np.abs(want[finite]).max():.1g}).")
    if not np.array_equal(z_after, z, equal_nan=True):
        return ("it changed its input array in place (e.g. `z -= z.max()`); write "
                "`z = z - z.max()` so the caller's array stays as it was.")
    return None


def _special_values_hint(spec, z, got) -> str | None:
    """NaN, inf and -inf mask problems: the typical failures of a naive formula."""
    masked = np.isneginf(z)
    limits = numerics.exp_thresholds(z.dtype)
    top = z[~masked].max()
    if np.isnan(got).any():
        if masked.any():
            return ("NaN next to a masked (-inf) logit: shift by the max of the row, a finite "
                    "number (-inf - (-inf) and 0 * inf are NaN; the mean or sum of a row holding "
                    "-inf is -inf).")
        if top > limits.max_finite_arg:
            return (f"NaN on large logits: did you subtract the max before exp? exp(z) overflows "
                    f"to inf for z > {limits.max_finite_arg:.6g} in {z.dtype}, and inf / inf is NaN.")
        if top < limits.min_nonzero_arg:
            return (f"NaN when every logit is very negative: exp(z) underflows to 0 for "
                    f"z < {limits.min_nonzero_arg:.6g} in {z.dtype}, so the sum is 0 and 0 / 0 is "
                    f"NaN. Subtract the max first: the largest term becomes exp(0) = 1.")
        return "NaN in the result: look for inf - inf, 0 / 0 or 0 * inf in your steps."
    if spec.log:
        if np.isneginf(got[~masked]).any():
            i = int(np.flatnonzero(np.isneginf(got) & ~masked)[0])
            with np.errstate(all="ignore"):
                want = spec.reference(z)[i]
            why = (f"exp(z) overflowed to inf (z > {limits.max_finite_arg:.6g} in {z.dtype}), so "
                   f"z - log(sum(exp(z))) is -inf" if top > limits.max_finite_arg else
                   "log(softmax(z)) turns a probability that underflowed to 0 into -inf")
            return (f"-inf where a finite value was expected: compute z - logsumexp(z), with "
                    f"logsumexp(z) = m + log(sum(exp(z - m))) and m = max(z). Here {why} "
                    f"(entry {i} should be {want:.6g}).")
        if (got[masked] != -np.inf).any():
            return ("a masked logit (-inf) must get log-probability exactly -inf; keep -inf as it "
                    "is (no clipping, no replacing it by a large negative number).")
        if np.isposinf(got).any():
            return ("+inf in the result: log(sum(exp(z))) was log(0) = -inf because every exp(z) "
                    "underflowed. Subtract m = max(z) inside the exp and add it back outside the log.")
    else:
        if (got[masked] != 0).any():
            return ("a masked logit (-inf) must get probability exactly 0; keep -inf as it is "
                    "(no clipping, no replacing it by a large negative number).")
        if np.isinf(got).any():
            return "inf in the result: exp overflowed. Subtract the max before exp."
    return None


def _dtype_hint(want, got) -> str:
    hint = f"{want} in, {want} out: your result is {got}."
    if want == np.float32:
        hint += (" Don't convert with np.asarray(z, dtype=float) or z.astype(float), and avoid "
                 "np.float64 scalars (a float32 array minus a np.float64 gives float64 in NumPy 2).")
    return hint


def _value_hint(spec, z, got) -> str | None:
    """A nudge for finite but wrong values, when the mistake is recognisable."""
    with np.errstate(all="ignore"):
        if spec.log:
            if ((got >= 0) & (got <= 1)).all() and np.isclose(got.sum(), 1, rtol=1e-3):
                return ("these look like probabilities (they sum to 1): log_softmax returns "
                        "log-probabilities, z - logsumexp(z).")
            total = float(np.exp(core.logsumexp(got.astype(np.float64))))
            if not np.isclose(total, 1, rtol=1e-3):
                return (f"exp(result) sums to {total:.4g}, not 1: subtract logsumexp(z) = "
                        f"m + log(sum(exp(z - m))), not just m = max(z).")
            return None
        if np.allclose(got, spec.reference(-z), rtol=1e-6, atol=1e-12):
            return "the order is reversed: compute exp(z - max(z)), not exp(max(z) - z)."
        if np.allclose(got, z / z.sum(), rtol=1e-6, atol=1e-12):
            return "this is z / sum(z): exponentiate first, exp(z) / sum(exp(z))."
        total = float(np.sum(got, dtype=np.float64))
        if not np.isclose(total, 1, rtol=1e-3):
            return f"the result sums to {total:.4g}, not 1: divide the exps by their sum."
    return None


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------

_WARMUP = _Spec(check="check_softmax", label="softmax", reference=core.softmax, log=False,
                keep_dtype=False, cases=_WARMUP_CASES,
                summary="[1, 2, 3], a row of length 1, negative logits")
_STABLE = _Spec(check="check_stable_softmax", label="stable softmax", reference=core.softmax,
                log=False, keep_dtype=True, cases=_STABLE_CASES, summary=_STABLE_SUMMARY)
_STABLE_LOG = _Spec(check="check_stable_log_softmax", label="stable log-softmax",
                    reference=core.log_softmax, log=True, keep_dtype=True, cases=_STABLE_CASES,
                    summary=_STABLE_SUMMARY)


def check_softmax(fn) -> CheckResult:
    """Check ``fn(z) == softmax(z)`` for a 1-D float64 array z (the warm-up).

    Cases: [1, 2, 3], a row of length 1, negative logits. Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/00_start_here.ipynb.
    """
    return _run(_WARMUP, fn)


def check_stable_softmax(fn) -> CheckResult:
    """Check an overflow-safe ``fn(z) == softmax(z)`` for 1-D float32 and float64 arrays.

    Cases: logits ~ 1000 (float64) and ~ 100 (float32), all logits ~ -1000, a wide
    range, -inf masks (probability exactly 0 there), rows of length 1. The
    result must keep the input's dtype. Prints a verdict and returns a
    :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return _run(_STABLE, fn)


def check_stable_log_softmax(fn) -> CheckResult:
    """Check an overflow-safe ``fn(z) == log_softmax(z)`` for 1-D float32 and float64 arrays.

    Same cases as :func:`check_stable_softmax`; -inf logits must give exactly
    -inf, finite ones a finite value (log(softmax(z)) fails that on the wide
    range cases). Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return _run(_STABLE_LOG, fn)


# --------------------------------------------------------------------------
# check_logits_for_probabilities (lesson 00)
# --------------------------------------------------------------------------

_LOGIT_CASES = (
    _ArgCase("p = [0.2, 0.3, 0.5]", (np.array([0.2, 0.3, 0.5]),)),
    _ArgCase("uniform p = [0.25, 0.25, 0.25, 0.25]", (np.full(4, 0.25),)),
    _ArgCase("a single class p = [1]", (np.array([1.0]),)),
    _ArgCase("a confident p = [0.001, 0.009, 0.99]", (np.array([0.001, 0.009, 0.99]),)),
    _ArgCase("a zero entry p = [0.7, 0.3, 0]", (np.array([0.7, 0.3, 0.0]),)),
)


def _finite_close(a, b):
    """a == b (rtol 1e-9) where b is finite, and a is -inf exactly where b is."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    fin = np.isfinite(b)
    return bool(np.array_equal(np.isneginf(a), np.isneginf(b))
                and np.allclose(a[fin], b[fin], rtol=1e-9, atol=1e-12))


def _diagnose_logits(case, got):
    (p,) = case.args
    z = np.asarray(got, dtype=np.float64)
    lines = [f"p          = {_fmt(p)}", f"your z     = {_fmt(z)}"]
    if z.shape != p.shape:
        return "\n  ".join(lines + [f"Hint: expected one logit per probability, an array of shape "
                                    f"{p.shape}; got shape {z.shape}."])
    if np.isnan(z).any():
        return "\n  ".join(lines + ["Hint: NaN in z. ln p needs no tricks: np.log(0) is -inf, a "
                                    "fine logit (its exp is exactly 0)."])
    if np.isposinf(z).any():
        return "\n  ".join(lines + ["Hint: +inf in z: softmax of +inf is NaN. Try z = ln p."])
    with np.errstate(all="ignore"):
        back = core.softmax(z)
        logp = np.log(p)
    lines.append(f"softmax(z) = {_fmt(back)}")
    if np.allclose(back, p, rtol=1e-9, atol=1e-12):
        return None
    with np.errstate(all="ignore"):
        if np.allclose(z, p, rtol=1e-12, atol=0):
            hint = ("these are the probabilities themselves, and softmax(p) is not p. Undo the "
                    "exp: a logit is a log-probability up to a constant, z_i = ln p_i + c.")
        elif np.allclose(z, np.exp(p), rtol=1e-12, atol=0):
            hint = "exp goes the wrong way here: softmax applies exp, so undo it with the log."
        elif _finite_close(z, -logp):
            hint = "the sign is flipped: z_i = +ln p_i (a larger p needs a larger logit)."
        elif _finite_close(z, np.log2(p)) or _finite_close(z, np.log10(p)):
            hint = ("that is log base 2 or 10; softmax uses e, so use the natural log np.log: "
                    "e^(log2 p) is not p.")
        else:
            hint = ("softmax(z) must give p back. Since softmax(z)_i is proportional to e^(z_i), "
                    "z_i = ln p_i works, and so does ln p_i + c for any one constant c.")
    return "\n  ".join(lines + [f"Hint: {hint}"])


def check_logits_for_probabilities(fn) -> CheckResult:
    """Check that ``fn(p)`` returns logits z with softmax(z) == p (any shift c accepted).

    Cases: [0.2, 0.3, 0.5], uniform, a single class, a confident vector and a
    zero entry (its logit must be -inf, or so low that its exp is 0). Prints a
    verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/00_start_here.ipynb.
    """
    return _run_arg_cases("check_logits_for_probabilities", _LOGIT_CASES, fn, _diagnose_logits,
                          "softmax(z) gives p back, zero entries included")


# --------------------------------------------------------------------------
# check_stablemax (lesson 01)
# --------------------------------------------------------------------------

_STABLEMAX_CASES = (
    _ArgCase("the lesson's z = [20, 0, -5]", (np.array([20.0, 0.0, -5.0]),)),
    _ArgCase("z = [1, 2, 3]", (np.array([1.0, 2.0, 3.0]),)),
    _ArgCase("all negative z = [-3, -1, -2]", (np.array([-3.0, -1.0, -2.0]),)),
    _ArgCase("a huge gap z = [1000, 0] (no overflow possible)", (np.array([1000.0, 0.0]),)),
    _ArgCase("a masked class z = [2, -inf, 0]", (np.array([2.0, -np.inf, 0.0]),)),
    _ArgCase("length 1, z = [-4]", (np.array([-4.0]),)),
)


def _s(x):
    with np.errstate(all="ignore"):
        return np.where(x < 0, 1 / (1 - np.where(x < 0, x, 0)), x + 1)


def _diagnose_stablemax(case, got):
    (z,) = case.args
    want = reference.stablemax(z)
    arr = np.asarray(got, dtype=np.float64)
    lines = [f"z        = {_fmt(z)}", f"expected = {_fmt(want)}", f"got      = {_fmt(arr)}"]
    if arr.shape != z.shape:
        hint = f"expected an array of shape {z.shape} (the shape of z), got shape {arr.shape}."
    elif np.isnan(arr).any():
        hint = ("NaN in the result. s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0 is finite "
                "for every finite x, and s(-inf) = 0; with np.where both branches are computed "
                "everywhere, which is harmless here (1 / (1 - x) at x = 1 is only a warning).")
    elif np.allclose(arr, want, rtol=1e-9, atol=1e-12):
        return None
    else:
        with np.errstate(all="ignore"):
            m = np.max(z)
            if np.allclose(arr, core.softmax(z), rtol=1e-6, atol=1e-12):
                hint = "this is softmax. StableMax replaces e^x by s(x), then normalises."
            elif z.size > 1 and np.allclose(arr, reference.stablemax(z - m), rtol=1e-9, atol=1e-12):
                hint = ("you shifted by the max first. Softmax does not mind a shift, StableMax "
                        "does: s(x + c) is not a constant times s(x). Apply s to z as it is "
                        "(it cannot overflow: s grows only linearly).")
            elif np.allclose(arr, _s(z), rtol=1e-9, atol=1e-12):
                hint = "these are the s(z_i): divide them by their sum so they add up to 1."
            else:
                hint = ("check s: s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, so s(0) = 1, "
                        "s(1) = 2, s(-1) = 1/2; then divide by the sum.")
    return "\n  ".join(lines + [f"Hint: {hint}"])


def check_stablemax(fn) -> CheckResult:
    """Check ``fn(z) == stablemax(z)``: s(z_i) / sum_j s(z_j), s(x) = x + 1 (x >= 0), 1/(1 - x) (x < 0).

    StableMax is from Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge
    of Numerical Stability" (2025, arXiv:2501.04697). Cases (float64): the
    lesson's [20, 0, -5], positive, all-negative, a gap of 1000, a -inf mask,
    length 1. Hints name the usual slips: softmax instead, a max shift (StableMax
    is not shift-invariant), a missing normalisation. Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return _run_arg_cases("check_stablemax", _STABLEMAX_CASES, fn, _diagnose_stablemax,
                          "positive and negative logits, a huge gap, a -inf mask, length 1")
