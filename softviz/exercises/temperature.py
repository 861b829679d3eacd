"""Self-checks for lesson 02 (temperature): a safe entropy, a safe smooth max, and the T
for a target entropy.

* ``check_entropy(fn)``: ``fn(p)`` must return -sum p ln p (nats) for a 1-D
  probability vector, with 0 ln 0 = 0 (no NaN when some p_i = 0);
* ``check_smooth_max(fn)``: ``fn(z, T)`` must return T ln sum exp(z_i / T)
  without overflow or underflow (the log-sum-exp shift of lesson 01);
* ``check_temperature_for_entropy(fn)``: ``fn(z, target)`` must return the
  T > 0 with entropy(softmax(z / T)) = target, e.g. by bisection on log T.

Hints name the typical mistakes: NaN from 0 * log 0, log base 2 (bits),
a missing minus sign, returning the terms instead of their sum, a bracket
that does not contain the answer, 1/T instead of T.

Used in: notebooks/02_temperature.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import temperature as tp
from .checking import ArgCase, CheckResult, fmt, run_arg_cases

__all__ = ["check_entropy", "check_smooth_max", "check_temperature_for_entropy"]

_LN2 = math.log(2.0)


def _entropy_cases():
    return (
        ArgCase("softmax([1, 2, 3])", (tp.tempered_softmax([1.0, 2.0, 3.0], 1.0),)),
        ArgCase("a zero entry [0.5, 0.5, 0]", (np.array([0.5, 0.5, 0.0]),)),
        ArgCase("one-hot [0, 1, 0, 0]", (np.array([0.0, 1.0, 0.0, 0.0]),)),
        ArgCase("uniform over 4", (np.full(4, 0.25),)),
        ArgCase("a tiny entry [1 - 1e-300, 1e-300]", (np.array([1.0, 1e-300]),)),
    )


# Target entropies chosen so that a fixed bracket such as [0.01, 10] misses
# some answers: one needs T ~ 0.003, another T ~ 54.
_TEMPERATURE_CASES = (
    ArgCase("z = [1, 2, 3], target 0.5", (np.array([1.0, 2.0, 3.0]), 0.5)),
    ArgCase("z = [1, 2, 3], target 1.0", (np.array([1.0, 2.0, 3.0]), 1.0)),
    ArgCase("z = [0, 0, 5], target 1.0 (two logits tie)", (np.array([0.0, 0.0, 5.0]), 1.0)),
    ArgCase("z = [0, 0.02], target 0.01 (needs a small T)", (np.array([0.0, 0.02]), 0.01)),
    ArgCase("z = [1, 2, 3], target 1.0985 (needs a large T)", (np.array([1.0, 2.0, 3.0]), 1.0985)),
)


def _reference_entropy(p):
    return float(tp.entropy(p))


def _as_number(got):
    arr = np.asarray(got)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"got a {type(got).__name__}")
    return arr


# --------------------------------------------------------------------------
# check_entropy
# --------------------------------------------------------------------------

def _diagnose_entropy(case, got):
    (p,) = case.args
    want = _reference_entropy(p)
    lines = [f"p        = {fmt(p)}", f"expected = {want:.10g}"]
    arr = _as_number(got)
    lines.append(f"got      = {fmt(arr)}")
    if arr.shape == p.shape and arr.ndim == 1 and p.size > 1:
        hint = "you returned one number per entry: add them up (H is the sum of -p_i ln p_i)."
    elif arr.size != 1:
        hint = f"expected one number, got an array of shape {arr.shape}."
    else:
        value = float(arr.reshape(()))
        if math.isnan(value):
            hint = ("NaN: at p_i = 0, log(0) = -inf and 0 * -inf = NaN. Use the convention "
                    "0 ln 0 = 0: take the log only where p > 0, e.g. "
                    "np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0).")
        elif math.isinf(value):
            hint = "an infinite entropy: log(0) leaked into the sum. Skip the entries with p_i = 0."
        elif abs(value - want) <= 1e-9 * max(1.0, want):
            return None
        elif want > 0 and math.isclose(value, want / _LN2, rel_tol=1e-6):
            hint = ("this is the entropy in bits (log base 2). The lesson measures entropy in "
                    "nats: use np.log, the natural log.")
        elif want > 0 and math.isclose(value, -want, rel_tol=1e-6):
            hint = "the sign is wrong: H = -sum p_i ln p_i is never negative."
        elif want > 0 and math.isclose(value, want / math.log(10), rel_tol=1e-6):
            hint = "this is log base 10: use np.log, the natural log."
        else:
            hint = (f"off by {value - want:.3g}. H = -sum_i p_i ln p_i. An epsilon added "
                    f"inside the log, log(p + eps), shifts every term; handle p_i = 0 with "
                    f"the convention 0 ln 0 = 0 instead.")
    return "\n  ".join(lines + [f"Hint: {hint}"])


def check_entropy(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(p) == -sum p ln p`` (nats, 0 ln 0 = 0) on 1-D probability vectors.

    Cases: softmax([1, 2, 3]), a zero entry, one-hot, uniform, a 1e-300 entry.
    Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/02_temperature.ipynb
    """
    return run_arg_cases("check_entropy", _entropy_cases(), fn, _diagnose_entropy,
                "zeros, one-hot, uniform, tiny entries; natural log")


# --------------------------------------------------------------------------
# check_temperature_for_entropy
# --------------------------------------------------------------------------

def _diagnose_temperature(case, got):
    z, target = case.args
    want_T = tp.temperature_for_entropy(z, target)
    arr = _as_number(got)
    if arr.size != 1:
        return f"expected one number T, got an array of shape {arr.shape}."
    T = float(arr.reshape(()))
    lines = [f"z = {fmt(z)}, target H = {target:g} nats",
             f"expected T = {want_T:.8g}", f"got      T = {T:.8g}"]
    if not (math.isfinite(T) and T > 0):
        return "\n  ".join(lines + ["Hint: T must be a finite number > 0."])
    H = float(tp.entropy(tp.tempered_softmax(z, T)))
    lines[-1] += f"  (it gives H = {H:.8g})"
    # Right when the entropy matches closely or T is right to bisection accuracy.
    if abs(H - target) <= 1e-6 or abs(T - want_T) <= 1e-6 * want_T:
        return None
    low, high = math.log(np.count_nonzero(z == z.max())), math.log(z.size)
    if math.isclose(1 / T, want_T, rel_tol=1e-4):
        hint = "that is 1/T (the inverse temperature): return T, softmax(z / T) with T > 0."
    elif math.isclose(H / _LN2, target, rel_tol=1e-4, abs_tol=1e-6):
        hint = ("your T gives the target in bits (log base 2); the target is in nats: use the "
                "natural log in your entropy.")
    elif H < target:
        hint = (f"your T is too small (H grows with T). If it sits at the top of your bracket, "
                f"the bracket is too narrow: H runs from ln k = {low:.4g} at T -> 0+ to "
                f"ln n = {high:.4g} as T -> inf, so widen hi until H(hi) > target (e.g. double "
                f"it). Also check the direction: when H(mid) < target, the answer is above mid.")
    else:
        hint = (f"your T is too large (H grows with T). If it sits at the bottom of your "
                f"bracket, the bracket is too narrow: lower lo until H(lo) < target (e.g. halve "
                f"it; this case needs T = {want_T:.3g}). Also check the direction: when "
                f"H(mid) > target, the answer is below mid.")
    if abs(H - target) < 1e-3 and "too" in hint:
        hint += " Or stop later: iterate until hi / lo - 1 < 1e-10."
    return "\n  ".join(lines + [f"Hint: {hint}"])


def check_temperature_for_entropy(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(z, target)`` returns the T with entropy(softmax(z / T)) = target (nats).

    Cases need T from about 0.003 to about 54, so a fixed bracket fails some of
    them; a T is accepted when its entropy is within 1e-6 of the target or T is
    within a relative 1e-6 of the answer. Prints a verdict and returns a
    :class:`CheckResult`; never raises.

    Used in: notebooks/02_temperature.ipynb
    """
    return run_arg_cases("check_temperature_for_entropy", _TEMPERATURE_CASES, fn, _diagnose_temperature,
                "T from about 0.003 to about 54, ties")



# --------------------------------------------------------------------------
# check_smooth_max
# --------------------------------------------------------------------------

# Small T and large logits overflow exp(z / T); very negative logits underflow
# it to 0 (log 0 = -inf); a large T shows the value leaving [max z, ...] upwards.
_SMOOTH_MAX_CASES = (
    ArgCase("z = [1, 2, 3], T = 1", (np.array([1.0, 2.0, 3.0]), 1.0)),
    ArgCase("z = [1, 2, 3], T = 0.001 (z / T up to 3000)", (np.array([1.0, 2.0, 3.0]), 0.001)),
    ArgCase("z = [1000, 999], T = 1 (overflow)", (np.array([1000.0, 999.0]), 1.0)),
    ArgCase("z = [-1000, -1001], T = 1 (underflow)", (np.array([-1000.0, -1001.0]), 1.0)),
    ArgCase("z = [5, 5], T = 2 (a tie)", (np.array([5.0, 5.0]), 2.0)),
    ArgCase("z = [1, 2, 3], T = 100 (large T)", (np.array([1.0, 2.0, 3.0]), 100.0)),
)


def _diagnose_smooth_max(case, got):
    z, T = case.args
    want = float(tp.smooth_max(z, T))
    arr = _as_number(got)
    if arr.size != 1:
        return f"expected one number, got an array of shape {arr.shape}."
    value = float(arr.reshape(()))
    lines = [f"z = {fmt(z)}, T = {T:g}", f"expected = {want:.10g}", f"got      = {value:.10g}"]
    if math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12):
        return None
    m, n = float(z.max()), z.size
    if math.isnan(value) or math.isinf(value):
        if value == math.inf or math.isnan(value):
            why = f"exp(z / T) overflowed (z / T reaches {m / T:.4g}; exp is inf past ~709.78)"
        else:
            why = "every exp(z / T) underflowed to 0 and log(0) = -inf"
        hint = (f"{why}. Use lesson 01's shift: with m = max z, T ln sum exp(z_i / T) = "
                f"m + T ln sum exp((z_i - m) / T), where the largest term is exp(0) = 1.")
    elif math.isclose(value, m + T * math.log(n), rel_tol=1e-9):
        hint = ("that is the upper bound max z + T ln n, reached only when all logits tie. "
                "Compute T ln sum exp(z_i / T) itself.")
    elif math.isclose(value, want / T, rel_tol=1e-9):
        hint = "this is logsumexp(z / T): multiply it by T."
    elif math.isclose(value, float(tp.smooth_max(z, 1.0)), rel_tol=1e-9):
        hint = "this is logsumexp(z), with T = 1: divide the logits by T inside the exp."
    elif math.isclose(value, m, rel_tol=1e-12):
        hint = ("this is max z; the smooth max is above it by up to T ln n (here "
                f"{want - m:.4g}).")
    else:
        hint = f"off by {value - want:.3g}. Compute T * ln(sum_i exp(z_i / T)), with the shift by max z."
    return "\n  ".join(lines + [f"Hint: {hint}"])


def check_smooth_max(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(z, T) == T * logsumexp(z / T)`` (natural log) without overflow or underflow.

    Cases: small T with z / T up to 3000, logits near +-1000, a tie, a large T.
    Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/02_temperature.ipynb
    """
    return run_arg_cases("check_smooth_max", _SMOOTH_MAX_CASES, fn, _diagnose_smooth_max,
                "small and large T, logits near +-1000, ties")
