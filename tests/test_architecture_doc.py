"""ARCHITECTURE.md stays true: every file and folder it names exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_path_named_in_architecture_md_exists():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:native|softviz|notebooks|tests)/[^`\s]*)`", text))
    assert len(named) > 20
    generic = [p for p in named if "NN_" in p or "<topic>" in p]
    missing = [p for p in sorted(named - set(generic)) if not (ROOT / p).exists()]
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_architecture_md_is_short():
    assert len((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines()) <= 130
