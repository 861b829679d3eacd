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
from typing import NamedTuple

import numpy as np

__all__ = ["CheckResult", "guarded"]  # Budget, TooSlow: plumbing for the check modules

#: Wall-clock seconds a check may spend in the student's function, in all...
BUDGET_SECONDS = 5.0
#: ...and in any one call (a merge or a softmax of a short row takes microseconds).
CALL_SECONDS = 2.0

OK, FAIL, TODO = "\N{CHECK MARK}", "\N{BALLOT X}", "\N{HOURGLASS}"


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
    return CheckResult(False, f"{FAIL} stopped after {passed} of {total} cases: {name} is too slow "
                              f"({exc}).\n  Hint: {hint}")


def fmt(a) -> str:
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


def fn_name(fn) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else "your function"  # lambdas are "<lambda>"


def _finish(result: CheckResult) -> CheckResult:
    print(result.message, flush=True)
    return result


def not_callable(check_name, fn) -> CheckResult | None:
    """The verdict for a missing or non-callable ``fn``, or None when it is callable."""
    if fn is None:
        return CheckResult(None, f"{TODO} not done yet: nothing to check yet. "
                                 f"Write your function and pass it in: {check_name}(my_function).")
    if not callable(fn):
        return CheckResult(False, f"{FAIL} pass your function itself, not its result "
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
        return _finish(CheckResult(False, f"{FAIL} {check_name} could not finish "
                                          f"({type(exc).__name__}: {exc}); please report this."))


class ArgCase(NamedTuple):
    """One named case of a check: the student's function is called as ``fn(*args)``."""

    name: str
    args: tuple


def _call_on_copies(fn, case):
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)
    with np.errstate(all="ignore"):  # the hints explain; numpy's warnings would only clutter
        return fn(*args)


def run_arg_cases(check_name, cases, fn, diagnose, summary) -> CheckResult:
    """Run ``fn(*case.args)`` on every :class:`ArgCase`, judge each result with
    ``diagnose(case, got)`` (None: right, else the hint text) and print one verdict.

    The shared loop of the lesson 00-02 checks; never raises.
    """
    def verdict():
        missing = not_callable(check_name, fn)
        if missing is not None:
            return missing
        name = fn_name(fn)
        failures = []
        for case in cases:
            try:
                got = _call_on_copies(fn, case)
            except NotImplementedError:
                return CheckResult(None, f"{TODO} not done yet: {name} raises "
                                         f"NotImplementedError. Replace the stub with your code.")
            except Exception as exc:  # a student bug: report it, never re-raise
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                failures.append((case.name, f"{name} raised {type(exc).__name__}"
                                 + (f": {first}" if first else "") + "."))
                continue
            if got is None:
                return CheckResult(None, f"{TODO} not done yet: {name} returned None (the "
                                         f"stub). Write your code in place of `return None`, "
                                         f"then run this cell again.")
            try:
                text = diagnose(case, got)
            except Exception as exc:  # an odd return value must not crash the check
                text = (f"the result could not be read as a number "
                        f"({type(exc).__name__}: {str(exc)[:120]}).")
            if text:
                failures.append((case.name, text))
        if not failures:
            return CheckResult(True, f"{OK} {name} passes all {len(cases)} cases ({summary}).")
        case_name, text = failures[0]
        message = f'{FAIL} {name} fails case "{case_name}":\n  {text}'
        others = [f'"{n}"' for n, _ in failures[1:]]
        if len(others) > 3:
            others = others[:3] + [f"and {len(others) - 3} more"]
        if others:
            message += "\n  Also failing: " + ", ".join(others) + "."
        return CheckResult(False, message, case_name)

    return guarded(check_name, verdict)
