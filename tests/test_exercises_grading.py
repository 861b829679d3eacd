"""softviz.exercises.grading: the helpers of the coursework's test cells (assignments/)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import softviz
from softviz.exercises import check_entropy, check_gumbel_max
from softviz.exercises.grading import (
    GradingFailure,
    assert_passes,
    delegated_calls,
    expect_answer,
    expect_sampler,
    expect_top_k,
    expect_values,
)


def good_entropy(p):
    p = np.asarray(p, dtype=float)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0))


def naive_entropy(p):
    return -np.sum(p * np.log(p))


CASES = [("two zeros", (np.array([0.25, 0.0, 0.75, 0.0]),), 0.5623351446188083),
         ("uniform over 4", (np.full(4, 0.25),), math.log(4))]


@pytest.fixture
def under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")


def test_assert_passes_in_the_students_kernel_prints_instead_of_raising(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert assert_passes(check_entropy, naive_entropy) is None
    out = capsys.readouterr().out
    assert out.startswith("\N{BALLOT X} not passed yet") and out.count("\n") == 1
    assert_passes(check_entropy, good_entropy)
    assert capsys.readouterr().out == ""


def test_assert_passes_is_quiet_and_raises_the_checks_message(capsys, under_nbgrader):
    assert_passes(check_entropy, good_entropy)
    with pytest.raises(GradingFailure, match="NaN: at p_i = 0"):
        assert_passes(check_entropy, naive_entropy)
    assert capsys.readouterr().out == ""  # the answer cell printed the verdict already


def test_assert_passes_on_a_stub(under_nbgrader):
    def stub(p):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not done yet"):
        assert_passes(check_entropy, stub)
    with pytest.raises(TypeError, match="check must be callable"):
        assert_passes(None, stub)


def test_expect_values_passes_a_right_function_and_returns_none():
    assert expect_values(good_entropy, CASES, check=check_entropy) is None


def test_expect_values_names_the_case_and_adds_the_self_checks_hint():
    with pytest.raises(GradingFailure) as info:
        expect_values(naive_entropy, CASES, check=check_entropy)
    text = str(info.value)
    assert 'hidden case "two zeros"' in text and "1 of 2 hidden cases" in text
    assert "NaN: at p_i = 0" in text  # the self-check's hint names the mistake


def test_expect_values_fails_a_function_that_hands_the_work_to_softviz():
    from softviz.temperature import entropy as alias  # an alias is caught too: the code object ran

    with pytest.raises(GradingFailure, match="calls softviz.temperature.entropy"):
        expect_values(lambda p: alias(p), CASES, forbid=("softviz.temperature.entropy",))
    # the same cases without the rule pass: the failure above is the delegation alone
    expect_values(lambda p: alias(p), CASES)


def test_delegated_calls_sees_nested_calls_and_restores_the_profiler():
    import sys

    def helper(p):
        return softviz.temperature.entropy(p)

    result, hits = delegated_calls(lambda p: helper(p), (np.full(2, 0.5),), ["softviz.temperature.entropy"])
    assert hits == ["softviz.temperature.entropy"] and math.isclose(result, math.log(2))
    assert sys.getprofile() is None
    _, none = delegated_calls(good_entropy, (np.full(2, 0.5),), ["softviz.temperature.entropy"])
    assert none == []
    with pytest.raises(ValueError, match="does not exist"):
        delegated_calls(good_entropy, (np.ones(1),), ["softviz.no_such_function"])
    with pytest.raises(TypeError, match="not one string"):
        delegated_calls(good_entropy, (np.ones(1),), "softviz.temperature.entropy")


def test_expect_values_compares_tuples_dtypes_specials_and_via():
    def merge(a, b):
        return max(a[0], b[0]), 1.0

    expect_values(merge, [("t", ((1.0, 0.5), (2.0, 0.5)), (2.0, 1.0))])
    with pytest.raises(GradingFailure, match="item 1"):
        expect_values(merge, [("t", ((1.0, 0.5), (2.0, 0.5)), (2.0, 2.0))])
    z32 = np.array([1.0, 2.0], dtype=np.float32)
    want = softviz.softmax(z32)
    with pytest.raises(GradingFailure, match="dtype float32"):
        expect_values(lambda z: softviz.softmax(z.astype(np.float64)), [("f32", (z32,), want)], same_dtype=True)
    expect_values(lambda z: np.array([-np.inf, 0.0]), [("mask", (z32,), np.array([-np.inf, 0.0]))])
    with pytest.raises(GradingFailure, match="expected"):
        expect_values(lambda z: np.array([np.nan, 0.0]), [("mask", (z32,), np.array([-np.inf, 0.0]))])
    # any shift of the logits is right when the result is compared through softmax
    p = np.array([0.2, 0.3, 0.5])
    expect_values(lambda q: np.log(q) + 7.0, [("shift", (p,), p)], via="softviz.softmax")


def test_expect_values_reports_exceptions_and_stubs():
    def raises(p):
        raise ZeroDivisionError("boom")

    with pytest.raises(GradingFailure, match="raised ZeroDivisionError: boom"):
        expect_values(raises, CASES)

    def stub(p):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not done"):
        expect_values(stub, CASES)
    with pytest.raises(GradingFailure, match="nothing to grade"):
        expect_values(None, CASES)


@pytest.mark.parametrize("bad, error, words", [
    ([], ValueError, "cases must be a non-empty list"),
    ([("x", 1, 2)], ValueError, "triple"),
])
def test_expect_values_refuses_malformed_cases(bad, error, words):
    with pytest.raises(error, match=words):
        expect_values(good_entropy, bad)


def test_expect_values_refuses_bad_tolerances():
    with pytest.raises(ValueError, match="rtol"):
        expect_values(good_entropy, CASES, rtol=-1.0)


def gumbel_max(logits, size, rng):
    return np.argmax(logits - np.log(-np.log(rng.random((size, len(logits))))), axis=-1)


def exponential_max(logits, size, rng):
    return np.argmax(logits - np.log(rng.random((size, len(logits)))), axis=-1)


def test_expect_sampler_accepts_gumbel_max_and_rejects_exponential_noise():
    z = np.array([-1.0, 4.0, 0.5, 2.0, -np.inf])
    p = softviz.softmax(z)
    expect_sampler(gumbel_max, z, p, seed=3)
    with pytest.raises(GradingFailure, match="not a softmax sampler") as info:
        expect_sampler(exponential_max, z, p, seed=3, check=check_gumbel_max)
    assert "exponential noise" in str(info.value)  # the self-check's hint


def test_expect_sampler_wants_reproducible_draws_and_valid_arguments():
    with pytest.raises(GradingFailure, match="not reproducible"):
        expect_sampler(lambda z, n, rng: np.random.default_rng().integers(0, 2, n), np.zeros(2), [0.5, 0.5])
    with pytest.raises(ValueError, match="probabilities"):
        expect_sampler(gumbel_max, np.zeros(2), [0.7, 0.7])
    with pytest.raises(ValueError, match="draws"):
        expect_sampler(gumbel_max, np.zeros(2), [0.5, 0.5], draws=3)
    with pytest.raises(TypeError, match="seed"):
        expect_sampler(gumbel_max, np.zeros(2), [0.5, 0.5], seed="1")


def test_expect_top_k_orders_the_draws():
    z = np.array([0.0, 1.0, 2.0])
    e = np.exp(z) / np.exp(z).sum()
    tuples = [(i, j) for i in range(3) for j in range(3) if i != j]
    probs = [e[i] * e[j] / (1 - e[i]) for i, j in tuples]

    def top_k(logits, k, rng):
        return np.argsort(-(logits + rng.gumbel(size=len(logits))))[:k]

    def reversed_top_k(logits, k, rng):
        return np.argsort(logits + rng.gumbel(size=len(logits)))[-k:]

    expect_top_k(top_k, z, 2, tuples, probs, draws=3000, seed=1)
    with pytest.raises(GradingFailure, match="not a draw without replacement"):
        expect_top_k(reversed_top_k, z, 2, tuples, probs, draws=3000, seed=1)
    with pytest.raises(ValueError, match="one distinct k-tuple"):
        expect_top_k(top_k, z, 2, tuples[:2], probs, draws=3000)


def test_expect_answer():
    expect_answer("a", "a")
    with pytest.raises(GradingFailure, match="still None"):
        expect_answer(None, "a")
    with pytest.raises(GradingFailure, match="not the right answer. because"):
        expect_answer("b", "a", why="because")
    with pytest.raises(TypeError, match="why"):
        expect_answer("a", "a", why=3)
