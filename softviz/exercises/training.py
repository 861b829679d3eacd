"""Self-checks for lesson 07 (softmax in training).

* ``check_cross_entropy_grad(fn)``: ``fn(logits, labels)`` must return
  d(mean softmax cross-entropy)/d(logits), (softmax(z) - onehot(y)) / n;
  checked against central finite differences of the loss in float64;
* ``check_stablemax_cross_entropy(fn)``: ``fn(logits, labels)`` must return the
  mean of -log(s(z_y) / sum_j s(z_j)), s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0);
* ``check_collapse_prediction(answer)``: which of the lesson's runs collapses
  first ("softmax float32", "softmax float64", "stablemax float32").

From Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
Stability" (2025, arXiv:2501.04697).

Used in: notebooks/07_training.ipynb
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import training
from .checking import FAIL, OK, TODO, CheckResult, fmt, fn_name, guarded, not_callable

__all__ = ["check_cross_entropy_grad", "check_stablemax_cross_entropy", "check_collapse_prediction"]

RUNS = ("softmax float32", "softmax float64", "stablemax float32")


def _cases():
    rng = np.random.default_rng(7)
    return (
        ("one sample, 3 classes", np.array([[1.0, 2.0, 0.5]]), np.array([1])),
        ("4 samples, 5 classes", rng.normal(size=(4, 5)) * 2.0, np.array([0, 4, 2, 2])),
        ("large logits (needs the max shift)", np.array([[800.0, 790.0, 0.0], [-5.0, 3.0, 700.0]]),
         np.array([0, 2])),
        ("negative logits", -np.abs(rng.normal(size=(3, 4))) * 3.0, np.array([3, 0, 1])),
    )


def _finite_differences(logits, labels, h=1e-6):
    g = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (training.cross_entropy(up, labels) - training.cross_entropy(down, labels)) / (2 * h)
    return g


def _run_cases(check_name, fn, expected, hint, rtol, atol):
    def verdict():
        missing = not_callable(check_name, fn)
        if missing is not None:
            return missing
        name = fn_name(fn)
        for case, z, y in _cases():
            try:
                with np.errstate(all="ignore"):
                    got = fn(z.copy(), y.copy())
            except NotImplementedError:
                return CheckResult(None, f"{TODO} not done yet: {name} raises NotImplementedError.")
            except Exception as exc:
                return CheckResult(False, f'{FAIL} {name} raised {type(exc).__name__} on case '
                                          f'"{case}": {str(exc)[:160]}', case)
            if got is None:
                return CheckResult(None, f"{TODO} not done yet: {name} returned None (the stub). "
                                         f"Write your code in place of `return None`.")
            want = expected(z, y)
            try:
                arr = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                return CheckResult(False, f"{FAIL} {name} returned a {type(got).__name__}, "
                                          f"expected numbers.", case)
            if arr.shape != np.shape(want):
                return CheckResult(False, f'{FAIL} {name} fails case "{case}": shape {arr.shape}, '
                                          f"expected {np.shape(want)}.", case)
            if not np.allclose(arr, want, rtol=rtol, atol=atol):
                return CheckResult(False, f'{FAIL} {name} fails case "{case}":\n  expected '
                                          f"{fmt(want)}\n  got      {fmt(arr)}\n  Hint: "
                                          f"{hint(arr, want)}", case)
        return CheckResult(True, f"{OK} {name} passes all {len(_cases())} cases.")

    return guarded(check_name, verdict)


def check_cross_entropy_grad(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(logits, labels)`` = d(mean softmax cross-entropy)/d(logits), against finite differences.

    Used in: notebooks/07_training.ipynb
    """
    def expected(z, y):
        # finite differences where they are accurate; the formula for the huge logits
        if np.abs(z).max() > 100:
            return training.cross_entropy_grad(z, y)
        return _finite_differences(z, y)

    def hint(got, want):
        n = want.shape[0]
        if np.allclose(got, want * n, atol=1e-5):
            return "you returned the gradient of the SUM of the losses: divide by n (it is a mean)."
        if np.allclose(got, -want, atol=1e-5):
            return "the sign is flipped: the gradient is p - onehot(y), not onehot(y) - p."
        if not np.isfinite(got).all():
            return "NaN or inf: shift each row by its max before exp (lesson 01)."
        return "start from p = softmax(z) row by row, subtract 1 at each sample's label, divide by n."

    return _run_cases("check_cross_entropy_grad", fn, expected, hint, rtol=1e-5, atol=1e-7)


def check_stablemax_cross_entropy(fn: Callable[..., Any] | None) -> CheckResult:
    """Check ``fn(logits, labels)`` = mean -log stablemax(z)_y (a float).

    Used in: notebooks/07_training.ipynb
    """
    def expected(z, y):
        return training.cross_entropy(z, y, activation="stablemax")

    def hint(got, want):
        if np.isclose(got, -want):
            return "the sign: the loss is MINUS log of the probability."
        return ("s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0; p = s(z) / sum(s(z)) per row; "
                "loss = mean over samples of -log p at the label.")

    return _run_cases("check_stablemax_cross_entropy", fn, expected, hint, rtol=1e-7, atol=1e-10)


def check_collapse_prediction(answer: str | None) -> CheckResult:
    """Check the prediction of which run collapses first: one of ``RUNS``.

    Used in: notebooks/07_training.ipynb
    """
    def verdict():
        if answer is None:
            return CheckResult(None, f"{TODO} not done yet: set `answer` to one of {RUNS}.")
        if answer not in RUNS:
            return CheckResult(False, f"{FAIL} {answer!r} is not one of {RUNS}.")
        if answer == "softmax float32":
            return CheckResult(True, f"{OK} right: float32 has 24 significand bits, so 1 + e^-margin "
                                     f"rounds to 1 once the margin passes about 24 ln 2 = 16.6 "
                                     f"(float64: 53 ln 2 = 36.7; StableMax needs margins near 2^24).")
        return CheckResult(False, f"{FAIL} not {answer!r}. Hint: collapse needs e^-margin to vanish "
                                  f"next to 1. Which format has the fewest bits, and which "
                                  f"activation decays exponentially rather than like 1/margin?")

    return guarded("check_collapse_prediction", verdict)
