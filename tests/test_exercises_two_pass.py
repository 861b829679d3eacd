"""softviz.exercises.two_pass (lesson 06): the online merge (and the Budget that stops a slow
function), the two-pass (mantissa, exponent) merge and the memory floors."""
import math
import time

import pytest

from softviz import exercises as ex
from softviz.exercises import check_extexp_merge, check_memory_floor


def _right_merge(a, b):
    e = max(a[1], b[1])
    if e == -math.inf:
        return 0.0, e
    return a[0] * 2.0 ** (a[1] - e) + b[0] * 2.0 ** (b[1] - e), e


def test_extexp_merge_accepts_the_right_rule():
    assert check_extexp_merge(_right_merge).passed is True


def test_extexp_merge_not_done_and_not_callable():
    assert check_extexp_merge(None).passed is None
    assert check_extexp_merge(lambda a, b: None).passed is None
    assert check_extexp_merge(3).passed is False


def test_extexp_merge_catches_typical_mistakes(capsys):
    def no_rescale(a, b):
        return a[0] + b[0], max(a[1], b[1])

    def base_e(a, b):
        e = max(a[1], b[1])
        return a[0] * math.exp(a[1] - e) + b[0] * math.exp(b[1] - e), e

    def smaller_exponent(a, b):
        e = min(a[1], b[1])
        return a[0] * 2.0 ** (a[1] - e) + b[0] * 2.0 ** (b[1] - e), e

    def explodes(a, b):
        raise ZeroDivisionError("oops")

    for fn, hint in ((no_rescale, "different powers of two"), (base_e, "powers of 2, not of e"),
                     (smaller_exponent, "larger exponent"), (explodes, "raised ZeroDivisionError")):
        result = check_extexp_merge(fn)
        assert result.passed is False and hint in result.message, result.message


def test_memory_floor_right_and_wrong():
    def floor(algorithm, read_ns, copy_ns):
        reads, copies = {"three_pass_reload": (1, 2), "three_pass_recompute": (2, 1)}.get(algorithm, (1, 1))
        return reads * read_ns + copies * copy_ns

    ok = check_memory_floor(floor)
    assert ok.passed is True and "1.33x" in ok.message
    bad = check_memory_floor(lambda algorithm, r, c: r + c)
    assert bad.passed is False and "three_pass_reload" in bad.message and "Hint" in bad.message
    assert check_memory_floor(None).passed is None


# --------------------------------------------------------------------------
# check_online_merge (lesson 06) and the shared Budget: stop early, say how far
# --------------------------------------------------------------------------

def _merge_solution(a, b):
    (ma, sa), (mb, sb) = a, b
    m = max(ma, mb)
    if m == -math.inf:
        return m, 0.0
    return m, sa * math.exp(ma - m) + sb * math.exp(mb - m)


def test_online_merge_accepts_the_solution(capsys):
    result = ex.check_online_merge(_merge_solution)
    assert result.passed is True and "all 47 cases" in capsys.readouterr().out


def test_online_merge_stops_at_the_first_failure_and_says_how_far_it_got():
    calls = []

    def forgets_the_empty_state(a, b):
        calls.append(1)
        (ma, sa), (mb, sb) = a, b
        m = max(ma, mb)
        return m, sa * math.exp(ma - m) + sb * math.exp(mb - m)  # NaN for two empty states

    result = ex.check_online_merge(forgets_the_empty_state)
    assert result.passed is False
    # the first three hand-made cases pass, the fourth (two empty chunks) fails
    assert "(3 of 47 cases passed before it)" in result.message
    assert "(-inf, 0)" in result.message
    assert len(calls) < 30  # stopped there, not after all 47 cases


def test_online_merge_stops_a_slow_function_within_the_budget(monkeypatch):
    from softviz.exercises import checking

    monkeypatch.setattr(checking, "BUDGET_SECONDS", 0.3)

    def slow(a, b):
        time.sleep(0.02)
        return _merge_solution(a, b)

    start = time.perf_counter()
    result = ex.check_online_merge(slow)
    assert time.perf_counter() - start < 2.0
    assert result.passed is False
    assert "stopped after" in result.message and "of 47 cases" in result.message
    assert "too slow" in result.message


@pytest.mark.parametrize("bad", [None, "x", b"\x00", 3, [], object()])
def test_online_merge_never_raises_on_a_non_function(bad):
    result = ex.check_online_merge(bad)
    assert result.passed is not True
