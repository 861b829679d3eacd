"""softviz.exercises.start_here (lesson 00): logits for a probability vector.

Each check must accept a right answer (the solution notebooks' code), reject the
typical mistakes with a hint naming them, call the stub "not done yet" and
never raise (what every check shares is tested in tests/test_exercises.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from softviz import exercises as ex

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
