"""The machinery every self-check shares: ``CheckResult``, the verdict marks,
short array rendering, ``guarded`` (print the verdict, never raise) and
``Budget`` (stop calling a slow student function after a few seconds).

A check module of this package builds its verdict as a ``CheckResult`` and
wraps the work in :func:`guarded`, so a bug of ours or of the student's can
never stop a notebook that executes top to bottom.

Used in: every notebook's "Your turn" cell (through softviz.exercises).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

__all__ = ["CheckResult", "guarded"]  # Budget, TooSlow: plumbing for the check modules

#: Wall-clock seconds a check may spend in the student's function, in all...
BUDGET_SECONDS = 5.0
#: ...and in any one call (a merge or a softmax of a short row takes microseconds).
CALL_SECONDS = 2.0

_OK, _FAIL, _TODO = "\N{CHECK MARK}", "\N{BALLOT X}", "\N{HOURGLASS}"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What a check found: ``passed`` is True (right), False (wrong) or None (not done yet).

    ``message`` is the text the check printed; ``case`` names the first failing
    case (None when there is none). ``bool(result)`` is True only for a pass.

    Returned by every check of softviz.exercises (every notebook).
    """

    passed: bool | None
    message: str
    case: str | None = None

    def __bool__(self):
        return self.passed is True

    def _ipython_display_(self):
        # The check already printed its message; without this a notebook cell
        # ending in check_...(fn) would also show the dataclass repr as Out[n].
        pass


class TooSlow(Exception):
    """Raised by :class:`Budget` when the student's function used up the time budget."""

    def __init__(self, calls: int, elapsed: float, slowest: float):
        super().__init__(f"{calls} call{'s' if calls != 1 else ''} took {elapsed:.1f} s "
                         f"(the slowest {slowest:.2f} s)")
        self.calls, self.elapsed, self.slowest = calls, elapsed, slowest


class Budget:
    """Times the calls a check makes to the student's function; raises :class:`TooSlow`.

    A call is never interrupted (that would need signals a notebook may not
    allow); the check stops before the next call once one call took more than
    ``per_call`` seconds or all calls together more than ``total`` seconds.
    """

    def __init__(self, total: float | None = None, per_call: float | None = None):
        self.total = BUDGET_SECONDS if total is None else total
        self.per_call = CALL_SECONDS if per_call is None else per_call
        self.calls, self.elapsed, self.slowest = 0, 0.0, 0.0

    def call(self, fn, *args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.perf_counter() - start
            self.calls += 1
            self.elapsed += took
            self.slowest = max(self.slowest, took)
            if took > self.per_call or self.elapsed > self.total:
                raise TooSlow(self.calls, self.elapsed, self.slowest)


def too_slow_result(name: str, exc: TooSlow, passed: int, total: int, hint: str) -> CheckResult:
    """The verdict for a function stopped by its :class:`Budget` after ``passed`` of ``total`` cases."""
    return CheckResult(False, f"{_FAIL} stopped after {passed} of {total} cases: {name} is too slow "
                              f"({exc}).\n  Hint: {hint}")


def _fmt(a) -> str:
    """A short rendering of an array for a hint line: 6 significant digits, at most 6 entries."""
    try:
        a = np.asarray(a)
    except Exception:  # e.g. a ragged list: show what it is, briefly
        return repr(a)[:80]
    if a.dtype.kind not in "biuf":
        return repr(a.tolist())[:80]
    values = [f"{v:.6g}" for v in a.astype(np.float64).ravel()]
    if len(values) > 6:
        values = values[:3] + ["..."] + values[-3:]
    text = "[" + ", ".join(values) + "]"
    return text[1:-1] if a.ndim == 0 else text


def _name(fn) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else "your function"  # lambdas are "<lambda>"


def _finish(result: CheckResult) -> CheckResult:
    print(result.message, flush=True)
    return result


def _not_callable(check_name, fn) -> CheckResult | None:
    """The verdict for a missing or non-callable ``fn``, or None when it is callable."""
    if fn is None:
        return CheckResult(None, f"{_TODO} not done yet: nothing to check yet. "
                                 f"Write your function and pass it in: {check_name}(my_function).")
    if not callable(fn):
        return CheckResult(False, f"{_FAIL} pass your function itself, not its result "
                                  f"(got a {type(fn).__name__}): {check_name}(my_function).")
    return None


def guarded(check_name: str, verdict: Callable[[], CheckResult]) -> CheckResult:
    """Run ``verdict()``, print its message and return it; never raise.

    ``check_name`` names the check in the message shown if ``verdict`` itself
    fails (a bug of ours must not stop a student's notebook either).
    """
    try:
        return _finish(verdict())
    except Exception as exc:
        return _finish(CheckResult(False, f"{_FAIL} {check_name} could not finish "
                                          f"({type(exc).__name__}: {exc}); please report this."))
