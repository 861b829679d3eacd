"""Self-checks for lesson 01 (overflow): the overflow-safe softmax and log-softmax, and StableMax.

* ``check_stable_softmax(fn)`` / ``check_stable_log_softmax(fn)``: ``fn(z)`` must
  return softmax(z) / log_softmax(z) without overflow or underflow, for 1-D
  float32 and float64 arrays, -inf masks and rows of length 1 included, keeping
  the input's dtype;
* ``check_stablemax(fn)``: StableMax (Prieto, Barsbey, Mediano and Birdal,
  "Grokking at the Edge of Numerical Stability", 2025, arXiv:2501.04697).

The softmax checks run on lesson 00's case runner (softviz/exercises/start_here.py)
with the harder cases below; they compare with ``softviz.softmax`` /
``softviz.log_softmax`` / ``softviz.reference.stablemax``.

Used in: notebooks/01_overflow.ipynb
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import core, reference
from .checking import ArgCase, CheckResult, fmt, run_arg_cases
from .start_here import SoftmaxSpec, run_softmax_spec, softmax_case

__all__ = ["check_stable_softmax", "check_stable_log_softmax", "check_stablemax"]


# Overflow, total underflow, -inf masks and rows of length 1, in both precisions.
# The "wide range" rows hold a logit whose probability underflows to 0 while its
# log-probability is a finite number: that is what exposes log(softmax(z)).
_STABLE_CASES = (
    softmax_case("overflow, float64 (logits ~ 1000)", [1000.0, 1001.0, 1002.0]),
    softmax_case("overflow, float32 (logits ~ 100)", [100.0, 101.0, 102.0], np.float32),
    softmax_case("total underflow, float64 (all logits ~ -1000)", [-1000.0, -1001.0, -1002.0]),
    softmax_case("total underflow, float32 (all logits ~ -1000)", [-1000.0, -1001.0, -1002.0], np.float32),
    softmax_case("wide range, float64 ([5, 0, -800])", [5.0, 0.0, -800.0]),
    softmax_case("wide range, float32 ([5, 0, -120])", [5.0, 0.0, -120.0], np.float32),
    softmax_case("-inf mask, float64", [2.0, -np.inf, 1.0, -np.inf]),
    softmax_case("-inf mask with large logits, float32", [-np.inf, 100.0, 99.0], np.float32),
    softmax_case("length 1, float64 ([1000])", [1000.0]),
    softmax_case("length 1, float32 ([-200])", [-200.0], np.float32),
)
_STABLE_SUMMARY = "overflow, underflow, -inf masks, rows of length 1, float32 and float64"


_STABLE = SoftmaxSpec(check="check_stable_softmax", label="stable softmax", reference=core.softmax,
                      log=False, keep_dtype=True, cases=_STABLE_CASES, summary=_STABLE_SUMMARY)
_STABLE_LOG = SoftmaxSpec(check="check_stable_log_softmax", label="stable log-softmax",
                          reference=core.log_softmax, log=True, keep_dtype=True, cases=_STABLE_CASES,
                          summary=_STABLE_SUMMARY)


def check_stable_softmax(fn: Callable[..., Any] | None) -> CheckResult:
    """Check an overflow-safe ``fn(z) == softmax(z)`` for 1-D float32 and float64 arrays.

    Cases: logits ~ 1000 (float64) and ~ 100 (float32), all logits ~ -1000, a wide
    range, -inf masks (probability exactly 0 there), rows of length 1. The
    result must keep the input's dtype. Prints a verdict and returns a
    :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return run_softmax_spec(_STABLE, fn)


def check_stable_log_softmax(fn: Callable[..., Any] | None) -> CheckResult:
    """Check an overflow-safe ``fn(z) == log_softmax(z)`` for 1-D float32 and float64 arrays.

    Same cases as :func:`check_stable_softmax`; -inf logits must give exactly
    -inf, finite ones a finite value (log(softmax(z)) fails that on the wide
    range cases). Prints a verdict and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return run_softmax_spec(_STABLE_LOG, fn)


# --------------------------------------------------------------------------
# check_stablemax (lesson 01)
# --------------------------------------------------------------------------

_STABLEMAX_CASES = (
    ArgCase("the lesson's z = [20, 0, -5]", (np.array([20.0, 0.0, -5.0]),)),
    ArgCase("z = [1, 2, 3]", (np.array([1.0, 2.0, 3.0]),)),
    ArgCase("all negative z = [-3, -1, -2]", (np.array([-3.0, -1.0, -2.0]),)),
    ArgCase("a huge gap z = [1000, 0] (no overflow possible)", (np.array([1000.0, 0.0]),)),
    ArgCase("a masked class z = [2, -inf, 0]", (np.array([2.0, -np.inf, 0.0]),)),
    ArgCase("length 1, z = [-4]", (np.array([-4.0]),)),
)


def _s(x):
    with np.errstate(all="ignore"):
        return np.where(x < 0, 1 / (1 - np.where(x < 0, x, 0)), x + 1)


def _diagnose_stablemax(case, got):
    (z,) = case.args
    want = reference.stablemax(z)
    arr = np.asarray(got, dtype=np.float64)
    lines = [f"z        = {fmt(z)}", f"expected = {fmt(want)}", f"got      = {fmt(arr)}"]
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


def check_stablemax(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(z) == stablemax(z)``: s(z_i) / sum_j s(z_j), s(x) = x + 1 (x >= 0), 1/(1 - x) (x < 0).

    StableMax is from Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge
    of Numerical Stability" (2025, arXiv:2501.04697). Cases (float64): the
    lesson's [20, 0, -5], positive, all-negative, a gap of 1000, a -inf mask,
    length 1. Hints name the usual slips: softmax instead, a max shift (StableMax
    is not shift-invariant), a missing normalisation. Prints a verdict and
    returns a :class:`CheckResult`; never raises.

    Used in: notebooks/01_overflow.ipynb.
    """
    return run_arg_cases("check_stablemax", _STABLEMAX_CASES, fn, _diagnose_stablemax,
                         "positive and negative logits, a huge gap, a -inf mask, length 1")
