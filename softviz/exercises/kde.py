"""Self-check for lesson 05: log rho_hat(x) of a Gaussian KDE, computed stably.

The student writes ``my_log_density(x, data, h)`` for one query point x (d,)
and data (n, d): log[(1 / (n h^d)) sum_i K((x - y_i) / h)], K the standard
Gaussian density. Written as the log of a sum of exp, every term underflows to 0
in high dimension (the d = 200 cases), and log 0 = -inf; the fix is
logsumexp. Reference: ``softviz.kde.log_density``.

Used in: notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import kde
from ._check import _FAIL, _OK, _TODO, CheckResult, _name, _not_callable, guarded

__all__ = ["check_log_density"]


class _Case(NamedTuple):
    name: str
    x: np.ndarray
    data: np.ndarray
    h: float


def _cases():
    rng = np.random.default_rng(20240805)  # fixed: every student gets the same cases
    cases = [_Case("d = 1, three points", np.array([0.5]), np.array([[0.0], [1.0], [-2.0]]), 0.7)]
    for d, n, h, scale, note in ((2, 40, 0.4, 1.0, ""), (50, 300, 1.0, 1.0, ""),
                                 (200, 500, 0.25, 1.0, ", small h"), (200, 500, 2.0, 1.0, ", large h"),
                                 (200, 500, 1.0, 4.0, ", query far from the data")):
        data = rng.standard_normal((n, d))
        x = scale * rng.standard_normal(d)
        cases.append(_Case(f"d = {d}, n = {n}, h = {h}{note}", x, data, h))
    return tuple(cases)


_CASES = _cases()
_SUMMARY = "d = 1, 2, 50 and 200, small and large h, a far query"


def _diagnose(case, got):
    """None when ``got`` is right, else a hint naming the likely mistake."""
    want = kde.log_density(case.x, case.data, case.h)
    arr = np.asarray(got)
    if arr.ndim != 0 and arr.size != 1:
        return f"return one number (log rho_hat at the query point), got an array of shape {arr.shape}."
    try:
        value = float(arr.reshape(()))
    except (TypeError, ValueError):
        return f"the result could not be read as a number (got {type(got).__name__})."
    n, d = case.data.shape
    if math.isnan(value) or value == -math.inf:
        return ("got " + ("NaN" if math.isnan(value) else "-inf") +
                f": exp(-|x - y_i|^2 / (2 h^2)) underflows to 0 for every i here (the exponents "
                f"go down from {-np.min(((case.data - case.x) ** 2).sum(1)) / (2 * case.h ** 2):.0f}), "
                f"so the sum is 0 and log 0 = -inf. Take the log of the sum with logsumexp: "
                f"m + log(sum(exp(a_i - m))) with a_i the exponents and m = max(a_i) "
                f"(softviz.logsumexp does it).")
    if math.isinf(value):
        return "got +inf: look for an exp of a large positive number, or a division by 0."
    err = abs(value - want)
    if err <= 1e-8 + 1e-10 * abs(want):
        return None
    off = value - want
    terms = {
        "log n": math.log(n),
        "d log h": d * math.log(case.h),
        "(d/2) log(2 pi)": 0.5 * d * math.log(2 * math.pi),
        "(d/2) log(2 pi h^2)": 0.5 * d * math.log(2 * math.pi * case.h ** 2),
    }
    for what, size in terms.items():
        for sign, verb in ((1, "missing"), (-1, "counted twice")):
            if size != 0 and math.isclose(off, sign * size, rel_tol=1e-6, abs_tol=1e-8):
                return _normalisation_hint(what, verb)
    if value > 0 and math.isclose(math.log(value), want, rel_tol=1e-6):
        return "this is rho_hat itself: return its natural log."
    if math.isclose(value, want * math.log10(math.e), rel_tol=1e-6):
        return "this looks like log10: use the natural log (np.log)."
    return (f"off by {off:.6g}. Check each piece: -log n, -(d/2) log(2 pi h^2), and "
            f"logsumexp_i(-|x - y_i|^2 / (2 h^2)) (squared distance, divided by 2 h^2).")


def _normalisation_hint(what, verb):
    return (f"the result is off by exactly {what} ({verb}). The full formula is "
            f"log rho_hat = logsumexp_i(-|x - y_i|^2 / (2 h^2)) - log n - (d/2) log(2 pi h^2): "
            f"1/n averages, 1/h^d rescales the kernel, (2 pi)^(-d/2) normalises the Gaussian.")


def _verdict(fn):
    todo = _not_callable("check_log_density", fn)
    if todo is not None:
        return todo
    name = _name(fn)
    failures = []
    for case in _CASES:
        x, data = case.x.copy(), case.data.copy()
        try:
            with np.errstate(all="ignore"):  # the hint explains; numpy's warnings would only clutter
                got = fn(x, data, case.h)
        except NotImplementedError:
            return CheckResult(None, f"{_TODO} not done yet: {name} raises NotImplementedError. "
                                     f"Replace the stub with your code, then run this cell again.")
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            failures.append((case.name, f"{name} raised {type(exc).__name__}"
                             + (f": {first}" if first else "")
                             + ". The check calls it as fn(x, data, h) with x of shape (d,), "
                               "data of shape (n, d) and a float h."))
            continue
        if got is None:
            return CheckResult(None, f"{_TODO} not done yet: {name} returned None (the stub). "
                                     f"Write your code in place of `return None`, then run "
                                     f"this cell again.")
        hint = _diagnose(case, got)
        if hint is None and not (np.array_equal(x, case.x) and np.array_equal(data, case.data)):
            hint = "it changed x or data in place; work on new arrays (x - data, not x -= ...)."
        if hint:
            failures.append((case.name, hint, got))
    if not failures:
        return CheckResult(True, f"{_OK} {name} passes all {len(_CASES)} cases ({_SUMMARY}).")
    first = failures[0]
    case = next(c for c in _CASES if c.name == first[0])
    want = kde.log_density(case.x, case.data, case.h)
    lines = [f'{_FAIL} {name} fails case "{case.name}":']
    if len(first) == 3:
        lines.append(f"    expected log rho_hat = {want:.10g}")
        lines.append(f"    got                  = {_short(first[2])}")
    lines.append(f"  Hint: {first[1]}")
    others = [f'"{f[0]}"' for f in failures[1:]]
    if others:
        lines.append("  Also failing: " + ", ".join(others) + ".")
    return CheckResult(False, "\n".join(lines), case.name)


def _short(got):
    try:
        return f"{float(np.asarray(got).reshape(())):.10g}"
    except Exception:
        return repr(got)[:60]


def check_log_density(fn) -> CheckResult:
    """Check ``fn(x, data, h) == log rho_hat(x)`` for one query point x (d,) and data (n, d).

    Cases: d = 1, 2, 50 and 200 (where exp of every exponent underflows to 0, so
    a log of a plain sum gives -inf), small and large h. Prints a verdict with
    a hint and returns a :class:`CheckResult`; never raises.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    return guarded("check_log_density", lambda: _verdict(fn))
