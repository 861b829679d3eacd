"""Tests of softviz.panels: the Panel base class, the shared style and SoftmaxBarsPanel.

Headless: the figures render with Agg and the widgets live without a front
end. The last tests execute a small notebook in a real python3 kernel and
export it to HTML, as GitHub/nbviewer readers would see it.
"""
import asyncio
import base64
import io

import ipywidgets as widgets
import matplotlib as mpl
import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import softviz
from softviz import panels
from softviz.panels import SoftmaxBarsPanel, style
from softviz.panels.base import Panel, offscreen
from softviz.panels.controls import FloatVector

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _lecture_mode_off():
    yield
    softviz.lecture_mode(False)


# -- a minimal panel to test the base class on its own -------------------------

class TwoSliders(Panel):
    """y = a * x + b on x in [0, 1]; records what each update was told."""

    def _controls(self):
        return {"a": widgets.FloatSlider(value=1.0, min=-5, max=5),
                "b": widgets.FloatSlider(value=0.0, min=-5, max=5),
                "kind": widgets.Dropdown(options=["line", "dots"], value="line")}

    def _draw(self, fig):
        self.calls = []
        self.ax = fig.add_subplot()
        self.x = np.linspace(0, 1, 11)
        (self.line,) = self.ax.plot(self.x, self.x)
        self.ax.set_title("a line")
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")

    def _update(self, changed):
        self.calls.append(set(changed))
        p = self.params
        self.line.set_ydata(p["a"] * self.x + p["b"])
        self.line.set_linestyle("-" if p["kind"] == "line" else ":")

    def _state(self):
        return {**self.params, "y": self.line.get_ydata().copy()}


class Broken(TwoSliders):
    """Raises when a == 3: errors must show in the panel, not escape the callback."""

    def _update(self, changed):
        super()._update(changed)
        if self.params["a"] == 3:
            raise ValueError("a = 3 is not allowed here")


class Linked(TwoSliders):
    """Moving a moves b too (b = -a): the base must not re-enter _update."""

    def _update(self, changed):
        if "a" in changed:
            self.controls["b"].value = -self.controls["a"].value
        super()._update(changed)


class Throttled(TwoSliders):
    throttle = 0.05


def _bar_heights(panel):
    return np.array([bar.get_height() for bar in panel._bars])


# -- construction ------------------------------------------------------------------

def test_base_default_and_keyword_construction():
    p = TwoSliders()
    assert set(p.controls) == {"a", "b", "kind"}
    assert all(isinstance(w, widgets.Widget) for w in p.controls.values())
    assert isinstance(p.figure, Figure)
    assert p.calls == [{"a", "b", "kind"}]  # one first update with every name
    np.testing.assert_allclose(p.state()["y"], p.x)

    q = TwoSliders(a=2.0, kind="dots")
    assert q.params == {"a": 2.0, "b": 0.0, "kind": "dots"}
    np.testing.assert_allclose(q.state()["y"], 2 * q.x)
    assert q.line.get_linestyle() == ":"
    assert repr(q) == "TwoSliders(a=2.0, b=0.0, kind='dots')"


@pytest.mark.parametrize("cls", [TwoSliders, SoftmaxBarsPanel])
def test_unknown_keyword_is_a_type_error_naming_it(cls):
    with pytest.raises(TypeError, match="'colour'"):
        cls(colour="red")
    with pytest.raises(TypeError, match="'colour'"):
        cls().set(colour="red")


@pytest.mark.parametrize("kwargs", [
    {"a": 99.0}, {"a": float("nan")}, {"a": "big"}, {"kind": "bars"},
])
def test_bad_value_is_a_value_error(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TwoSliders(**kwargs)
    p = TwoSliders()
    with pytest.raises(ValueError):
        p.set(**kwargs)
    assert p.params == {"a": 1.0, "b": 0.0, "kind": "line"}  # nothing half-applied


@pytest.mark.parametrize("kwargs", [
    {"temperature": 0.0}, {"temperature": 1e3}, {"temperature": float("inf")},
    {"algorithm": "fast"}, {"logits": (1.0, 2.0)}, {"logits": (1.0, "x", 2.0)},
    {"logits": (1.0, float("nan"), 2.0)}, {"logits": 3.0},
])
def test_softmax_bars_bad_values(kwargs):
    with pytest.raises(ValueError):
        SoftmaxBarsPanel(**kwargs)


# -- set() and moving a control share one path -------------------------------------

def test_moving_a_control_and_set_update_in_place():
    p = TwoSliders()
    fig, line = p.figure, p.line
    p.controls["a"].value = -2.0          # as a user dragging the slider
    np.testing.assert_allclose(p.state()["y"], -2 * p.x)
    np.testing.assert_allclose(line.get_ydata(), -2 * p.x)
    assert p.calls[-1] == {"a"}           # only what changed

    p.set(b=1.5)
    np.testing.assert_allclose(line.get_ydata(), -2 * p.x + 1.5)
    assert p.controls["b"].value == 1.5   # set() moved the widget
    assert p.calls[-1] == {"b"}
    assert p.figure is fig and p.line is line and list(p.ax.lines) == [line]


def test_set_with_several_names_updates_once_and_skips_no_ops():
    p = TwoSliders()
    n = len(p.calls)
    assert p.set(a=2.0, b=-1.0, kind="dots") is None  # no second display as a cell's value
    assert p.calls[n:] == [{"a", "b", "kind"}]
    p.set(a=2.0)                          # unchanged value: nothing to do
    assert len(p.calls) == n + 1


def test_an_update_that_moves_another_control_is_not_reentered():
    p = Linked()
    p.controls["a"].value = 2.0
    assert p.params["b"] == -2.0
    assert p.calls[-2:] == [{"a"}, {"b"}]
    np.testing.assert_allclose(p.state()["y"], 2 * p.x - 2)


def test_softmax_bars_defaults_match_softmax():
    p = SoftmaxBarsPanel()
    s = p.state()
    assert set(s) == {"logits", "temperature", "algorithm", "probabilities", "entropy"}
    assert s["logits"] == (1.0, 2.0, 3.0) and s["temperature"] == 1.0
    assert s["algorithm"] == "two_pass"
    np.testing.assert_allclose(s["probabilities"], [0.09003057, 0.24472847, 0.66524096], rtol=1e-7)
    assert s["entropy"] == pytest.approx(0.83239558, rel=1e-7)
    np.testing.assert_array_equal(_bar_heights(p), s["probabilities"])
    assert set(p.controls) == {"logits", "temperature", "algorithm"}
    assert isinstance(p.controls["temperature"], widgets.FloatLogSlider)
    assert isinstance(p.controls["logits"], FloatVector)
    assert tuple(p.controls["algorithm"].options) == softviz.ALGORITHMS
    assert p.last_error is None


def test_softmax_bars_keywords():
    p = SoftmaxBarsPanel(logits=(0.0, 0.0, 1.0), temperature=0.5, algorithm="online")
    s = p.state()
    want = softviz.softmax(np.array([0.0, 0.0, 1.0]) / 0.5, algorithm="online")
    np.testing.assert_array_equal(s["probabilities"], want)
    assert (s["logits"], s["temperature"], s["algorithm"]) == ((0.0, 0.0, 1.0), 0.5, "online")


def test_softmax_bars_user_edits_and_set_change_state_and_bars():
    p = SoftmaxBarsPanel()
    fig, bars, labels, png0 = p.figure, list(p._bars), list(p._labels), p.to_png()

    p.controls["temperature"].value = 0.25                  # drag the slider
    p.controls["logits"].children[0].value = 4.0            # type in the z1 box
    p.controls["algorithm"].value = "three_pass_reload"     # pick from the menu
    s = p.state()
    want = softviz.softmax(np.array([4.0, 2.0, 3.0]) / 0.25, algorithm="three_pass_reload")
    np.testing.assert_array_equal(s["probabilities"], want)
    np.testing.assert_array_equal(_bar_heights(p), want)
    assert s["logits"] == (4.0, 2.0, 3.0) and p.controls["logits"].value == (4.0, 2.0, 3.0)
    assert labels[0].get_text() == f"{want[0]:.3f}"
    assert p.to_png() != png0                                # the view was redrawn

    p.set(logits=(0.0, 0.0, 0.0), temperature=10.0)
    assert [box.value for box in p.controls["logits"].children] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(p.state()["probabilities"], [1 / 3] * 3)
    assert p.state()["entropy"] == pytest.approx(np.log(3))
    assert "T = 10" in p._title.get_text()
    assert p.figure is fig and list(p._bars) == bars and p._labels == labels
    assert list(p._ax.patches) == bars                          # no bar was added


def test_temperature_survives_the_browser_round_trip():
    # The front end sends back base**log(value): rounding noise, not a move.
    p = SoftmaxBarsPanel()
    p.set(temperature=0.3)
    p.controls["temperature"].set_state({"value": 0.29999999999999993})  # as from the browser
    assert p.state()["temperature"] == 0.3 and p.controls["temperature"].value == 0.3
    p.controls["temperature"].value = 0.29999999999999993
    assert p.state()["temperature"] == 0.3 and p.controls["temperature"].step is None
    p.controls["temperature"].value = 0.31
    assert p.state()["temperature"] == 0.31


def test_a_late_browser_echo_of_an_older_value_is_ignored():
    # Restart & Run All in JupyterLab: the cell sets 0.25, 1, 4 and back to 1; the
    # browser's echo of 4 (as 4.000000000000001) arrives after the final 1.
    p = SoftmaxBarsPanel()
    slider = p.controls["temperature"]
    for t in (0.25, 1.0, 4.0, 1.0):
        p.set(temperature=t)
    slider.set_state({"value": 4.000000000000001})
    slider.set_state({"value": 0.25000000000000006})
    assert slider.value == 1.0 and p.state()["temperature"] == 1.0
    # setting an earlier value again from code is a real change, and so is a drag
    p.set(temperature=4.0)
    assert p.state()["temperature"] == 4.0
    slider.set_state({"value": 3.98})
    assert p.state()["temperature"] == 3.98


def test_state_is_a_copy():
    p = SoftmaxBarsPanel()
    p.state()["probabilities"][:] = 0
    assert p.state()["probabilities"].sum() == pytest.approx(1.0)


# -- shared controls -------------------------------------------------------------------

def test_float_vector_is_one_control():
    from softviz.panels.controls import on_release

    v = FloatVector((1.0, 2.0), labels=["a", "b"])
    seen = []
    v.observe(lambda ch: seen.append(ch["new"]), names="value")
    v.value = (5, 6)                       # no half-updated (5.0, 2.0) on the way
    assert seen == [(5.0, 6.0)] and [b.value for b in v.children] == [5.0, 6.0]
    v.children[1].value = -1.0             # the user edits one box
    assert seen[-1] == (5.0, -1.0) == v.value
    slider = widgets.FloatSlider()
    assert on_release(slider) is slider and slider.continuous_update is False


# -- errors show inside the panel --------------------------------------------------

def test_callback_error_is_shown_in_the_panel_and_cleared_later():
    p = Broken()
    assert p.last_error is None and p.error_area.layout.display == "none"

    p.controls["a"].value = 3.0           # must not raise out of the observer
    assert isinstance(p.last_error, ValueError)
    assert p.error_area.layout.display != "none"
    assert "ValueError" in p.error_area.value and "a = 3 is not allowed here" in p.error_area.value
    assert p.error_area in p.widget.children

    p.set(a=4.0)                          # a good update clears it
    assert p.last_error is None and p.error_area.layout.display == "none"
    assert p.error_area.value == ""

    p.set(a=3.0)                          # set() takes the same path: shown, not raised
    assert isinstance(p.last_error, ValueError)


def test_error_text_is_escaped():
    class Shouting(TwoSliders):
        def _update(self, changed):
            raise RuntimeError("<script>alert(1)</script>")

    p = Shouting()
    assert "<script>" not in p.error_area.value and "&lt;script&gt;" in p.error_area.value


# -- throttling ----------------------------------------------------------------------

def test_throttle_merges_fast_moves_inside_an_event_loop():
    async def drag():
        p = Throttled()
        n = len(p.calls)
        for v in (0.5, 1.0, 1.5, 2.0):
            p.controls["a"].value = v
        p.controls["b"].value = 1.0
        first = p.calls[n:]
        await asyncio.sleep(0.15)
        p.set(a=-1.0)                     # set() never waits for the throttle
        after_set = p.state()["y"].copy()
        p.close()
        return p, first, after_set, n

    p, first, after_set, n = asyncio.run(drag())
    assert first == [{"a"}]                           # leading edge at once
    assert p.calls[n + 1] == {"a", "b"}               # the rest merged into one
    np.testing.assert_allclose(after_set, -1.0 * p.x + 1.0)


# -- the figure, the views and the static fallback -----------------------------------

def test_mimebundle_has_widget_view_and_png():
    p = SoftmaxBarsPanel(temperature=0.5)
    data = p._repr_mimebundle_()
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == p.widget.model_id and view["version_major"] == 2
    assert data["text/plain"].startswith("SoftmaxBarsPanel(logits=(1.0, 2.0, 3.0), temperature=0.5")
    png = base64.b64decode(data["image/png"])
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    img = matplotlib.image.imread(io.BytesIO(png), format="png")
    w, h = style.FIGSIZE[0] * style.DPI, style.FIGSIZE[1] * style.DPI
    assert img.shape[:2] == (h, w)
    assert img[..., :3].std() > 0.05                  # not a blank canvas
    assert png == p.to_png()


def test_inline_view_is_an_image_widget_refreshed_on_change():
    p = SoftmaxBarsPanel()
    assert isinstance(p._view, widgets.Image) and p._view in p.widget.children
    before = bytes(p._view.value)
    assert before.startswith(PNG_MAGIC)
    p.set(temperature=0.1)
    assert bytes(p._view.value) != before


@pytest.fixture
def ipympl_backend():
    """The ``%matplotlib widget`` backend for one test, then the previous one back."""
    import matplotlib.pyplot as plt

    # Importing ipympl's backend module selects it as matplotlib's backend.
    raw = dict.__getitem__(mpl.rcParams, "backend")
    from ipympl.backend_nbagg import Canvas

    dict.__setitem__(mpl.rcParams, "backend", "module://ipympl.backend_nbagg")
    yield Canvas, plt
    dict.__setitem__(mpl.rcParams, "backend", raw)


# ipympl's own Toolbar trips a traitlets deprecation: not ours to fix.
@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments to super:DeprecationWarning")
def test_ipympl_view(ipympl_backend):
    Canvas, plt = ipympl_backend
    figs_before = plt.get_fignums()
    p = SoftmaxBarsPanel()
    assert isinstance(p.figure.canvas, Canvas) and p.figure.canvas in p.widget.children
    assert plt.get_fignums() == figs_before         # pyplot never saw it: no duplicate display
    p.set(temperature=4.0)
    np.testing.assert_array_equal(_bar_heights(p), p.state()["probabilities"])
    data = p._repr_mimebundle_()
    assert base64.b64decode(data["image/png"]).startswith(PNG_MAGIC)
    assert p.figure.canvas._data_url == "data:image/png;base64," + data["image/png"]
    p.close()


def test_offscreen_panels_have_no_view():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with offscreen():
        p = SoftmaxBarsPanel()
    assert p._view is None and type(p.figure.canvas) is FigureCanvasAgg
    p.set(temperature=3.0)
    assert p.to_png().startswith(PNG_MAGIC)
    assert SoftmaxBarsPanel()._view is not None      # only inside the block


# -- style and lecture mode -------------------------------------------------------------

def test_palette_is_distinct_in_grayscale():
    lum = [style.luminance(c) for c in style.PALETTE]
    assert len(set(style.PALETTE)) == len(style.PALETTE) == len(style.PALETTE_NAMES) >= 5
    assert lum == sorted(lum)                        # documented: darkest first
    assert min(np.diff(lum)) > 0.05
    assert style.luminance(style.INK) < 0.05         # text reads on every palette colour


def test_lecture_mode_scales_and_restores_rcparams_exactly():
    before = dict(mpl.rcParams)
    p = SoftmaxBarsPanel()
    title0 = p._title.get_fontsize()
    label0 = p._labels[0].get_fontsize()

    softviz.lecture_mode()
    assert mpl.rcParams["font.size"] == pytest.approx(before["font.size"] * style.LECTURE_SCALE)
    assert mpl.rcParams["lines.linewidth"] == pytest.approx(
        before["lines.linewidth"] * style.LECTURE_SCALE)
    assert style.lecture_scale() == style.LECTURE_SCALE
    softviz.lecture_mode(True)                       # idempotent
    assert mpl.rcParams["font.size"] == pytest.approx(before["font.size"] * style.LECTURE_SCALE)
    # the live panel grew, and a new one is born big
    assert p._title.get_fontsize() == pytest.approx(title0 * style.LECTURE_SCALE)
    assert p._labels[0].get_fontsize() == pytest.approx(label0 * style.LECTURE_SCALE)
    assert SoftmaxBarsPanel()._title.get_fontsize() == pytest.approx(title0 * style.LECTURE_SCALE)

    softviz.lecture_mode(False)
    assert dict(mpl.rcParams) == before
    assert p._title.get_fontsize() == pytest.approx(title0)
    assert SoftmaxBarsPanel()._title.get_fontsize() == pytest.approx(title0)
    softviz.lecture_mode(False)
    assert dict(mpl.rcParams) == before


def test_registry_lists_shipped_panels_only():
    reg = panels.registry()
    assert reg["SoftmaxBarsPanel"] is SoftmaxBarsPanel
    assert "TwoSliders" not in reg and "Broken" not in reg


def test_soft_nms_panel_accepts_its_saved_params_in_one_call():
    # The round slider's range depends on the other params (hard NMS runs fewer rounds):
    # restoring a saved set must not check `round` against the range of the settings before.
    from softviz.panels import SoftNMSPanel

    with offscreen():
        p = SoftNMSPanel()
    saved, shown = p.params, p.state()
    p.set(method="hard")
    assert p.params["round"] < saved["round"]        # the range really shrank
    p.set(**saved)
    assert p.params == saved and p.last_error is None
    np.testing.assert_array_equal(p.state()["keep"], shown["keep"])
    p.set(round=3)
    middle = p.params
    p.set(method="hard")
    p.set(**middle)                                  # a round inside the range, not the last
    assert p.state()["round"] == 3 and p.controls["round"].max == shown["n_rounds"]
    with pytest.raises(ValueError, match="sigma"):
        p.set(sigma=-1.0, round=2)                   # refused as a whole: nothing moved
    assert p.params == middle and p.controls["round"].max == shown["n_rounds"]
    p.close()


@pytest.mark.parametrize("name", sorted(panels.registry()))
@pytest.mark.parametrize("lecture", [False, True])
def test_every_panel_is_titled_labelled_and_text_does_not_overlap(name, lecture):
    softviz.lecture_mode(lecture)
    cls = panels.registry()[name]
    p = cls()
    assert p.last_error is None
    assert p.figure.get_size_inches().tolist() == list(style.FIGSIZE)
    for ax in p.figure.axes:
        titles = [ax.get_title(loc) for loc in ("left", "center", "right")]
        assert any(titles) or p.figure.get_suptitle(), f"{name}: untitled axes"
        assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: unlabelled axes"
    assert style.text_problems(p.figure) == []
    # and after moving the main control to both ends of its range
    from softviz.panels.controls import sweep

    control = cls.main_control or next(iter(p.controls))
    for value in sweep(p.controls[control], 2):
        p.set(**{control: value})
        assert p.last_error is None
        assert style.text_problems(p.figure) == []


def test_import_softviz_stays_light():
    import subprocess
    import sys

    code = ("import sys, softviz; heavy = [m for m in ('matplotlib', 'ipywidgets', 'IPython') "
            "if m in sys.modules]; print(heavy); assert callable(softviz.lecture_mode)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the static fallback survives an HTML export ------------------------------------------

def _execute_and_export(tmp_path, magic, store_widget_state):
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(magic + "from softviz.panels import SoftmaxBarsPanel\n"
                                  "panel = SoftmaxBarsPanel(temperature=0.5)\n"
                                  "display(panel)"),
        nbformat.v4.new_code_cell("panel.state()['probabilities'].round(6).tolist()"),
    ]
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=180,
                                     resources={"metadata": {"path": str(tmp_path)}},
                                     store_widget_state=store_widget_state)
    client.execute()
    nbformat.write(nb, tmp_path / "panel.ipynb")
    html, _ = HTMLExporter().from_notebook_node(nb)
    (tmp_path / "panel.html").write_text(html, encoding="utf-8")
    return nb, html


@pytest.mark.parametrize("magic", ["", "%matplotlib widget\n"], ids=["inline", "ipympl"])
def test_html_export_shows_the_png(tmp_path, magic):
    nb, html = _execute_and_export(tmp_path, magic, store_widget_state=False)
    (display_out,) = nb.cells[0].outputs
    assert display_out.output_type == "display_data"
    assert "application/vnd.jupyter.widget-view+json" in display_out.data
    png64 = display_out.data["image/png"]
    assert base64.b64decode(png64).startswith(PNG_MAGIC)
    want = softviz.softmax(np.array([1.0, 2.0, 3.0]) / 0.5).round(6).tolist()
    assert nb.cells[1].outputs[0].data["text/plain"] == repr(want)
    # the panel's own PNG, as an <img> (the page's CSS has an unrelated data URL)
    assert f'src="data:image/png;base64,{png64}"' in html


def test_html_export_with_stored_widget_state_keeps_the_png(tmp_path):
    # nbconvert --execute stores the widget state by default; the exporter then
    # prefers the widget view, whose embedded state must still carry the image.
    nb, html = _execute_and_export(tmp_path, "%matplotlib widget\n", store_widget_state=True)
    png64 = nb.cells[0].outputs[0].data["image/png"]
    assert "application/vnd.jupyter.widget-state+json" in html
    # the template writes the state as JSON with "/" escaped as "\/"
    assert ("data:image/png;base64," + png64).replace("/", "\\/") in html
