"""Lesson 06's new self-checks: the two-pass (mantissa, exponent) merge and the memory floors."""
import math

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
