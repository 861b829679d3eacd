"""A lesson presented as a slide deck in JupyterLab (jupyterlab-slideshow), in headless Chromium.

Opens lesson 02 as a student would, runs all cells, starts the deck, goes to the
slide with the temperature panel, and checks what the room sees: the panel is
live (moving its slider changes the figure's pixels), lecture mode switched on
by itself (the figure grew to the projector layout) and off again when the
deck stops, and no cell shows an error. A screenshot of the slide is kept.
"""
from __future__ import annotations

import time

from lab_driver import (
    _JS_CELLS,
    NotebookReport,
    _cell_problems,
    _differs,
    _figure_locator,
    _move_slider,
    _open,
    _run_all,
    _settled_shot,
    _wait,
    slug,
)

LESSON = "02_temperature.ipynb"

_JS_PANEL_SLIDE = """
() => {
  const w = window.__softviz.panel;
  const panels = Array.from(w.content.node.querySelectorAll('.softviz-panel'));
  return panels.map(p => {
    const r = p.getBoundingClientRect(), st = getComputedStyle(p);
    const cell = w.content.widgets.findIndex(c => c.node.contains(p));
    const canvas = p.querySelector('.softviz-figure canvas');
    return {cell, visible: r.width > 0 && r.height > 0 && st.visibility !== 'hidden' &&
            r.top < window.innerHeight && r.bottom > 0,
            lecture: p.classList.contains('softviz-lecture'),
            figureWidth: canvas ? canvas.getBoundingClientRect().width : 0};
  });
}
"""


def _panel_state(page):
    return page.evaluate(_JS_PANEL_SLIDE)


def test_lesson_deck_has_a_live_panel_in_lecture_mode(lab_server, lab_page, screenshot_dir):
    page = lab_page
    page.set_viewport_size({"width": 1280, "height": 720})        # a 16:9 projector
    report = NotebookReport(LESSON)
    _open(page, lab_server, LESSON, timeout=120)
    assert _run_all(page, report, 300), report.format()
    names = _cell_problems(page.evaluate(_JS_CELLS), report)
    assert not report.problems, report.format()

    first = _wait(lambda: [s for s in _panel_state(page) if s["figureWidth"] > 0], 60)
    assert first, "no softviz panel with a drawn figure in the notebook view"
    target = first[0]
    width_notebook = target["figureWidth"]
    assert not target["lecture"], "lecture mode is on before any deck started"

    start = page.evaluate("""(i) => {
        const nb = window.__softviz.panel.content;
        let start = i;   // the cell that opens the panel's slide
        while (start > 0 && !['slide', 'subslide'].includes(
            (nb.widgets[start].model.getMetadata('slideshow') || {}).slide_type)) start--;
        nb.activeCellIndex = 0;
        return start;
    }""", target["cell"])
    page.evaluate("() => window.jupyterapp.commands.execute('deck:start')")
    assert _wait(lambda: page.evaluate("() => document.body.dataset.jpDeckMode") == "presenting", 20)
    # forward through the deck, as the lecturer does, to the panel's slide
    active = lambda: page.evaluate("() => window.__softviz.panel.content.activeCellIndex")  # noqa: E731
    for _ in range(80):
        if active() >= start:
            break
        page.evaluate("() => window.jupyterapp.commands.execute('deck:go', {direction: 'forward'})")
        time.sleep(0.3)
    assert active() == start, f"the deck went past the panel's slide (cell {start}) to cell {active()}"
    panel = page.locator(".jp-Notebook .softviz-panel").nth(
        [s["cell"] for s in _panel_state(page)].index(target["cell"]))
    panel.scroll_into_view_if_needed()   # a slide taller than the screen scrolls
    state = _wait(lambda: [s for s in _panel_state(page)
                           if s["cell"] == target["cell"] and s["visible"]], 20)
    state = state[0] if state else [s for s in _panel_state(page) if s["cell"] == target["cell"]][0]
    if not state["visible"]:
        page.screenshot(path=str(screenshot_dir / f"deck_{slug(LESSON)}_lost.png"))
    assert state["visible"], (f"the panel of {names.name(target['cell'])} is not on screen on its "
                              f"slide: {state}")

    # lecture mode came on by itself: larger controls and the 16:9 figure
    grown = _wait(lambda: [s for s in _panel_state(page) if s["cell"] == target["cell"]
                           and s["lecture"] and s["figureWidth"] > 1.2 * width_notebook], 60)
    assert grown, (f"lecture mode did not switch on in the deck (figure width "
                   f"{width_notebook:.0f} px before, now {_panel_state(page)})")

    panel.scroll_into_view_if_needed()
    fig = _figure_locator(panel, "ipympl")
    before = _settled_shot(fig, page)
    handle = panel.locator(".softviz-controls .noUi-handle").first
    how = _move_slider(page, handle)
    assert how, "the panel's slider could not be moved in the deck"
    changed = _wait(lambda: _differs(before, _settled_shot(fig, page, timeout=2)), 20, interval=0.3)
    assert changed, f"the figure did not change after the slider moved ({how}) in the deck"
    assert not panel.locator(".softviz-error").is_visible()
    time.sleep(0.5)
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshot_dir / f"deck_{slug(LESSON)}.png"))

    # stopping the deck gives the notebook layout back
    page.evaluate("() => window.jupyterapp.commands.execute('deck:stop')")
    back = _wait(lambda: [s for s in _panel_state(page) if s["cell"] == target["cell"]
                          and not s["lecture"] and abs(s["figureWidth"] - width_notebook) < 2], 30)
    assert back, f"lecture mode stayed on after the deck stopped: {_panel_state(page)}"

    report = NotebookReport(LESSON)
    _cell_problems(page.evaluate(_JS_CELLS), report)
    assert not report.problems, report.format()
