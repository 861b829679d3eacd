"""Tests for softviz.exercises: the self-checks of the "Your turn" cells.

Each check must accept the reference solution, reject typical wrong answers
with a hint that names the failing case and the likely mistake, treat the stub
(returning None) as "not done yet", and never raise.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from softviz import exercises as ex
from softviz.exercises import (
    check_box_iou,
    check_condensation_bandwidth,
    check_gumbel_top_k,
    check_participation_ratio,
    check_relaxed_sample,
)

# --------------------------------------------------------------------------
# Reference solutions (the ones in notebooks/solutions/) and typical mistakes
# --------------------------------------------------------------------------

def softmax_solution(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def log_softmax_solution(z):
    m = np.max(z)
    return (z - m) - np.log(np.sum(np.exp(z - m)))


def naive_softmax(z):
    e = np.exp(z)
    return e / np.sum(e)


def mean_shift_softmax(z):
    # right on finite rows, but the mean of a row holding -inf is -inf -> NaN
    e = np.exp(z - np.mean(z))
    return e / np.sum(e)


def float64_softmax(z):
    return softmax_solution(np.asarray(z, dtype=float))


def unnormalised_softmax(z):
    return np.exp(z - np.max(z))


def reversed_softmax(z):
    e = np.exp(np.max(z) - z)
    return e / np.sum(e)


def in_place_softmax(z):
    z -= np.max(z)
    np.exp(z, out=z)
    z /= np.sum(z)
    return z


def zeroed_mask_softmax(z):
    # "get rid of the infinities" by replacing them with 0: the mask leaks
    return softmax_solution(np.where(np.isfinite(z), z, 0.0))


def log_of_softmax(z):
    return np.log(softmax_solution(z))


def naive_log_softmax(z):
    return z - np.log(np.sum(np.exp(z)))


def max_only_log_softmax(z):
    return z - np.max(z)


def float64_log_softmax(z):
    return log_softmax_solution(z.astype(float))


def finite_mask_log_softmax(z):
    return log_softmax_solution(np.nan_to_num(z))


def stub(z):
    return None


def raises(z):
    raise ValueError("operands could not be broadcast")


# --------------------------------------------------------------------------
# Accepting the right answers
# --------------------------------------------------------------------------

@pytest.mark.parametrize("check, fn", [
    (ex.check_softmax, softmax_solution),
    (ex.check_softmax, naive_softmax),  # the warm-up does not test overflow yet
    (ex.check_stable_softmax, softmax_solution),
    (ex.check_stable_log_softmax, log_softmax_solution),
])
def test_accepts_reference_solution(check, fn, capsys):
    result = check(fn)
    out = capsys.readouterr().out
    assert result.passed is True and bool(result)
    assert result.case is None
    assert out.strip() == result.message
    assert fn.__name__ in out and "passes all" in out


def test_accepts_the_library_functions_and_lambdas(capsys):
    import softviz

    assert ex.check_stable_softmax(softviz.softmax).passed is True
    assert ex.check_stable_log_softmax(softviz.log_softmax).passed is True
    assert ex.check_stable_softmax(softviz.reference.stable_softmax).passed is True
    result = ex.check_softmax(lambda z: softmax_solution(z))
    assert result.passed is True and "your function passes" in result.message


# --------------------------------------------------------------------------
# Rejecting typical wrong answers, with the right hint
# --------------------------------------------------------------------------

WRONG = [
    # check, wrong answer, the case that fails first, words the hint must contain
    (ex.check_softmax, lambda z: z / np.sum(z), "three logits [1, 2, 3]", "exponentiate first"),
    (ex.check_softmax, lambda z: np.exp(z), "three logits [1, 2, 3]", "not 1: divide"),
    (ex.check_softmax, lambda z: float(np.exp(z[0]) / np.sum(np.exp(z))), "three logits [1, 2, 3]",
     "shape"),
    (ex.check_stable_softmax, naive_softmax, "overflow, float64 (logits ~ 1000)",
     "did you subtract the max before exp?"),
    (ex.check_stable_softmax, mean_shift_softmax, "-inf mask, float64", "masked (-inf)"),
    (ex.check_stable_softmax, float64_softmax, "overflow, float32 (logits ~ 100)",
     "float32 in, float32 out: your result is float64"),
    (ex.check_stable_softmax, unnormalised_softmax, "overflow, float64 (logits ~ 1000)",
     "divide the exps by their sum"),
    (ex.check_stable_softmax, reversed_softmax, "overflow, float64 (logits ~ 1000)", "reversed"),
    (ex.check_stable_softmax, in_place_softmax, "overflow, float64 (logits ~ 1000)", "in place"),
    (ex.check_stable_softmax, zeroed_mask_softmax, "-inf mask, float64", "exactly 0"),
    (ex.check_stable_log_softmax, log_of_softmax, "wide range, float64 ([5, 0, -800])",
     "-inf where a finite value was expected: compute z - logsumexp(z)"),
    (ex.check_stable_log_softmax, naive_log_softmax, "overflow, float64 (logits ~ 1000)",
     "overflowed"),
    (ex.check_stable_log_softmax, max_only_log_softmax, "overflow, float64 (logits ~ 1000)",
     "subtract logsumexp(z)"),
    (ex.check_stable_log_softmax, softmax_solution, "overflow, float64 (logits ~ 1000)",
     "look like probabilities"),
    (ex.check_stable_log_softmax, float64_log_softmax, "overflow, float32 (logits ~ 100)",
     "float32 in, float32 out"),
    (ex.check_stable_log_softmax, finite_mask_log_softmax, "-inf mask, float64", "exactly -inf"),
]


@pytest.mark.parametrize("check, fn, case, words", WRONG)
def test_rejects_wrong_answer_with_specific_hint(check, fn, case, words, capsys):
    result = check(fn)
    out = capsys.readouterr().out
    assert result.passed is False and not result
    assert result.case == case
    assert f'fails case "{case}"' in out, "the hint must name the failing case"
    assert words in " ".join(out.split()), out
    assert "expected =" in out and "got      =" in out


@pytest.mark.parametrize("check", [ex.check_softmax, ex.check_stable_softmax,
                                   ex.check_stable_log_softmax])
def test_every_check_rejects_at_least_two_wrong_answers(check):
    assert sum(1 for c, *_ in WRONG if c is check) >= 2


def test_underflow_hint():
    # guards against overflow only: shifts by the max when it is positive
    def underflows(z):
        e = np.exp(z - np.maximum(np.max(z), 0))
        return e / np.sum(e)

    result = ex.check_stable_softmax(underflows)
    assert result.case == "total underflow, float64 (all logits ~ -1000)"
    assert "0 / 0 is NaN" in result.message


def test_expected_and_got_are_short_and_rounded():
    result = ex.check_stable_softmax(naive_softmax)
    lines = [line.strip() for line in result.message.splitlines()]
    assert "expected = [0.0900306, 0.244728, 0.665241]" in lines
    assert "got      = [nan, nan, nan]" in lines
    assert len(lines) <= 7
    assert "and 3 more" in result.message  # other failing cases are summarised, not listed


# --------------------------------------------------------------------------
# Not done yet, and never raising
# --------------------------------------------------------------------------

@pytest.mark.parametrize("check", [ex.check_softmax, ex.check_stable_softmax,
                                   ex.check_stable_log_softmax])
@pytest.mark.parametrize("fn", [stub, None], ids=["stub", "None"])
def test_not_done_yet(check, fn, capsys):
    result = check(fn)
    out = capsys.readouterr().out
    assert result.passed is None and not result
    assert "not done yet" in out
    assert out.strip() == result.message


def test_not_implemented_stub_is_not_done_yet():
    def todo(z):
        raise NotImplementedError

    assert ex.check_stable_softmax(todo).passed is None


@pytest.mark.parametrize("check", [ex.check_softmax, ex.check_stable_softmax,
                                   ex.check_stable_log_softmax])
def test_raising_function_is_reported_not_raised(check, capsys):
    result = check(raises)
    out = capsys.readouterr().out
    assert result.passed is False
    assert "raises raised ValueError: operands could not be broadcast" in out
    assert f'fails case "{result.case}"' in out


@pytest.mark.parametrize("returned", [
    "abc", [[1.0, 2.0], [3.0]], {"p": 1}, np.array([1 + 1j, 0, 0]), np.ones((3, 3)), object(),
])
def test_odd_return_values_never_raise(returned, capsys):
    result = ex.check_stable_softmax(lambda z: returned)
    assert result.passed is False
    assert result.case == "overflow, float64 (logits ~ 1000)"
    assert capsys.readouterr().out.strip() == result.message


def test_passing_a_result_instead_of_a_function():
    result = ex.check_stable_softmax(np.array([0.2, 0.8]))
    assert result.passed is False
    assert "check_stable_softmax(my_function)" in result.message


def test_numpy_warnings_from_student_code_are_silenced(recwarn):
    ex.check_stable_softmax(naive_softmax)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_cases_are_not_modified_by_the_student():
    ex.check_stable_softmax(in_place_softmax)
    # the in-place function ran on copies, so running it again reports the same
    assert ex.check_stable_softmax(in_place_softmax).case == "overflow, float64 (logits ~ 1000)"
    assert ex.check_stable_softmax(softmax_solution).passed is True


def test_result_does_not_echo_in_a_notebook():
    # the check prints its message; IPython must not print the dataclass repr too
    result = ex.check_softmax(stub)
    assert hasattr(result, "_ipython_display_") and result._ipython_display_() is None


def test_public_names_resolve_and_every_check_is_listed():
    import importlib
    import pkgutil

    for name in ex.__all__:
        assert getattr(ex, name) is not None, name
    for info in pkgutil.iter_modules(ex.__path__):
        # checking: the shared machinery; grading: the coursework's test-cell helpers (assignments/)
        if info.name.startswith("_") or info.name in ("checking", "grading"):
            continue
        module = importlib.import_module(f"softviz.exercises.{info.name}")
        checks = {n for n in module.__all__ if n.startswith("check_")}
        assert checks, f"softviz.exercises.{info.name} exports no check"
        missing = checks - set(ex.__all__)
        assert not missing, f"not re-exported by softviz.exercises: {sorted(missing)}"
        for name in checks:
            assert getattr(ex, name) is getattr(module, name)


# --------------------------------------------------------------------------
# The shared Budget (softviz/exercises/checking.py): stop early, say how far
# --------------------------------------------------------------------------

def test_budget_stops_after_one_very_slow_call():
    from softviz.exercises.checking import Budget, TooSlow

    budget = Budget(total=10.0, per_call=0.01)
    assert budget.call(lambda x: x + 1, 1) == 2
    with pytest.raises(TooSlow, match="2 calls took"):
        budget.call(time.sleep, 0.05)
    assert budget.calls == 2 and budget.slowest >= 0.05


# --------------------------------------------------------------------------
# What the checks of lessons 00-05 share: stub, non-callable, a raising function
# --------------------------------------------------------------------------

CHECKS = [ex.check_logits_for_probabilities, ex.check_stablemax, ex.check_smooth_max]


@pytest.mark.parametrize("check", CHECKS)
def test_stub_is_not_done_yet(check, capsys):
    result = check(lambda *args: None)
    assert result.passed is None and not result
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", CHECKS)
def test_nothing_and_not_callable(check):
    assert check(None).passed is None
    result = check(np.array([1.0, 2.0]))
    assert result.passed is False and "pass your function itself" in result.message


@pytest.mark.parametrize("check", CHECKS)
def test_a_raising_function_is_reported_not_raised(check):
    def broken(*args):
        raise KeyError("oops")

    result = check(broken)
    assert result.passed is False
    assert "raised KeyError" in result.message


@pytest.mark.parametrize("check", CHECKS)
def test_an_odd_return_value_is_reported(check):
    result = check(lambda *args: "a string")
    assert result.passed is False


def test_new_checks_are_exported():
    for name in ("check_logits_for_probabilities", "check_stablemax", "check_smooth_max"):
        assert name in ex.__all__
        assert callable(getattr(ex, name))


def _stub(*args):
    return None


def _raises(*args):
    raise RuntimeError("boom")


@pytest.mark.parametrize("check", [check_relaxed_sample, check_gumbel_top_k, check_box_iou,
                                   check_participation_ratio, check_condensation_bandwidth])
def test_stub_none_and_raising_functions_never_raise(check, capsys):
    assert check(_stub).passed is None
    assert check(None).passed is None
    assert check(42).passed is False
    bad = check(_raises)
    assert bad.passed is False and "RuntimeError: boom" in bad.message
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["check_relaxed_sample", "check_gumbel_top_k", "check_box_iou",
                                  "check_participation_ratio", "check_condensation_bandwidth"])
def test_checks_of_lessons_03_05_are_exported(name):
    assert name in ex.__all__ and callable(getattr(ex, name))
