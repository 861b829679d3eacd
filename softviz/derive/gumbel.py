"""sympy proof sketches of the Gumbel lesson: the Gumbel-max trick and the binary Concrete CDF.

Each function returns a list of :class:`Step` (a sentence and a sympy
equation). Every right-hand side is computed by sympy (a derivative, an
integral, a substitution), not typed in, and the tests check each step
symbolically and numerically.

Gumbel-max (Jang et al. 2017, arXiv:1611.01144; Maddison et al. 2017,
arXiv:1611.00712): with X_j = z_j + G_j, G_j standard Gumbel,

    P(argmax_j X_j = 1) = integral f_1(x) prod_{j>1} F_j(x) dx = e^{z_1} / sum_j e^{z_j}.

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from .. import _validate

__all__ = ["Step", "CDF_NUMBER_LIMIT", "MAX_CLASSES", "gumbel_cdf", "gumbel_max_derivation", "binary_concrete_derivation"]


class Step(NamedTuple):
    """One line of a derivation: what is done (``text``) and the resulting ``equation``."""

    text: str
    equation: sp.Eq


#: Largest |value| gumbel_cdf takes as a plain number: beyond it exp(-exp(-(x - location)))
#: is 0 or 1 to any precision shown, and sympy's exact evaluation of a float there
#: (exp(-exp(1e12))) would need gigabytes.
CDF_NUMBER_LIMIT = 1000

#: Largest number of classes gumbel_max_derivation takes: the derivation is for reading,
#: and sympy's simplification of the n-fold product grows quickly with n.
MAX_CLASSES = 50


def _symbolic_or_real(name: str, value: object) -> sp.Expr | float:
    """``value`` if it is a sympy expression or a real number with |value| <= CDF_NUMBER_LIMIT."""
    if isinstance(value, sp.Basic) and not value.is_Number:
        return value
    # a sympy number is a number: the same range as a Python one
    number = float(value) if isinstance(value, sp.Number) and value.is_extended_real else value
    try:
        _validate.real_scalar(name, number, lo=-CDF_NUMBER_LIMIT, hi=CDF_NUMBER_LIMIT)
    except TypeError:
        raise TypeError(f"{name} must be a sympy expression or a real number, "
                        f"got {type(value).__name__} {_validate.short(value, 40)}") from None
    return value


def gumbel_cdf(x: sp.Expr | float, location: sp.Expr | float = 0) -> sp.Expr:
    """CDF of a Gumbel variable with the given location: exp(-exp(-(x - location))).

    ``x`` and ``location`` are sympy expressions (symbols, usually) or real numbers
    with absolute value at most ``CDF_NUMBER_LIMIT``.

    Used in: notebooks/03_gumbel.ipynb
    """
    x = _symbolic_or_real("x", x)
    location = _symbolic_or_real("location", location)
    return sp.exp(-sp.exp(-(x - location)))


def _change_to_t(integrand: sp.Expr, x: sp.Symbol, t: sp.Symbol) -> sp.Expr:
    """Substitute x = -log(t) (t = e^{-x}, dx = -dt/t): an integral over x in R becomes t in (0, oo)."""
    return sp.powsimp(sp.expand(integrand.subs(x, -sp.log(t)) / t), combine="exp")


def gumbel_max_derivation(n: int = 3) -> list[Step]:
    """Steps showing P(argmax_j (z_j + G_j) = 1) = softmax(z)_1 for ``n`` classes.

    1. CDF F_j and density f_j = F_j' of X_j = z_j + G_j;
    2. class 1 wins when X_1 = x and every other X_j < x: integrate f_1 prod F_j;
    3. the integrand collapses to e^{z_1} e^{-x} exp(-e^{-x} S), S = sum_j e^{z_j};
    4. with t = e^{-x} it is e^{z_1} e^{-t S} on (0, oo);
    5. which integrates to e^{z_1} / S = softmax(z)_1.

    Used in: notebooks/03_gumbel.ipynb
    """
    n = _validate.integer("n", n, lo=2, hi=MAX_CLASSES,
                          hi_reason="the number of classes of a derivation to read; "
                                    "sympy's work grows quickly with n")
    x = sp.Symbol("x", real=True)
    t = sp.Symbol("t", positive=True)
    z = sp.symbols(f"z1:{n + 1}", real=True)
    S = sp.Symbol("S", positive=True)
    F1, f1 = sp.Function("F_1"), sp.Function("f_1")
    P = sp.Function("P")

    cdf = gumbel_cdf(x, z[0])
    density = sp.diff(cdf, x)
    integrand = density * sp.Mul(*[gumbel_cdf(x, zj) for zj in z[1:]])
    total = sp.Add(*[sp.exp(zj) for zj in z])
    collapsed = sp.exp(z[0]) * sp.exp(-x) * sp.exp(-sp.exp(-x) * S)
    # The claim of step 3, checked here so a wrong sketch can never be shown.
    if sp.simplify(sp.expand(integrand - collapsed.subs(S, total), power_exp=True)) != 0:
        raise RuntimeError("the collapsed integrand does not match f_1 prod F_j")
    in_t = _change_to_t(collapsed, x, t)
    result = sp.integrate(in_t, (t, 0, sp.oo))
    # Symbol names in LaTeX: the notebook renders them as math.
    win = P(sp.Eq(sp.Symbol(r"\operatorname{argmax}_j X_j"), 1))
    return [
        Step("The CDF of X_1 = z_1 + G_1, and its density (sympy differentiates):",
             sp.Eq(F1(x), cdf)),
        Step("", sp.Eq(f1(x), density)),
        Step(f"Class 1 wins when X_1 = x and the other {n - 1} are below x (independent noise):",
             sp.Eq(win, sp.Integral(integrand, (x, -sp.oo, sp.oo)))),
        Step("The product of the exponentials collapses; S = sum_j e^{z_j}:",
             sp.Eq(win, sp.Integral(collapsed, (x, -sp.oo, sp.oo)))),
        Step("Substitute t = e^{-x} (dx = -dt / t, x from -oo to oo is t from oo to 0):",
             sp.Eq(win, sp.Integral(in_t, (t, 0, sp.oo)))),
        Step("sympy integrates it: the softmax of z, class 1 (any class, by symmetry).",
             sp.Eq(win, result)),
        Step("With S written out:", sp.Eq(win, result.subs(S, total))),
    ]


def binary_concrete_derivation() -> list[Step]:
    """Steps from two Gumbels to the binary Concrete CDF F(y) = sigmoid(tau logit(y) - (z_1 - z_2)).

    1. P(G_1 - G_2 <= u) = integral f(g) F(g + u) dg (G_2 = g, G_1 <= g + u);
    2. with t = e^{-g} this is integral e^{-t (1 + e^{-u})} dt = 1 / (1 + e^{-u}): the
       difference of two Gumbels is standard logistic;
    3. Y_1 = sigmoid((z_1 - z_2 + G_1 - G_2) / tau) <= y  <=>  G_1 - G_2 <= tau logit(y) - (z_1 - z_2).

    Used in: notebooks/03_gumbel.ipynb
    """
    g, u = sp.symbols("g u", real=True)
    t = sp.Symbol("t", positive=True)
    y = sp.Symbol("y", positive=True)
    tau = sp.Symbol("tau", positive=True)
    z1, z2 = sp.symbols("z1 z2", real=True)
    Pd = sp.Function("P")
    lhs = Pd(sp.Symbol("G_{1} - G_{2}") <= u)

    integrand = sp.diff(gumbel_cdf(g), g) * gumbel_cdf(g + u)
    in_t = _change_to_t(integrand, g, t)
    logistic = sp.simplify(sp.integrate(in_t, (t, 0, sp.oo)))
    logit_y = sp.log(y / (1 - y))
    threshold = tau * logit_y - (z1 - z2)
    cdf = logistic.subs(u, threshold)
    return [
        Step("G_2 = g and G_1 <= g + u, integrated over g:",
             sp.Eq(lhs, sp.Integral(integrand, (g, -sp.oo, sp.oo)))),
        Step("Substitute t = e^{-g}:", sp.Eq(lhs, sp.Integral(in_t, (t, 0, sp.oo)))),
        Step("sympy integrates it: the difference of two Gumbels is standard logistic.",
             sp.Eq(lhs, logistic)),
        Step("Y_1 = sigmoid((z_1 - z_2 + G_1 - G_2)/tau) <= y exactly when "
             "G_1 - G_2 <= tau logit(y) - (z_1 - z_2), so the binary Concrete CDF is",
             sp.Eq(sp.Function("F")(y), cdf)),
    ]
