"""softviz.training (lesson 07): losses, gradients, the task, training runs; the derivations,
the TrainingPanel and the exercise checks of notebooks/07_training.ipynb."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import softviz
from softviz import training
from softviz.derive import training as dtr

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(5, 4)) * 3.0
Y = np.array([0, 3, 1, 1, 2])


@pytest.fixture(scope="module")
def default_run():
    return training.train()


@pytest.fixture(scope="module")
def stablemax_run():
    return training.train(activation="stablemax")


# -- losses and gradients ----------------------------------------------------------

def _fd_grad(z, y, activation, h=1e-6):
    g = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (training.cross_entropy(up, y, activation=activation)
                  - training.cross_entropy(down, y, activation=activation)) / (2 * h)
    return g


@pytest.mark.parametrize("activation", training.ACTIVATIONS)
def test_gradient_matches_finite_differences_in_float64(activation):
    z = Z.copy()
    z[0, 1] = 0.0   # stablemax's kink at 0 is differentiable: both sides have slope 1
    z[0, 1] = 1e-3
    got = training.cross_entropy_grad(z, Y, activation=activation)
    assert got.shape == z.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, _fd_grad(z, Y, activation), rtol=1e-6, atol=1e-9)


def test_softmax_loss_and_gradient_formulas():
    p = softviz.softmax(Z)
    want = -np.log(p[np.arange(5), Y]).mean()
    assert training.cross_entropy(Z, Y) == pytest.approx(want, rel=1e-12)
    onehot = np.eye(4)[Y]
    np.testing.assert_allclose(training.cross_entropy_grad(Z, Y), (p - onehot) / 5, atol=1e-15)


def test_stablemax_loss_matches_reference_stablemax():
    p = softviz.reference.stablemax(Z)
    want = -np.log(p[np.arange(5), Y]).mean()
    assert training.cross_entropy(Z, Y, activation="stablemax") == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("activation", training.ACTIVATIONS)
def test_float32_is_computed_in_float32(activation):
    z32 = Z.astype(np.float32)
    g = training.cross_entropy_grad(z32, Y, activation=activation)
    assert g.dtype == np.float32
    assert training.per_sample_losses(z32, Y, activation=activation).dtype == np.float32
    # and not merely float64 rounded at the end: the collapse is float32's
    z = np.array([[17.0, 0.0, 0.0]], dtype=np.float32)
    assert training.per_sample_losses(z, [0])[0] == 0.0
    assert training.per_sample_losses(z.astype(np.float64), [0])[0] > 0.0


def test_collapse_point_is_lesson_01s():
    d = softviz.numerics.collapse_threshold("float32")
    below = np.array([[np.nextafter(np.float32(d), np.float32(0)), 0.0]], dtype=np.float32)
    above = np.array([[np.float32(d) + np.float32(0.01), 0.0]], dtype=np.float32)
    assert training.per_sample_grad(below, [0])[0, 0] != 0
    assert training.per_sample_grad(above, [0])[0, 0] == 0
    assert training.per_sample_grad(above, [0])[0, 1] > 0   # the other class keeps a gradient


def test_huge_logits_do_not_overflow():
    z = np.array([[800.0, 790.0, -700.0]])
    assert np.isfinite(training.cross_entropy(z, [0]))
    assert np.isfinite(training.cross_entropy_grad(z, [1])).all()


@pytest.mark.parametrize("kwargs, exc", [
    (dict(logits=[[1.0, 2.0]], labels=[2]), ValueError),
    (dict(logits=[1.0, 2.0], labels=[0]), ValueError),
    (dict(logits=[[1.0, 2.0]], labels=[0.5]), TypeError),
    (dict(logits=[["a", "b"]], labels=[0]), TypeError),
    (dict(logits=[[1.0, np.nan]], labels=[0]), ValueError),
    (dict(logits=[[1.0, 2.0]], labels=[0, 1]), ValueError),
    (dict(logits=[[1.0, 2.0]], labels=[0], activation="sparsemax"), ValueError),
    (dict(logits=[[1.0, 2.0]], labels=[0], activation=1), TypeError),
])
def test_bad_loss_arguments(kwargs, exc):
    name = "activation" if "activation" in kwargs else None
    with pytest.raises(exc) as info:
        training.cross_entropy(**kwargs)
    if name:
        assert name in str(info.value)


# -- the task ---------------------------------------------------------------------------

def test_modular_addition_contract():
    (tr, ytr), (te, yte) = training.modular_addition(7, rng=3)
    assert tr.dtype.kind == "i" and tr.shape == (round(0.4 * 49), 2) and te.shape == (49 - 20, 2)
    assert np.array_equal(ytr, tr.sum(axis=1) % 7) and np.array_equal(yte, te.sum(axis=1) % 7)
    both = {tuple(r) for r in tr} | {tuple(r) for r in te}
    assert len(both) == 49
    (tr2, _), _ = training.modular_addition(7, rng=3)
    assert np.array_equal(tr, tr2)
    (tr3, _), _ = training.modular_addition(7, rng=np.random.default_rng(4))
    assert not np.array_equal(tr, tr3)


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(p=1), ValueError, "p"), (dict(p=7.0), TypeError, "p"), (dict(p=True), TypeError, "p"),
    (dict(p=7, train_fraction=1.0), ValueError, "train_fraction"),
    (dict(p=7, train_fraction=0.0), ValueError, "train_fraction"),
    (dict(p=7, rng="x"), TypeError, "rng"),
])
def test_modular_addition_bad_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        training.modular_addition(**kwargs)


# -- training -------------------------------------------------------------------------

def test_history_contract(default_run):
    keys = {"step", "train_loss", "train_accuracy", "test_accuracy", "collapsed_fraction",
            "logit_norm"}
    assert set(default_run) == keys
    lengths = {v.shape for v in default_run.values()}
    assert len(lengths) == 1 and len(lengths.pop()) == 1
    assert default_run["step"][0] == 0 and default_run["step"][-1] == 3000


def test_default_softmax_float32_collapses_and_does_not_generalise(default_run):
    assert default_run["train_accuracy"][-1] == 1.0
    assert default_run["collapsed_fraction"].max() > 0.5
    assert training.collapse_step(default_run) is not None
    assert default_run["test_accuracy"].max() < 0.1


def test_default_stablemax_does_not_collapse(stablemax_run):
    assert stablemax_run["collapsed_fraction"].max() < 0.01
    assert stablemax_run["train_accuracy"][-1] == 1.0


def test_runs_are_seeded_and_returned_as_copies(default_run):
    again = training.train()
    for k in default_run:
        np.testing.assert_array_equal(again[k], default_run[k])
    again["test_accuracy"][:] = 5
    assert training.train()["test_accuracy"].max() <= 1.0


def test_float32_run_really_runs_in_float32():
    run = training.train_run(p=5, steps=10, hidden=8, record_every=5)
    assert run.logits.dtype == np.float32
    run64 = training.train_run(p=5, steps=10, hidden=8, record_every=5, dtype="float64")
    assert run64.logits.dtype == np.float64
    assert not np.array_equal(run.logits.astype(np.float64), run64.logits)


def test_small_run_options_and_progress():
    calls = []
    h = training.train(p=5, steps=20, hidden=8, record_every=10, optimizer="perp_adam",
                       weight_decay=0.1, progress=lambda s, n: calls.append((s, n)))
    assert list(h["step"]) == [0, 10, 20]
    assert calls[-1] == (20, 20)


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(activation="relu"), ValueError, "activation"),
    (dict(dtype="float16"), ValueError, "dtype"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(weight_decay="big"), TypeError, "weight_decay"),
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=10.5), TypeError, "steps"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(optimizer="sgd"), ValueError, "optimizer"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(train_fraction=1.5), ValueError, "train_fraction"),
    (dict(progress=3), TypeError, "progress"),
])
def test_train_bad_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        training.train(p=5, **{"steps": 5, **kwargs})


@pytest.mark.parametrize("kwargs, exc, name", [
    # sizes that used to allocate terabytes, overflow a C long or run for hours
    (dict(p=10 ** 12), ValueError, "p"), (dict(p=2 ** 63), ValueError, "p"),
    (dict(p=10 ** 400), ValueError, "p"), (dict(p=training.MAX_P + 1), ValueError, "p"),
    (dict(steps=10 ** 12), ValueError, "steps"), (dict(steps=2 ** 63), ValueError, "steps"),
    (dict(steps=training.MAX_STEPS + 1), ValueError, "steps"),
    (dict(hidden=10 ** 12), ValueError, "hidden"), (dict(hidden=2 ** 63), ValueError, "hidden"),
    (dict(hidden=10 ** 400), ValueError, "hidden"),
    # values that used to end the run in NaN
    (dict(weight_decay=2 ** 63), ValueError, "weight_decay"),
    (dict(weight_decay=10 ** 12), ValueError, "weight_decay"),
    (dict(lr=2 ** 63), ValueError, "lr"), (dict(lr=training.MAX_LR * 2), ValueError, "lr"),
    (dict(lr=0.5, weight_decay=2.5), ValueError, "weight_decay"),
])
def test_train_refuses_huge_sizes_and_diverging_settings(kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name} must be") as err:
        training.train_run(**{"p": 5, "steps": 2, "hidden": 8, **kwargs})
    assert "Maximum allowed" not in str(err.value)


def test_train_refuses_too_much_work_up_front():
    import time

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="steps, hidden, p") as err:
        training.train_run(p=training.MAX_P, steps=3000)
    assert time.perf_counter() - t0 < 0.5
    assert f"{training.MAX_WORK:g}" in str(err.value)
    # too many snapshots of the logits: record_every is named
    with pytest.raises(ValueError, match="record_every"):
        training.train_run(p=97, steps=training.MAX_STEPS, hidden=1, record_every=1)
    # the defaults sit well inside every limit
    training.run_config(31, "softmax", "float32", 0.0, 3000, 0, "adam", 0.05, 128, 0.5, 25)


def test_largest_lr_and_decay_stay_finite():
    """At lr = MAX_LR (and lr * weight_decay = 1) the weights stay finite: no NaN in the curves."""
    for wd in (0.0, 1.0 / training.MAX_LR):
        for act in training.ACTIVATIONS:
            h = training.train(p=5, steps=300, hidden=8, record_every=50, lr=training.MAX_LR,
                               weight_decay=wd, activation=act)
            for k, v in h.items():
                assert np.isfinite(v).all(), (wd, act, k)


@pytest.mark.parametrize("fn", [training.cross_entropy, training.cross_entropy_grad,
                                training.per_sample_losses, training.per_sample_grad])
def test_ragged_logits_and_labels_are_named(fn):
    with pytest.raises(TypeError, match=r"^logits must be an array of real numbers \(a ragged"):
        fn([[1.0], [1.0, 2.0]], [0, 0])
    with pytest.raises(TypeError, match=r"^labels must be an array of real numbers \(a ragged"):
        fn([[1.0, 2.0], [0.0, 1.0]], [[0], [1, 0]])


@pytest.mark.parametrize("bad", [None, 0, 2 ** 63, "p=5", [("p", 5)], np.ones(3), 1j])
def test_cached_run_needs_a_dict(bad):
    with pytest.raises(TypeError, match="^config must be a dict"):
        training.cached_run(bad)


def test_cached_run_refuses_unsortable_or_unhashable_configs_and_misses_unknown_ones():
    for bad in ({"p": [5]}, {1: 2, "p": 5}):
        with pytest.raises(TypeError, match="^config must map"):
            training.cached_run(bad)
    assert training.cached_run({}) is None and training.cached_run({"p": 5}) is None
    run = training.train_run(p=5, steps=3, hidden=4, record_every=1)
    assert training.cached_run(run.config) is run


def test_training_run_records_check_the_index():
    run = training.train_run(p=5, steps=3, hidden=4, record_every=1)
    n = run.logits.shape[0]
    np.testing.assert_array_equal(run.losses_at(-1), run.losses_at(n - 1))
    assert run.grads_at(0).shape == run.logits[0].shape
    for bad, exc in ((n, ValueError), (-n - 1, ValueError), (1.0, TypeError), (None, TypeError)):
        for method in (run.grads_at, run.losses_at):
            with pytest.raises(exc, match="^index must be"):
                method(bad)


def test_train_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="momentum"):
        training.train(p=5, steps=5, momentum=0.9)


def test_collapse_step():
    h = {"step": np.array([0, 10, 20]), "collapsed_fraction": np.array([0.0, 0.4, 0.6])}
    assert training.collapse_step(h) == 20
    assert training.collapse_step(h, 0.1) == 10
    assert training.collapse_step(h, 0.9) is None
    with pytest.raises(ValueError, match="history"):
        training.collapse_step({})


# -- derivations ------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 4])
def test_derivations_check_out(n):
    jac = dtr.softmax_jacobian(n)
    ce = dtr.cross_entropy_gradient(n, label=n - 1)
    for d in (jac, ce):
        for stmt, _ in d.facts:
            assert sp.simplify(stmt.lhs - stmt.rhs) == sp.zeros(*stmt.lhs.shape) \
                if hasattr(stmt.lhs, "shape") else sp.simplify(stmt.lhs - stmt.rhs) == 0
    assert "p - e_y" in ce._repr_latex_() or "e_y" in ce._repr_latex_()
    with pytest.raises(ValueError, match="label"):
        dtr.cross_entropy_gradient(3, label=3)
    with pytest.raises(TypeError, match="n"):
        dtr.softmax_jacobian(3.0)


# -- panel ------------------------------------------------------------------------------

def test_panel_constructs_sets_and_reports(default_run):
    from softviz.panels import TrainingPanel

    p = TrainingPanel()
    s = p.state()
    assert s["trained"] and s["step"] == 3000 and p.last_error is None
    assert s["collapsed_fraction"] == pytest.approx(default_run["collapsed_fraction"][-1])
    assert s["zero_grads"] == int((s["correct_grads"] == 0).sum()) > 0
    assert s["collapse_step"] == training.collapse_step(default_run)
    p.set(step=500)
    s = p.state()
    assert s["step"] == 500 and s["zero_grads"] == 0
    p.set(optimizer="perp_adam", weight_decay=0.3)
    assert p.state()["trained"] is False and p.last_error is None
    with pytest.raises(ValueError, match="dtype"):
        p.set(dtype="float16")
    with pytest.raises(TypeError):
        TrainingPanel(learning_rate=1.0)
    p.close()


# -- exercises --------------------------------------------------------------------------

def test_exercise_checks(capsys):
    from softviz.exercises import check_collapse_prediction, check_cross_entropy_grad, check_stablemax_cross_entropy

    assert check_cross_entropy_grad(lambda z, y: None).passed is None
    assert check_cross_entropy_grad(training.cross_entropy_grad).passed is True
    wrong = check_cross_entropy_grad(lambda z, y: -training.cross_entropy_grad(z, y))
    assert wrong.passed is False and "sign" in wrong.message
    assert check_cross_entropy_grad(lambda z, y: 1 / 0).passed is False
    sm = check_stablemax_cross_entropy(
        lambda z, y: training.cross_entropy(z, y, activation="stablemax"))
    assert sm.passed is True
    assert check_stablemax_cross_entropy(lambda z, y: training.cross_entropy(z, y)).passed is False
    assert check_collapse_prediction(None).passed is None
    assert check_collapse_prediction("softmax float64").passed is False
    assert check_collapse_prediction("softmax float32").passed is True
    assert check_collapse_prediction(42).passed is False
    assert "✓" in capsys.readouterr().out
