"""sympy derivations for lesson 01: shift invariance, log-sum-exp, why c = max(z) is safe,
and the gradients behind softmax collapse.

Each function returns a ``Derivation``: a chain of expressions, each equal to
the one before, with the reason for every step (and, for the bounds, a few
derived facts). A notebook cell that ends with one shows it as typeset maths;
the tests check every step with sympy, so what the student reads is algebra
that was verified, not typed in.

The collapse part follows Prieto, Barsbey, Mediano and Birdal, "Grokking at
the Edge of Numerical Stability" (2025, arXiv:2501.04697).

Used in: notebooks/01_overflow.ipynb
"""
from __future__ import annotations

import dataclasses

import sympy as sp
from sympy.calculus.util import function_range
from sympy.simplify.simplify import factor_sum

from .. import _validate

__all__ = [
    "Derivation",
    "shift_invariance",
    "logsumexp_derivation",
    "log_softmax_derivation",
    "max_shift_bounds",
    "collapse_gradients",
    "collapse_point",
]

# One set of symbols for the whole lesson: logits z_1..z_n, a shift c, the row max m.
z = sp.IndexedBase("z", real=True)
i, j = sp.symbols("i j", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)
c = sp.Symbol("c", real=True)
m = sp.Symbol("m", real=True)
D = sp.Symbol("D", nonnegative=True)
p = sp.Symbol("p", integer=True, positive=True)


@dataclasses.dataclass(frozen=True, repr=False)
class Derivation:
    """A derivation to show in a notebook: ``chain`` and ``facts``, each step with its reason.

    ``chain`` is a tuple of ``(expression, reason)``; expression k equals
    expression k - 1 (the first reason says what the chain starts from).
    ``facts`` is a tuple of ``(statement, reason)`` with sympy relations or
    set memberships. Displays as LaTeX (``_repr_latex_``) in a notebook and
    as plain text elsewhere.

    Used in: notebooks/01_overflow.ipynb
    """

    title: str
    chain: tuple = ()
    facts: tuple = ()

    @property
    def expressions(self) -> list[sp.Expr]:
        """The expressions of the chain, in order (all equal)."""
        return [expr for expr, _ in self.chain]

    def _repr_latex_(self) -> str:
        rows = [rf"\textbf{{{self.title}}} & &&"]
        for k, (expr, reason) in enumerate(self.chain):
            lead = sp.latex(expr) if k == 0 else ""
            body = "" if k == 0 else "= " + sp.latex(expr)
            rows.append(rf"{lead} &{body} && {_reason_latex(reason)}")
        rows += [rf"{sp.latex(stmt)} & && {_reason_latex(reason)}" for stmt, reason in self.facts]
        return r"$$\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}$$"

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [self.title]
        lines += [f"{'  ' if k == 0 else '= '}{sp.sstr(expr)}    ({reason.replace('$', '')})"
                  for k, (expr, reason) in enumerate(self.chain)]
        lines += [f"  {sp.sstr(stmt)}    ({reason.replace('$', '')})" for stmt, reason in self.facts]
        return "\n".join(lines)


def _reason_latex(reason: str) -> str:
    """A reason with $...$ math parts as LaTeX: words in \\text{}, math as it is."""
    parts = reason.split("$")
    return r"\quad " + "".join(part if k % 2 else (rf"\text{{{part}}}" if part else "")
                                 for k, part in enumerate(parts))


def _ratio(num: sp.Expr, den: sp.Expr) -> sp.Expr:
    """num / den kept as written (sympy would cancel common factors at once)."""
    return sp.Mul(num, sp.Pow(den, -1, evaluate=False), evaluate=False)


def _sum(expr: sp.Expr) -> sp.Expr:
    return sp.Sum(expr, (j, 1, n))


def shift_invariance() -> Derivation:
    """softmax(z - c)_i = softmax(z)_i for every constant c: only differences of logits matter.

    Used in: notebooks/01_overflow.ipynb
    """
    start = _ratio(sp.exp(z[i] - c), _sum(sp.exp(z[j] - c)))
    # e^{a - c} = e^{-c} e^{a}, then the constant factor leaves the sum (factor_sum).
    num = sp.expand(sp.exp(z[i] - c))
    den = factor_sum(_sum(sp.expand(sp.exp(z[j] - c))))
    middle = _ratio(num, den)
    end = sp.exp(z[i]) / _sum(sp.exp(z[j]))
    return Derivation("Shift invariance", (
        (start, "$\\operatorname{softmax}(z - c)_i$ by definition"),
        (middle, "$e^{a - c} = e^{-c} e^a$; the constant $e^{-c}$ leaves the sum"),
        (end, "$e^{-c}$ cancels: this is $\\operatorname{softmax}(z)_i$"),
    ))


def logsumexp_derivation() -> Derivation:
    """log sum_j e^{z_j} = c + log sum_j e^{z_j - c} for every c (the log-sum-exp trick).

    Used in: notebooks/01_overflow.ipynb
    """
    start = sp.log(_sum(sp.exp(z[j])))
    # Multiply by e^c e^(-c) = 1 inside the log; the factor e^(-c) enters the sum.
    middle = sp.log(sp.Mul(sp.exp(c), _sum(sp.exp(z[j] - c)), evaluate=False), evaluate=False)
    end = c + sp.log(_sum(sp.exp(z[j] - c)))
    return Derivation("Log-sum-exp", (
        (start, "$\\operatorname{LSE}(z)$ by definition"),
        (middle, "multiply by $e^{c} e^{-c} = 1$"),
        (end, "$\\log(ab) = \\log a + \\log b$ and $\\log e^{c} = c$"),
    ))


def log_softmax_derivation() -> Derivation:
    """log softmax(z)_i = z_i - LSE(z) = (z_i - c) - log sum_j e^{z_j - c}: never log of a softmax.

    Used in: notebooks/01_overflow.ipynb
    """
    start = sp.log(sp.exp(z[i]) / _sum(sp.exp(z[j])))
    middle = z[i] - sp.log(_sum(sp.exp(z[j])))
    end = (z[i] - c) - sp.log(_sum(sp.exp(z[j] - c)))
    return Derivation("Log-softmax", (
        (start, "$\\log \\operatorname{softmax}(z)_i$"),
        (middle, "$z_i - \\operatorname{LSE}(z)$"),
        (end, "the log-sum-exp trick with shift $c$"),
    ))


def max_shift_bounds() -> Derivation:
    """Why c = m = max_j z_j is safe: every exp lies in (0, 1], the sum in [1, n], its log in [0, log n].

    The ranges are computed by sympy (``function_range``), not typed in. With
    them: nothing overflows (every exp <= 1), the sum is at least 1 (the
    largest logit contributes e^0 = 1), so there is no 0 / 0 and no log 0,
    and log-softmax z_i - m - log(sum) is a difference of two non-positive
    numbers (no cancellation).

    Used in: notebooks/01_overflow.ipynb
    """
    t, s = sp.Symbol("t", real=True), sp.Symbol("s", positive=True)
    exp_range = function_range(sp.exp(t), t, sp.Interval(-sp.oo, 0))
    log_range = function_range(sp.log(s), s, sp.Interval(1, n))
    shifted = sp.exp(z[j] - m)
    total = _sum(shifted)
    return Derivation("Why c = max(z) is safe", facts=(
        (z[j] - m <= 0, "$m$ is the largest logit"),
        (sp.Contains(shifted, exp_range, evaluate=False), "$e^t$ for $t \\le 0$: no overflow"),
        (sp.Contains(total, sp.Interval(1, n), evaluate=False),
         "the largest logit adds $e^0 = 1$, each term is at most 1"),
        (sp.Contains(sp.log(total), log_range, evaluate=False),
         "so no $0/0$ and no $\\log 0$"),
    ))


def collapse_gradients() -> Derivation:
    """The loss gradient of the correct class for logits [D, 0]: softmax versus StableMax.

    Softmax cross-entropy L = -log(e^D / (e^D + 1)) has dL/dD = -1 / (e^D + 1),
    which shrinks like e^-D; StableMax (s(x) = x + 1 for x >= 0) has
    L = -log((D + 1) / (D + 2)) and dL/dD = -1 / ((D + 1)(D + 2)), which
    shrinks only like 1 / D^2. The derivatives are computed by sympy. From
    Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
    Stability" (2025, arXiv:2501.04697).

    Used in: notebooks/01_overflow.ipynb
    """
    soft = -sp.log(sp.exp(D) / (sp.exp(D) + 1))
    stable = -sp.log((D + 1) / (D + 2))
    d_soft = sp.simplify(sp.diff(soft, D))
    d_stable = sp.factor(sp.diff(stable, D))
    return Derivation("Gradient of the correct class, logits [D, 0]", facts=(
        (sp.Eq(sp.Derivative(soft, D), d_soft, evaluate=False), "softmax: shrinks like $e^{-D}$"),
        (sp.Eq(sp.Derivative(stable, D), d_stable, evaluate=False),
         "StableMax: shrinks only like $1/D^2$"),
    ))


def collapse_point(precision: int | None = None) -> sp.Expr:
    """The gap D at which e^-D reaches 2^-p, where 1 + e^-D is absorbed by 1: D = p log 2.

    Solved by sympy from e^-D = 2^-p. With ``precision`` (p, e.g. 24 for
    float32) the value is substituted; without it the result is symbolic in
    ``p``. Compare ``softviz.numerics.collapse_threshold``.

    Used in: notebooks/01_overflow.ipynb
    """
    if precision is not None:
        # p counts the bits of a significand: a positive integer (sympy's p is one)
        precision = _validate.integer("precision", precision, lo=1)
    (solution,) = sp.solve(sp.Eq(sp.exp(-D), 2 ** -p), D)
    return solution if precision is None else solution.subs(p, precision)
