"""sympy derivations for lesson 08: why the scores are divided by sqrt(d), and why the tiled
online softmax gives the one-shot answer.

* ``score_variance``: for q, k with independent entries of mean 0 and variance 1,
  E[q . k] = 0 and Var(q . k) = d (each product q_i k_i has variance E[q_i^2] E[k_i^2] = 1,
  and the d products are uncorrelated), so q . k / sqrt(d) has variance 1 whatever d is:
  the footnote of Vaswani et al., "Attention Is All You Need" (2017, arXiv:1706.03762).
  The product moments come from ``sympy.stats`` (normal entries), the sum from the
  independence of the d terms.
* ``online_rescale``: one query, two key blocks.  After block 1 the state is
  (m1, l1, o1) with o1 = sum exp(s - m1) v over block 1; block 2 raises the max to m;
  rescaling by exp(m1 - m) and adding block 2 gives exactly the one-shot numerator and
  denominator against m, so o / l is the softmax-weighted sum (Milakov & Gimelshein 2018,
  arXiv:1805.02867; Dao et al. 2022, arXiv:2205.14135).

Each step is checked by sympy when the function runs.

Used in: notebooks/08_attention.ipynb
"""
from __future__ import annotations

import sympy as sp
from sympy import stats

from .temperature import Steps

__all__ = ["score_variance", "online_rescale"]


def _verify(claim: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    # a derivation on screen must hold: a typo fails loudly instead of teaching something false
    if sp.simplify(sp.expand(lhs - rhs)) != 0:
        raise AssertionError(f"derivation step does not hold: {claim}")


def score_variance() -> Steps:
    """Var(q . k) = d for unit-variance entries, so the scale 1/sqrt(d) keeps the scores at variance 1.

    Returns ``Steps``: (description, sympy.Eq) pairs, every one checked.

    Used in: notebooks/08_attention.ipynb
    """
    d = sp.Symbol("d", integer=True, positive=True)
    c = sp.Symbol("c", positive=True)
    qi, ki = stats.Normal("q_i", 0, 1), stats.Normal("k_i", 0, 1)
    term = qi * ki
    mean_term = sp.simplify(stats.E(term))
    second_term = sp.simplify(stats.E(term ** 2))
    var_term = sp.simplify(second_term - mean_term ** 2)
    _verify("E[q_i k_i] = 0", mean_term, sp.Integer(0))
    _verify("E[(q_i k_i)^2] = E[q_i^2] E[k_i^2] = 1", second_term,
            sp.simplify(stats.E(qi ** 2) * stats.E(ki ** 2)))
    _verify("Var(q_i k_i) = 1", var_term, sp.Integer(1))
    # uncorrelated terms: E[q_i k_i q_j k_j] = E[q_i] E[k_i] E[q_j] E[k_j] = 0 for i != j
    qj, kj = stats.Normal("q_j", 0, 1), stats.Normal("k_j", 0, 1)
    cross = sp.simplify(stats.E(qi * ki * qj * kj))
    _verify("Cov(q_i k_i, q_j k_j) = 0", cross, sp.Integer(0))
    var_dot = d * var_term
    var_scaled = c ** 2 * var_dot
    solution = [s for s in sp.solve(sp.Eq(var_scaled, 1), c) if s.is_positive]
    _verify("c = 1/sqrt(d)", solution[0], 1 / sp.sqrt(d))
    E, Var = sp.Function(r"\mathbb{E}"), sp.Function(r"\operatorname{Var}")
    s_qk = sp.Symbol(r"q \cdot k")
    prod = sp.Symbol("q_i") * sp.Symbol("k_i")
    return Steps([
        ("each product has mean 0", sp.Eq(E(prod), mean_term)),
        ("and variance 1 x 1 (independent factors)", sp.Eq(Var(prod), var_term)),
        ("d uncorrelated terms add their variances", sp.Eq(Var(s_qk), var_dot)),
        ("a scale c multiplies the variance by c^2", sp.Eq(Var(c * s_qk), var_scaled)),
        ("variance 1 for every d", sp.Eq(c, solution[0])),
    ])


def online_rescale() -> Steps:
    """Two key blocks of two keys each: rescaling the partial output by exp(m1 - m) gives the
    one-shot softmax-weighted sum exactly.

    Returns ``Steps``: (description, sympy.Eq) pairs, every one checked.

    Used in: notebooks/08_attention.ipynb
    """
    s1, s2, s3, s4 = sp.symbols("s_1:5", real=True)
    v1, v2, v3, v4 = sp.symbols("v_1:5", real=True)
    m1, m = sp.symbols("m_1 m", real=True)
    l1 = sp.exp(s1 - m1) + sp.exp(s2 - m1)
    o1 = sp.exp(s1 - m1) * v1 + sp.exp(s2 - m1) * v2
    l_new = sp.exp(m1 - m) * l1 + sp.exp(s3 - m) + sp.exp(s4 - m)
    o_new = sp.exp(m1 - m) * o1 + sp.exp(s3 - m) * v3 + sp.exp(s4 - m) * v4
    one_shot_l = sum(sp.exp(s - m) for s in (s1, s2, s3, s4))
    one_shot_o = sum(sp.exp(s - m) * v for s, v in zip((s1, s2, s3, s4), (v1, v2, v3, v4)))
    _verify("rescaled sum = one-shot sum", sp.powsimp(sp.expand(l_new)), one_shot_l)
    _verify("rescaled output = one-shot output", sp.powsimp(sp.expand(o_new)), one_shot_o)
    total = sum(sp.exp(s) for s in (s1, s2, s3, s4))
    weighted = sum(sp.exp(s) * v for s, v in zip((s1, s2, s3, s4), (v1, v2, v3, v4)))
    _verify("the max cancels in o / l", sp.simplify(one_shot_o / one_shot_l - weighted / total), sp.Integer(0))
    ell, out = sp.Symbol("l"), sp.Symbol("o")
    return Steps([
        ("after block 1, against its max m_1", sp.Eq(sp.Symbol("l_1"), l1)),
        ("block 2 raises the max to m: rescale and add", sp.Eq(ell, l_new)),
        ("which is the one-shot sum against m", sp.Eq(ell, one_shot_l)),
        ("the same for the output", sp.Eq(out, one_shot_o)),
        ("and the max cancels in the ratio", sp.Eq(out / ell, weighted / total)),
    ])
