"""softviz.exercises.temperature (lesson 02): a safe smooth max.

Each check must accept a right answer (the solution notebooks' code), reject the
typical mistakes with a hint naming them, call the stub "not done yet" and
never raise (what every check shares is tested in tests/test_exercises.py).
"""
from __future__ import annotations

import numpy as np
import pytest

import softviz
from softviz import exercises as ex

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
