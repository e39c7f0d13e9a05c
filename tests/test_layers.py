"""The layering contract (pyproject ``[tool.importlinter]``) holds and catches a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter not installed (pip install -e '.[test]')"
)


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    # a copy of the package where the core imports the pipeline: the cycle core -> run -> core
    shutil.copytree(ROOT / "forestcarbon", tmp_path / "forestcarbon")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    params = tmp_path / "forestcarbon" / "core" / "params.py"
    params.write_text(params.read_text(encoding="utf-8") + "\nimport forestcarbon.run  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "forestcarbon.core is not allowed to import forestcarbon.run" in result.stdout
