"""The browser harness itself, without a browser: settings, skip/fail rule, browser lookup.

These run everywhere (no Chromium needed), so a JupyterLab upgrade that renames
the settings the harness relies on fails here with a clear message instead of
letting a news pop-up cover the page in CI.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser_env import unavailable
from lab_driver import LAB_SETTINGS, LabServer, find_chromium, slug


def _schema_dir():
    commands = pytest.importorskip("jupyterlab.commands")
    return Path(commands.get_app_dir()) / "schemas"


@pytest.mark.parametrize("rel", sorted(LAB_SETTINGS))
def test_lab_settings_exist_in_the_installed_jupyterlab(rel):
    """Each settings file names a real plugin, and its values are valid for that plugin's schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = _schema_dir() / rel.replace(".jupyterlab-settings", ".json")
    assert schema_path.is_file(), f"JupyterLab has no settings schema {schema_path}"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    values = LAB_SETTINGS[rel]
    assert set(values) <= set(schema["properties"]), (rel, sorted(schema["properties"]))
    # the schema's own defaults are what we override: they must differ
    assert all(schema["properties"][k].get("default") != v for k, v in values.items())
    jsonschema.validate(values, schema)


def test_news_is_never_fetched_nor_asked_about():
    values = LAB_SETTINGS["@jupyterlab/apputils-extension/notification.jupyterlab-settings"]
    # "false" (a string: the schema's Never), not "none", which asks with a toast
    assert values == {"fetchNews": "false", "checkForUpdates": False}


def test_server_command_is_local_private_and_offline(tmp_path):
    server = LabServer(tmp_path / "root", tmp_path / "home", python="/x/python")
    server.port = 12345
    dirs = {"settings": tmp_path / "s", "workspaces": tmp_path / "w"}
    cmd = server.command(dirs)
    assert cmd[:3] == ["/x/python", "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--no-browser" in cmd
    assert f"--IdentityProvider.token={server.token}" in cmd and len(server.token) >= 32
    assert f"--LabApp.user_settings_dir={dirs['settings']}" in cmd
    assert "--LabApp.news_url=None" in cmd
    assert any(c.endswith("NeverCheckForUpdate") for c in cmd)
    assert LabServer(tmp_path, tmp_path).token != server.token


def test_skip_becomes_failure_when_the_browser_is_required(monkeypatch):
    monkeypatch.delenv("SOFTVIZ_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no browser here"):
        unavailable("no browser here")
    monkeypatch.setenv("SOFTVIZ_REQUIRE_BROWSER", "0")
    with pytest.raises(pytest.skip.Exception):
        unavailable("no browser here")
    monkeypatch.setenv("SOFTVIZ_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="SOFTVIZ_REQUIRE_BROWSER=1 but no browser here"):
        unavailable("no browser here")


def test_find_chromium_honours_the_override(monkeypatch, tmp_path):
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SOFTVIZ_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    monkeypatch.setenv("SOFTVIZ_CHROMIUM", str(tmp_path / "missing"))
    assert find_chromium() is None
    if os.name == "posix":
        fake.chmod(0o644)   # not executable: not a browser
        monkeypatch.setenv("SOFTVIZ_CHROMIUM", str(fake))
        assert find_chromium() is None


def test_find_chromium_searches_path(monkeypatch, tmp_path):
    monkeypatch.delenv("SOFTVIZ_CHROMIUM", raising=False)
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() == str(fake)


def test_screenshot_names_are_flat_and_distinct():
    assert slug("00_start_here.ipynb") == "00_start_here"
    assert slug("solutions/00_start_here.ipynb") == "solutions__00_start_here"
    assert slug("a b/c?.ipynb") == "a_b__c_"


def test_stored_output_check_is_nbvals_check(tmp_path):
    """The browser suite's stand-in for nbval: same outputs pass, a changed number fails.

    A fresh run is compared the way nbval --nbval-lax compares it: only cells tagged
    nbval-check-output, streams coalesced, the sanitize patterns applied (timings
    differ freely), images ignored.
    """
    import nbformat
    from browser_env import NOTEBOOK_DIR
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from stored_outputs import checked_cells, compare_checked_cells, load_sanitizer

    sanitize = load_sanitizer(NOTEBOOK_DIR / "nbval_sanitize.cfg")
    checked = new_code_cell("print(p)", metadata={"tags": ["nbval-check-output"]}, outputs=[
        new_output("stream", name="stdout", text="p = [0.09003057 0.24472847 0.66524096]\n"),
        new_output("stream", name="stdout", text="took 1.31 ms\n"),
        new_output("execute_result", data={"text/plain": "0.832", "image/png": "AAAA"}, execution_count=1)])
    unchecked = new_code_cell("x", outputs=[new_output("stream", name="stdout", text="anything\n")])
    path = tmp_path / "n.ipynb"
    nbformat.write(new_notebook(cells=[unchecked, checked]), path)
    assert list(checked_cells(path)) == [1]

    def fresh(stdout, plain="0.832", png="BBBB"):
        return {0: [{"output_type": "stream", "name": "stdout", "text": "other\n"}],
                1: [{"output_type": "stream", "name": "stdout", "text": stdout},
                    {"output_type": "execute_result", "execution_count": 7, "metadata": {},
                     "data": {"text/plain": plain, "image/png": png}}]}

    same = "p = [0.09003057 0.24472847 0.66524096]\ntook 2.5 ms\n"   # one stream, another timing
    assert compare_checked_cells(path, fresh(same), sanitize) == []
    changed = compare_checked_cells(path, fresh(same.replace("0.66524096", "0.66524097")), sanitize)
    assert len(changed) == 1 and "stdout differs" in changed[0] and "cell 2" in changed[0]
    assert compare_checked_cells(path, fresh(same, plain="0.833"), sanitize)
    missing = fresh(same)
    del missing[1][1]
    assert "output kinds differ" in compare_checked_cells(path, missing, sanitize)[0]
    assert "no fresh outputs" in compare_checked_cells(path, {0: []}, sanitize)[0]
