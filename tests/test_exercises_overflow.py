"""softviz.exercises.overflow (lesson 01): StableMax (the overflow-safe softmax checks are
tested with the warm-up in tests/test_exercises.py).

Each check must accept a right answer (the solution notebooks' code), reject the
typical mistakes with a hint naming them, call the stub "not done yet" and
never raise (what every check shares is tested in tests/test_exercises.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from softviz import exercises as ex
from softviz.reference import stablemax

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
