"""Self-checks for lesson 00 (start here): the warm-up softmax and logits for chosen probabilities.

* ``check_softmax(fn)``: ``fn(z)`` must return softmax(z) for a 1-D float64 array
  (three logits, a row of length 1, negative logits);
* ``check_logits_for_probabilities(fn)``: ``fn(p)`` must return logits z with
  softmax(z) == p (z = ln p + c, any c, because softmax only sees differences).

Also here: the case runner of the softmax checks (``SoftmaxSpec``, ``softmax_case``,
``run_softmax_spec``), which lesson 01's overflow-safe checks
(softviz/exercises/overflow.py) reuse with harder cases. Each check compares with
``softviz.softmax`` / ``softviz.log_softmax``; the shared machinery (``CheckResult``,
printing, never raising) is in ``checking.py``.

Used in: notebooks/00_start_here.ipynb (and, through the case runner, notebooks/01_overflow.ipynb)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import core, numerics
from .checking import FAIL, OK, TODO, ArgCase, CheckResult, fmt, fn_name, guarded, not_callable, run_arg_cases

# SoftmaxSpec, softmax_case, run_softmax_spec: the case runner lesson 01's checks share (not in __all__).
__all__ = ["check_softmax", "check_logits_for_probabilities"]


class SoftmaxCase(NamedTuple):
    name: str
    z: np.ndarray


class SoftmaxSpec(NamedTuple):
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


def softmax_case(name, values, dtype=np.float64):
    return SoftmaxCase(name, np.array(values, dtype=dtype))


_WARMUP_CASES = (
    softmax_case("three logits [1, 2, 3]", [1.0, 2.0, 3.0]),
    softmax_case("a row of length 1", [0.5]),
    softmax_case("negative logits", [-3.0, -1.0, -2.0]),
)

# --------------------------------------------------------------------------
# Running the cases
# --------------------------------------------------------------------------

def run_softmax_spec(spec: SoftmaxSpec, fn) -> CheckResult:
    """Run ``fn`` on every case of ``spec``; print and return the verdict. Never raises."""
    return guarded(spec.check, lambda: _verdict(spec, fn))


def _verdict(spec: SoftmaxSpec, fn) -> CheckResult:
    missing = not_callable(spec.check, fn)
    if missing is not None:
        return missing
    name = fn_name(fn)
    hint: str | None
    failures = []  # (case name, message)
    for case in spec.cases:
        z = case.z.copy()  # the student may modify it; the case stays intact
        try:
            with np.errstate(all="ignore"):  # the hint explains; numpy's warnings would only clutter
                got = fn(z)
        except NotImplementedError:
            return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:  # a student bug: report it, never re-raise
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            hint = (f"{name} raised {type(exc).__name__}" + (f": {first_line}" if first_line else "")
                    + ". The check calls it with a 1-D numpy array z like the one above.")
            failures.append((case.name, _failure(name, case, hint)))
            continue
        if got is None:
            return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
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
        return CheckResult(True, f"{OK} {name} passes all {len(spec.cases)} cases ({spec.summary}).")
    case_name, text = failures[0]
    others = [f'"{n}"' for n, _ in failures[1:]]
    if len(others) > 3:  # keep the message short: the first failure is the one to fix
        others = others[:3] + [f"and {len(others) - 3} more"]
    if others:
        text += "\n  Also failing: " + ", ".join(others) + "."
    return CheckResult(False, text, case_name)


def _failure(name, case, hint, reference=None, got=None) -> str:
    """The message for one failing case: the case, expected vs got, the hint."""
    lines = [f'{FAIL} {name} fails case "{case.name}":',
             f"    z        = {fmt(case.z)}  ({case.z.dtype})"]
    if reference is not None:
        with np.errstate(all="ignore"):
            lines.append(f"    expected = {fmt(reference(case.z))}")
        dtype = getattr(got, "dtype", None)
        lines.append(f"    got      = {fmt(got)}"
                     + (f"  ({dtype})" if dtype is not None and dtype != case.z.dtype else ""))
    lines.append(f"  Hint: {hint}")
    return "\n".join(lines)


def _diagnose(spec: SoftmaxSpec, case: SoftmaxCase, got, z_after) -> str | None:
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
# check_softmax (the warm-up)
# --------------------------------------------------------------------------

_WARMUP = SoftmaxSpec(check="check_softmax", label="softmax", reference=core.softmax, log=False,
                      keep_dtype=False, cases=_WARMUP_CASES,
                      summary="[1, 2, 3], a row of length 1, negative logits")


def check_softmax(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(z) == softmax(z)`` for a 1-D float64 array z (the warm-up).

    Cases: [1, 2, 3], a row of length 1, negative logits. Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/00_start_here.ipynb.
    """
    return run_softmax_spec(_WARMUP, fn)


# --------------------------------------------------------------------------
# check_logits_for_probabilities (lesson 00)
# --------------------------------------------------------------------------

_LOGIT_CASES = (
    ArgCase("p = [0.2, 0.3, 0.5]", (np.array([0.2, 0.3, 0.5]),)),
    ArgCase("uniform p = [0.25, 0.25, 0.25, 0.25]", (np.full(4, 0.25),)),
    ArgCase("a single class p = [1]", (np.array([1.0]),)),
    ArgCase("a confident p = [0.001, 0.009, 0.99]", (np.array([0.001, 0.009, 0.99]),)),
    ArgCase("a zero entry p = [0.7, 0.3, 0]", (np.array([0.7, 0.3, 0.0]),)),
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
    lines = [f"p          = {fmt(p)}", f"your z     = {fmt(z)}"]
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
    lines.append(f"softmax(z) = {fmt(back)}")
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


def check_logits_for_probabilities(fn: Callable[..., Any] | None) -> CheckResult:
    """Check that ``fn(p)`` returns logits z with softmax(z) == p (any shift c accepted).

    Cases: [0.2, 0.3, 0.5], uniform, a single class, a confident vector and a
    zero entry (its logit must be -inf, or so low that its exp is 0). Prints a
    verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/00_start_here.ipynb.
    """
    return run_arg_cases("check_logits_for_probabilities", _LOGIT_CASES, fn, _diagnose_logits,
                         "softmax(z) gives p back, zero entries included")


