"""The lesson 08 checks (softviz.exercises.attention): the stubs are "not done yet", the
solutions pass, and each typical mistake fails with the hint that names it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from softviz import attention
from softviz.exercises import check_masked_tile_update, check_tile_size, check_tile_update


def update(state, scores, values):
    m, l_, o = state
    m_new = max(m, float(np.max(scores)))
    alpha = math.exp(m - m_new)
    p = np.exp(scores - m_new)
    return m_new, alpha * l_ + p.sum(), alpha * o + p @ values


def safe_update(state, scores, values):
    if max(state[0], float(np.max(scores))) == -math.inf:
        return state
    return update(state, scores, values)


def no_rescale(state, scores, values):
    m, l_, o = state
    m_new = max(m, float(np.max(scores)))
    p = np.exp(scores - m_new)
    return m_new, l_ + p.sum(), o + p @ values


def unshifted(state, scores, values):
    m, l_, o = state
    m_new = max(m, float(np.max(scores)))
    p = np.exp(scores)
    return m_new, l_ + p.sum(), o + p @ values


def tile(cache, d):
    b = 1
    while 2 * b <= 4096 and attention.tile_working_set(2 * b, 2 * b, d) <= cache:
        b *= 2
    return b


def tile_scores_only(cache, d):
    b = 1
    while 4 * (2 * b) ** 2 <= cache:
        b *= 2
    return b


def _out(capsys):
    return capsys.readouterr().out


@pytest.mark.parametrize("check", [check_tile_update, check_masked_tile_update, check_tile_size])
def test_stubs_are_not_done(check, capsys):
    assert check(lambda *a: None).passed is None
    assert "not done yet" in _out(capsys)
    assert check(None).passed is None


def test_the_solutions_pass(capsys):
    assert check_tile_update(update).passed is True
    assert check_masked_tile_update(safe_update).passed is True
    assert check_tile_size(tile).passed is True
    assert "this machine's L2" in _out(capsys) or attention.cache_size(2) is None


def test_forgetting_the_rescale(capsys):
    res = check_tile_update(no_rescale)
    assert res.passed is False and "exp(m - m')" in _out(capsys)


def test_no_max_shift_overflows(capsys):
    res = check_tile_update(unshifted)
    assert res.passed is False
    assert "overflow" in _out(capsys) or res.case is not None


def test_exercise_one_solution_hits_the_masked_edge_case(capsys):
    assert check_tile_update(update).passed is True
    _out(capsys)
    res = check_masked_tile_update(update)
    assert res.passed is False and "-inf - (-inf)" in _out(capsys)


def test_a_raising_function_is_reported(capsys):
    def broken(state, scores, values):
        raise KeyError("oops")

    res = check_tile_update(broken)
    assert res.passed is False and "KeyError" in _out(capsys)


def test_tile_size_mistakes(capsys):
    res = check_tile_size(tile_scores_only)
    assert res.passed is False and "b^2" in _out(capsys)
    assert check_tile_size(lambda c, d: 100).passed is False
    assert "power of two" in _out(capsys)
    assert check_tile_size(42).passed is False
