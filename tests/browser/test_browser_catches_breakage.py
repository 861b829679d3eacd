"""The browser checker must fail on broken widgets: proved on a notebook broken on purpose.

The notebook is written at test time into the server's temporary root (never
into notebooks/). It holds, in this order:

1. healthy panels, which must pass (no false alarm): one whose slider reports
   only on release (``on_release``: keyboard moves must reach such sliders),
   one with a number box and one with a dropdown instead of a slider;
2. a panel whose callback raises when the user moves its slider;
3. a panel whose ipympl figure cannot render in the browser (its canvas asks
   for a jupyter-matplotlib front-end version that does not exist, as happens
   when the Python and JupyterLab halves of ipympl do not match);
4. a panel whose slider does nothing to the figure;
5. a panel whose slider has another observer that raises (the traceback only
   reaches JupyterLab's log console, never a cell);
6. a cell that raises.

The same ``check_notebook`` that tests the real lessons must report 2-6, each
naming its cell (5: the kernel message), and nothing about 1.
"""
from __future__ import annotations

import secrets

import nbformat
from lab_driver import check_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

_SETUP = """\
%matplotlib widget
import ipywidgets as widgets
from softviz.panels import Panel
from softviz.panels.controls import on_release


class _Line(Panel):
    # a slider x and the line y = x * t
    def _controls(self):
        return {"x": on_release(widgets.FloatSlider(value=1.0, min=0.0, max=2.0, description="x"))}

    def _draw(self, fig):
        ax = fig.add_subplot(title=type(self).__name__, xlabel="t", ylabel="y")
        ax.set_ylim(0, 2)
        (self._line,) = ax.plot([0, 1], [0, 1])

    def _update(self, changed):
        self._line.set_ydata([0, self.params["x"]])
"""

_HEALTHY = """\
class HealthyPanel(_Line):
    pass


HealthyPanel()
"""

# Panels without a slider: the checker must operate a number box and a dropdown too.
_HEALTHY_NUMBER = """\
class HealthyNumberPanel(_Line):
    def _controls(self):
        return {"x": widgets.FloatText(value=1.0, step=0.25, description="x")}


HealthyNumberPanel()
"""

_HEALTHY_DROPDOWN = """\
class HealthyDropdownPanel(_Line):
    def _controls(self):
        return {"x": widgets.Dropdown(options=[0.5, 1.0, 1.5], value=1.0, description="x")}


HealthyDropdownPanel()
"""

_RAISES = """\
class RaisingCallbackPanel(_Line):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.armed = True   # the first update (construction) works; the user's move fails

    def _update(self, changed):
        if getattr(self, "armed", False):
            raise RuntimeError("deliberately broken callback")
        super()._update(changed)


RaisingCallbackPanel()
"""

_NO_FIGURE = """\
class FigureNeverRendersPanel(_Line):
    def _draw(self, fig):
        super()._draw(fig)
        fig.canvas._model_module_version = fig.canvas._view_module_version = "0.0.1"


FigureNeverRendersPanel()
"""

_DEAD = """\
class DeadSliderPanel(_Line):
    def _update(self, changed):
        pass


DeadSliderPanel()
"""

_OBSERVER_RAISES = """\
class ObserverRaisesPanel(_Line):
    # The panel updates fine, but another observer of its slider raises: the
    # traceback goes to JupyterLab's log console, never to a cell.
    def _controls(self):
        controls = super()._controls()
        controls["x"].observe(self._explode, names="value")
        return controls

    def _explode(self, change):
        raise RuntimeError("deliberately broken observer")


ObserverRaisesPanel()
"""

_CELL_RAISES = 'raise ValueError("deliberately broken cell")'


def _broken_notebook():
    cells = [new_markdown_cell("# Broken on purpose (tests/browser)"),
             new_code_cell(_SETUP), new_code_cell(_HEALTHY), new_code_cell(_HEALTHY_NUMBER),
             new_code_cell(_HEALTHY_DROPDOWN), new_code_cell(_RAISES),
             new_code_cell(_NO_FIGURE), new_code_cell(_DEAD), new_code_cell(_OBSERVER_RAISES),
             new_code_cell(_CELL_RAISES)]
    return new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def test_checker_reports_every_broken_widget(lab_server, lab_page, screenshot_dir):
    rel = f"_broken_{secrets.token_hex(4)}/broken_panels.ipynb"
    path = lab_server.root / rel
    path.parent.mkdir()
    nbformat.write(_broken_notebook(), path)

    report = check_notebook(lab_page, lab_server, rel, screenshot_dir / "checker_selftest",
                            run_timeout=180,
                            render_timeout=30, change_timeout=8)
    text = report.format()
    print(text)
    problems = report.problems

    def about(name):   # problems naming the cell that defines class `name`
        return [p for p in problems if f"`class {name}(" in p]

    def moved(name):
        return [m for m in report.moved if f"`class {name}(" in m and "changed the figure" in m]

    # 1. the healthy panels pass; their slider (on release), number box and
    #    dropdown were operated from the keyboard / the page
    for name, how in (("HealthyPanel", "pressed ArrowRight"), ("HealthyNumberPanel", "typed 2"),
                      ("HealthyDropdownPanel", "picked the next option")):
        assert not about(name), text
        assert any(how in m for m in moved(name)), text
    # 2. the callback error shown in the panel is caught after the UI move
    assert any("shows an error" in p and "deliberately broken callback" in p
               for p in about("RaisingCallbackPanel")), text
    # 3. the figure that cannot render, with the browser's reason
    assert any("figure did not render" in p and "jupyter-matplotlib" in p
               for p in about("FigureNeverRendersPanel")), text
    # 4. a control that changes nothing
    assert any("figure did not change" in p and "'x'" in p for p in about("DeadSliderPanel")), text
    # 5. an error that only JupyterLab's log console shows
    log_console = [p for p in problems if "outside any cell" in p]
    assert any("comm_msg" in p and "deliberately broken observer" in p for p in log_console), text
    # 6. the error output, named with its cell
    assert any("error output: ValueError: deliberately broken cell" in p and "raise ValueError" in p
               for p in problems), text
    assert report.panels == 7, text
    # nothing else
    broken = ("RaisingCallbackPanel", "FigureNeverRendersPanel", "DeadSliderPanel",
              "ObserverRaisesPanel")
    assert all(p in log_console or "raise ValueError" in p or any(f"`class {b}(" in p for b in broken)
               for p in problems), text
