"""sympy derivations for lesson 02: how entropy, probabilities and the smooth max move with T.

Everything follows from the partition function Z(beta) = sum_i exp(beta z_i) at
inverse temperature beta = 1 / T: d ln Z / d beta = E_p[z] and
d E_p[z] / d beta = Var_p(z). The functions keep n symbolic (``sympy.Sum`` over
an ``IndexedBase``), so a derivation on screen holds for every n, and each
returns the steps as ``(description, sympy.Eq)`` pairs that the notebook shows;
``softviz/derive`` tests check every step.

* ``entropy_temperature_derivative``: dH/dT = Var_p(z) / T^3 >= 0;
* ``probability_temperature_derivative``: dp_i/dT = p_i (E_p[z] - z_i) / T^2;
* ``smooth_max_temperature_derivative``: d/dT [T ln sum exp(z_i / T)] = H >= 0;
* ``moe_gate_homogeneity``: the temperature PDE of a softmax gate,
  T dG/dT + w dG/dw + b dG/db = 0 (Nguyen, Akbarian & Ho, ICML 2024,
  arXiv:2401.13875).

Used in: notebooks/02_temperature.ipynb
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "Steps",
    "entropy_temperature_derivative",
    "probability_temperature_derivative",
    "smooth_max_temperature_derivative",
    "moe_gate_homogeneity",
]


class Steps(list):
    """A derivation: a list of ``(description, sympy.Eq)`` that Jupyter shows as aligned LaTeX.

    Being a list, it can be iterated and indexed like one (tests do); in a
    notebook, a cell ending with it renders every step with its description.
    """

    def _repr_latex_(self) -> str:
        rows = []
        for text, eq in self:
            # Plain words only: MathJax's \text{} does not take TeX escapes.
            words = text.replace("\\", " ").replace("_", " ").replace("^", " ")
            rows.append(rf"{sp.latex(eq.lhs)} &= {sp.latex(eq.rhs)} && \text{{{words}}}")
        return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"


def _symbols() -> tuple[sp.Basic, ...]:
    T = sp.Symbol("T", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    z = sp.IndexedBase("z", real=True)
    return T, n, i, j, z


def _moments(T: sp.Symbol, n: sp.Symbol, j: sp.Symbol, z: sp.IndexedBase) -> tuple[sp.Expr, ...]:
    """Z, E_p[z], E_p[z^2] and Var_p(z) for p_j = exp(z_j / T) / Z, n symbolic."""
    Z = sp.Sum(sp.exp(z[j] / T), (j, 1, n))
    mean = sp.Sum(z[j] * sp.exp(z[j] / T), (j, 1, n)) / Z
    second = sp.Sum(z[j] ** 2 * sp.exp(z[j] / T), (j, 1, n)) / Z
    return Z, mean, second, second - mean ** 2


def _zero(expr: sp.Expr) -> bool:
    """True when sympy can show expr == 0 (Sums differentiated term by term first)."""
    return sp.simplify(sp.expand(expr.doit())) == 0


def _verify(claim: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    # Every step shown is checked on the explicit sums, so a typo in a
    # derivation on screen fails loudly instead of teaching something false.
    if not _zero(lhs - rhs):
        raise AssertionError(f"derivation step does not hold: {claim}")


def _shown() -> tuple[sp.Symbol, ...]:
    """The short symbols the steps are written in: Z, E_p[z], Var_p(z), H, p_i."""
    return (sp.Symbol("Z", positive=True), sp.Symbol(r"\mathbb{E}_p[z]"),
            sp.Symbol(r"\operatorname{Var}_p(z)"), sp.Symbol("H"), sp.Symbol("p_i"))


def entropy_temperature_derivative() -> Steps:
    """Steps from H = ln Z - E_p[z] / T to dH/dT = Var_p(z) / T^3 >= 0.

    Returns a list of ``(description, sympy.Eq)`` written with the short
    symbols Z, E_p[z], Var_p(z); the last equation is the result. Every step
    is verified on the explicit sums over j = 1..n (n symbolic) before it is
    returned. A non-negative derivative is why entropy never falls as T grows
    (and why bisection on T finds the temperature for a target entropy).

    Used in: notebooks/02_temperature.ipynb
    """
    T, n, i, j, z = _symbols()
    Z_sum, mean, second, var = _moments(T, n, j, z)
    Z, E, V, H, p = _shown()
    entropy = sp.log(Z_sum) - mean / T
    p_i = sp.exp(z[i] / T) / Z_sum
    _verify("ln p_i = z_i/T - ln Z", sp.expand_log(sp.log(p_i), force=True), z[i] / T - sp.log(Z_sum))
    _verify("d ln Z / dT = -E/T^2", sp.diff(sp.log(Z_sum), T), -mean / T ** 2)
    _verify("d E / dT = -Var/T^2", sp.diff(mean, T), -var / T ** 2)
    _verify("dH/dT = Var/T^3", sp.diff(entropy, T), var / T ** 3)
    return Steps([
        ("softmax at temperature T; Z sums exp(zj / T) over j",
         sp.Eq(p, sp.exp(z[i] / T) / Z)),
        ("taking the log of each probability, the entropy is",
         sp.Eq(H, sp.log(Z) - E / T)),
        ("the T-derivative of ln Z is a mean",
         sp.Eq(sp.Derivative(sp.log(Z), T), -E / T ** 2)),
        ("the T-derivative of the mean is a variance",
         sp.Eq(sp.Derivative(E, T), -V / T ** 2)),
        ("product rule: the mean terms cancel",
         sp.Eq(sp.Derivative(H, T), sp.Add(-E / T ** 2, E / T ** 2, V / T ** 3, evaluate=False))),
        ("never negative: H never falls as T grows", sp.Eq(sp.Derivative(H, T), V / T ** 3)),
    ])


def probability_temperature_derivative() -> Steps:
    """dp_i/dT = p_i (E_p[z] - z_i) / T^2, as ``(description, sympy.Eq)`` steps.

    The largest entry is always above the mean, so it only falls as T grows;
    the smallest only rises; a middle entry rises until E_p[z] (which falls
    from max z to mean z) passes it, then falls. Verified on the explicit sums.

    Used in: notebooks/02_temperature.ipynb
    """
    T, n, i, j, z = _symbols()
    Z_sum, mean, _, _ = _moments(T, n, j, z)
    Z, E, _, _, p = _shown()
    p_i = sp.exp(z[i] / T) / Z_sum
    _verify("dp_i/dT = p_i (E - z_i)/T^2", sp.diff(p_i, T), p_i * (mean - z[i]) / T ** 2)
    return Steps([
        ("softmax at temperature T", sp.Eq(p, sp.exp(z[i] / T) / Z)),
        ("quotient rule, with the T-derivative of ln Z",
         sp.Eq(sp.Derivative(p, T), sp.Add(-z[i] * p / T ** 2, E * p / T ** 2, evaluate=False))),
        ("a probability falls while its logit is above the mean",
         sp.Eq(sp.Derivative(p, T), p * (E - z[i]) / T ** 2)),
    ])


def smooth_max_temperature_derivative() -> Steps:
    """d/dT [T ln Z] = ln Z - E_p[z] / T = H: the smooth max climbs with slope H in [0, ln n].

    Integrating 0 <= slope <= ln n from T = 0+ (where T ln Z -> max z) gives
    the bounds max z <= T ln Z <= max z + T ln n. Verified on the explicit sums.

    Used in: notebooks/02_temperature.ipynb
    """
    T, n, i, j, z = _symbols()
    Z_sum, mean, _, _ = _moments(T, n, j, z)
    Z, E, _, H, _ = _shown()
    S = sp.Symbol("S")
    _verify("d(T ln Z)/dT = ln Z - E/T", sp.diff(T * sp.log(Z_sum), T), sp.log(Z_sum) - mean / T)
    return Steps([
        ("smooth maximum", sp.Eq(S, T * sp.log(Z))),
        ("product rule, with the T-derivative of ln Z",
         sp.Eq(sp.Derivative(S, T), sp.log(Z) - E / T)),
        ("the right side is exactly the entropy", sp.Eq(sp.Derivative(S, T), H)),
    ])


def moe_gate_homogeneity() -> Steps:
    """The PDE linking a softmax gate's temperature to its parameters.

    G_k(x) = exp((w_k x + b_k) / T) / sum_l exp((w_l x + b_l) / T) depends on
    (w, b, T) only through (w, b) / T, so T dG/dT + sum_l (w_l dG/dw_l +
    b_l dG/db_l) = 0: the temperature's effect can always be undone by the
    other parameters. Nguyen, Akbarian & Ho (ICML 2024, arXiv:2401.13875)
    trace the slow (as slow as 1 / log n) parameter estimation of
    dense-to-sparse gating to such PDE interactions. Shown for two experts.

    Returns ``(description, sympy.Eq)`` steps; the last equation is the PDE
    with its left side simplified to 0.

    Used in: notebooks/02_temperature.ipynb
    """
    T = sp.Symbol("T", positive=True)
    x = sp.Symbol("x", real=True)
    w1, w2, b1, b2 = sp.symbols("w_1 w_2 b_1 b_2", real=True)
    G = sp.exp((w1 * x + b1) / T) / (sp.exp((w1 * x + b1) / T) + sp.exp((w2 * x + b2) / T))
    lhs = (T * sp.diff(G, T) + w1 * sp.diff(G, w1) + w2 * sp.diff(G, w2)
           + b1 * sp.diff(G, b1) + b2 * sp.diff(G, b2))
    _verify("T dG/dT + w.dG/dw + b.dG/db = 0", lhs, sp.Integer(0))
    G1 = sp.Function("G_1")(w1, w2, b1, b2, T)
    pde = (T * sp.Derivative(G1, T) + w1 * sp.Derivative(G1, w1) + w2 * sp.Derivative(G1, w2)
           + b1 * sp.Derivative(G1, b1) + b2 * sp.Derivative(G1, b2))
    return Steps([
        ("gate of expert 1 of 2", sp.Eq(sp.Symbol("G_1"), G)),
        ("scaling w, b and T by the same c > 0 changes nothing, so", sp.Eq(pde, 0)),
    ])
