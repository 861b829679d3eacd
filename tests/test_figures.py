"""softviz.figures: the lessons' static figures draw what they say, and the panels draw
on the very same helpers (so a figure and its panel cannot drift apart)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from softviz import figures, soft_nms


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("make, n_axes", [
    (lambda: figures.gumbel_noise_figure(n=2_000, rng=0), 1),
    (lambda: figures.tau_sweep_figure(taus=(0.1, 1.0, 5.0), n=60, rng=0), 3),
    (lambda: figures.binary_concrete_figure(taus=(0.5, 2.0), n=2_000, rng=0), 1),
    (lambda: figures.simplex_uses_figure(n=60, rng=0), 3),
    (lambda: figures.plot_low_dimension(rng=0), 2),
    (lambda: figures.plot_collapse(gap_max=30.0), 1),
])
def test_each_figure_returns_its_axes(make, n_axes):
    fig = make()
    assert isinstance(fig, Figure)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) >= n_axes and all(ax.has_data() for ax in shown[:n_axes])


def test_gumbel_figures_are_seeded():
    a = figures.gumbel_noise_figure(n=500, rng=3).axes[0].patches
    b = figures.gumbel_noise_figure(n=500, rng=3).axes[0].patches
    assert [p.get_height() for p in a] == [p.get_height() for p in b]


def test_soft_nms_helpers_draw_every_box_and_the_three_decays():
    scene = soft_nms.make_scene(0, n_objects=3)
    fig, (left, right) = plt.subplots(1, 2)
    patches = figures.draw_scene(left, scene)
    assert len(patches) == len(scene.boxes)
    keep, scores = soft_nms.soft_nms(scene.boxes, scene.scores, method="hard", iou_threshold=0.5)
    assert len(figures.draw_scene(right, scene, keep, scores)) == len(keep)
    lines = figures.draw_decay_curves(right, sigma=0.5, iou_threshold=0.3, highlight="linear")
    assert set(lines) == set(soft_nms.METHODS)
    assert lines["linear"].get_linewidth() > lines["hard"].get_linewidth()
    cmap = figures.score_colormap()
    assert cmap(0.0) != cmap(1.0)


def test_phase_diagram_plots_each_measured_regime():
    points = {"alpha": np.array([0.1, 0.2, 0.3]), "h": np.array([0.2, 1.0, 5.0]),
              "regime": np.array(["condensed", "stable", "clt"])}
    fig = figures.plot_phase_diagram(points)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {"measured condensed", "measured stable", "measured CLT"} <= set(labels)


def test_plot_runs_one_curve_per_run_and_panel():
    history = {"step": [0, 10, 20], "test_accuracy": [0.1, 0.5, 0.9],
               "collapsed_fraction": [0.0, 0.2, 0.6], "logit_norm": [1.0, 3.0, 9.0]}
    fig = figures.plot_runs({"softmax": history, "StableMax": history})
    assert len(fig.axes) == 3 and all(len(ax.lines) >= 2 for ax in fig.axes)
    assert fig.axes[0].lines[0].get_linestyle() != fig.axes[0].lines[1].get_linestyle()
    with pytest.raises(ValueError, match="histories"):
        figures.plot_runs({})


def test_panels_draw_on_the_figure_helpers():
    from softviz.figures import gumbel as gumbel_figures
    from softviz.figures import kde as kde_figures
    from softviz.figures import soft_nms as soft_nms_figures
    from softviz.panels import gumbel as gumbel_panel
    from softviz.panels import kde as kde_panel
    from softviz.panels import soft_nms as soft_nms_panel

    assert gumbel_panel.ternary_axes is gumbel_figures.ternary_axes
    assert kde_panel.draw_phase_background is kde_figures.draw_phase_background
    assert soft_nms_panel.score_colormap is soft_nms_figures.score_colormap
