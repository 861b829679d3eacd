"""Tests for the self-checks added to lessons 00-02: logits for a probability vector
(lesson 00), StableMax (lesson 01) and a safe smooth max (lesson 02).

Each check must accept a right answer (the solution notebooks' code), reject the
typical mistakes with a hint naming them, call the stub "not done yet" and
never raise.
"""
from __future__ import annotations

import numpy as np
import pytest

import softviz
from softviz import exercises as ex
from softviz.reference import stablemax

# --------------------------------------------------------------------------
# check_logits_for_probabilities (lesson 00)
# --------------------------------------------------------------------------

def logits_solution(p):
    return np.log(p)


@pytest.mark.parametrize("fn", [logits_solution,
                                lambda p: np.log(p) + 7.0,           # any shift is fine
                                lambda p: np.log(np.maximum(p, 1e-300))])
def test_logits_check_accepts_right_answers(fn, capsys):
    result = ex.check_logits_for_probabilities(fn)
    assert result.passed is True, result.message
    assert "passes all 5 cases" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (lambda p: p, "probabilities themselves"),
    (lambda p: np.exp(p), "exp goes the wrong way"),
    (lambda p: -np.log(p), "sign is flipped"),
    (lambda p: np.log2(p), "natural log"),
    (lambda p: np.log(p)[:-1], "shape"),
    (lambda p: np.sqrt(p), "z_i = ln p_i works"),
])
def test_logits_check_names_the_mistake(fn, words):
    result = ex.check_logits_for_probabilities(fn)
    assert result.passed is False
    assert words in result.message
    assert result.case is not None and result.case in result.message


def test_logits_check_zero_entry_needs_minus_inf():
    # replacing log(0) = -inf by 0 gives the zero class a real share
    result = ex.check_logits_for_probabilities(lambda p: np.where(p > 0, np.log(np.where(p > 0, p, 1)), 0.0))
    assert result.passed is False and result.case == "a zero entry p = [0.7, 0.3, 0]"


# --------------------------------------------------------------------------
# check_stablemax (lesson 01)
# --------------------------------------------------------------------------

def stablemax_solution(z):
    s = np.where(z >= 0, z + 1, 1 / (1 - z))
    return s / np.sum(s)


def test_stablemax_solution_matches_the_reference():
    z = np.array([20.0, 0.0, -5.0, -np.inf, 3.5])
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(stablemax_solution(z), stablemax(z), rtol=1e-15)


def test_stablemax_check_accepts_the_solution(capsys):
    result = ex.check_stablemax(stablemax_solution)
    assert result.passed is True, result.message
    assert "passes all 6 cases" in capsys.readouterr().out


def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


@pytest.mark.parametrize("fn, words", [
    (_softmax, "this is softmax"),
    (lambda z: stablemax_solution(z - np.max(z)), "shifted by the max"),
    (lambda z: np.where(z >= 0, z + 1, 1 / (1 - z)), "divide them by their sum"),
    (lambda z: (lambda s: s / s.sum())(np.where(z >= 0, z + 1, 1 / (1 + np.abs(z)) ** 2)), "check s"),
    (lambda z: np.full(z.shape, np.nan), "NaN"),
])
def test_stablemax_check_names_the_mistake(fn, words):
    result = ex.check_stablemax(fn)
    assert result.passed is False
    assert words in result.message


# --------------------------------------------------------------------------
# check_smooth_max (lesson 02)
# --------------------------------------------------------------------------

def smooth_max_solution(z, T):
    m = np.max(z)
    return m + T * np.log(np.sum(np.exp((z - m) / T)))


def test_smooth_max_solution_matches_the_library():
    z = np.array([1.0, 2.0, 3.0])
    for T in (0.01, 1.0, 10.0):
        assert smooth_max_solution(z, T) == pytest.approx(softviz.temperature.smooth_max(z, T),
                                                          rel=1e-14)


def test_smooth_max_check_accepts_the_solution(capsys):
    result = ex.check_smooth_max(smooth_max_solution)
    assert result.passed is True, result.message
    assert "passes all 6 cases" in capsys.readouterr().out


@pytest.mark.parametrize("fn, case, words", [
    (lambda z, T: T * np.log(np.sum(np.exp(z / T))), "z = [1, 2, 3], T = 0.001 (z / T up to 3000)",
     "overflowed"),
    (lambda z, T: T * np.log(np.sum(np.exp(z / T))) if z.max() < 0 else smooth_max_solution(z, T),
     "z = [-1000, -1001], T = 1 (underflow)", "underflowed"),
    (lambda z, T: smooth_max_solution(z, T) / T, "z = [1, 2, 3], T = 0.001 (z / T up to 3000)",
     "multiply it by T"),
    (lambda z, T: np.max(z) + T * np.log(z.size), "z = [1, 2, 3], T = 1", "upper bound"),
    (lambda z, T: smooth_max_solution(z, 1.0), "z = [1, 2, 3], T = 0.001 (z / T up to 3000)",
     "divide the logits by T"),
    (lambda z, T: float(np.max(z)), "z = [1, 2, 3], T = 1", "this is max z"),
])
def test_smooth_max_check_names_the_mistake(fn, case, words):
    result = ex.check_smooth_max(fn)
    assert result.passed is False
    assert result.case == case
    assert words in result.message


# --------------------------------------------------------------------------
# What every new check shares: stub, non-callable, a raising function
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
