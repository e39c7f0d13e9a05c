"""The verification notebooks run from a clean kernel, are stored without outputs, and their
``.ipynb`` files agree with their jupytext ``.py`` pairs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = [
    "01_fo001_verification",
    "02_energy_verification",
    "03_canopy_refinement",
    "04_program_overview",
]
LIMIT_S = 120
"""Most seconds a notebook (and so any one of its cells) may take."""
KERNEL = "forestcarbon-test"


def test_every_notebook_is_listed():
    found = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert found == NOTEBOOKS
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.py")) == NOTEBOOKS


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
    """A kernel spec running this interpreter's ipykernel, whatever other kernels exist."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "forestcarbon tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return root


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_from_a_clean_kernel(name, kernel_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=LIMIT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    start = time.monotonic()
    client.execute()  # a cell that raises fails the test (CellExecutionError)
    elapsed = time.monotonic() - start
    assert elapsed < LIMIT_S, f"{name} took {elapsed:.0f} s"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"{name}: a cell has stored outputs"
        assert cell.execution_count is None, f"{name}: a cell has an execution count"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_in_sync_with_its_py_pair(name):
    def cells(path):
        nb = jupytext.read(path)
        return [(c.cell_type, c.source.strip()) for c in nb.cells]

    ipynb, py = NOTEBOOKS_DIR / f"{name}.ipynb", NOTEBOOKS_DIR / f"{name}.py"
    assert cells(ipynb) == cells(py), (
        f"{ipynb.name} and {py.name} differ: run `jupytext --sync notebooks/{py.name}`"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_uses_only_the_public_api(name):
    source = (NOTEBOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if "forestcarbon" in line and "import" in line]
    assert imports == ["import forestcarbon as fc"], imports
