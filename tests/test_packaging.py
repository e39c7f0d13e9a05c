"""Installing prints no warning (issue #13 item 14): a fresh virtual environment, the newest pip
(as ``make`` uses), ``pip install -e`` and ``pip wheel`` of a copy of the repository.

Slow (a venv, pip and setuptools from the package index): ``pytest -m slow tests/test_packaging.py``
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PYTHON_WARNING = re.compile(r"\b[A-Za-z]*Warning\b|^\s*!!\s*$", re.M)
"""A Python warning as pip shows the build backend's (``BuildBackendWarning: ...``, setuptools'
``!!`` boxes)."""


def pip_warnings(output: str) -> list[str]:
    """Lines of pip's output that are warnings about the project (not about this machine's
    package index configuration: ``WARNING: Location '...' is ignored``)."""
    lines = output.splitlines()
    found = [ln for ln in lines if PYTHON_WARNING.search(ln)]
    found += [
        ln
        for ln in lines
        if ln.startswith("WARNING:") and "Location '" not in ln and "is ignored" not in ln
    ]
    return found


def test_pip_warnings_finds_the_setuptools_editable_warning():
    """The filter finds what setuptools printed before the fix (pip 26, setuptools 84)."""
    before = (
        "  Building editable for forestcarbon (pyproject.toml): finished with status 'done'\n"
        "  /tmp/pip-build-env/site-packages/setuptools/command/editable_wheel.py:354: "
        "BuildBackendWarning: Editable installation.\n  !!\n"
        "WARNING: Location 'file:///opt/pypi-more/simple/pip/' is ignored: it is neither a file "
        "nor a directory.\n"
    )
    assert len(pip_warnings(before)) == 2  # the warning and its box; not the index location


@pytest.mark.slow
def test_installing_prints_no_warning(tmp_path):
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    copy = tmp_path / "forestcarbon"
    for name in filter(None, tracked):
        src = ROOT / name.decode()
        if src.is_file():
            dst = copy / name.decode()
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True, env=env)
    for args in (
        ["install", "--no-deps", "-e", str(copy)],
        ["wheel", "--no-deps", "-w", str(tmp_path / "wheels"), str(copy)],
    ):
        done = subprocess.run([*pip, *args], capture_output=True, text=True, env=env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert pip_warnings(output) == [], output
    pth = next((venv / "lib").glob("python3*/site-packages/__editable__*.pth"))
    assert pth.read_text().strip() == str(copy)  # a plain path entry, no import hook
